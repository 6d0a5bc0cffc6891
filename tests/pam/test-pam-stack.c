/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pam_ephem in PAM stacks, through libpamtest and pam_wrapper (see meson.build for the
 * environment): the exact code of auth and account for each situation, and the
 * reason the module gives (its "debug" lines, captured by pamutil.c).
 *
 * pam_wrapper copies PAM_WRAPPER_SERVICE_DIR into a private directory when it is
 * loaded and announces it as PAM_WRAPPER_RUNTIME_DIR; each test writes its service
 * files there, naming a configuration in a temporary directory of its own.
 *
 * Usage: test-pam-stack /path/to/pam_ephem.so
 */
#include "test-cmocka.h"

#include <libpamtest.h>
#include <security/pam_appl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ephem/token.h"
#include "pamutil.h"
#include "testutil.h"

static const char *module_path;

typedef struct fixture {
        test_host *host;
        int64_t now;
} fixture;

/* (Re)writes this test's service files into pam_wrapper's directory. */
static void write_services(const test_host *h) {
        const char *dir = getenv("PAM_WRAPPER_RUNTIME_DIR");
        _cleanup_free_ char *args = test_strdup_printf("config=%s debug", h->config_path);
        _cleanup_free_ char *broken = test_strdup_printf("%s/broken.conf", h->dir);
        _cleanup_free_ char *text = NULL;

        if (!dir)
                fail_msg("PAM_WRAPPER_RUNTIME_DIR is not set: run this test through meson test (pam_wrapper)");

        text = test_strdup_printf("auth required %1$s %2$s\naccount required %1$s %2$s\n", module_path, args);
        pam_write_service(dir, "ephem", text);
        free(text);
        text = test_strdup_printf("auth required %1$s %2$s leeway=0\naccount required %1$s %2$s leeway=0\n",
                                  module_path, args);
        pam_write_service(dir, "ephem-leeway0", text);
        free(text);
        text = test_strdup_printf("auth sufficient %1$s %2$s\nauth required pam_deny.so\n"
                                  "account sufficient %1$s %2$s\naccount required pam_deny.so\n",
                                  module_path, args);
        pam_write_service(dir, "ephem-sufficient", text);
        free(text);
        /* A probe: PAM_SUCCESS from this stack means exactly that pam_ephem returned
         * PAM_IGNORE; its success or failure end the stack with a failure. */
        text = test_strdup_printf("auth [ignore=ignore default=die] %1$s %2$s\nauth required pam_permit.so\n"
                                  "account [ignore=ignore default=die] %1$s %2$s\naccount required pam_permit.so\n",
                                  module_path, args);
        pam_write_service(dir, "ephem-ignore-probe", text);
        free(text);
        text = test_strdup_printf("auth required %1$s config=%2$s debug\naccount required %1$s config=%2$s debug\n",
                                  module_path, broken);
        pam_write_service(dir, "ephem-broken", text);
        free(text);
        /* What Debian's /etc/pam.d/systemd-user gets through common-account, with
         * pam_deny after it: PAM_AUTH_ERR (pam_deny's account code, never
         * pam_ephem's) means exactly that pam_ephem returned PAM_IGNORE. */
        text = test_strdup_printf("account [success=done ignore=ignore default=die] %1$s %2$s leeway=0\n"
                                  "account required pam_deny.so\n",
                                  module_path, args);
        pam_write_service(dir, "systemd-user", text);
}

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));

        f->host = test_host_new(NULL);
        f->now = (int64_t) time(NULL);
        write_services(f->host);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        test_host_free(f->host);
        free(f);
        return 0;
}

/* Runs the cases in one PAM transaction, answering prompts from `answers`; fails the
 * test with both codes, the prompts and the module's log when a code differs. */
static void run_cases(const char *service, const char *user, pam_script *script, struct pam_testcase *cases, size_t n) {
        enum pamtest_err perr;

        pam_log_reset();
        perr = _pamtest_conv(service, user, pam_script_conv, script, cases, n, NULL);
        if (perr == PAMTEST_ERR_CASE) {
                const struct pam_testcase *c = _pamtest_failed_case(cases, n);
                fail_msg("%s for '%s', operation %d: %s, expected %s\nprompts: %zu, module log:\n%s", service, user,
                         (int) c->pam_operation, pam_code_name(c->op_rv), pam_code_name(c->expected_rv),
                         script->n_prompts, pam_log_text());
        }
        if (perr != PAMTEST_ERR_OK && perr != PAMTEST_ERR_KEEPHANDLE)
                fail_msg("%s for '%s': %s\n%s", service, user, pamtest_strerror(perr), pam_log_text());
}

