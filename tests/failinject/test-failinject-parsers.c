/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The parsers' error paths under failure injection: each call that can fail
 * (fuzz/failinject.h; the core is linked statically with ld's --wrap) fails in turn,
 * once and from there on, while a key file, the configuration, a revocation list,
 * the login and session records and a UID quarantine are read (every call; for more than 600 calls,
 * which only OpenSSL's PEM decoder makes, 300 of them spread evenly). Every run must end in the result of
 * the run without failures or in an error, never in something else; and nothing may
 * leak (LeakSanitizer checks that at exit in tools/test.sh's ASan pass).
 */
#include "test-cmocka.h"

#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "ephem/keys.h"
#include "ephem/login.h"
#include "ephem/revocation.h"
#include "ephem/session.h"
#include "ephem/store.h"
#include "failinject.h"
#include "testutil.h"

typedef struct fixture {
        test_host *host;
        ephem_config *config;
        int64_t now;
        unsigned long runs;
} fixture;

/* One case: prepare() runs without failures before each run (may be NULL); run()
 * is the code under test and returns 0 for the expected result, a negative errno
 * for a clean failure, and 1 for anything else (a violation); check() (may be NULL)
 * looks at a 0 result afterwards, without failures, the same way. */
typedef struct sweep_case {
        const char *what;
        void (*prepare)(fixture *f, void *userdata);
        int (*run)(fixture *f, void *userdata);
        int (*check)(fixture *f, void *userdata);
        void *userdata;
} sweep_case;

static void sweep(fixture *f, const sweep_case *c) {
        unsigned long total, stride;
        int r;

        if (c->prepare)
                c->prepare(f, c->userdata);
        failinject_arm(0, false);
        r = c->run(f, c->userdata);
        total = failinject_calls();
        (void) failinject_disarm();
        if (r == 0 && c->check)
                r = c->check(f, c->userdata);
        if (r != 0)
                fail_msg("%s without failures: %d", c->what, r);
        if (total < 3)
                fail_msg("%s: only %lu calls counted: is the failure injection linked?", c->what, total);
        /* OpenSSL's PEM decoder makes thousands of calls, nearly all its own: a few
         * hundred of them, spread evenly, in that case. */
        stride = total > 600 ? total / 300 : 1;
        printf("# %s: %lu calls, one in %lu tried\n", c->what, total, stride);
        for (int persistent = 0; persistent <= 1; persistent++)
                for (unsigned long n = 1; n <= total; n += stride) {
                        if (c->prepare)
                                c->prepare(f, c->userdata);
                        failinject_arm(n, persistent);
                        r = c->run(f, c->userdata);
                        (void) failinject_disarm();
                        if (r == 0 && c->check)
                                r = c->check(f, c->userdata);
                        f->runs++;
                        if (r > 0)
                                fail_msg("%s, %s call %lu of %lu failing: a result other than the expected one",
                                         c->what, persistent ? "every" : "only", n, total);
                }
}

/* ---- key files: the same keys as without failures, or an error and no keys ---- */

typedef struct keys_case {
        const char *text;
        size_t n; /* keys expected */
} keys_case;

static int load_keys(fixture *f, void *userdata) {
        keys_case *k = userdata;
        keyset ks = { 0 };
        conf_error err = { 0 };
        int r;

        (void) f;
        r = keyset_load_buffer(k->text, strlen(k->text), &ks, &err);
        if (r < 0) /* keys.h: no keys, and a message saying why */
                return ks.n == 0 && !ks.keys && err.message[0] ? r : 1;
        r = ks.n == k->n ? 0 : 1;
        keyset_done(&ks);
        return r;
}

static void test_key_files_fail_closed(void **state) {
        fixture *f = *state;
        static const jws_alg algs[] = { JWS_ES256, JWS_ES384, JWS_EDDSA, JWS_RS256 };

        for (size_t i = 0; i < ELEMENTSOF(algs); i++) {
                _cleanup_pkey_ EVP_PKEY *key = test_keygen(algs[i]);
                json_t *jwk = test_jwk(key, "k", jws_alg_to_string(algs[i]));
                _cleanup_free_ char *single = json_dumps(jwk, JSON_COMPACT), *pem = test_pem_public(key);
                _cleanup_free_ char *jwks = test_jwks(jwk, test_jwk(key, "other", NULL), NULL);
                /* A single JWK (not a set): its key leaked when adding it to the set failed. */
                keys_case a = { single, 1 }, b = { jwks, 2 }, c = { pem, 1 };

                sweep(f, &(sweep_case){ "a single JWK", NULL, load_keys, NULL, &a });
                sweep(f, &(sweep_case){ "a JWKS", NULL, load_keys, NULL, &b });
                sweep(f, &(sweep_case){ "a PEM public key", NULL, load_keys, NULL, &c });
        }
}

/* ---- the configuration ---- */

static int load_config(fixture *f, void *userdata) {
        ephem_config *c = NULL;
        conf_error err = { 0 };
        int r;

        (void) userdata;
        r = config_load(f->host->config_path, 0, NULL, &c, &err);
        if (r < 0)
                return c ? 1 : r;
        r = c->n_rules == 2 && c->n_issuers == 1 && c->warn_before == 120 && c->breakglass_accounts ? 0 : 1;
        config_free(c);
        return r;
}

static void test_configuration_fails_closed(void **state) {
        fixture *f = *state;

        test_host_configure(f->host, "warn_before = 2m\n",
                            "[rule ci]\nissuer = broker\nclaim.repository = acme/*\nlogins = ci-${run_id}\n"
                            "groups = adm\n\n[breakglass]\naccounts = breakglass-*\n");
        sweep(f, &(sweep_case){ "the configuration", NULL, load_config, NULL, NULL });
}

/* ---- a revocation list: applied whole (all it names revoked) or refused ---- */

typedef struct list_case {
        char *doc;
        const char *jtis[3];
} list_case;

static void clear_revocations(fixture *f, void *userdata) {
        (void) userdata;
        test_rmrf(f->config->revocation_dir);
}

static int apply_list(fixture *f, void *userdata) {
        list_case *l = userdata;
        ephem_verdict v = { 0 };
        unsigned added = 0;
        ephem_reason r;

        r = revocation_apply_document(f->config, l->doc, strlen(l->doc), f->now, &added, &v);
        if (r != EPHEM_OK)
                return r == v.reason ? -EIO : 1;
        return added == ELEMENTSOF(l->jtis) ? 0 : 1;
}

static int list_applied(fixture *f, void *userdata) {
        list_case *l = userdata;
        char detail[256];

        for (size_t i = 0; i < ELEMENTSOF(l->jtis); i++)
                if (!revocation_check(f->config, TEST_ISS, "someone", l->jtis[i], "agent-1", NULL, f->now, detail,
                                      sizeof(detail)))
                        return 1;
        return 0;
}

static void test_revocation_list_applies_whole_or_not(void **state) {
        fixture *f = *state;
        json_t *header = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "typ", "revocation+jwt", "kid", TEST_KID);
        json_t *claims = json_pack("{s:s, s:I, s:[{s:s}, {s:s}, {s:s, s:I}]}", "iss", TEST_ISS, "iat",
                                   (json_int_t) f->now, "revoked", "jti", "j1", "jti", "j2", "jti", "j3", "exp",
                                   (json_int_t) (f->now + 3600));
        list_case l = { .doc = test_token_header(f->host->key, JWS_ES256, header, claims),
                        .jtis = { "j1", "j2", "j3" } };

        json_decref(header);
        json_decref(claims);
        sweep(f, &(sweep_case){ "a revocation list", clear_revocations, apply_list, list_applied, &l });
        free(l.doc);
}

/* ---- the login and session records ---- */

typedef struct records_case {
        char login_id[LOGIN_ID_LEN + 1];
        session_record session;
} records_case;

static int load_records(fixture *f, void *userdata) {
        records_case *c = userdata;
        login_record l = { 0 };
        session_record s = { 0 };
        int r, k;

        r = login_record_load(f->config->state_dir, c->login_id, &l);
        if (r == 0) {
                k = streq(l.user, "agent-1") && streq(l.jti, "jti-1") && l.groups && streq(l.groups[1], "wheel") ? 0
                                                                                                                 : 1;
                login_record_done(&l);
                if (k)
                        return k;
        } else if (l.iss || l.jti || l.groups)
                return 1;
        k = session_load(f->config, c->session.id, &s);
        if (k == 0) {
                int ok = streq(s.user, "agent-1") && s.deadline == c->session.deadline && streq(s.rhost, "10.0.0.1");
                session_record_done(&s);
                if (!ok)
                        return 1;
        } else if (s.iss || s.jti || s.rhost)
                return 1;
        return r < 0 ? r : k;
}

static void test_state_records_fail_closed(void **state) {
        fixture *f = *state;
        records_case c = { 0 };
        login_record l = { .user = "agent-1",
                           .fingerprint = "0123456789abcdef",
                           .exp = f->now + 300,
                           .iat = f->now,
                           .auth_time = f->now };
        char *groups[] = { "adm", "wheel", NULL };

        l.issuer = "broker";
        l.iss = TEST_ISS;
        l.sub = "someone";
        l.jti = "jti-1";
        l.rule = "agents";
        l.groups = groups;
        assert_int_equal(login_record_save(f->config->state_dir, &l), 0);
        memcpy(c.login_id, l.id, sizeof(c.login_id));
        c.session = (session_record){ .id = "0123456789abcdef",
                                      .user = "agent-1",
                                      .uid = 1900000000,
                                      .start = f->now,
                                      .deadline = f->now + 300,
                                      .iss = TEST_ISS,
                                      .jti = "jti-1",
                                      .rhost = "10.0.0.1",
                                      .deadline_reason = "token_expiry" };
        assert_int_equal(session_save(f->config, &c.session), 0);
        sweep(f, &(sweep_case){ "the login and session records", NULL, load_records, NULL, &c });
}

/* ---- a UID in quarantine for another name stays taken ---- */

static int uid_taken(fixture *f, void *userdata) {
        char detail[256];
        uid_t uid = *(uid_t *) userdata;

        /* An open() that failed made the quarantine directory look empty: every UID free. */
        return store_uid_quarantined(f->config, uid, "agent-1", f->now, detail, sizeof(detail)) ? 0 : 1;
}

static void test_quarantine_fails_closed(void **state) {
        fixture *f = *state;
        uid_t uid = userconf_uid(&f->config->users, "agent-1");
        _cleanup_free_ char *path = test_strdup_printf("%s/%u", f->config->users.quarantine_dir, (unsigned) uid);
        _cleanup_free_ char *text = test_strdup_printf("name=agent-former\nuntil=%" PRId64 "\n", f->now + 3600);

        (void) mkdir(f->config->users.quarantine_dir, 0700);
        test_write_file(path, text, 0600);
        sweep(f, &(sweep_case){ "a quarantined UID", NULL, uid_taken, NULL, &uid });
}

static int setup(void **state) {
        static fixture f;

        f.host = test_host_new(NULL);
        f.config = test_host_config(f.host);
        f.now = (int64_t) time(NULL);
        *state = &f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        printf("# %lu runs with injected failures\n", f->runs);
        config_free(f->config);
        test_host_free(f->host);
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_key_files_fail_closed),
                cmocka_unit_test(test_configuration_fails_closed),
                cmocka_unit_test(test_revocation_list_applies_whole_or_not),
                cmocka_unit_test(test_state_records_fail_closed),
                cmocka_unit_test(test_quarantine_fails_closed),
        };

        /* Before OpenSSL allocates anything: its allocations go through the counter too. */
        if (!failinject_route_libraries())
                test_die("OpenSSL allocated before the failure injection was set up");
        return cmocka_run_group_tests(tests, setup, teardown);
}
