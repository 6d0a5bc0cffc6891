/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * _nss_ephem_initgroups_dyn(), glibc's contract: append the user's supplementary
 * groups to (*groupsp)[*start...], skipping the primary group passed in and any group
 * already in the array, growing the array with realloc() (updating *size) when it is
 * full, and never going past `limit` entries when limit > 0. NOTFOUND when it adds
 * nothing; the array is the caller's and stays valid on every path.
 *
 * Usage: test-nss-initgroups <path to libnss_ephem.so.2>
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ephem/macro.h"
#include "ephem/userdb.h"
#include "nss-test.h"

static nss_module mod;

typedef struct fixture {
        nss_host *host;
        uid_t uid;  /* agent-groups: groups 4, 24, 27, 100, 4 (duplicate), its own GID */
        uid_t many; /* agent-many: USER_GROUPS_MAX groups */
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));
        gid_t many[USER_GROUPS_MAX];

        assert_non_null(f);
        f->host = nss_host_new(NULL);
        {
                const gid_t groups[] = { 4, 24, 27, 100, 4, userconf_uid(&f->host->users, "agent-groups") };
                f->uid = nss_host_add_user(f->host, "agent-groups", groups, ELEMENTSOF(groups));
        }
        for (unsigned i = 0; i < USER_GROUPS_MAX; i++)
                many[i] = 1000 + i;
        f->many = nss_host_add_user(f->host, "agent-many", many, USER_GROUPS_MAX);
        nss_host_add_user(f->host, "agent-none", NULL, 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        nss_host_free(f->host);
        free(f);
        return 0;
}

/* An array as glibc hands it over: [0] = the primary group, capacity `size`. */
static gid_t *array(long size, gid_t primary) {
        gid_t *g = malloc((size_t) (size > 0 ? size : 1) * sizeof(gid_t));

        assert_non_null(g);
        g[0] = primary;
        return g;
}

static void assert_groups(const gid_t *got, long n, const gid_t *expected, long n_expected) {
        if (n != n_expected) {
                fail_msg("%ld groups, expected %ld", n, n_expected);
        }
        for (long i = 0; i < n; i++)
                if (got[i] != expected[i])
                        fail_msg("group [%ld] is %u, expected %u", i, (unsigned) got[i], (unsigned) expected[i]);
}

static void test_adds_record_groups_skipping_primary_and_duplicates(void **state) {
        fixture *f = *state;
        long start = 1, size = 16;
        gid_t *groups = array(size, f->uid);
        const gid_t expected[] = { f->uid, 4, 24, 27, 100 };
        int err = 0;

        errno = NSS_TEST_ERRNO_SENTINEL;
        assert_int_equal(mod.initgroups_dyn("agent-groups", f->uid, &start, &size, &groups, -1, &err),
                         NSS_STATUS_SUCCESS);
        assert_int_equal(errno, NSS_TEST_ERRNO_SENTINEL);
        assert_groups(groups, start, expected, ELEMENTSOF(expected));
        assert_int_equal(size, 16); /* room enough: no reallocation */
        free(groups);
}

static void test_groups_already_present_are_not_added_again(void **state) {
        fixture *f = *state;
        long start = 3, size = 3;
        gid_t *groups = array(size, f->uid);
        const gid_t expected[] = { f->uid, 27, 5, 4, 24, 100 };
        int err = 0;

        /* Another module already added 27 and 5. */
        groups[1] = 27;
        groups[2] = 5;
        assert_int_equal(mod.initgroups_dyn("agent-groups", f->uid, &start, &size, &groups, -1, &err),
                         NSS_STATUS_SUCCESS);
        assert_groups(groups, start, expected, ELEMENTSOF(expected));
        assert_true(size >= start);
        free(groups);

        /* All of them present already: nothing to add. */
        start = 5;
        size = 5;
        groups = array(size, f->uid);
        memcpy(groups, (const gid_t[]){ f->uid, 100, 27, 24, 4 }, 5 * sizeof(gid_t));
        assert_int_equal(mod.initgroups_dyn("agent-groups", f->uid, &start, &size, &groups, -1, &err),
                         NSS_STATUS_NOTFOUND);
        assert_int_equal(start, 5);
        assert_int_equal(size, 5);
        free(groups);
}

