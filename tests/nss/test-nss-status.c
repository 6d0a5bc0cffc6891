/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the module answers when the state is missing or absent, and what it leaves
 * behind in the process: NOTFOUND for a name or UID that is not there (the store
 * exists), UNAVAIL when the configuration or the store is missing or unusable (so
 * glibc goes on to the next source), no file descriptor left open after any call, and
 * every descriptor it opens close-on-exec and read-only.
 *
 * The opens are observed by interposition: this program defines open(), openat() and
 * their variants and exports them (export_dynamic), so the dlopen()ed module binds to
 * them; they record the flags and call the next definition.
 *
 * Usage: test-nss-status <path to libnss_ephem.so.2>
 */
/* This file defines open() and open64() side by side: neither the fortified inline
 * wrappers nor the redirection of open() to open64() may get in the way. */
#undef _FORTIFY_SOURCE
#undef _FILE_OFFSET_BITS

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ephem/macro.h"
#include "nss-test.h"

static nss_module mod;
static const gid_t GROUPS[] = { 4, 24 };

/* ---- the opens the module makes ---- */

#define MAX_OPENS 4096

static struct {
        bool watching;
        unsigned n;
        int flags[MAX_OPENS];
        char path[MAX_OPENS][64];
} opens;

static void record_open(const char *path, int flags) {
        if (!opens.watching || opens.n >= MAX_OPENS)
                return;
        opens.flags[opens.n] = flags;
        snprintf(opens.path[opens.n], sizeof(opens.path[0]), "%s", path);
        opens.n++;
}

/* O_TMPFILE includes O_DIRECTORY: only all of its bits mean O_TMPFILE. */
static bool opens_for_writing(int flags) {
        return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)) || (flags & O_TMPFILE) == O_TMPFILE;
}

static mode_t open_mode(int flags, va_list ap) {
        return ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ? va_arg(ap, mode_t) : 0;
}

