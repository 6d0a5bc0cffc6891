/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every error path of a login fails closed. The module under test is pam_ephem's
 * sources linked with fuzz/failinject.c and ld's --wrap (see meson.build): each
 * allocation, open, read, write and fdopendir of the module and the core — and,
 * routed through the same counter, every allocation of jansson and OpenSSL — can
 * be made to fail. For each situation below, the login (pam_authenticate(), then
 * pam_acct_mgmt(), through libpam on a pam_start_confdir() handle) runs once to
 * count those calls, then once per call N with call N failing, and once per N with
 * every call from N on failing. Each run asserts:
 *
 *   - no crash, and (in the ASan build of tools/test.sh) no ASan, UBSan or LSan error;
 *   - a login that must be refused (replayed, revoked by jti, by user or by token
 *     fingerprint, signed by another key, a name no rule allows, a UID in quarantine, revoked between auth
 *     and account) never gets PAM_SUCCESS from either stage;
 *   - a good login ends in PAM_SUCCESS or a refusal, never PAM_IGNORE (that would
 *     hand a transient name to the rest of the stack); and when it succeeds, what
 *     it claims was done was done: the login record loads, the user is on record,
 *     and the token is burned (presented again without failures, it is a replay).
 *
 * The stack is "[success=done ignore=ignore default=die] MODULE", then pam_echo.so
 * (whose message tells that the module said PAM_IGNORE), then pam_deny.so.
 *
 * EPHEM_FAILINJECT_STRIDE=K (default 1) tries every K-th call only, for slow
 * builds (valgrind).
 *
 * Usage: test-failinject /path/to/pam_ephem_failinject.so
 */
#include "test-cmocka.h"

#include <dlfcn.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ephem/login.h"
#include "ephem/revocation.h"
#include "ephem/userdb.h"
#include "pamutil.h"
#include "testutil.h"

#define IGNORED_MARKER "pam_ephem said PAM_IGNORE"

/* The module's failinject.h, through dlsym(). */
static void (*failinject_arm)(unsigned long fail_at, bool persistent);
static unsigned long (*failinject_disarm)(void);
static unsigned long (*failinject_calls)(void);
static bool (*failinject_route_libraries)(void);
static const char *module_path;

typedef enum scenario {
        GOOD,
        REPLAYED,
        REVOKED_JTI,
        REVOKED_USER,
        REVOKED_FINGERPRINT,
        OTHER_KEY,
        NAME_NOT_ALLOWED,
        UID_QUARANTINED,
        REVOKED_BEFORE_ACCOUNT,
} scenario;

static const char *const scenario_names[] = {
        [GOOD] = "good login",
        [REPLAYED] = "replayed token",
        [REVOKED_JTI] = "token revoked by jti",
        [REVOKED_USER] = "user revoked",
        [REVOKED_FINGERPRINT] = "token revoked by fingerprint",
        [OTHER_KEY] = "token signed by another key",
        [NAME_NOT_ALLOWED] = "name no rule allows",
        [UID_QUARANTINED] = "UID in quarantine for another name",
        [REVOKED_BEFORE_ACCOUNT] = "revoked between auth and account",
};

typedef struct fixture {
        test_host *host;
        char *confdir;
        int64_t now;
        unsigned long stride;
        unsigned long runs;
} fixture;

/* One transaction: auth then account (or, with login_id, account only). */
typedef struct outcome {
        int auth, account;
        bool ignored;
        unsigned long injected, calls;
        char login_id[LOGIN_ID_LEN + 1];
} outcome;

typedef struct conversation {
        const char *token;
        bool ignored; /* pam_echo's message came */
} conversation;

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *userdata) {
        conversation *c = userdata;
        struct pam_response *r = calloc((size_t) n, sizeof(*r));

        if (!r)
                return PAM_BUF_ERR;
        for (int i = 0; i < n; i++) {
                if (msg[i]->msg_style == PAM_TEXT_INFO && strstr(msg[i]->msg, IGNORED_MARKER))
                        c->ignored = true;
                if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF && !(r[i].resp = strdup(c->token))) {
                        for (int j = 0; j < i; j++)
                                free(r[j].resp);
                        free(r);
                        return PAM_BUF_ERR;
                }
        }
        *resp = r;
        return PAM_SUCCESS;
}

