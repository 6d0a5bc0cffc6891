/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * glibc's buffer protocol and the caller's errno, calling the module's entry points
 * directly (dlopen). A buffer too small, at every size from 1 byte up to the one that
 * works, must give NSS_STATUS_TRYAGAIN with ERANGE and leave everything alone: not a
 * byte written in the buffer, past it (guard bytes; ASan's redzones for an exact
 * allocation) or in the result. Enumeration must hand the same entry out again after
 * ERANGE. errno is the caller's on every path; the reason of a failure goes through
 * errnop, which glibc points at errno itself.
 *
 * Usage: test-nss-buffers <path to libnss_ephem.so.2>
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ephem/macro.h"
#include "nss-test.h"

#define GUARD 64u
#define CANARY 0xa5
#define MAX_BUF 4096u

static nss_module mod;
static const gid_t GROUPS[] = { 4, 24, 27 };

/* A long gecos, so that the sizes cover every field boundary of a big entry. */
#define LONG_GECOS "gecos = Transient user of the NSS buffer tests, with a long comment to go through many sizes\n"

static int setup(void **state) {
        nss_host *h = nss_host_new(LONG_GECOS);

        nss_host_add_user(h, "agent-recorded", GROUPS, ELEMENTSOF(GROUPS));
        nss_host_add_user(h, "agent-second", NULL, 0);
        nss_host_add_user(h, "ci-third", GROUPS, 1);
        *state = h;
        return 0;
}

static int teardown(void **state) {
        nss_host_free(*state);
        return 0;
}

/* ---- one lookup, at any buffer size ---- */

typedef enum lookup_kind {
        PW_BY_NAME,
        PW_BY_UID,
        GR_BY_NAME,
        GR_BY_GID,
} lookup_kind;

typedef struct lookup {
        lookup_kind kind;
        const char *name;
        uid_t uid;
} lookup;

typedef union entry {
        struct passwd pw;
        struct group gr;
} entry;

static enum nss_status call(const lookup *l, entry *e, char *buf, size_t len, int *errnop) {
        switch (l->kind) {
        case PW_BY_NAME:
                return mod.getpwnam_r(l->name, &e->pw, buf, len, errnop);
        case PW_BY_UID:
                return mod.getpwuid_r(l->uid, &e->pw, buf, len, errnop);
        case GR_BY_NAME:
                return mod.getgrnam_r(l->name, &e->gr, buf, len, errnop);
        case GR_BY_GID:
                return mod.getgrgid_r((gid_t) l->uid, &e->gr, buf, len, errnop);
        }
        abort();
}

static bool in_buffer(const void *p, const char *buf, size_t len) {
        return (const char *) p >= buf && (const char *) p < buf + len;
}

static void assert_string_in_buffer(const char *s, const char *buf, size_t len) {
        assert_true(in_buffer(s, buf, len));
        assert_true(in_buffer(s + strlen(s), buf, len));
}

/* The entry is the user's, and everything it points to lies inside the buffer. */
static void assert_entry(const nss_host *h, const lookup *l, const entry *e, const char *buf, size_t len) {
        _cleanup_free_ char *home = nss_test_printf("%s/%s", h->users.home_base, l->name);
        uid_t uid = userconf_uid(&h->users, l->name);

        if (l->kind == PW_BY_NAME || l->kind == PW_BY_UID) {
                assert_string_equal(e->pw.pw_name, l->name);
                assert_int_equal(e->pw.pw_uid, uid);
                assert_int_equal(e->pw.pw_gid, uid);
                assert_string_equal(e->pw.pw_passwd, "*");
                assert_string_equal(e->pw.pw_gecos, h->users.gecos);
                assert_string_equal(e->pw.pw_dir, home);
                assert_string_equal(e->pw.pw_shell, h->users.shell);
                assert_string_in_buffer(e->pw.pw_name, buf, len);
                assert_string_in_buffer(e->pw.pw_passwd, buf, len);
                assert_string_in_buffer(e->pw.pw_gecos, buf, len);
                assert_string_in_buffer(e->pw.pw_dir, buf, len);
                assert_string_in_buffer(e->pw.pw_shell, buf, len);
        } else {
                assert_string_equal(e->gr.gr_name, l->name);
                assert_int_equal(e->gr.gr_gid, uid);
                assert_string_equal(e->gr.gr_passwd, "*");
                assert_string_in_buffer(e->gr.gr_name, buf, len);
                assert_string_in_buffer(e->gr.gr_passwd, buf, len);
                /* The member list: aligned, inside the buffer, empty (a user-private group). */
                assert_true(in_buffer(e->gr.gr_mem, buf, len));
                assert_true(in_buffer((const char *) (e->gr.gr_mem + 1) - 1, buf, len));
                assert_int_equal((uintptr_t) e->gr.gr_mem % alignof(char *), 0);
                assert_null(e->gr.gr_mem[0]);
        }
}