#define INTERPOSE_OPEN(name)                                          \
        _public_ int name(const char *path, int flags, ...);          \
        _public_ int name(const char *path, int flags, ...) {         \
                static int (*next)(const char *, int, ...);           \
                va_list ap;                                           \
                mode_t mode;                                          \
                va_start(ap, flags);                                  \
                mode = open_mode(flags, ap);                          \
                va_end(ap);                                           \
                if (!next)                                            \
                        *(void **) (&next) = dlsym(RTLD_NEXT, #name); \
                record_open(path, flags);                             \
                return next(path, flags, mode);                       \
        }
#define INTERPOSE_OPENAT(name)                                           \
        _public_ int name(int dirfd, const char *path, int flags, ...);  \
        _public_ int name(int dirfd, const char *path, int flags, ...) { \
                static int (*next)(int, const char *, int, ...);         \
                va_list ap;                                              \
                mode_t mode;                                             \
                va_start(ap, flags);                                     \
                mode = open_mode(flags, ap);                             \
                va_end(ap);                                              \
                if (!next)                                               \
                        *(void **) (&next) = dlsym(RTLD_NEXT, #name);    \
                record_open(path, flags);                                \
                return next(dirfd, path, flags, mode);                   \
        }
#define INTERPOSE_OPEN_2(name)                                        \
        _public_ int name(const char *path, int flags);               \
        _public_ int name(const char *path, int flags) {              \
                static int (*next)(const char *, int);                \
                if (!next)                                            \
                        *(void **) (&next) = dlsym(RTLD_NEXT, #name); \
                record_open(path, flags);                             \
                return next(path, flags);                             \
        }
#define INTERPOSE_OPENAT_2(name)                                      \
        _public_ int name(int dirfd, const char *path, int flags);    \
        _public_ int name(int dirfd, const char *path, int flags) {   \
                static int (*next)(int, const char *, int);           \
                if (!next)                                            \
                        *(void **) (&next) = dlsym(RTLD_NEXT, #name); \
                record_open(path, flags);                             \
                return next(dirfd, path, flags);                      \
        }

INTERPOSE_OPEN(open)
INTERPOSE_OPEN(open64)
INTERPOSE_OPENAT(openat)
INTERPOSE_OPENAT(openat64)
INTERPOSE_OPEN_2(__open_2)
INTERPOSE_OPEN_2(__open64_2)
INTERPOSE_OPENAT_2(__openat_2)
INTERPOSE_OPENAT_2(__openat64_2)

/* ---- fixtures ---- */

static int setup(void **state) {
        nss_host *h = nss_host_new(NULL);

        nss_host_add_user(h, "agent-one", GROUPS, ELEMENTSOF(GROUPS));
        nss_host_add_user(h, "ci-two", NULL, 0);
        *state = h;
        return 0;
}

static int teardown(void **state) {
        nss_host_free(*state);
        return 0;
}

/* Every entry point once, for a recorded user, a pre-authentication name, an unknown
 * name and UID, and a full enumeration of both databases. */
static void exercise_every_entry_point(const nss_host *h) {
        uid_t uid = userconf_uid(&h->users, "agent-one");
        char buf[2048];
        struct passwd pw;
        struct group gr;
        long start = 1, size = 1;
        gid_t *groups = malloc(sizeof(gid_t));
        int err;

        assert_non_null(groups);
        groups[0] = uid;
        (void) mod.getpwnam_r("agent-one", &pw, buf, sizeof(buf), &err);
        (void) mod.getpwnam_r("agent-preauth", &pw, buf, sizeof(buf), &err);
        (void) mod.getpwnam_r("bob", &pw, buf, sizeof(buf), &err);
        (void) mod.getpwnam_r("agent-one", &pw, buf, 3, &err);
        (void) mod.getpwuid_r(uid, &pw, buf, sizeof(buf), &err);
        (void) mod.getpwuid_r(uid + 1, &pw, buf, sizeof(buf), &err);
        (void) mod.getgrnam_r("agent-one", &gr, buf, sizeof(buf), &err);
        (void) mod.getgrnam_r("ci-preauth", &gr, buf, sizeof(buf), &err);
        (void) mod.getgrgid_r(uid, &gr, buf, sizeof(buf), &err);
        (void) mod.getgrgid_r(uid + 1, &gr, buf, sizeof(buf), &err);
        (void) mod.initgroups_dyn("agent-one", uid, &start, &size, &groups, -1, &err);
        (void) mod.initgroups_dyn("agent-preauth", uid, &start, &size, &groups, -1, &err);
        free(groups);

        (void) mod.setpwent(1);
        while (mod.getpwent_r(&pw, buf, sizeof(buf), &err) == NSS_STATUS_SUCCESS)
                ;
        (void) mod.endpwent();
        (void) mod.setgrent(0);
        while (mod.getgrent_r(&gr, buf, sizeof(buf), &err) == NSS_STATUS_SUCCESS)
                ;
        (void) mod.endgrent();
        /* getpwent without setpwent starts an enumeration too; endpwent ends it. */
        (void) mod.getpwent_r(&pw, buf, sizeof(buf), &err);
        (void) mod.endpwent();
        (void) mod.getgrent_r(&gr, buf, 4, &err);
        (void) mod.endgrent();
}

/* ---- NOTFOUND and UNAVAIL ---- */

#define assert_status(expected, expr)                                                                            \
        do {                                                                                                     \
                enum nss_status _st = (expr);                                                                    \
                if (_st != (expected))                                                                           \
                        fail_msg("%s: %s, expected %s", #expr, nss_status_name(_st), nss_status_name(expected)); \
        } while (0)

static void test_unknown_names_and_uids_are_not_found(void **state) {
        nss_host *h = *state;
        uid_t uid = userconf_uid(&h->users, "agent-one");
        char buf[1024];
        struct passwd pw;
        struct group gr;
        long start = 0, size = 0;
        gid_t *groups = NULL;
        int err = 0;

        assert_status(NSS_STATUS_NOTFOUND, mod.getpwnam_r("bob", &pw, buf, sizeof(buf), &err));
        assert_int_equal(err, ENOENT);
        assert_status(NSS_STATUS_NOTFOUND, mod.getgrnam_r("bob", &gr, buf, sizeof(buf), &err));
        /* In the range but not on record; outside the range; root. */
        assert_status(NSS_STATUS_NOTFOUND, mod.getpwuid_r(uid + 1, &pw, buf, sizeof(buf), &err));
        assert_int_equal(err, ENOENT);
        assert_status(NSS_STATUS_NOTFOUND, mod.getpwuid_r(h->users.uid_min, &pw, buf, sizeof(buf), &err));
        assert_status(NSS_STATUS_NOTFOUND, mod.getpwuid_r(1000, &pw, buf, sizeof(buf), &err));
        assert_status(NSS_STATUS_NOTFOUND, mod.getpwuid_r(0, &pw, buf, sizeof(buf), &err));
        assert_status(NSS_STATUS_NOTFOUND, mod.getpwuid_r((uid_t) -1, &pw, buf, sizeof(buf), &err));
        assert_status(NSS_STATUS_NOTFOUND, mod.getgrgid_r(uid + 1, &gr, buf, sizeof(buf), &err));
        assert_status(NSS_STATUS_NOTFOUND, mod.getgrgid_r(0, &gr, buf, sizeof(buf), &err));
        /* A pre-authentication name has no UID entry until it is recorded. */
        assert_status(NSS_STATUS_NOTFOUND,
                      mod.getpwuid_r(userconf_uid(&h->users, "agent-preauth"), &pw, buf, sizeof(buf), &err));
        assert_status(NSS_STATUS_NOTFOUND, mod.initgroups_dyn("bob", 100, &start, &size, &groups, -1, &err));
        assert_status(NSS_STATUS_NOTFOUND, mod.initgroups_dyn("agent-preauth", 100, &start, &size, &groups, -1, &err));
        assert_int_equal(start, 0);
        free(groups);

        /* The recorded ones are there. */
        assert_status(NSS_STATUS_SUCCESS, mod.getpwnam_r("agent-one", &pw, buf, sizeof(buf), &err));
        assert_status(NSS_STATUS_SUCCESS, mod.getpwuid_r(uid, &pw, buf, sizeof(buf), &err));
        assert_string_equal(pw.pw_name, "agent-one");
}

/* Every lookup with the configuration (or the whole host) in the state `what`. */
static void assert_all_unavailable(const nss_host *h, const char *what) {
        uid_t uid = userconf_uid(&h->users, "agent-one");
        char buf[1024];
        struct passwd pw;
        struct group gr;
        long start = 0, size = 0;
        gid_t *groups = NULL;
        int err;

        (void) what;
        err = 0;
        assert_status(NSS_STATUS_UNAVAIL, mod.getpwnam_r("agent-one", &pw, buf, sizeof(buf), &err));
        assert_int_not_equal(err, 0);
        assert_status(NSS_STATUS_UNAVAIL, mod.getpwnam_r("agent-preauth", &pw, buf, sizeof(buf), &err));
        assert_status(NSS_STATUS_UNAVAIL, mod.getpwnam_r("bob", &pw, buf, sizeof(buf), &err));
        assert_status(NSS_STATUS_UNAVAIL, mod.getpwuid_r(uid, &pw, buf, sizeof(buf), &err));
        assert_status(NSS_STATUS_UNAVAIL, mod.getgrnam_r("agent-one", &gr, buf, sizeof(buf), &err));
        assert_status(NSS_STATUS_UNAVAIL, mod.getgrgid_r(uid, &gr, buf, sizeof(buf), &err));
        assert_status(NSS_STATUS_UNAVAIL, mod.initgroups_dyn("agent-one", uid, &start, &size, &groups, -1, &err));
        assert_null(groups);
        assert_status(NSS_STATUS_UNAVAIL, mod.setpwent(0));
        assert_status(NSS_STATUS_UNAVAIL, mod.getpwent_r(&pw, buf, sizeof(buf), &err));
        assert_status(NSS_STATUS_SUCCESS, mod.endpwent());
        assert_status(NSS_STATUS_UNAVAIL, mod.setgrent(0));
        assert_status(NSS_STATUS_UNAVAIL, mod.getgrent_r(&gr, buf, sizeof(buf), &err));
        assert_status(NSS_STATUS_SUCCESS, mod.endgrent());
}

static void test_missing_configuration_is_unavailable(void **state) {
        nss_host *h = *state;
        _cleanup_free_ char *missing = nss_test_printf("%s/no-such.conf", h->dir);

        /* A working configuration first, so that a cached one would be visible. */
        exercise_every_entry_point(h);
        assert_int_equal(setenv("EPHEM_CONFIG", missing, 1), 0);
        assert_all_unavailable(h, "missing");
        assert_int_equal(unlink(h->config_path), 0);
        nss_host_select(h);
        assert_all_unavailable(h, "removed");
}

static void test_unusable_configuration_is_unavailable(void **state) {
        nss_host *h = *state;
        _cleanup_free_ char *link = nss_test_printf("%s/link.conf", h->dir);
        static const char *const broken[] = {
                "[users]\nnames = agent-*\nno assignment here\n",
                "[users]\nnames = agent-*\nuid_range = 0-100\n",
                "[users]\nnames = AGENT-*\n",
                "[users]\nnames = agent-*\nno_such_key = 1\n",
                "[host]\nstate_dir = relative/path\n",
                "[users\n",
        };

        exercise_every_entry_point(h);
        for (size_t i = 0; i < ELEMENTSOF(broken); i++) {
                nss_test_write(h->config_path, broken[i], strlen(broken[i]), 0644);
                assert_all_unavailable(h, broken[i]);
        }

        /* A good configuration, loaded, then made one the module must not trust:
         * the change of mode alone must end the module's trust in its copy. */
        nss_host_configure(h, NULL);
        assert_status(NSS_STATUS_SUCCESS,
                      mod.getpwnam_r("agent-one", &(struct passwd){ 0 }, (char[1024]){ 0 }, 1024, &(int){ 0 }));
        assert_int_equal(chmod(h->config_path, 0666), 0);
        assert_all_unavailable(h, "world-writable");
        assert_int_equal(chmod(h->config_path, 0664), 0);
        assert_all_unavailable(h, "group-writable");
        assert_int_equal(chmod(h->config_path, 0644), 0);
        assert_status(NSS_STATUS_SUCCESS,
                      mod.getpwnam_r("agent-one", &(struct passwd){ 0 }, (char[1024]){ 0 }, 1024, &(int){ 0 }));
        /* The very file just read, through a symlink: not opened, so not answered from. */
        assert_int_equal(symlink(h->config_path, link), 0);
        assert_int_equal(setenv("EPHEM_CONFIG", link, 1), 0);
        assert_all_unavailable(h, "symlink");
        /* Relative paths in EPHEM_CONFIG are ignored for the built-in one; not testable here. */
        nss_host_select(h);
        if (geteuid() == 0) {
                assert_status(NSS_STATUS_SUCCESS,
                              mod.getpwnam_r("agent-one", &(struct passwd){ 0 }, (char[1024]){ 0 }, 1024, &(int){ 0 }));
                assert_int_equal(chown(h->config_path, 12345, 12345), 0);
                assert_all_unavailable(h, "foreign owner");
                assert_int_equal(chown(h->config_path, 0, 0), 0);
        }
        {
                char buf[1024];
                struct passwd pw;
                int err;
                assert_status(NSS_STATUS_SUCCESS, mod.getpwnam_r("agent-one", &pw, buf, sizeof(buf), &err));
        }
}

static void test_missing_store_is_unavailable_by_uid(void **state) {
        nss_host *h = *state;
        _cleanup_free_ char *moved = nss_test_printf("%s/state.away", h->dir);
        _cleanup_free_ char *by_uid_away = nss_test_printf("%s.away", h->by_uid);
        uid_t uid = userconf_uid(&h->users, "agent-one");
        char buf[1024];
        struct passwd pw;
        struct group gr;
        int err = 0;

        assert_int_equal(rename(h->state_dir, moved), 0);
        /* By UID the store is the only source: no store, no answer. */
        assert_status(NSS_STATUS_UNAVAIL, mod.getpwuid_r(uid, &pw, buf, sizeof(buf), &err));
        assert_status(NSS_STATUS_UNAVAIL, mod.getgrgid_r(uid, &gr, buf, sizeof(buf), &err));
        assert_status(NSS_STATUS_UNAVAIL, mod.setpwent(0));
        assert_status(NSS_STATUS_SUCCESS, mod.endpwent());
        /* By name: a transient name still gets its pre-authentication entry (after a
         * reboot /run is empty and sshd must still resolve it), anything else is unknown. */
        assert_status(NSS_STATUS_SUCCESS, mod.getpwnam_r("agent-one", &pw, buf, sizeof(buf), &err));
        assert_int_equal(pw.pw_uid, uid);
        assert_status(NSS_STATUS_NOTFOUND, mod.getpwnam_r("bob", &pw, buf, sizeof(buf), &err));
        assert_int_equal(rename(moved, h->state_dir), 0);

        /* The by-uid directory alone missing. */
        assert_int_equal(rename(h->by_uid, by_uid_away), 0);
        assert_status(NSS_STATUS_UNAVAIL, mod.getpwuid_r(uid, &pw, buf, sizeof(buf), &err));
        assert_status(NSS_STATUS_UNAVAIL, mod.getpwuid_r(uid + 1, &pw, buf, sizeof(buf), &err));
        assert_int_equal(rename(by_uid_away, h->by_uid), 0);
        assert_status(NSS_STATUS_SUCCESS, mod.getpwuid_r(uid, &pw, buf, sizeof(buf), &err));
        assert_status(NSS_STATUS_NOTFOUND, mod.getpwuid_r(uid + 1, &pw, buf, sizeof(buf), &err));
}

/* ---- file descriptors ---- */

static void test_no_fd_left_open_after_any_lookup(void **state) {
        nss_host *h = *state;
        _cleanup_free_ char *missing = nss_test_printf("%s/no-such.conf", h->dir);
        int before = nss_count_fds();
        char buf[1024];
        struct passwd pw;
        int err;

        exercise_every_entry_point(h);
        assert_int_equal(nss_count_fds(), before);

        /* An enumeration holds its directory open, and only until it ends. */
        assert_status(NSS_STATUS_SUCCESS, mod.setpwent(0));
        assert_status(NSS_STATUS_SUCCESS, mod.getpwent_r(&pw, buf, sizeof(buf), &err));
        assert_int_equal(nss_count_fds(), before + 1);
        assert_status(NSS_STATUS_SUCCESS, mod.setpwent(0)); /* restarting does not leak */
        assert_int_equal(nss_count_fds(), before + 1);
        assert_status(NSS_STATUS_SUCCESS, mod.endpwent());
        assert_int_equal(nss_count_fds(), before);
        assert_status(NSS_STATUS_SUCCESS, mod.endpwent()); /* twice is harmless */
        assert_int_equal(nss_count_fds(), before);

        /* The failure paths too. */
        assert_int_equal(setenv("EPHEM_CONFIG", missing, 1), 0);
        exercise_every_entry_point(h);
        assert_int_equal(nss_count_fds(), before);
        nss_host_select(h);
        nss_test_write(h->config_path, "[users]\nbad line\n", 17, 0644);
        exercise_every_entry_point(h);
        assert_int_equal(nss_count_fds(), before);
        nss_host_configure(h, NULL);
        nss_host_put_raw(h, "agent-broken", "v=1\n", 4, 0);
        assert_status(NSS_STATUS_UNAVAIL, mod.getpwnam_r("agent-broken", &pw, buf, sizeof(buf), &err));
        exercise_every_entry_point(h);
        assert_int_equal(nss_count_fds(), before);
}

static bool fd_is_cloexec(int fd) {
        _cleanup_free_ char *path = nss_test_printf("/proc/self/fdinfo/%d", fd);
        FILE *f = fopen(path, "re");
        char line[256];
        bool cloexec = false, seen = false;

        assert_non_null(f);
        while (fgets(line, sizeof(line), f)) {
                unsigned long flags;
                if (sscanf(line, "flags: %lo", &flags) == 1) {
                        seen = true;
                        cloexec = (flags & O_CLOEXEC) != 0;
                }
        }
        fclose(f);
        assert_true(seen);
        return cloexec;
}

static void fd_snapshot(bool open_fds[1024]) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;

        assert_non_null(d);
        memset(open_fds, 0, 1024 * sizeof(bool));
        while ((de = readdir(d))) {
                int fd = atoi(de->d_name);
                if (de->d_name[0] != '.' && fd != dirfd(d) && fd < 1024)
                        open_fds[fd] = true;
        }
        closedir(d);
}

/* The descriptor an open enumeration holds, read from /proc/self/fdinfo. */
static void test_enumeration_fd_is_cloexec(void **state) {
        bool before[1024], during[1024];
        char buf[1024];
        struct passwd pw;
        struct group gr;
        unsigned n_new = 0;
        int err;

        (void) state;
        fd_snapshot(before);
        assert_status(NSS_STATUS_SUCCESS, mod.setpwent(0));
        assert_status(NSS_STATUS_SUCCESS, mod.getpwent_r(&pw, buf, sizeof(buf), &err));
        assert_status(NSS_STATUS_SUCCESS, mod.setgrent(0));
        assert_status(NSS_STATUS_SUCCESS, mod.getgrent_r(&gr, buf, sizeof(buf), &err));
        fd_snapshot(during);
        for (int fd = 0; fd < 1024; fd++)
                if (during[fd] && !before[fd]) {
                        n_new++;
                        if (!fd_is_cloexec(fd))
                                fail_msg("fd %d of an open enumeration is not O_CLOEXEC", fd);
                }
        assert_int_equal(n_new, 2);
        assert_status(NSS_STATUS_SUCCESS, mod.endpwent());
        assert_status(NSS_STATUS_SUCCESS, mod.endgrent());
}

/* Every open(2) the module makes, on every path: close-on-exec, read-only. */
static void test_every_open_is_cloexec_and_read_only(void **state) {
        nss_host *h = *state;
        _cleanup_free_ char *missing = nss_test_printf("%s/no-such.conf", h->dir);

        nss_host_put_raw(h, "agent-broken", "v=1\n", 4, 0);
        /* A new configuration file, so that the module reads it again under watch. */
        nss_host_configure(h, "shell = /bin/bash\n");
        opens.n = 0;
        opens.watching = true;
        exercise_every_entry_point(h);
        assert_int_equal(setenv("EPHEM_CONFIG", missing, 1), 0);
        exercise_every_entry_point(h);
        opens.watching = false;
        nss_host_select(h);

        /* The configuration, the records, the enumeration directories: the
         * interposition saw them, or this test would prove nothing. (Records are
         * cached by inode: a second lookup of one record does not open it.) */
        assert_true(opens.n >= 8);
        for (unsigned i = 0; i < opens.n; i++) {
                if (!(opens.flags[i] & O_CLOEXEC))
                        fail_msg("open(%s) without O_CLOEXEC (flags %#o)", opens.path[i], opens.flags[i]);
                if (opens_for_writing(opens.flags[i]))
                        fail_msg("open(%s) for writing (flags %#o)", opens.path[i], opens.flags[i]);
        }
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_unknown_names_and_uids_are_not_found, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_configuration_is_unavailable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unusable_configuration_is_unavailable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_store_is_unavailable_by_uid, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_fd_left_open_after_any_lookup, setup, teardown),
                cmocka_unit_test_setup_teardown(test_enumeration_fd_is_cloexec, setup, teardown),
                cmocka_unit_test_setup_teardown(test_every_open_is_cloexec_and_read_only, setup, teardown),
        };

        if (argc != 2) {
                fprintf(stderr, "usage: %s <libnss_ephem.so.2>\n", argv[0]);
                return 2;
        }
        nss_module_open(argv[1], &mod);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
