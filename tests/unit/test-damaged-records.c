/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Damaged state fails closed: a record that does not read as what ephem wrote must
 * never loosen a check. Each case here was found by the fuzz targets (docs/fuzzing.md)
 * and is named for the rule it now keeps.
 */
#include "test-cmocka.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ephem/breakglass.h"
#include "ephem/revocation.h"
#include "ephem/store.h"
#include "testutil.h"

#define JTI "jti-of-a-revoked-token"

typedef struct fixture {
        test_host *host;
        ephem_config *config;
        int64_t now;
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));
        _cleanup_free_ char *extra = NULL, *codes = NULL;

        assert_non_null(f);
        f->host = test_host_new(NULL);
        codes = test_strdup_printf("%s/codes", f->host->dir);
        extra = test_strdup_printf("[breakglass]\naccounts = breakglass-*\ncodes = %s\n", codes);
        test_host_configure(f->host, NULL, extra);
        f->config = test_host_config(f->host);
        f->now = (int64_t) time(NULL);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        config_free(f->config);
        test_host_free(f->host);
        free(f);
        return 0;
}

static void write_in(const char *dir, const char *name, const char *text, mode_t dir_mode) {
        _cleanup_free_ char *path = test_strdup_printf("%s/%s", dir, name);

        if (mkdir(dir, dir_mode) < 0 && errno != EEXIST)
                test_die("mkdir(%s): %s", dir, strerror(errno));
        test_write_file(path, text, 0600);
}

/* ---- revocation entries ---- */

static void write_jti_entry(const fixture *f, const char *text) {
        char name[REVOCATION_NAME_LEN + 1];

        assert_int_equal(revocation_entry_name(REVOKE_JTI, TEST_ISS, JTI, name), 0);
        write_in(f->config->revocation_dir, name, text, 0700);
}

static bool jti_revoked(const fixture *f) {
        char detail[256];
        return revocation_check(f->config, TEST_ISS, "someone", JTI, "agent-1", NULL, f->now, detail, sizeof(detail));
}

static void test_revocation_entry_with_damaged_until_still_revokes(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *lapsed = test_strdup_printf("kind=jti\niss=%s\nvalue=%s\nuntil=%" PRId64 "\n", TEST_ISS,
                                                         JTI, f->now - 60);
        _cleanup_free_ char *repeated = test_strdup_printf("kind=jti\niss=%s\nvalue=%s\nuntil=%" PRId64 "\nuntil=x\n",
                                                           TEST_ISS, JTI, f->now - 60);

        /* The control: an entry that has lapsed no longer revokes. */
        write_jti_entry(f, lapsed);
        assert_false(jti_revoked(f));
        /* A second, unreadable until made the entry read as lapsed: it revokes now. */
        write_jti_entry(f, repeated);
        assert_true(jti_revoked(f));
        write_jti_entry(f, "kind=jti\nvalue=" JTI "\nuntil=12x\n");
        assert_true(jti_revoked(f));
        write_jti_entry(f, "kind=jti\nvalue=" JTI "\nuntil=99999999999999999999\n");
        assert_true(jti_revoked(f));
}

/* ---- the record of the last applied revocation list ---- */

static ephem_reason apply_list(const fixture *f, int64_t iat) {
        json_t *header = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "typ", "revocation+jwt", "kid", TEST_KID);
        json_t *claims = json_pack("{s:s, s:I, s:[]}", "iss", TEST_ISS, "iat", (json_int_t) iat, "revoked");
        _cleanup_free_ char *doc = test_token_header(f->host->key, JWS_ES256, header, claims);
        ephem_verdict v = { 0 };
        unsigned added = 0;

        json_decref(header);
        json_decref(claims);
        return revocation_apply_document(f->config, doc, strlen(doc), f->now, &added, &v);
}

