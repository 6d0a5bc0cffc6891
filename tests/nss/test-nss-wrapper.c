/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The module behind libc's own calls (getpwnam(), getgrouplist(), ...) under
 * nss_wrapper, without root and without touching /etc: the program runs with
 * LD_PRELOAD=libnss_wrapper.so (set by meson) and points nss_wrapper at empty
 * passwd/group files and at the module. Recorded users resolve every way; a name
 * matching the patterns gets its pre-authentication entry, no other name does; invalid
 * names and unrecorded UIDs are not found.
 *
 * Usage: test-nss-wrapper <path to libnss_ephem.so.2>
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ephem/macro.h"
#include "nss-test.h"

static nss_host *host;
static uid_t rec_uid, other_uid;
static const gid_t REC_GROUPS[] = { 4, 24 };

static void test_recorded_user_resolves_by_name_and_uid(void **state) {
        _cleanup_free_ char *home = nss_test_printf("%s/agent-rec", host->users.home_base);
        struct passwd *pw;
        struct group *gr;

        (void) state;
        pw = getpwnam("agent-rec");
        assert_non_null(pw);
        assert_string_equal(pw->pw_name, "agent-rec");
        assert_int_equal(pw->pw_uid, rec_uid);
        assert_int_equal(pw->pw_gid, rec_uid);
        assert_string_equal(pw->pw_passwd, "*");
        assert_string_equal(pw->pw_dir, home);
        assert_string_equal(pw->pw_shell, "/bin/sh");

        pw = getpwuid(rec_uid);
        assert_non_null(pw);
        assert_string_equal(pw->pw_name, "agent-rec");

        gr = getgrnam("agent-rec");
        assert_non_null(gr);
        assert_int_equal(gr->gr_gid, rec_uid);
        assert_null(gr->gr_mem[0]);

        gr = getgrgid(rec_uid);
        assert_non_null(gr);
        assert_string_equal(gr->gr_name, "agent-rec");

        /* The reentrant calls too, with glibc's own buffer sizes. */
        {
                char buf[1024];
                struct passwd pwd, *res = NULL;
                assert_int_equal(getpwnam_r("ci-other", &pwd, buf, sizeof(buf), &res), 0);
                assert_non_null(res);
                assert_int_equal(pwd.pw_uid, other_uid);
        }
}

static void test_enumeration_lists_recorded_users(void **state) {
        unsigned seen_rec = 0, seen_other = 0, n = 0;
        struct passwd *pw;
        struct group *gr;

        (void) state;
        setpwent();
        while ((pw = getpwent())) {
                n++;
                assert_true(pw->pw_uid != 0);
                if (streq(pw->pw_name, "agent-rec"))
                        seen_rec++;
                else if (streq(pw->pw_name, "ci-other"))
                        seen_other++;
                else
                        fail_msg("getpwent: unexpected %s", pw->pw_name);
        }
        endpwent();
        assert_int_equal(n, 2);
        assert_int_equal(seen_rec, 1);
        assert_int_equal(seen_other, 1);

        n = seen_rec = 0;
        setgrent();
        while ((gr = getgrent())) {
                n++;
                if (streq(gr->gr_name, "agent-rec") && gr->gr_gid == rec_uid)
                        seen_rec++;
        }
        endgrent();
        assert_int_equal(n, 2);
        assert_int_equal(seen_rec, 1);
}

/*
 * nss_wrapper 1.1.12 builds getgrouplist() from group members (a user-private group
 * has none) and answers initgroups() from its files backend when that knows the
 * primary group: the record's supplementary groups never reach it, so those are
 * tested by calling initgroups_dyn directly (test-nss-initgroups.c) and through the
 * real glibc (test-nss-glibc.sh). Here: the primary group, and no failure.
 */
static void test_getgrouplist_includes_primary_group(void **state) {
        gid_t groups[64];
        int n = ELEMENTSOF(groups);
        bool primary = false;

        (void) state;
        assert_true(getgrouplist("agent-rec", rec_uid, groups, &n) >= 1);
        assert_true(n >= 1);
        for (int i = 0; i < n; i++) {
                assert_true(groups[i] != 0);
                primary = primary || groups[i] == rec_uid;
        }
        assert_true(primary);
}

