/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * glibc's buffer protocol end to end: getpwnam_r(), getpwuid_r(), getgrnam_r() and
 * getgrgid_r() through the real glibc NSS, at every buffer size from 1 byte up. Each
 * call must return ERANGE (buffer too small: call again with more) or 0 with the
 * entry — never "not found" and never another error, which is what a module that
 * loses ERANGE on its way back through errno gives. Run by test-nss-glibc.sh inside
 * the namespace where glibc loads the module.
 *
 * Usage: nss-glibc-probe [--by-name-only] NAME
 * (--by-name-only: a pre-authentication name, which has no entry by UID)
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BUF 8192

typedef int (*probe_fn)(const char *name, unsigned id, char *buf, size_t size, bool *found, unsigned *ret_id);

static int pw_by_name(const char *name, unsigned id, char *buf, size_t size, bool *found, unsigned *ret_id) {
        struct passwd pw, *res = NULL;
        int r = getpwnam_r(name, &pw, buf, size, &res);

        (void) id;
        *found = res != NULL;
        if (res)
                *ret_id = pw.pw_uid;
        return r;
}

static int pw_by_uid(const char *name, unsigned id, char *buf, size_t size, bool *found, unsigned *ret_id) {
        struct passwd pw, *res = NULL;
        int r = getpwuid_r(id, &pw, buf, size, &res);

        *found = res != NULL && strcmp(pw.pw_name, name) == 0;
        *ret_id = id;
        return r;
}

static int gr_by_name(const char *name, unsigned id, char *buf, size_t size, bool *found, unsigned *ret_id) {
        struct group gr, *res = NULL;
        int r = getgrnam_r(name, &gr, buf, size, &res);

        (void) id;
        *found = res != NULL;
        if (res)
                *ret_id = gr.gr_gid;
        return r;
}

static int gr_by_gid(const char *name, unsigned id, char *buf, size_t size, bool *found, unsigned *ret_id) {
        struct group gr, *res = NULL;
        int r = getgrgid_r(id, &gr, buf, size, &res);

        *found = res != NULL && strcmp(gr.gr_name, name) == 0;
        *ret_id = id;
        return r;
}

static int probe(const char *what, probe_fn fn, const char *name, unsigned id, unsigned *ret_id) {
        static char buf[MAX_BUF];
        size_t first_ok = 0;

        for (size_t size = 1; size <= MAX_BUF; size++) {
                bool found = false;
                int r = fn(name, id, buf, size, &found, ret_id);

                if (r == ERANGE && !found && !first_ok)
                        continue;
                if (r == 0 && found) {
                        if (!first_ok)
                                first_ok = size;
                        if (size > first_ok + 64)
                                break;
                        continue;
                }
                printf("%s(%s) with %zu bytes: returned %d (%s), %s\n", what, name, size, r, strerror(r),
                       found ? "found" : "no entry");
                return -1;
        }
        if (!first_ok) {
                printf("%s(%s): no buffer up to %d bytes worked\n", what, name, MAX_BUF);
                return -1;
        }
        printf("%s(%s): ERANGE below %zu bytes, the entry from there on\n", what, name, first_ok);
        return 0;
}

int main(int argc, char *argv[]) {
        bool by_name_only = argc == 3 && strcmp(argv[1], "--by-name-only") == 0;
        const char *name = argv[argc - 1];
        unsigned uid = 0, gid = 0;
        int failed = 0;

        if (argc != 2 && !by_name_only) {
                fprintf(stderr, "usage: %s [--by-name-only] NAME\n", argv[0]);
                return 2;
        }
        failed |= probe("getpwnam_r", pw_by_name, name, 0, &uid) < 0;
        failed |= probe("getgrnam_r", gr_by_name, name, 0, &gid) < 0;
        if (!failed && !by_name_only) {
                unsigned ignored;
                failed |= probe("getpwuid_r", pw_by_uid, name, uid, &ignored) < 0;
                failed |= probe("getgrgid_r", gr_by_gid, name, gid, &ignored) < 0;
        }
        return failed ? 1 : 0;
}