/* auth (and account when expected_account is not -1) with one answer. */
static void login(const char *service, const char *user, const char *answer, int expected_auth, int expected_account) {
        const char *answers[] = { answer, NULL };
        pam_script script = { .answers = answers };
        struct pam_testcase cases[] = {
                pam_test(PAMTEST_AUTHENTICATE, expected_auth),
                pam_test(PAMTEST_ACCOUNT, expected_account),
        };

        run_cases(service, user, &script, cases, expected_account == -1 ? 1 : 2);
}

static void assert_logged_reason(const char *expected) {
        if (!streq(pam_log_reason(), expected))
                fail_msg("the module gave reason '%s', expected '%s'; its log:\n%s", pam_log_reason(), expected,
                         pam_log_text());
}

static char *token_with(fixture *f, int64_t iat, int64_t exp, const char *pad) {
        json_t *c = test_claims(f->now, "agent");
        char *token;

        json_object_set_new(c, "iat", json_integer(iat));
        json_object_set_new(c, "exp", json_integer(exp));
        if (pad)
                json_object_set_new(c, "pad", json_string(pad));
        token = test_token(f->host->key, JWS_ES256, TEST_KID, c);
        json_decref(c);
        return token;
}

static char *big_token(fixture *f, size_t pad_len) {
        _cleanup_free_ char *pad = malloc(pad_len + 1);

        memset(pad, 'p', pad_len);
        pad[pad_len] = '\0';
        return token_with(f, f->now, f->now + 300, pad);
}

static void test_valid_token_auth_and_account_succeed(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *token = test_host_token(f->host, f->now, "agent");
        const char *answers[] = { token, NULL };
        pam_script script = { .answers = answers };
        struct pam_testcase cases[] = {
                pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
                pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS),
                pam_test(PAMTEST_GETENVLIST, PAM_SUCCESS),
        };
        const char *id = NULL;

        run_cases("ephem", "agent-1", &script, cases, ELEMENTSOF(cases));
        /* One prompt, the documented one; the hand-off id in the PAM environment. */
        assert_int_equal(script.n_prompts, 1);
        assert_string_equal(script.prompts[0], "ephem token: ");
        for (char **e = cases[2].case_out.envlist; e && *e; e++)
                if (strncmp(*e, "EPHEM_LOGIN_ID=", 15) == 0)
                        id = *e + 15;
        assert_non_null(id);
        assert_int_equal(strlen(id), 32);
        pamtest_free_env(cases[2].case_out.envlist);
}

static void test_replayed_token_refused(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *token = test_host_token(f->host, f->now, "agent");

        login("ephem", "agent-1", token, PAM_SUCCESS, PAM_SUCCESS);
        login("ephem", "agent-1", token, PAM_AUTH_ERR, -1);
        assert_logged_reason("replay");
        /* Not for another name either. */
        login("ephem", "agent-2", token, PAM_AUTH_ERR, -1);
        assert_logged_reason("replay");
}

static void test_refused_token_keeps_its_jti(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *token = test_host_token(f->host, f->now, "agent");

        /* ci-1 is a transient name no rule allows: refused before the jti is spent. */
        login("ephem", "ci-1", token, PAM_AUTH_ERR, -1);
        assert_logged_reason("user_not_allowed");
        login("ephem", "agent-1", token, PAM_SUCCESS, PAM_SUCCESS);
}

static void test_expired_token_refused(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *token = token_with(f, f->now - 600, f->now - 300, NULL);

        login("ephem", "agent-1", token, PAM_AUTH_ERR, -1);
        assert_logged_reason("expired");
}

static void test_bad_signature_refused(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *token = test_host_token(f->host, f->now, "agent");

        token[strlen(token) - 2] = token[strlen(token) - 2] == 'A' ? 'B' : 'A';
        login("ephem", "agent-1", token, PAM_AUTH_ERR, -1);
        assert_logged_reason("signature_invalid");
}

static void test_empty_answer_is_insufficient(void **state _unused_) {
        login("ephem", "agent-1", "", PAM_CRED_INSUFFICIENT, -1);
        assert_logged_reason("token_empty");
}