static void test_preauthentication_entry_only_for_pattern_names(void **state) {
        const char *transient[] = { "agent-new", "ci-9", "agent-a_b-c", "agent-12345678901234567890123456" };
        const char *outside[] = { "bob", "agent", "agentx", "xagent-1", "ci", "nobody" };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(transient); i++) {
                uid_t uid = userconf_uid(&host->users, transient[i]);
                struct passwd *pw = getpwnam(transient[i]);
                struct group *gr;

                if (!pw)
                        fail_msg("%s: no pre-authentication entry", transient[i]);
                assert_string_equal(pw->pw_name, transient[i]);
                assert_int_equal(pw->pw_uid, uid);
                assert_int_equal(pw->pw_gid, uid);
                assert_true(uid >= host->users.uid_min && uid <= host->users.uid_max);
                gr = getgrnam(transient[i]);
                assert_non_null(gr);
                assert_int_equal(gr->gr_gid, uid);
                /* Not on record: no entry by UID. */
                assert_null(getpwuid(uid));
                assert_null(getgrgid(uid));
        }
        for (size_t i = 0; i < ELEMENTSOF(outside); i++) {
                if (getpwnam(outside[i]))
                        fail_msg("%s resolved, but it matches no pattern", outside[i]);
                assert_null(getgrnam(outside[i]));
        }
}

static void test_invalid_names_not_found(void **state) {
        const char *invalid[] = {
                "root",
                "../x",
                "a:b",
                "agent-X",
                "AGENT-1",
                "Agent-1",
                "",
                "agent-1 ",
                " agent-1",
                "agent-1\n",
                "agent-1:0:0",
                "agent-1/..",
                "agent-*",
                "agent-1-",
                "-agent",
                "agent-é",
                "agent-123456789012345678901234567", /* 33 bytes */
                "agent-1234567890123456789012345678901234567890123456789012345678901234567890",
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(invalid); i++) {
                if (getpwnam(invalid[i]))
                        fail_msg("getpwnam(\"%s\") found an entry", invalid[i]);
                if (getgrnam(invalid[i]))
                        fail_msg("getgrnam(\"%s\") found an entry", invalid[i]);
        }
}

static void test_unrecorded_uids_not_found(void **state) {
        const uid_t uids[] = { 0, 1, 1000, 65534, host->users.uid_min, host->users.uid_max, rec_uid + 1, (uid_t) -1 };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(uids); i++) {
                if (getpwuid(uids[i]))
                        fail_msg("getpwuid(%u) found an entry", (unsigned) uids[i]);
                if (getgrgid(uids[i]))
                        fail_msg("getgrgid(%u) found an entry", (unsigned) uids[i]);
        }
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_recorded_user_resolves_by_name_and_uid),
                cmocka_unit_test(test_enumeration_lists_recorded_users),
                cmocka_unit_test(test_getgrouplist_includes_primary_group),
                cmocka_unit_test(test_preauthentication_entry_only_for_pattern_names),
                cmocka_unit_test(test_invalid_names_not_found),
                cmocka_unit_test(test_unrecorded_uids_not_found),
        };
        _cleanup_free_ char *passwd = NULL, *group = NULL;
        int r;

        if (argc != 2) {
                fprintf(stderr, "usage: %s <libnss_ephem.so.2>\n", argv[0]);
                return 2;
        }
        if (!dlsym(RTLD_DEFAULT, "nss_wrapper_enabled")) {
                printf("libnss_wrapper.so is not preloaded (LD_PRELOAD): skipped\n");
                return 77;
        }
        host = nss_host_new(NULL);
        rec_uid = nss_host_add_user(host, "agent-rec", REC_GROUPS, ELEMENTSOF(REC_GROUPS));
        other_uid = nss_host_add_user(host, "ci-other", NULL, 0);

        /* nss_wrapper reads these when first called: before any lookup. */
        passwd = nss_test_printf("%s/passwd", host->dir);
        group = nss_test_printf("%s/group", host->dir);
        nss_test_write(passwd, "", 0, 0644);
        nss_test_write(group, "", 0, 0644);
        if (setenv("NSS_WRAPPER_PASSWD", passwd, 1) < 0 || setenv("NSS_WRAPPER_GROUP", group, 1) < 0 ||
            setenv("NSS_WRAPPER_MODULE_SO_PATH", argv[1], 1) < 0 ||
            setenv("NSS_WRAPPER_MODULE_FN_PREFIX", "ephem", 1) < 0)
                nss_test_die("setenv: %s", strerror(errno));

        r = cmocka_run_group_tests(tests, NULL, NULL);
        nss_host_free(host);
        return r;
}
