/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The writer and the reader agree: what pam_ephem records with store_user_put() is
 * what the module answers, and it is the very entry the module gave the same name
 * before authentication (sshd keeps that one). After store_user_remove() the UID is
 * gone and the name is back to its pre-authentication entry.
 *
 * Usage: test-nss-store <path to libnss_ephem.so.2>
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ephem/config.h"
#include "ephem/macro.h"
#include "ephem/store.h"
#include "nss-test.h"

static nss_module mod;

typedef struct fixture {
        nss_host *host;
        ephem_config *config;
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));
        conf_error err = { 0 };

        assert_non_null(f);
        f->host = nss_host_new("gecos = Agent of the store test\nshell = /bin/bash\n");
        if (config_load(f->host->config_path, 0, NULL, &f->config, &err) < 0)
                fail_msg("%s:%u: %s", f->host->config_path, err.line, err.message);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        config_free(f->config);
        nss_host_free(f->host);
        free(f);
        return 0;
}

typedef struct pw_copy {
        char name[64], passwd[8], gecos[256], dir[256], shell[256];
        uid_t uid;
        gid_t gid;
} pw_copy;

static enum nss_status by_name(const char *name, pw_copy *ret) {
        char buf[2048];
        struct passwd pw;
        int err;
        enum nss_status st = mod.getpwnam_r(name, &pw, buf, sizeof(buf), &err);

        if (st == NSS_STATUS_SUCCESS) {
                *ret = (pw_copy){ .uid = pw.pw_uid, .gid = pw.pw_gid };
                snprintf(ret->name, sizeof(ret->name), "%s", pw.pw_name);
                snprintf(ret->passwd, sizeof(ret->passwd), "%s", pw.pw_passwd);
                snprintf(ret->gecos, sizeof(ret->gecos), "%s", pw.pw_gecos);
                snprintf(ret->dir, sizeof(ret->dir), "%s", pw.pw_dir);
                snprintf(ret->shell, sizeof(ret->shell), "%s", pw.pw_shell);
        }
        return st;
}

static void assert_same_entry(const pw_copy *a, const pw_copy *b) {
        assert_string_equal(a->name, b->name);
        assert_string_equal(a->passwd, b->passwd);
        assert_int_equal(a->uid, b->uid);
        assert_int_equal(a->gid, b->gid);
        assert_string_equal(a->gecos, b->gecos);
        assert_string_equal(a->dir, b->dir);
        assert_string_equal(a->shell, b->shell);
}

static void test_recorded_entry_is_the_preauthentication_entry(void **state) {
        fixture *f = *state;
        static const gid_t groups[] = { 4, 24 };
        int64_t now = (int64_t) time(NULL);
        pw_copy before, after, by_uid;
        char buf[2048], detail[256] = "";
        struct passwd pw;
        bool created = false;
        int err;

        assert_int_equal(by_name("agent-7", &before), NSS_STATUS_SUCCESS);
        assert_string_equal(before.gecos, "Agent of the store test");
        assert_string_equal(before.shell, "/bin/bash");
        assert_int_equal(mod.getpwuid_r(before.uid, &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);

        assert_int_equal(store_user_put(f->config, "agent-7", groups, ELEMENTSOF(groups), now + 600, now, &created,
                                        detail, sizeof(detail)),
                         0);
        assert_true(created);

        assert_int_equal(by_name("agent-7", &after), NSS_STATUS_SUCCESS);
        assert_same_entry(&before, &after);
        assert_int_equal(mod.getpwuid_r(before.uid, &pw, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
        by_uid = (pw_copy){ .uid = pw.pw_uid, .gid = pw.pw_gid };
        snprintf(by_uid.name, sizeof(by_uid.name), "%s", pw.pw_name);
        snprintf(by_uid.passwd, sizeof(by_uid.passwd), "%s", pw.pw_passwd);
        snprintf(by_uid.gecos, sizeof(by_uid.gecos), "%s", pw.pw_gecos);
        snprintf(by_uid.dir, sizeof(by_uid.dir), "%s", pw.pw_dir);
        snprintf(by_uid.shell, sizeof(by_uid.shell), "%s", pw.pw_shell);
        assert_same_entry(&before, &by_uid);

        /* Its groups, through initgroups_dyn. */
        {
                long start = 1, size = 1;
                gid_t *g = malloc(sizeof(gid_t));
                assert_non_null(g);
                g[0] = before.gid;
                assert_int_equal(mod.initgroups_dyn("agent-7", before.gid, &start, &size, &g, -1, &err),
                                 NSS_STATUS_SUCCESS);
                assert_int_equal(start, 3);
                assert_int_equal(g[1], 4);
                assert_int_equal(g[2], 24);
                free(g);
        }

        /* Removed: no UID entry, and the name has its pre-authentication entry again. */
        assert_int_equal(store_user_remove(f->config, "agent-7", now), 0);
        assert_int_equal(mod.getpwuid_r(before.uid, &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
        assert_int_equal(by_name("agent-7", &after), NSS_STATUS_SUCCESS);
        assert_same_entry(&before, &after);
}

static void test_enumeration_lists_what_the_store_lists(void **state) {
        fixture *f = *state;
        int64_t now = (int64_t) time(NULL);
        const char *names[] = { "agent-a", "agent-b", "ci-c" };
        const gid_t no_groups[1] = { 0 }; /* (store.c memcpy()s from it even for 0 groups) */
        _cleanup_free_ user_record *list = NULL;
        size_t n_list = 0, n_enum = 0;
        char buf[2048], detail[256];
        struct passwd pw;
        bool created;
        int err;

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                assert_int_equal(store_user_put(f->config, names[i], no_groups, 0, now + 600, now, &created, detail,
                                                sizeof(detail)),
                                 0);
        assert_int_equal(store_user_list(f->config, &list, &n_list), 0);
        assert_int_equal(n_list, ELEMENTSOF(names));

        assert_int_equal(mod.setpwent(0), NSS_STATUS_SUCCESS);
        while (mod.getpwent_r(&pw, buf, sizeof(buf), &err) == NSS_STATUS_SUCCESS) {
                bool listed = false;
                for (size_t i = 0; i < n_list; i++)
                        if (streq(list[i].name, pw.pw_name) && list[i].uid == pw.pw_uid)
                                listed = true;
                if (!listed)
                        fail_msg("enumeration handed out %s, which the store does not list", pw.pw_name);
                n_enum++;
        }
        assert_int_equal(mod.endpwent(), NSS_STATUS_SUCCESS);
        assert_int_equal(n_enum, n_list);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_recorded_entry_is_the_preauthentication_entry, setup, teardown),
                cmocka_unit_test_setup_teardown(test_enumeration_lists_what_the_store_lists, setup, teardown),
        };

        if (argc != 2) {
                fprintf(stderr, "usage: %s <libnss_ephem.so.2>\n", argv[0]);
                return 2;
        }
        nss_module_open(argv[1], &mod);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