static size_t exact_need(const nss_host *h, const lookup *l) {
        if (l->kind == PW_BY_NAME || l->kind == PW_BY_UID)
                return strlen(l->name) + 1 + 2 + strlen(h->users.gecos) + 1 + strlen(h->users.home_base) + 1 +
                       strlen(l->name) + 1 + strlen(h->users.shell) + 1;
        return sizeof(char *) + strlen(l->name) + 1 + 2;
}

static void assert_canary(const char *p, size_t n, const char *what, size_t size) {
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) p[i] != CANARY)
                        fail_msg("%s: buffer of %zu bytes: byte %zu of %zu changed", what, size, i, n);
}

/*
 * Every size from 1 byte up: TRYAGAIN/ERANGE with nothing written until the size
 * that works; from there on, the right entry. `offset` misaligns the buffer.
 */
static void check_every_size(const nss_host *h, const lookup *l, size_t offset, const char *what) {
        size_t need = exact_need(h, l), first_ok = 0;
        entry untouched;

        memset(&untouched, 0x5a, sizeof(untouched));

        /* No buffer at all. */
        {
                entry e = untouched;
                int err = 0;

                errno = NSS_TEST_ERRNO_SENTINEL;
                assert_int_equal(call(l, &e, NULL, 0, &err), NSS_STATUS_TRYAGAIN);
                assert_int_equal(errno, NSS_TEST_ERRNO_SENTINEL);
                assert_int_equal(err, ERANGE);
                assert_memory_equal(&e, &untouched, sizeof(e));
        }

        for (size_t size = 1; size <= MAX_BUF; size++) {
                _cleanup_free_ char *guarded = malloc(offset + size + GUARD);
                _cleanup_free_ char *exact = malloc(offset + size);
                char *buf = guarded + offset;
                entry e = untouched;
                enum nss_status st;
                int err = 0;

                assert_non_null(guarded);
                assert_non_null(exact);
                memset(guarded, CANARY, offset + size + GUARD);

                errno = NSS_TEST_ERRNO_SENTINEL;
                st = call(l, &e, buf, size, &err);
                assert_int_equal(errno, NSS_TEST_ERRNO_SENTINEL);
                assert_canary(guarded, offset, what, size);
                assert_canary(buf + size, GUARD, what, size);

                if (st == NSS_STATUS_TRYAGAIN) {
                        if (first_ok)
                                fail_msg("%s: %zu bytes worked, %zu did not", what, first_ok, size);
                        assert_int_equal(err, ERANGE);
                        assert_canary(buf, size, what, size); /* nothing written unless all fits */
                        assert_memory_equal(&e, &untouched, sizeof(e));
                } else {
                        if (st != NSS_STATUS_SUCCESS)
                                fail_msg("%s: %zu bytes: %s", what, size, nss_status_name(st));
                        assert_entry(h, l, &e, buf, size);
                        if (!first_ok)
                                first_ok = size;
                }

                /* The same size, allocated exactly: an overrun hits ASan's redzone. */
                e = untouched;
                err = 0;
                st = call(l, &e, exact + offset, size, &err);
                assert_int_equal(st, first_ok ? NSS_STATUS_SUCCESS : NSS_STATUS_TRYAGAIN);

                if (first_ok && size >= first_ok + 2 * alignof(char *))
                        break;
        }
        if (!first_ok)
                fail_msg("%s: no buffer up to %u bytes was large enough", what, MAX_BUF);
        /* The size that works is the entry's, give or take the alignment of gr_mem. */
        assert_true(first_ok >= need);
        assert_true(first_ok < need + alignof(char *));
}