static void login(const fixture *f, const char *user, const char *token, const char *login_id, unsigned long fail_at,
                  bool persistent, outcome *ret) {
        conversation c = { .token = token };
        struct pam_conv pc = { .conv = conv, .appdata_ptr = &c };
        pam_handle_t *ph = NULL;
        const char *id;

        *ret = (outcome){ .auth = -1, .account = -1 };
        if (pam_start_confdir("ephem", user, &pc, f->confdir, &ph) != PAM_SUCCESS)
                test_die("pam_start_confdir failed");
        if (login_id) {
                _cleanup_free_ char *env = test_strdup_printf("%s=%s", LOGIN_ENV, login_id);
                if (pam_putenv(ph, env) != PAM_SUCCESS)
                        test_die("pam_putenv failed");
        }
        pam_log_reset();
        failinject_arm(fail_at, persistent);
        if (!login_id)
                ret->auth = pam_authenticate(ph, 0);
        if (login_id || ret->auth == PAM_SUCCESS)
                ret->account = pam_acct_mgmt(ph, 0);
        ret->calls = failinject_calls();
        ret->injected = failinject_disarm();
        ret->ignored = c.ignored;
        id = pam_getenv(ph, LOGIN_ENV);
        if (id && strlen(id) == LOGIN_ID_LEN)
                memcpy(ret->login_id, id, LOGIN_ID_LEN + 1);
        pam_end(ph, ret->auth == PAM_SUCCESS ? PAM_SUCCESS : PAM_AUTH_ERR);
}

static void reset_state(const fixture *f) {
        _cleanup_free_ char *revoked = test_strdup_printf("%s/revoked", f->host->dir),
                            *quarantine = test_strdup_printf("%s/quarantine", f->host->dir);

        test_rmrf(f->host->state_dir);
        test_rmrf(revoked);
        test_rmrf(quarantine);
}

static char *token_for(const fixture *f, scenario s, const char *user) {
        _cleanup_pkey_ EVP_PKEY *other = NULL;
        json_t *claims = test_claims(f->now, user);
        char *token;

        if (s == OTHER_KEY) {
                other = test_keygen(JWS_ES256);
                token = test_token(other, JWS_ES256, TEST_KID, claims);
        } else
                token = test_token(f->host->key, JWS_ES256, TEST_KID, claims);
        json_decref(claims);
        return token;
}

static const char *jti_of(const char *token) {
        static char jti[CLAIM_JTI_MAX + 1];
        ephem_token *t = NULL;
        ephem_verdict v = { 0 };

        if (token_parse(token, strlen(token), 65536, &t, &v) != EPHEM_OK || !t->jti)
                test_die("cannot parse the fixture token");
        (void) snprintf(jti, sizeof(jti), "%s", t->jti);
        token_free(t);
        return jti;
}