static void test_conversation_failure(void **state _unused_) {
        pam_script script = { .answers = NULL };
        struct pam_testcase cases[] = { pam_test(PAMTEST_AUTHENTICATE, PAM_CONV_ERR) };

        run_cases("ephem", "agent-1", &script, cases, 1);
        assert_logged_reason("conversation_failed");
}

static void test_non_transient_user_is_ignored(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *token = test_host_token(f->host, f->now, "agent");
        const char *answers[] = { token, NULL };
        pam_script script = { .answers = answers };
        struct pam_testcase alone[] = {
                /* The module returns PAM_IGNORE; libpam turns a stack where every
                 * module ignored into PAM_PERM_DENIED. */
                pam_test(PAMTEST_AUTHENTICATE, PAM_PERM_DENIED),
                pam_test(PAMTEST_ACCOUNT, PAM_PERM_DENIED),
        };
        struct pam_testcase probe[] = {
                pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
                pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS),
        };
        struct pam_testcase with_deny[] = {
                pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR),
        };

        /* The module itself returns PAM_IGNORE for auth and account. */
        run_cases("ephem-ignore-probe", "root", &script, probe, ELEMENTSOF(probe));
        /* Not ours: the token is not even asked for. */
        assert_int_equal(script.n_prompts, 0);
        run_cases("ephem", "root", &script, alone, ELEMENTSOF(alone));
        assert_int_equal(script.n_prompts, 0);
        /* ...and with "sufficient" the next module does. */
        run_cases("ephem-sufficient", "root", &script, with_deny, ELEMENTSOF(with_deny));
        assert_int_equal(script.n_prompts, 0);
        /* Names that fail the transient syntax are not ours either. */
        run_cases("ephem-ignore-probe", "Agent-1", &script, probe, ELEMENTSOF(probe));
        run_cases("ephem-ignore-probe", "\xd0\xb0gent-1", &script, probe, ELEMENTSOF(probe));
        run_cases("ephem-ignore-probe", "agent-123456789012345678901234567", &script, probe, ELEMENTSOF(probe));
        assert_int_equal(script.n_prompts, 0);
}

static void test_sufficient_stack(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *token = test_host_token(f->host, f->now, "agent");

        login("ephem-sufficient", "agent-1", token, PAM_SUCCESS, PAM_SUCCESS);
        /* A refused token falls through to pam_deny. */
        login("ephem-sufficient", "agent-1", token, PAM_AUTH_ERR, -1);
        assert_logged_reason("replay");
        /* For its own users the module decides: the probe sees a failure, not PAM_IGNORE. */
        login("ephem-ignore-probe", "agent-1", token, PAM_AUTH_ERR, -1);
        {
                _cleanup_free_ char *fresh = test_host_token(f->host, f->now, "agent");
                /* ...and a success ("die" turns it into libpam's failure code). */
                login("ephem-ignore-probe", "agent-1", fresh, PAM_PERM_DENIED, -1);
        }
}

static void test_user_name_with_control_characters_unknown(void **state _unused_) {
        static const char *const names[] = { "agent-1\n", "agent\x01", "agent-1\r\nroot", "\x7f" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                pam_script script = { .answers = NULL };
                struct pam_testcase cases[] = { pam_test(PAMTEST_AUTHENTICATE, PAM_USER_UNKNOWN),
                                                pam_test(PAMTEST_ACCOUNT, PAM_USER_UNKNOWN) };

                run_cases("ephem", names[i], &script, cases, ELEMENTSOF(cases));
                assert_int_equal(script.n_prompts, 0);
        }
}

static void test_broken_config_unavailable(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *broken = test_strdup_printf("%s/broken.conf", f->host->dir);
        _cleanup_free_ char *good = test_read_file(f->host->config_path);
        _cleanup_free_ char *token = test_host_token(f->host, f->now, "agent");
        /* Each keeps [users] intact (agent-1 is a transient name) and breaks something
         * else: an unknown key, a bad value, an unknown section. */
        _cleanup_free_ char *unknown_key = test_strdup_printf("%s\n[host]\nleway = 5\n", good);
        _cleanup_free_ char *bad_value = test_strdup_printf("%s\n[host]\nmax_token_lifetime = soon\n", good);
        _cleanup_free_ char *unknown_section = test_strdup_printf("%s\n[hosts]\naudience = x\n", good);
        const char *variants[] = { unknown_key, bad_value, unknown_section };

        for (size_t i = 0; i < ELEMENTSOF(variants); i++) {
                test_write_file(broken, variants[i], 0644);
                /* No token is even asked for. */
                login("ephem-broken", "agent-1", token, PAM_AUTHINFO_UNAVAIL, -1);
                {
                        pam_script script = { .answers = NULL };
                        struct pam_testcase cases[] = { pam_test(PAMTEST_ACCOUNT, PAM_AUTHINFO_UNAVAIL) };
                        run_cases("ephem-broken", "agent-1", &script, cases, 1);
                }
        }
        /* A good file that others could have written is not used either. */
        test_write_file(broken, good, 0666);
        login("ephem-broken", "agent-1", token, PAM_AUTHINFO_UNAVAIL, -1);
        test_write_file(broken, good, 0664);
        login("ephem-broken", "agent-1", token, PAM_AUTHINFO_UNAVAIL, -1);
        /* The same file, safe again, works. */
        assert_int_equal(chmod(broken, 0644), 0);
        login("ephem-broken", "agent-1", token, PAM_SUCCESS, PAM_SUCCESS);
}