static void test_unreadable_applied_stamp_refuses_lists(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *older = test_strdup_printf("iat=%" PRId64 "\n", f->now - 100);
        _cleanup_free_ char *truncated = test_strdup_printf("iat=%" PRId64, f->now + 100000);

        /* The control: a stamp older than the list lets it apply. */
        write_in(f->config->revocation_dir, ".applied-broker", older, 0700);
        assert_reason(apply_list(f, f->now - 10), EPHEM_OK);
        /* No newline: the last digit was cut off and a newer stamp read as an older one. */
        write_in(f->config->revocation_dir, ".applied-broker", truncated, 0700);
        assert_reason(apply_list(f, f->now - 10), EPHEM_R_STATE);
        /* Beyond INT64_MAX: read as a negative time, older than any list (no rollback
         * protection at all). */
        write_in(f->config->revocation_dir, ".applied-broker", "iat=9223372036854775808\n", 0700);
        assert_reason(apply_list(f, f->now - 10), EPHEM_R_STATE);
}

/* A list that revokes JTI until exp, applied: entries written (*added) or NULL. */
static ephem_reason apply_jti_list(const fixture *f, int64_t iat, int64_t exp, unsigned *added) {
        json_t *header = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "typ", "revocation+jwt", "kid", TEST_KID);
        json_t *claims = json_pack("{s:s, s:I, s:[{s:s, s:I}]}", "iss", TEST_ISS, "iat", (json_int_t) iat, "revoked",
                                   "jti", JTI, "exp", (json_int_t) exp);
        _cleanup_free_ char *doc = test_token_header(f->host->key, JWS_ES256, header, claims);
        ephem_verdict v = { 0 };

        json_decref(header);
        json_decref(claims);
        return revocation_apply_document(f->config, doc, strlen(doc), f->now, added, &v);
}

static ino_t jti_entry_inode(const fixture *f) {
        char name[REVOCATION_NAME_LEN + 1];
        _cleanup_free_ char *path = NULL;
        struct stat st;

        assert_int_equal(revocation_entry_name(REVOKE_JTI, TEST_ISS, JTI, name), 0);
        path = test_strdup_printf("%s/%s", f->config->revocation_dir, name);
        assert_int_equal(stat(path, &st), 0);
        return st.st_ino;
}

/* Not a damaged record: the same list applied again (a refresh timer) rewrites
 * nothing, and still revokes; a changed entry is written again. */
static void test_same_list_again_rewrites_nothing(void **state) {
        fixture *f = *state;
        unsigned added = 99;
        ino_t first;

        assert_reason(apply_jti_list(f, f->now - 10, f->now + 600, &added), EPHEM_OK);
        assert_int_equal(added, 1);
        first = jti_entry_inode(f);
        assert_reason(apply_jti_list(f, f->now - 5, f->now + 600, &added), EPHEM_OK);
        assert_int_equal(added, 0);
        assert_true(jti_entry_inode(f) == first); /* a rewrite renames a new file over it */
        assert_true(jti_revoked(f));
        assert_reason(apply_jti_list(f, f->now - 1, f->now + 900, &added), EPHEM_OK);
        assert_int_equal(added, 1);
        assert_true(jti_revoked(f));
}

/* ---- UID quarantine ---- */

static void test_quarantine_with_damaged_until_keeps_the_uid_taken(void **state) {
        fixture *f = *state;
        uid_t uid = userconf_uid(&f->config->users, "agent-1");
        _cleanup_free_ char *name = test_strdup_printf("%u", (unsigned) uid);
        _cleanup_free_ char *ended = test_strdup_printf("name=agent-former\nuntil=%" PRId64 "\n", f->now - 1);
        _cleanup_free_ char *damaged = test_strdup_printf("name=agent-former\nuntil=%" PRId64 "x\n", f->now + 3600);
        char detail[256] = "";
        bool created;

        /* The control: a quarantine that has ended frees the UID. */
        write_in(f->config->users.quarantine_dir, name, ended, 0700);
        assert_false(store_uid_quarantined(f->config, uid, "agent-1", f->now, detail, sizeof(detail)));
        /* An until that does not parse read as "ended" (0): the UID went to a new name. */
        write_in(f->config->users.quarantine_dir, name, damaged, 0700);
        assert_true(store_uid_quarantined(f->config, uid, "agent-1", f->now, detail, sizeof(detail)));
        assert_errno(
                store_user_put(f->config, "agent-1", NULL, 0, f->now + 60, f->now, &created, detail, sizeof(detail)),
                -EADDRINUSE);
        write_in(f->config->users.quarantine_dir, name, "name=agent-former\n", 0700);
        assert_true(store_uid_quarantined(f->config, uid, "agent-1", f->now, detail, sizeof(detail)));
}