static void test_array_grows_when_full(void **state) {
        fixture *f = *state;
        long start = 1, size = 1;
        gid_t *groups = array(size, f->many);
        int err = 0;

        assert_int_equal(mod.initgroups_dyn("agent-many", f->many, &start, &size, &groups, -1, &err),
                         NSS_STATUS_SUCCESS);
        assert_int_equal(start, 1 + USER_GROUPS_MAX);
        assert_true(size >= start);
        assert_int_equal(groups[0], f->many);
        for (unsigned i = 0; i < USER_GROUPS_MAX; i++)
                assert_int_equal(groups[1 + i], 1000 + i);
        free(groups);

        /* From no array at all. */
        start = 0;
        size = 0;
        groups = NULL;
        assert_int_equal(mod.initgroups_dyn("agent-groups", f->uid, &start, &size, &groups, -1, &err),
                         NSS_STATUS_SUCCESS);
        assert_int_equal(start, 4);
        assert_true(size >= 4);
        assert_non_null(groups);
        free(groups);
}

static void test_limit_honoured(void **state) {
        fixture *f = *state;
        int err = 0;

        for (long limit = 1; limit <= (long) USER_GROUPS_MAX + 4; limit++) {
                long start = 1, size = 1;
                gid_t *groups = array(size, f->many);
                long want = limit < 1 + (long) USER_GROUPS_MAX ? limit : 1 + (long) USER_GROUPS_MAX;
                enum nss_status st = mod.initgroups_dyn("agent-many", f->many, &start, &size, &groups, limit, &err);

                if (start != want)
                        fail_msg("limit %ld: %ld groups, expected %ld", limit, start, want);
                assert_int_equal(st, limit == 1 ? NSS_STATUS_NOTFOUND : NSS_STATUS_SUCCESS);
                assert_true(size >= start);
                /* The array never grows past the limit. */
                assert_true(size <= (limit > 1 ? limit : 1));
                for (long i = 1; i < start; i++)
                        assert_int_equal(groups[i], 1000 + (gid_t) i - 1);
                free(groups);
        }

        /* Limit already reached by earlier modules. */
        {
                long start = 3, size = 3;
                gid_t *groups = array(size, f->uid);
                groups[1] = 1;
                groups[2] = 2;
                assert_int_equal(mod.initgroups_dyn("agent-groups", f->uid, &start, &size, &groups, 3, &err),
                                 NSS_STATUS_NOTFOUND);
                assert_int_equal(start, 3);
                assert_int_equal(size, 3);
                free(groups);
        }
}

static void test_users_without_groups_or_record_not_found(void **state) {
        fixture *f = *state;
        const char *names[] = {
                "agent-none", "agent-preauth-only", "bob", "root", "", "../agent-groups", "AGENT-GROUPS"
        };
        int err;

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                long start = 1, size = 2;
                gid_t *groups = array(size, 100);
                groups[1] = 0xdead;
                err = 0;
                errno = NSS_TEST_ERRNO_SENTINEL;
                assert_int_equal(mod.initgroups_dyn(names[i], 100, &start, &size, &groups, -1, &err),
                                 NSS_STATUS_NOTFOUND);
                assert_int_equal(errno, NSS_TEST_ERRNO_SENTINEL);
                assert_int_equal(err, ENOENT);
                assert_int_equal(start, 1);
                assert_int_equal(size, 2);
                assert_int_equal(groups[0], 100);
                assert_int_equal(groups[1], 0xdead);
                free(groups);
        }
        (void) f;
}

/* The primary group given by the caller is skipped whatever it is; the user's own
 * GID is a supplementary group like any other when it is not the primary one. */
static void test_primary_group_is_what_the_caller_says(void **state) {
        fixture *f = *state;
        long start = 1, size = 8;
        gid_t *groups = array(size, 24);
        const gid_t expected[] = { 24, 4, 27, 100, f->uid };
        int err = 0;

        assert_int_equal(mod.initgroups_dyn("agent-groups", 24, &start, &size, &groups, -1, &err), NSS_STATUS_SUCCESS);
        assert_groups(groups, start, expected, ELEMENTSOF(expected));
        free(groups);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_adds_record_groups_skipping_primary_and_duplicates, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_groups_already_present_are_not_added_again, setup, teardown),
                cmocka_unit_test_setup_teardown(test_array_grows_when_full, setup, teardown),
                cmocka_unit_test_setup_teardown(test_limit_honoured, setup, teardown),
                cmocka_unit_test_setup_teardown(test_users_without_groups_or_record_not_found, setup, teardown),
                cmocka_unit_test_setup_teardown(test_primary_group_is_what_the_caller_says, setup, teardown),
        };

        if (argc != 2) {
                fprintf(stderr, "usage: %s <libnss_ephem.so.2>\n", argv[0]);
                return 2;
        }
        nss_module_open(argv[1], &mod);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