static void test_passwd_by_name_erange_at_every_size(void **state) {
        nss_host *h = *state;
        lookup recorded = { PW_BY_NAME, "agent-recorded", 0 };
        lookup preauth = { PW_BY_NAME, "agent-not-yet-recorded", 0 };

        check_every_size(h, &recorded, 0, "getpwnam_r(recorded)");
        check_every_size(h, &preauth, 0, "getpwnam_r(pre-authentication)");
}

static void test_passwd_by_uid_erange_at_every_size(void **state) {
        nss_host *h = *state;
        lookup l = { PW_BY_UID, "agent-recorded", userconf_uid(&h->users, "agent-recorded") };

        check_every_size(h, &l, 0, "getpwuid_r");
}

static void test_group_by_name_erange_at_every_size_and_alignment(void **state) {
        nss_host *h = *state;
        lookup recorded = { GR_BY_NAME, "agent-recorded", 0 };
        lookup preauth = { GR_BY_NAME, "ci-not-yet-recorded", 0 };

        for (size_t off = 0; off < alignof(char *); off++) {
                check_every_size(h, &recorded, off, "getgrnam_r(recorded)");
                check_every_size(h, &preauth, off, "getgrnam_r(pre-authentication)");
        }
}

static void test_group_by_gid_erange_at_every_size_and_alignment(void **state) {
        nss_host *h = *state;
        lookup l = { GR_BY_GID, "ci-third", userconf_uid(&h->users, "ci-third") };

        for (size_t off = 0; off < alignof(char *); off++)
                check_every_size(h, &l, off, "getgrgid_r");
}

/* ---- enumeration ---- */

#define MAX_ENTRIES 16

static size_t enumerate_names(bool group, char names[][USER_NAME_MAX + 1]) {
        _cleanup_free_ char *buf = malloc(MAX_BUF);
        size_t n = 0;
        int err = 0;

        assert_non_null(buf);
        assert_int_equal(group ? mod.setgrent(0) : mod.setpwent(0), NSS_STATUS_SUCCESS);
        for (;;) {
                entry e;
                enum nss_status st = group ? mod.getgrent_r(&e.gr, buf, MAX_BUF, &err)
                                           : mod.getpwent_r(&e.pw, buf, MAX_BUF, &err);
                if (st == NSS_STATUS_NOTFOUND)
                        break;
                assert_int_equal(st, NSS_STATUS_SUCCESS);
                assert_true(n < MAX_ENTRIES);
                strcpy(names[n++], group ? e.gr.gr_name : e.pw.pw_name);
        }
        assert_int_equal(group ? mod.endgrent() : mod.endpwent(), NSS_STATUS_SUCCESS);
        return n;
}

/* Each entry is asked for with 1, 2, 3, ... bytes: after every ERANGE the same entry
 * must come again, so that the sequence equals the one a large buffer gives. */