static void test_account_without_auth_denied(void **state _unused_) {
        pam_script script = { .answers = NULL };
        struct pam_testcase cases[] = { pam_test(PAMTEST_ACCOUNT, PAM_PERM_DENIED) };

        run_cases("ephem", "agent-1", &script, cases, 1);
        assert_logged_reason("user_not_allowed");
}

/* systemd's user manager of a transient user: only while the user is on record with
 * time left; a local name is not ours. */
static void test_user_manager_account(void **state) {
        fixture *f = *state;
        int64_t exp = (int64_t) time(NULL) + 2;
        _cleanup_free_ char *token = token_with(f, exp - 60, exp, NULL);
        pam_script script = { .answers = NULL };
        struct pam_testcase denied[] = { pam_test(PAMTEST_ACCOUNT, PAM_PERM_DENIED) };
        struct pam_testcase allowed[] = { pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS) };
        struct pam_testcase expired[] = { pam_test(PAMTEST_ACCOUNT, PAM_ACCT_EXPIRED) };
        struct pam_testcase ignored[] = { pam_test(PAMTEST_ACCOUNT, PAM_AUTH_ERR) }; /* see write_services() */

        run_cases("systemd-user", "agent-1", &script, denied, 1);
        assert_logged_reason("user_not_allowed");
        login("ephem", "agent-1", token, PAM_SUCCESS, PAM_SUCCESS);
        run_cases("systemd-user", "agent-1", &script, allowed, 1);
        /* Another transient name is not covered by agent-1's login. */
        run_cases("systemd-user", "agent-2", &script, denied, 1);
        /* Any other service still needs a token in its own transaction. */
        run_cases("ephem", "agent-1", &script, denied, 1);
        while ((int64_t) time(NULL) <= exp)
                usleep(100 * 1000);
        run_cases("systemd-user", "agent-1", &script, expired, 1);
        assert_logged_reason("expired");
        run_cases("systemd-user", "root", &script, ignored, 1);
}

static void test_account_for_another_user_denied(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *token = test_host_token(f->host, f->now, "agent");
        const char *answers[] = { token, NULL };
        pam_script script = { .answers = answers };
        struct pam_testcase cases[] = {
                pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
                pam_test(PAMTEST_KEEPHANDLE, PAM_SUCCESS),
        };
        pam_handle_t *ph;

        run_cases("ephem", "agent-1", &script, cases, ELEMENTSOF(cases));
        ph = cases[1].case_out.ph;
        /* An application switching PAM_USER after auth does not carry the token over. */
        assert_int_equal(pam_set_item(ph, PAM_USER, "agent-2"), PAM_SUCCESS);
        pam_log_reset();
        assert_int_equal(pam_acct_mgmt(ph, 0), PAM_PERM_DENIED);
        assert_logged_reason("user_not_allowed");
        assert_int_equal(pam_set_item(ph, PAM_USER, "agent-1"), PAM_SUCCESS);
        assert_int_equal(pam_acct_mgmt(ph, 0), PAM_SUCCESS);
        pam_end(ph, PAM_SUCCESS);
}

