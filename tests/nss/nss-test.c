/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "nss-test.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ephem/macro.h"

void nss_test_die(const char *fmt, ...) {
        va_list ap;

        fputs("test fixture failed: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        abort();
}

char *nss_test_printf(const char *fmt, ...) {
        va_list ap;
        char *s = NULL;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0)
                nss_test_die("out of memory");
        return s;
}

void nss_test_write(const char *path, const void *data, size_t len, mode_t mode) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        size_t off = 0;

        if (fd < 0)
                nss_test_die("open(%s): %s", path, strerror(errno));
        while (off < len) {
                ssize_t k = write(fd, (const char *) data + off, len - off);
                if (k < 0)
                        nss_test_die("write(%s): %s", path, strerror(errno));
                off += (size_t) k;
        }
        if (fchmod(fd, mode) < 0)
                nss_test_die("fchmod(%s): %s", path, strerror(errno));
}

static int rm_entry(const char *path, const struct stat *st _unused_, int type _unused_, struct FTW *f _unused_) {
        if (remove(path) < 0 && errno != ENOENT)
                fprintf(stderr, "cannot remove %s: %s\n", path, strerror(errno));
        return 0;
}

void nss_test_rmrf(const char *path) {
        if (path)
                (void) nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static void mkdir_or_die(const char *path) {
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                nss_test_die("mkdir(%s): %s", path, strerror(errno));
}

void nss_host_write_config(const nss_host *h, const char *users_extra) {
        _cleanup_free_ char *tmp = nss_test_printf("%s/.ephem.conf.new", h->dir);
        _cleanup_free_ char *text = nss_test_printf("# written by tests/nss\n"
                                                    "[host]\n"
                                                    "state_dir = %s\n"
                                                    "\n"
                                                    "[users]\n"
                                                    "names = agent-* ci-*\n"
                                                    "home_base = %s/home\n"
                                                    "quarantine_dir = %s/quarantine\n"
                                                    "%s",
                                                    h->state_dir, h->dir, h->dir, users_extra ? users_extra : "");

        nss_test_write(tmp, text, strlen(text), 0644);
        if (rename(tmp, h->config_path) < 0)
                nss_test_die("rename(%s): %s", h->config_path, strerror(errno));
}

void nss_host_configure(nss_host *h, const char *users_extra) {
        conf_error err = { 0 };

        nss_host_write_config(h, users_extra);
        userconf_done(&h->users);
        if (userconf_load(h->config_path, &h->users, &err) < 0)
                nss_test_die("%s:%u: %s", h->config_path, err.line, err.message);
}

nss_host *nss_host_new(const char *users_extra) {
        const char *base = getenv("TMPDIR");
        _cleanup_free_ char *users = NULL;
        nss_host *h = calloc(1, sizeof(*h));

        if (!h)
                nss_test_die("out of memory");
        h->dir = nss_test_printf("%s/ephem-nss.XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(h->dir))
                nss_test_die("mkdtemp(%s): %s", h->dir, strerror(errno));
        if (chmod(h->dir, 0755) < 0)
                nss_test_die("chmod(%s): %s", h->dir, strerror(errno));
        h->config_path = nss_test_printf("%s/ephem.conf", h->dir);
        h->state_dir = nss_test_printf("%s/state", h->dir);
        users = nss_test_printf("%s/users", h->state_dir);
        h->by_name = nss_test_printf("%s/by-name", users);
        h->by_uid = nss_test_printf("%s/by-uid", users);
        mkdir_or_die(h->state_dir);
        mkdir_or_die(users);
        mkdir_or_die(h->by_name);
        mkdir_or_die(h->by_uid);
        nss_host_configure(h, users_extra);
        nss_host_select(h);
        return h;
}

void nss_host_select(const nss_host *h) {
        if (setenv("EPHEM_CONFIG", h->config_path, 1) < 0)
                nss_test_die("setenv: %s", strerror(errno));
}

void nss_host_free(nss_host *h) {
        if (!h)
                return;
        nss_test_rmrf(h->dir);
        userconf_done(&h->users);
        free(h->dir);
        free(h->config_path);
        free(h->state_dir);
        free(h->by_name);
        free(h->by_uid);
        free(h);
}

char *nss_record_text(const nss_host *h, const char *name, const gid_t *groups, size_t n_groups) {
        uid_t uid = userconf_uid(&h->users, name);
        int64_t now = (int64_t) time(NULL);
        char *text = nss_test_printf("v=1\nname=%s\nuid=%u\ngid=%u\ngecos=%s\nhome=%s/%s\nshell=%s\n", name,
                                     (unsigned) uid, (unsigned) uid, h->users.gecos, h->users.home_base, name,
                                     h->users.shell);

        for (size_t i = 0; i < n_groups; i++) {
                char *t = nss_test_printf("%sgroup=%u\n", text, (unsigned) groups[i]);
                free(text);
                text = t;
        }
        {
                char *t = nss_test_printf("%screated=%lld\nexpires=%lld\n", text, (long long) now,
                                          (long long) now + 3600);
                free(text);
                text = t;
        }
        return text;
}

uid_t nss_host_add_user(nss_host *h, const char *name, const gid_t *groups, size_t n_groups) {
        _cleanup_free_ char *text = nss_record_text(h, name, groups, n_groups);
        _cleanup_free_ char *tmp = nss_test_printf("%s/../.new-%s", h->by_name, name);
        _cleanup_free_ char *tmp_uid = nss_test_printf("%s/../.new-uid-%s", h->by_name, name);
        uid_t uid = userconf_uid(&h->users, name);
        _cleanup_free_ char *uid_path = nss_test_printf("%s/%u", h->by_uid, (unsigned) uid);
        _cleanup_free_ char *name_path = nss_test_printf("%s/%s", h->by_name, name);

        /* One inode, two names, each appearing whole by rename(2): what store.c does. */
        nss_test_write(tmp, text, strlen(text), 0644);
        (void) unlink(tmp_uid);
        if (link(tmp, tmp_uid) < 0 || rename(tmp_uid, uid_path) < 0 || rename(tmp, name_path) < 0)
                nss_test_die("recording %s: %s", name, strerror(errno));
        return uid;
}

void nss_host_remove_user(nss_host *h, const char *name) {
        _cleanup_free_ char *uid_path = nss_test_printf("%s/%u", h->by_uid, (unsigned) userconf_uid(&h->users, name));
        _cleanup_free_ char *name_path = nss_test_printf("%s/%s", h->by_name, name);

        if ((unlink(uid_path) < 0 && errno != ENOENT) || (unlink(name_path) < 0 && errno != ENOENT))
                nss_test_die("removing %s: %s", name, strerror(errno));
}

void nss_host_put_raw(nss_host *h, const char *file, const void *data, size_t len, uid_t link_uid) {
        _cleanup_free_ char *path = nss_test_printf("%s/%s", h->by_name, file);

        (void) unlink(path);
        nss_test_write(path, data, len, 0644);
        if (link_uid != 0) {
                _cleanup_free_ char *uid_path = nss_test_printf("%s/%u", h->by_uid, (unsigned) link_uid);
                (void) unlink(uid_path);
                if (link(path, uid_path) < 0)
                        nss_test_die("link(%s): %s", uid_path, strerror(errno));
        }
}

void nss_module_open(const char *path, nss_module *ret) {
        nss_module m = { 0 };

        m.handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!m.handle)
                nss_test_die("dlopen(%s): %s", path, dlerror());
#define RESOLVE(field)                                                          \
        do {                                                                    \
                *(void **) (&m.field) = dlsym(m.handle, "_nss_ephem_" #field);  \
                if (!m.field)                                                   \
                        nss_test_die("%s: no symbol _nss_ephem_" #field, path); \
        } while (0)
        RESOLVE(getpwnam_r);
        RESOLVE(getpwuid_r);
        RESOLVE(setpwent);
        RESOLVE(getpwent_r);
        RESOLVE(endpwent);
        RESOLVE(getgrnam_r);
        RESOLVE(getgrgid_r);
        RESOLVE(setgrent);
        RESOLVE(getgrent_r);
        RESOLVE(endgrent);
        RESOLVE(initgroups_dyn);
#undef RESOLVE
        *ret = m;
}

void nss_module_close(nss_module *m) {
        if (m->handle)
                (void) dlclose(m->handle);
        *m = (nss_module){ 0 };
}

const char *nss_status_name(enum nss_status s) {
        switch (s) {
        case NSS_STATUS_TRYAGAIN:
                return "TRYAGAIN";
        case NSS_STATUS_UNAVAIL:
                return "UNAVAIL";
        case NSS_STATUS_NOTFOUND:
                return "NOTFOUND";
        case NSS_STATUS_SUCCESS:
                return "SUCCESS";
        case NSS_STATUS_RETURN:
                return "RETURN";
        default:
                return "?";
        }
}

int nss_count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int n = 0;

        if (!d)
                nss_test_die("opendir(/proc/self/fd): %s", strerror(errno));
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n - 1; /* the directory's own fd */
}