static void check_enumeration_redelivers(const nss_host *h, bool group) {
        char expected[MAX_ENTRIES][USER_NAME_MAX + 1], got[MAX_ENTRIES][USER_NAME_MAX + 1];
        size_t n_expected = enumerate_names(group, expected), n = 0;
        entry untouched;
        int err = 0;

        memset(&untouched, 0x5a, sizeof(untouched));
        assert_int_equal(n_expected, 3);
        assert_int_equal(group ? mod.setgrent(0) : mod.setpwent(0), NSS_STATUS_SUCCESS);
        for (;;) {
                enum nss_status st = NSS_STATUS_TRYAGAIN;
                size_t size;

                for (size = 1; size <= MAX_BUF; size++) {
                        _cleanup_free_ char *guarded = malloc(size + GUARD);
                        entry e = untouched;

                        assert_non_null(guarded);
                        memset(guarded, CANARY, size + GUARD);
                        err = 0;
                        errno = NSS_TEST_ERRNO_SENTINEL;
                        st = group ? mod.getgrent_r(&e.gr, guarded, size, &err)
                                   : mod.getpwent_r(&e.pw, guarded, size, &err);
                        assert_int_equal(errno, NSS_TEST_ERRNO_SENTINEL);
                        assert_canary(guarded + size, GUARD, group ? "getgrent_r" : "getpwent_r", size);
                        if (st == NSS_STATUS_TRYAGAIN) {
                                assert_int_equal(err, ERANGE);
                                assert_canary(guarded, size, group ? "getgrent_r" : "getpwent_r", size);
                                assert_memory_equal(&e, &untouched, sizeof(e));
                                continue;
                        }
                        if (st == NSS_STATUS_SUCCESS) {
                                lookup l = { group ? GR_BY_NAME : PW_BY_NAME, NULL, 0 };
                                assert_true(n < MAX_ENTRIES);
                                strcpy(got[n], group ? e.gr.gr_name : e.pw.pw_name);
                                l.name = got[n];
                                assert_entry(h, &l, &e, guarded, size);
                                n++;
                        }
                        break;
                }
                if (st == NSS_STATUS_NOTFOUND)
                        break;
                assert_int_equal(st, NSS_STATUS_SUCCESS);
                /* Only the size that fits the entry got it. */
                assert_true(size >= strlen(got[n - 1]) + 3);
        }
        assert_int_equal(group ? mod.endgrent() : mod.endpwent(), NSS_STATUS_SUCCESS);
        assert_int_equal(n, n_expected);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(got[i], expected[i]);
}

static void test_getpwent_redelivers_entry_after_erange(void **state) {
        check_enumeration_redelivers(*state, false);
}

static void test_getgrent_redelivers_entry_after_erange(void **state) {
        check_enumeration_redelivers(*state, true);
}

/* ---- errno ---- */