/* ---- break-glass ---- */

static char *account_dir(const fixture *f) {
        return test_strdup_printf("%s/breakglass-1", f->config->breakglass_dir);
}

static void test_rate_limit_record_from_the_future_is_no_permanent_lockout(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *acct = account_dir(f),
                            *failures = test_strdup_printf("%s/breakglass", f->config->state_dir),
                            *recent = test_strdup_printf("failures=3\nlast_ms=%" PRId64 "\n", f->now * 1000),
                            *tomorrow = test_strdup_printf("failures=3\nlast_ms=%" PRId64 "\n",
                                                           (f->now + 86400) * 1000);
        char detail[256];
        unsigned number = 0;

        assert_int_equal(mkdir(f->config->breakglass_dir, 0700), 0);
        /* A damaged code file: breakglass_use() stops there (no scrypt), after the rate limit. */
        write_in(acct, "7", "kdf=scrypt\nn=1\n", 0700);
        assert_true(mkdir(f->config->state_dir, 0755) == 0 || errno == EEXIST);
        /* The control: a recent failure rate-limits. */
        write_in(failures, "breakglass-1", recent, 0700);
        assert_reason(breakglass_use(f->config, "breakglass-1", "07-K3M9QD-7TXW2P-HB4R8N-ZJ6C1V", &number, detail,
                                     sizeof(detail)),
                      EPHEM_R_RATE_LIMITED);
        /* A last failure in the future (a clock set back, a damaged record) locked the
         * account until then: here for a day, not for the 4 s the count calls for. */
        write_in(failures, "breakglass-1", tomorrow, 0700);
        assert_reason(breakglass_use(f->config, "breakglass-1", "07-K3M9QD-7TXW2P-HB4R8N-ZJ6C1V", &number, detail,
                                     sizeof(detail)),
                      EPHEM_R_BREAKGLASS_STORE);
        /* And last_ms + backoff overflowed (UBSan). */
        write_in(failures, "breakglass-1", "failures=3\nlast_ms=9223372036854775807\n", 0700);
        assert_reason(breakglass_use(f->config, "breakglass-1", "07-K3M9QD-7TXW2P-HB4R8N-ZJ6C1V", &number, detail,
                                     sizeof(detail)),
                      EPHEM_R_BREAKGLASS_STORE);
}

static void test_code_files_need_exact_hex(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *acct = account_dir(f);
        static const char good[] = "kdf=scrypt\nn=32768\nr=8\np=1\nsalt=0f112233445566778899aabbccddeeff\n"
                                   "hash=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
        static const char lenient[] = "kdf=scrypt\nn=32768\nr=8\np=1\nsalt=+f112233445566778899aabbccddeeff\n"
                                      "hash=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
        breakglass_entry *l = NULL;
        size_t n = 99;

        assert_int_equal(mkdir(f->config->breakglass_dir, 0700), 0);
        assert_int_equal(mkdir(acct, 0700), 0);
        /* No code at all: an empty list (and no qsort() of a NULL array: UBSan). */
        assert_int_equal(breakglass_list(f->config, "breakglass-1", &l, &n), 0);
        assert_int_equal(n, 0);
        free(l);
        write_in(acct, "1", good, 0700);
        write_in(acct, "2", lenient, 0700);
        assert_int_equal(breakglass_list(f->config, "breakglass-1", &l, &n), 0);
        /* sscanf("%2x") read "+f" as 0x0f: only the exact file is a code. */
        assert_int_equal(n, 1);
        assert_int_equal(l[0].number, 1);
        free(l);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_revocation_entry_with_damaged_until_still_revokes, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_unreadable_applied_stamp_refuses_lists, setup, teardown),
                cmocka_unit_test_setup_teardown(test_same_list_again_rewrites_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_quarantine_with_damaged_until_keeps_the_uid_taken, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_rate_limit_record_from_the_future_is_no_permanent_lockout, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_code_files_need_exact_hex, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