/* Puts the state in the situation; returns the login id for account-only runs. */
static void prepare(const fixture *f, scenario s, const char *user, const char *token, char *login_id) {
        _cleanup_config_ ephem_config *c = test_host_config(f->host);
        outcome o;

        reset_state(f);
        login_id[0] = '\0';
        switch (s) {
        case REPLAYED:
        case REVOKED_BEFORE_ACCOUNT:
                login(f, user, token, NULL, 0, false, &o);
                if (o.auth != PAM_SUCCESS || o.account != PAM_SUCCESS || !o.login_id[0])
                        test_die("the first login failed: %s\n%s", pam_code_name(o.auth), pam_log_text());
                if (s == REVOKED_BEFORE_ACCOUNT) {
                        memcpy(login_id, o.login_id, LOGIN_ID_LEN + 1);
                        if (revocation_add(c, REVOKE_JTI, TEST_ISS, jti_of(token), 0, "test", f->now) < 0)
                                test_die("revocation_add failed");
                }
                break;
        case REVOKED_JTI:
                if (revocation_add(c, REVOKE_JTI, TEST_ISS, jti_of(token), 0, "test", f->now) < 0)
                        test_die("revocation_add failed");
                break;
        case REVOKED_USER:
                if (revocation_add(c, REVOKE_USER, NULL, user, 0, "test", f->now) < 0)
                        test_die("revocation_add failed");
                break;
        case REVOKED_FINGERPRINT: {
                char fp[TOKEN_FP_LEN + 1];

                if (token_fingerprint(token, strlen(token), fp) < 0 ||
                    revocation_add(c, REVOKE_FP, NULL, fp, 0, "test", f->now) < 0)
                        test_die("revocation_add failed");
                break;
        }
        case UID_QUARANTINED: {
                _cleanup_free_ char *dir = test_strdup_printf("%s/quarantine", f->host->dir), *path = NULL,
                                    *text = NULL;

                path = test_strdup_printf("%s/%u", dir, (unsigned) userconf_uid(&c->users, user));
                text = test_strdup_printf("name=agent-former\nremoved=%lld\nuntil=%lld\n", (long long) f->now,
                                          (long long) (f->now + 3600));
                if (mkdir(dir, 0700) < 0)
                        test_die("mkdir %s", dir);
                test_write_file(path, text, 0600);
                break;
        }
        default:
                break;
        }
}

/* What a successful login claims to have done. */
static void check_done(const fixture *f, const char *user, const char *token, const outcome *o, const char *what) {
        _cleanup_config_ ephem_config *c = test_host_config(f->host);
        login_record rec = { 0 };
        user_record u;
        outcome again;

        if (login_record_load(c->state_dir, o->login_id, &rec) < 0 || !streq(rec.user, user))
                fail_msg("%s: success, but the login record does not load", what);
        login_record_done(&rec);
        if (userdb_get_by_name(&c->users, user, &u) < 0)
                fail_msg("%s: success, but the user is not on record", what);
        login(f, user, token, NULL, 0, false, &again);
        if (again.auth == PAM_SUCCESS || !streq(pam_log_reason(), "replay"))
                fail_msg("%s: success, but the token was not burned (again: %s, %s)", what, pam_code_name(again.auth),
                         pam_log_reason());
}

static void sweep(fixture *f, scenario s) {
        const char *user = s == NAME_NOT_ALLOWED ? "ci-7" : "agent-1";
        _cleanup_free_ char *token = token_for(f, s, user);
        char login_id[LOGIN_ID_LEN + 1];
        unsigned long total;
        outcome o;

        /* Once without failures: the expected verdict, and how many calls there are. */
        prepare(f, s, user, token, login_id);
        login(f, user, token, login_id[0] ? login_id : NULL, 0, false, &o);
        if ((s == GOOD) != ((login_id[0] || o.auth == PAM_SUCCESS) && o.account == PAM_SUCCESS))
                fail_msg("%s without failures: auth %s, account %s\n%s", scenario_names[s], pam_code_name(o.auth),
                         pam_code_name(o.account), pam_log_text());
        total = o.calls;
        if (total < 10)
                fail_msg("%s: only %lu calls counted: is the failure injection linked?", scenario_names[s], total);

        for (int persistent = 0; persistent <= 1; persistent++)
                for (unsigned long n = 1; n <= total + 1; n += f->stride) {
                        _cleanup_free_ char *what = test_strdup_printf("%s, %s call %lu of %lu", scenario_names[s],
                                                                       persistent ? "every call from" : "only", n,
                                                                       total);
                        bool ok;

                        prepare(f, s, user, token, login_id);
                        login(f, user, token, login_id[0] ? login_id : NULL, n, persistent, &o);
                        f->runs++;
                        ok = (login_id[0] || o.auth == PAM_SUCCESS) && o.account == PAM_SUCCESS;
                        if (o.ignored)
                                fail_msg("%s: PAM_IGNORE for a transient name\n%s", what, pam_log_text());
                        if (s != GOOD && ok)
                                fail_msg("%s: PAM_SUCCESS for a login that must be refused\n%s", what, pam_log_text());
                        if (s == GOOD && ok)
                                check_done(f, user, token, &o, what);
                }
}

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));
        const char *stride = getenv("EPHEM_FAILINJECT_STRIDE");
        _cleanup_free_ char *service = NULL;

        assert_non_null(f);
        f->host = test_host_new(NULL);
        f->now = (int64_t) time(NULL);
        f->confdir = test_strdup_printf("%s/pam.d", f->host->dir);
        f->stride = stride && atoi(stride) > 0 ? (unsigned long) atoi(stride) : 1;
        assert_int_equal(mkdir(f->confdir, 0755), 0);
        service = test_strdup_printf("auth [success=done ignore=ignore default=die] %1$s config=%2$s debug\n"
                                     "auth requisite pam_echo.so " IGNORED_MARKER "\n"
                                     "auth required pam_deny.so\n"
                                     "account [success=done ignore=ignore default=die] %1$s config=%2$s debug\n"
                                     "account requisite pam_echo.so " IGNORED_MARKER "\n"
                                     "account required pam_deny.so\n",
                                     module_path, f->host->config_path);
        pam_write_service(f->confdir, "ephem", service);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        printf("# %lu logins with injected failures\n", f->runs);
        test_host_free(f->host);
        free(f->confdir);
        free(f);
        return 0;
}