/* The call must leave errno exactly as the caller had it, whatever it returns. */
#define assert_keeps_errno(expected, expr)                                                                       \
        do {                                                                                                     \
                enum nss_status _st;                                                                             \
                errno = NSS_TEST_ERRNO_SENTINEL;                                                                 \
                _st = (expr);                                                                                    \
                if (errno != NSS_TEST_ERRNO_SENTINEL)                                                            \
                        fail_msg("%s: errno %d (%s), expected it kept", #expr, errno, strerror(errno));          \
                if (_st != (expected))                                                                           \
                        fail_msg("%s: %s, expected %s", #expr, nss_status_name(_st), nss_status_name(expected)); \
        } while (0)

static void test_caller_errno_preserved_on_every_path(void **state) {
        nss_host *h = *state;
        uid_t uid = userconf_uid(&h->users, "agent-recorded");
        static const char damaged[] = "v=1\nname=agent-damaged\nuid=0\n";
        _cleanup_free_ char *missing = nss_test_printf("%s/does-not-exist.conf", h->dir);
        char buf[1024], small[4];
        long start = 1, size = 1;
        _cleanup_free_ gid_t *groups = calloc(1, sizeof(gid_t));
        struct passwd pw;
        struct group gr;
        int err = 0;

        assert_non_null(groups);
        nss_host_put_raw(h, "agent-damaged", damaged, strlen(damaged), 0);

        /* SUCCESS */
        assert_keeps_errno(NSS_STATUS_SUCCESS, mod.getpwnam_r("agent-recorded", &pw, buf, sizeof(buf), &err));
        assert_keeps_errno(NSS_STATUS_SUCCESS, mod.getpwnam_r("agent-preauth", &pw, buf, sizeof(buf), &err));
        assert_keeps_errno(NSS_STATUS_SUCCESS, mod.getpwuid_r(uid, &pw, buf, sizeof(buf), &err));
        assert_keeps_errno(NSS_STATUS_SUCCESS, mod.getgrnam_r("agent-recorded", &gr, buf, sizeof(buf), &err));
        assert_keeps_errno(NSS_STATUS_SUCCESS, mod.getgrgid_r(uid, &gr, buf, sizeof(buf), &err));
        groups[0] = uid;
        assert_keeps_errno(NSS_STATUS_SUCCESS,
                           mod.initgroups_dyn("agent-recorded", uid, &start, &size, &groups, -1, &err));
        assert_keeps_errno(NSS_STATUS_SUCCESS, mod.setpwent(0));
        assert_keeps_errno(NSS_STATUS_SUCCESS, mod.getpwent_r(&pw, buf, sizeof(buf), &err));
        assert_keeps_errno(NSS_STATUS_SUCCESS, mod.endpwent());
        assert_keeps_errno(NSS_STATUS_SUCCESS, mod.setgrent(0));
        assert_keeps_errno(NSS_STATUS_SUCCESS, mod.getgrent_r(&gr, buf, sizeof(buf), &err));
        assert_keeps_errno(NSS_STATUS_SUCCESS, mod.endgrent());

        /* NOTFOUND */
        assert_keeps_errno(NSS_STATUS_NOTFOUND, mod.getpwnam_r("bob", &pw, buf, sizeof(buf), &err));
        assert_keeps_errno(NSS_STATUS_NOTFOUND, mod.getpwnam_r("../x", &pw, buf, sizeof(buf), &err));
        assert_keeps_errno(NSS_STATUS_NOTFOUND, mod.getpwuid_r(uid + 1, &pw, buf, sizeof(buf), &err));
        assert_keeps_errno(NSS_STATUS_NOTFOUND, mod.getpwuid_r(0, &pw, buf, sizeof(buf), &err));
        assert_keeps_errno(NSS_STATUS_NOTFOUND, mod.getgrnam_r("bob", &gr, buf, sizeof(buf), &err));
        assert_keeps_errno(NSS_STATUS_NOTFOUND, mod.getgrgid_r(uid + 1, &gr, buf, sizeof(buf), &err));
        assert_keeps_errno(NSS_STATUS_NOTFOUND,
                           mod.initgroups_dyn("agent-second", uid, &start, &size, &groups, -1, &err));
        assert_keeps_errno(NSS_STATUS_SUCCESS, mod.setpwent(0));
        while (mod.getpwent_r(&pw, buf, sizeof(buf), &err) == NSS_STATUS_SUCCESS)
                ;
        assert_keeps_errno(NSS_STATUS_NOTFOUND, mod.getpwent_r(&pw, buf, sizeof(buf), &err));
        assert_keeps_errno(NSS_STATUS_SUCCESS, mod.endpwent());

        /* TRYAGAIN */
        assert_keeps_errno(NSS_STATUS_TRYAGAIN, mod.getpwnam_r("agent-recorded", &pw, small, sizeof(small), &err));
        assert_keeps_errno(NSS_STATUS_TRYAGAIN, mod.getgrgid_r(uid, &gr, small, sizeof(small), &err));

        /* UNAVAIL: a damaged record, then no configuration at all. */
        assert_keeps_errno(NSS_STATUS_UNAVAIL, mod.getpwnam_r("agent-damaged", &pw, buf, sizeof(buf), &err));
        assert_int_equal(setenv("EPHEM_CONFIG", missing, 1), 0);
        assert_keeps_errno(NSS_STATUS_UNAVAIL, mod.getpwnam_r("agent-recorded", &pw, buf, sizeof(buf), &err));
        assert_keeps_errno(NSS_STATUS_UNAVAIL, mod.getpwuid_r(uid, &pw, buf, sizeof(buf), &err));
        assert_keeps_errno(NSS_STATUS_UNAVAIL, mod.getgrnam_r("agent-recorded", &gr, buf, sizeof(buf), &err));
        assert_keeps_errno(NSS_STATUS_UNAVAIL, mod.getgrgid_r(uid, &gr, buf, sizeof(buf), &err));
        assert_keeps_errno(NSS_STATUS_UNAVAIL,
                           mod.initgroups_dyn("agent-recorded", uid, &start, &size, &groups, -1, &err));
        assert_keeps_errno(NSS_STATUS_UNAVAIL, mod.setpwent(0));
        assert_keeps_errno(NSS_STATUS_UNAVAIL, mod.getpwent_r(&pw, buf, sizeof(buf), &err));
        assert_keeps_errno(NSS_STATUS_SUCCESS, mod.endpwent());
        assert_keeps_errno(NSS_STATUS_UNAVAIL, mod.setgrent(0));
        assert_keeps_errno(NSS_STATUS_UNAVAIL, mod.getgrent_r(&gr, buf, sizeof(buf), &err));
        assert_keeps_errno(NSS_STATUS_SUCCESS, mod.endgrent());
        nss_host_select(h);
}

/*
 * glibc calls every module with errnop = &errno and tells "buffer too small" from
 * any other TRYAGAIN by errno == ERANGE: the reason must survive the module putting
 * the caller's errno back. On success errno stays the caller's.
 */
static void test_reason_reaches_errno_when_errnop_is_errno(void **state) {
        nss_host *h = *state;
        uid_t uid = userconf_uid(&h->users, "agent-recorded");
        char small[8], buf[1024];
        struct passwd pw;
        struct group gr;

        errno = NSS_TEST_ERRNO_SENTINEL;
        assert_int_equal(mod.getpwnam_r("agent-recorded", &pw, small, sizeof(small), &errno), NSS_STATUS_TRYAGAIN);
        assert_int_equal(errno, ERANGE);

        errno = NSS_TEST_ERRNO_SENTINEL;
        assert_int_equal(mod.getpwuid_r(uid, &pw, small, sizeof(small), &errno), NSS_STATUS_TRYAGAIN);
        assert_int_equal(errno, ERANGE);

        errno = NSS_TEST_ERRNO_SENTINEL;
        assert_int_equal(mod.getgrnam_r("agent-recorded", &gr, small, sizeof(small), &errno), NSS_STATUS_TRYAGAIN);
        assert_int_equal(errno, ERANGE);

        errno = NSS_TEST_ERRNO_SENTINEL;
        assert_int_equal(mod.getgrgid_r(uid, &gr, small, sizeof(small), &errno), NSS_STATUS_TRYAGAIN);
        assert_int_equal(errno, ERANGE);

        assert_int_equal(mod.setpwent(0), NSS_STATUS_SUCCESS);
        errno = NSS_TEST_ERRNO_SENTINEL;
        assert_int_equal(mod.getpwent_r(&pw, small, sizeof(small), &errno), NSS_STATUS_TRYAGAIN);
        assert_int_equal(errno, ERANGE);
        assert_int_equal(mod.endpwent(), NSS_STATUS_SUCCESS);

        assert_int_equal(mod.setgrent(0), NSS_STATUS_SUCCESS);
        errno = NSS_TEST_ERRNO_SENTINEL;
        assert_int_equal(mod.getgrent_r(&gr, small, 2, &errno), NSS_STATUS_TRYAGAIN);
        assert_int_equal(errno, ERANGE);
        assert_int_equal(mod.endgrent(), NSS_STATUS_SUCCESS);

        errno = NSS_TEST_ERRNO_SENTINEL;
        assert_int_equal(mod.getpwnam_r("bob", &pw, buf, sizeof(buf), &errno), NSS_STATUS_NOTFOUND);
        assert_int_equal(errno, ENOENT);

        errno = NSS_TEST_ERRNO_SENTINEL;
        assert_int_equal(mod.getpwnam_r("agent-recorded", &pw, buf, sizeof(buf), &errno), NSS_STATUS_SUCCESS);
        assert_int_equal(errno, NSS_TEST_ERRNO_SENTINEL);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_passwd_by_name_erange_at_every_size, setup, teardown),
                cmocka_unit_test_setup_teardown(test_passwd_by_uid_erange_at_every_size, setup, teardown),
                cmocka_unit_test_setup_teardown(test_group_by_name_erange_at_every_size_and_alignment, setup, teardown),
                cmocka_unit_test_setup_teardown(test_group_by_gid_erange_at_every_size_and_alignment, setup, teardown),
                cmocka_unit_test_setup_teardown(test_getpwent_redelivers_entry_after_erange, setup, teardown),
                cmocka_unit_test_setup_teardown(test_getgrent_redelivers_entry_after_erange, setup, teardown),
                cmocka_unit_test_setup_teardown(test_caller_errno_preserved_on_every_path, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reason_reaches_errno_when_errnop_is_errno, setup, teardown),
        };

        if (argc != 2) {
                fprintf(stderr, "usage: %s <libnss_ephem.so.2>\n", argv[0]);
                return 2;
        }
        nss_module_open(argv[1], &mod);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