static void test_account_after_token_expiry(void **state) {
        fixture *f = *state;
        int64_t exp = (int64_t) time(NULL) + 2;
        _cleanup_free_ char *token = token_with(f, exp - 60, exp, NULL);
        const char *answers[] = { token, NULL };
        pam_script script = { .answers = answers };
        struct pam_testcase cases[] = {
                pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
                pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS),
                pam_test(PAMTEST_KEEPHANDLE, PAM_SUCCESS),
        };
        pam_handle_t *ph;

        /* leeway=0 (module argument): the account check follows exp to the second. */
        run_cases("ephem-leeway0", "agent-1", &script, cases, ELEMENTSOF(cases));
        ph = cases[2].case_out.ph;
        while ((int64_t) time(NULL) <= exp)
                usleep(100 * 1000);
        pam_log_reset();
        assert_int_equal(pam_acct_mgmt(ph, 0), PAM_ACCT_EXPIRED);
        assert_logged_reason("expired");
        pam_end(ph, PAM_SUCCESS);
}

static void test_multipart_token_accepted(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *token = big_token(f, 1500);
        size_t len = strlen(token), part = (len + 2) / 3;
        _cleanup_free_ char *p1 = NULL, *p2 = strndup(token + part, part), *p3 = strdup(token + 2 * part);
        const char *answers[4] = { NULL, p2, p3, NULL };
        pam_script script = { .answers = answers };
        struct pam_testcase cases[] = {
                pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
                pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS),
        };

        assert_true(len > 1023 && part < 1000);
        p1 = test_strdup_printf("multipart:3:%.*s", (int) part, token);
        answers[0] = p1;
        run_cases("ephem", "agent-1", &script, cases, ELEMENTSOF(cases));
        assert_int_equal(script.n_prompts, 3);
        assert_string_equal(script.prompts[0], "ephem token: ");
        assert_string_equal(script.prompts[1], "ephem token part 2/3: ");
        assert_string_equal(script.prompts[2], "ephem token part 3/3: ");
}

static void test_truncated_single_answer_reported(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *token = big_token(f, 1500);

        /* What the OpenSSH client leaves of a longer answer: exactly 1023 bytes. */
        token[1023] = '\0';
        login("ephem", "agent-1", token, PAM_AUTH_ERR, -1);
        assert_logged_reason("token_truncated");
        /* One byte less is not the client's limit: the real reason shows (the cut
         * fell in the payload, so the signature part is missing). */
        token[1022] = '\0';
        login("ephem", "agent-1", token, PAM_AUTH_ERR, -1);
        assert_logged_reason("token_malformed");
}

static void test_valid_token_of_exactly_1023_bytes_accepted(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *token = NULL;

        /* Truncation is only suspected when such a token fails. */
        for (size_t pad = 300; pad < 800 && !token; pad++) {
                char *t = big_token(f, pad);
                if (strlen(t) == 1023)
                        token = t;
                else
                        free(t);
        }
        assert_non_null(token);
        login("ephem", "agent-1", token, PAM_SUCCESS, PAM_SUCCESS);
}

static void test_malformed_multipart_announcement_refused(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *token = big_token(f, 1500);
        static const char *const announcements[] = {
                "multipart:1:",
                "multipart:0:",
                "multipart:x:",
                "multipart:3",
                "multipart:",
                "multipart:81:",
                "multipart:02:",
                "multipart:-3:",
                "multipart: 3:",
                "multipart:3 :",
                "multipart:99999999999999999999:",
        };

        for (size_t i = 0; i < ELEMENTSOF(announcements); i++) {
                _cleanup_free_ char *first = test_strdup_printf("%s%.500s", announcements[i], token);
                const char *answers[] = { first, token + 500, token + 1000, NULL };
                pam_script script = { .answers = answers };
                struct pam_testcase cases[] = { pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR) };

                run_cases("ephem", "agent-1", &script, cases, 1);
                if (!streq(pam_log_reason(), "parts_invalid"))
                        fail_msg("announcement '%s': reason '%s', expected parts_invalid", announcements[i],
                                 pam_log_reason());
                /* Nothing more was asked. */
                assert_int_equal(script.n_prompts, 1);
        }
}