#define SWEEP(name, s)                   \
        static void name(void **state) { \
                sweep(*state, s);        \
        }
SWEEP(test_good_login_fails_closed_or_completes, GOOD)
SWEEP(test_replayed_token_never_accepted, REPLAYED)
SWEEP(test_token_revoked_by_jti_never_accepted, REVOKED_JTI)
SWEEP(test_revoked_user_never_accepted, REVOKED_USER)
/* docs/fuzzing.md, finding 17: SHA-256 failing in token_fingerprint() once let a
 * token revoked by fingerprint through. */
SWEEP(test_token_revoked_by_fingerprint_never_accepted, REVOKED_FINGERPRINT)
SWEEP(test_token_of_another_key_never_accepted, OTHER_KEY)
SWEEP(test_name_no_rule_allows_never_accepted, NAME_NOT_ALLOWED)
SWEEP(test_quarantined_uid_never_given_out, UID_QUARANTINED)
SWEEP(test_revoked_before_account_never_accepted, REVOKED_BEFORE_ACCOUNT)

int main(int argc, char *argv[]) {
        void *module;

        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_good_login_fails_closed_or_completes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_replayed_token_never_accepted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_token_revoked_by_jti_never_accepted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_revoked_user_never_accepted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_token_revoked_by_fingerprint_never_accepted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_token_of_another_key_never_accepted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_name_no_rule_allows_never_accepted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_quarantined_uid_never_given_out, setup, teardown),
                cmocka_unit_test_setup_teardown(test_revoked_before_account_never_accepted, setup, teardown),
        };

        if (argc != 2)
                test_die("usage: %s /path/to/pam_ephem_failinject.so", argv[0]);
        module_path = argv[1];
        module = dlopen(module_path, RTLD_NOW);
        if (!module)
                test_die("%s", dlerror());
        failinject_arm = (void (*)(unsigned long, bool)) dlsym(module, "failinject_arm");
        failinject_disarm = (unsigned long (*)(void)) dlsym(module, "failinject_disarm");
        failinject_calls = (unsigned long (*)(void)) dlsym(module, "failinject_calls");
        failinject_route_libraries = (bool (*)(void)) dlsym(module, "failinject_route_libraries");
        if (!failinject_arm || !failinject_disarm || !failinject_calls || !failinject_route_libraries)
                test_die("%s does not export failinject_*", module_path);
        /* Before OpenSSL allocates anything: its allocations go through the counter too. */
        if (!failinject_route_libraries())
                test_die("OpenSSL allocated before the failure injection was set up");
        return cmocka_run_group_tests(tests, NULL, NULL);
}