static void test_bad_multipart_parts_refused(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *token = big_token(f, 1500);
        size_t part = (strlen(token) + 2) / 3;
        _cleanup_free_ char *first = test_strdup_printf("multipart:3:%.*s", (int) part, token);
        _cleanup_free_ char *second = strndup(token + part, part), *third = strdup(token + 2 * part);
        _cleanup_free_ char *long_part = malloc(1024);
        pam_script script;
        struct pam_testcase auth_err[] = { pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR) };
        struct pam_testcase conv_err[] = { pam_test(PAMTEST_AUTHENTICATE, PAM_CONV_ERR) };

        assert_true(part < 1000);
        {
                /* An empty part. */
                const char *answers[] = { first, "", third, NULL };
                script = (pam_script){ .answers = answers };
                run_cases("ephem", "agent-1", &script, auth_err, 1);
                assert_logged_reason("parts_invalid");
        }
        {
                /* A part cut by the client: 1023 bytes. */
                const char *answers[] = { first, long_part, third, NULL };
                memset(long_part, 'A', 1023);
                long_part[1023] = '\0';
                script = (pam_script){ .answers = answers };
                run_cases("ephem", "agent-1", &script, auth_err, 1);
                assert_logged_reason("token_truncated");
        }
        {
                /* The client hangs up at part 2. */
                const char *answers[] = { first, second, third, NULL };
                script = (pam_script){ .answers = answers, .fail_at = 2 };
                run_cases("ephem", "agent-1", &script, conv_err, 1);
                assert_logged_reason("conversation_failed");
        }
        {
                /* The parts in the wrong order. */
                _cleanup_free_ char *swapped = test_strdup_printf("multipart:3:%s", second);
                _cleanup_free_ char *head = strndup(token, part);
                const char *answers[] = { swapped, head, third, NULL };
                script = (pam_script){ .answers = answers };
                run_cases("ephem", "agent-1", &script, auth_err, 1);
                assert_true(!streq(pam_log_reason(), "") && !streq(pam_log_reason(), "ok"));
        }
        {
                /* After all that, the token itself is still unused. */
                const char *answers[] = { first, second, third, NULL };
                struct pam_testcase ok[] = { pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS) };
                script = (pam_script){ .answers = answers };
                run_cases("ephem", "agent-1", &script, ok, 1);
        }
}

static void test_oversized_answers_refused(void **state _unused_) {
        size_t mb = 1024 * 1024;
        _cleanup_free_ char *huge = malloc(mb + 1), *parts_first = NULL, *part = malloc(1001);
        const char *answers[16] = { NULL };
        pam_script script;
        struct pam_testcase cases[] = { pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR) };

        /* One answer of 1 MiB. */
        memset(huge, 'A', mb);
        huge[mb] = '\0';
        memcpy(huge, "eyJ", 3);
        answers[0] = huge;
        script = (pam_script){ .answers = answers };
        run_cases("ephem", "agent-1", &script, cases, 1);
        assert_logged_reason("token_too_long");

        /* Nine parts of 1000 bytes exceed max_token_length (8192). */
        memset(part, 'A', 1000);
        part[1000] = '\0';
        parts_first = test_strdup_printf("multipart:9:%s", part);
        answers[0] = parts_first;
        for (int i = 1; i < 9; i++)
                answers[i] = part;
        answers[9] = NULL;
        script = (pam_script){ .answers = answers };
        run_cases("ephem", "agent-1", &script, cases, 1);
        assert_logged_reason("token_too_long");
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_valid_token_auth_and_account_succeed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_replayed_token_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refused_token_keeps_its_jti, setup, teardown),
                cmocka_unit_test_setup_teardown(test_expired_token_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_signature_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_empty_answer_is_insufficient, setup, teardown),
                cmocka_unit_test_setup_teardown(test_conversation_failure, setup, teardown),
                cmocka_unit_test_setup_teardown(test_non_transient_user_is_ignored, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sufficient_stack, setup, teardown),
                cmocka_unit_test_setup_teardown(test_user_name_with_control_characters_unknown, setup, teardown),
                cmocka_unit_test_setup_teardown(test_broken_config_unavailable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_account_without_auth_denied, setup, teardown),
                cmocka_unit_test_setup_teardown(test_user_manager_account, setup, teardown),
                cmocka_unit_test_setup_teardown(test_account_for_another_user_denied, setup, teardown),
                cmocka_unit_test_setup_teardown(test_account_after_token_expiry, setup, teardown),
                cmocka_unit_test_setup_teardown(test_multipart_token_accepted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_truncated_single_answer_reported, setup, teardown),
                cmocka_unit_test_setup_teardown(test_valid_token_of_exactly_1023_bytes_accepted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_malformed_multipart_announcement_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_multipart_parts_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_oversized_answers_refused, setup, teardown),
        };

        /* libpam resolves a relative module path in its own module directory. */
        if (argc != 2 || argv[1][0] != '/') {
                fprintf(stderr, "usage: %s /absolute/path/to/pam_ephem.so\n", argv[0]);
                return 2;
        }
        module_path = argv[1];
        return cmocka_run_group_tests(tests, NULL, NULL);
}
