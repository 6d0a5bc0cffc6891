/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Proof of possession (DPoP adapted to SSH) and delegation chains (RFC 8693 act). */
#include "test-cmocka.h"

#include "ephem/dpop.h"
#include "ephem/json.h"
#include "ephem/keys.h"
#include "ephem/policy.h"
#include "ephem/token.h"
#include "testutil.h"

#define NOW INT64_C(1900000000)
#define HTU "ssh://agent-1@" TEST_AUD
#define NONCE "AAAAAAAAAAAAAAAAAAAAAA"

typedef struct fixture {
        test_host *host;
        ephem_config *config;
        EVP_PKEY *agent; /* the agent's key, the token is bound to it */
        EVP_PKEY *other; /* somebody else's */
        char jkt[JWK_THUMBPRINT_LEN + 1];
        char *token; /* a bound token */
        char ath[DPOP_ATH_LEN + 1];
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));
        _cleanup_json_ json_t *jwk = NULL, *claims = NULL;

        f->host = test_host_new("[rule delegated]\n"
                                "issuer = broker\n"
                                "claim.kind = delegated\n"
                                "logins = ci-*\n"
                                "max_delegation = 2\n"
                                "actors = planner-*\n");
        f->config = test_host_config(f->host);
        f->agent = test_keygen(JWS_ES256);
        f->other = test_keygen(JWS_ES256);
        jwk = test_jwk(f->agent, NULL, NULL);
        assert_int_equal(jwk_thumbprint(jwk, f->jkt), 0);
        claims = test_claims(NOW, "agent-1");
        assert_int_equal(json_object_set_new(claims, "cnf", json_pack("{s:s}", "jkt", f->jkt)), 0);
        f->token = test_token(f->host->key, JWS_ES256, TEST_KID, claims);
        assert_int_equal(dpop_ath(f->token, strlen(f->token), f->ath), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        free(f->token);
        EVP_PKEY_free(f->agent);
        EVP_PKEY_free(f->other);
        config_free(f->config);
        test_host_free(f->host);
        free(f);
        return 0;
}

/* A proof's parts, to vary one at a time. */
typedef struct proof_spec {
        EVP_PKEY *sign_key; /* signs */
        EVP_PKEY *jwk_key;  /* goes into the header */
        const char *typ, *htm, *htu, *nonce, *ath, *jti;
        int64_t iat;
        bool private_jwk;
} proof_spec;

static proof_spec good(const fixture *f) {
        return (proof_spec){ .sign_key = f->agent,
                             .jwk_key = f->agent,
                             .typ = "dpop+jwt",
                             .htm = "SSH",
                             .htu = HTU,
                             .nonce = NONCE,
                             .ath = f->ath,
                             .jti = "proof-1",
                             .iat = NOW };
}

static char *make_proof(const proof_spec *p) {
        _cleanup_json_ json_t *jwk = test_jwk(p->jwk_key, NULL, NULL), *header = NULL, *claims = json_object();

        if (p->private_jwk)
                json_object_set_new(jwk, "d", json_string("AAAA"));
        header = json_pack("{s:s, s:s, s:O}", "alg", "ES256", "typ", p->typ, "jwk", jwk);
        if (p->htm)
                json_object_set_new(claims, "htm", json_string(p->htm));
        if (p->htu)
                json_object_set_new(claims, "htu", json_string(p->htu));
        if (p->nonce)
                json_object_set_new(claims, "nonce", json_string(p->nonce));
        if (p->ath)
                json_object_set_new(claims, "ath", json_string(p->ath));
        if (p->jti)
                json_object_set_new(claims, "jti", json_string(p->jti));
        if (p->iat)
                json_object_set_new(claims, "iat", json_integer(p->iat));
        return test_token_header(p->sign_key, JWS_ES256, header, claims);
}

static ephem_reason check(const fixture *f, const proof_spec *p, char *detail, size_t size) {
        _cleanup_free_ char *proof = make_proof(p);
        dpop_expect e = { .htu = HTU, .nonce = NONCE, .ath = f->ath, .jkt = f->jkt, .now = NOW };
        ephem_verdict v = { 0 };
        ephem_reason r = dpop_verify(f->config, proof, strlen(proof), &e, &v);

        if (detail)
                (void) snprintf(detail, size, "%s", v.detail);
        return r;
}

static void test_a_proof_by_the_bound_key_is_accepted(void **state) {
        fixture *f = *state;
        proof_spec p = good(f);
        p.jti = "accepted-1";
        assert_reason(check(f, &p, NULL, 0), EPHEM_OK);
}

static void test_a_proof_is_single_use(void **state) {
        fixture *f = *state;
        proof_spec p = good(f);
        p.jti = "replayed-1";
        assert_reason(check(f, &p, NULL, 0), EPHEM_OK);
        assert_reason(check(f, &p, NULL, 0), EPHEM_R_DPOP_REPLAY);
}

static void test_a_proof_must_name_this_login(void **state) {
        fixture *f = *state;
        char d[192];
        proof_spec p = good(f);

        p.htm = "POST";
        p.jti = "htm";
        assert_reason(check(f, &p, d, sizeof(d)), EPHEM_R_DPOP_INVALID);
        assert_non_null(strstr(d, "htm"));
        p = good(f);
        p.htu = "ssh://agent-2@" TEST_AUD;
        p.jti = "htu-user";
        assert_reason(check(f, &p, d, sizeof(d)), EPHEM_R_DPOP_INVALID);
        assert_non_null(strstr(d, "htu"));
        p.htu = "ssh://agent-1@another-host";
        p.jti = "htu-host";
        assert_reason(check(f, &p, NULL, 0), EPHEM_R_DPOP_INVALID);
        p = good(f);
        p.nonce = "BBBBBBBBBBBBBBBBBBBBBB";
        p.jti = "nonce-other";
        assert_reason(check(f, &p, d, sizeof(d)), EPHEM_R_DPOP_INVALID);
        assert_non_null(strstr(d, "nonce"));
        p.nonce = NULL;
        p.jti = "nonce-none";
        assert_reason(check(f, &p, NULL, 0), EPHEM_R_DPOP_INVALID);
}

static void test_a_proof_must_be_fresh(void **state) {
        fixture *f = *state;
        proof_spec p = good(f);

        /* leeway 30 s, window 60 s */
        p.iat = NOW - DPOP_IAT_WINDOW - 30 - 1;
        p.jti = "old";
        assert_reason(check(f, &p, NULL, 0), EPHEM_R_DPOP_INVALID);
        p.iat = NOW - DPOP_IAT_WINDOW - 30;
        p.jti = "oldest-allowed";
        assert_reason(check(f, &p, NULL, 0), EPHEM_OK);
        p.iat = NOW + 31;
        p.jti = "future";
        assert_reason(check(f, &p, NULL, 0), EPHEM_R_DPOP_INVALID);
        p.iat = 0;
        p.jti = "no-iat";
        assert_reason(check(f, &p, NULL, 0), EPHEM_R_DPOP_INVALID);
        p = good(f);
        p.jti = NULL;
        assert_reason(check(f, &p, NULL, 0), EPHEM_R_DPOP_INVALID);
}

static void test_a_proof_is_bound_to_the_token(void **state) {
        fixture *f = *state;
        char other_ath[DPOP_ATH_LEN + 1];
        proof_spec p = good(f);

        assert_int_equal(dpop_ath("another.token.value", 19, other_ath), 0);
        p.ath = other_ath;
        p.jti = "ath-other";
        assert_reason(check(f, &p, NULL, 0), EPHEM_R_DPOP_INVALID);
        p.ath = NULL;
        p.jti = "ath-none";
        assert_reason(check(f, &p, NULL, 0), EPHEM_R_DPOP_INVALID);
}

static void test_a_proof_by_another_key_is_refused(void **state) {
        fixture *f = *state;
        char d[192];
        proof_spec p = good(f);

        /* Another key in the header, signed by it: a valid proof, of the wrong key. */
        p.sign_key = p.jwk_key = f->other;
        p.jti = "other-key";
        assert_reason(check(f, &p, d, sizeof(d)), EPHEM_R_DPOP_INVALID);
        assert_non_null(strstr(d, "bound"));
        /* The bound key in the header, but signed by another: the signature fails. */
        p = good(f);
        p.sign_key = f->other;
        p.jti = "forged";
        assert_reason(check(f, &p, d, sizeof(d)), EPHEM_R_DPOP_INVALID);
        assert_non_null(strstr(d, "signature"));
}

static void test_a_proof_header_is_checked(void **state) {
        fixture *f = *state;
        proof_spec p = good(f);

        p.typ = "JWT";
        p.jti = "typ";
        assert_reason(check(f, &p, NULL, 0), EPHEM_R_DPOP_INVALID);
        p = good(f);
        p.private_jwk = true;
        p.jti = "private";
        assert_reason(check(f, &p, NULL, 0), EPHEM_R_DPOP_INVALID);
        /* An access token is not a proof: typ and jwk are missing. */
        {
                dpop_expect e = { .htu = HTU, .nonce = NONCE, .ath = f->ath, .jkt = f->jkt, .now = NOW };
                ephem_verdict v = { 0 };
                assert_reason(dpop_verify(f->config, f->token, strlen(f->token), &e, &v), EPHEM_R_DPOP_INVALID);
        }
}

static void test_other_key_types_prove_too(void **state) {
        fixture *f = *state;
        jws_alg algs[] = { JWS_ES384, JWS_EDDSA };

        for (size_t i = 0; i < ELEMENTSOF(algs); i++) {
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = test_keygen(algs[i]);
                _cleanup_json_ json_t *jwk = test_jwk(k, NULL, NULL), *header = NULL, *claims = NULL;
                _cleanup_free_ char *proof = NULL;
                char jkt[JWK_THUMBPRINT_LEN + 1], jti[16];
                dpop_expect e;
                ephem_verdict v = { 0 };

                assert_int_equal(jwk_thumbprint(jwk, jkt), 0);
                (void) snprintf(jti, sizeof(jti), "alg-%zu", i);
                header = json_pack("{s:s, s:s, s:O}", "alg", jws_alg_to_string(algs[i]), "typ", "dpop+jwt", "jwk", jwk);
                claims = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "htm", "SSH", "htu", HTU, "nonce", NONCE, "ath",
                                   f->ath, "jti", jti, "iat", (json_int_t) NOW);
                proof = test_token_header(k, algs[i], header, claims);
                e = (dpop_expect){ .htu = HTU, .nonce = NONCE, .ath = f->ath, .jkt = jkt, .now = NOW };
                assert_reason(dpop_verify(f->config, proof, strlen(proof), &e, &v), EPHEM_OK);
        }
}

static void test_the_token_binding_is_read_from_cnf(void **state) {
        fixture *f = *state;
        const char *cases[] = { "{\"jkt\":\"short\"}", "{\"x5t#S256\":\"AAAA\"}", "\"text\"", "{}" };
        ephem_verdict v = { 0 };
        ephem_token *t = NULL;
        const char *jkt = NULL;

        assert_reason(token_verify(f->config, f->token, strlen(f->token), NOW, &t, &v), EPHEM_OK);
        assert_reason(dpop_token_binding(t, &jkt, &v), EPHEM_OK);
        assert_string_equal(jkt, f->jkt);
        token_free(t);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_json_ json_t *claims = test_claims(NOW, "agent-1");
                _cleanup_free_ char *tok = NULL;
                json_error_t err;

                assert_int_equal(json_object_set_new(claims, "cnf", json_loads(cases[i], JSON_DECODE_ANY, &err)), 0);
                tok = test_token(f->host->key, JWS_ES256, TEST_KID, claims);
                assert_reason(token_verify(f->config, tok, strlen(tok), NOW, &t, &v), EPHEM_OK);
                assert_reason(dpop_token_binding(t, &jkt, &v), EPHEM_R_CNF_UNSUPPORTED);
                token_free(t);
        }
}

/* ---- delegation ---- */

static char *delegated(const fixture *f, const char *act_json) {
        _cleanup_json_ json_t *claims = test_claims(NOW, "task-42");
        json_error_t err;

        json_object_set_new(claims, "kind", json_string("delegated"));
        if (act_json)
                json_object_set_new(claims, "act", json_loads(act_json, 0, &err));
        return test_token(f->host->key, JWS_ES256, TEST_KID, claims);
}

static ephem_reason decide(const fixture *f, const char *token, const char *user, const char **ret_rule) {
        ephem_token *t = NULL;
        ephem_verdict v = { 0 };
        const ephem_rule *rule = NULL;
        ephem_reason r = token_verify(f->config, token, strlen(token), NOW, &t, &v);

        if (r == EPHEM_OK) {
                r = policy_decide(f->config, t, user, &rule, &v, NULL, NULL);
                if (ret_rule)
                        *ret_rule = rule ? rule->name : NULL;
        }
        token_free(t);
        return r;
}

static void test_delegation_depth_is_limited_by_the_rule(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *none = delegated(f, NULL);
        _cleanup_free_ char *one = delegated(f, "{\"sub\":\"planner-1\"}");
        _cleanup_free_ char *two = delegated(f, "{\"sub\":\"planner-1\",\"act\":{\"sub\":\"human-alice\"}}");
        _cleanup_free_ char *three = delegated(
                f, "{\"sub\":\"planner-1\",\"act\":{\"sub\":\"planner-0\",\"act\":{\"sub\":\"human-alice\"}}}");
        const char *rule = NULL;

        assert_reason(decide(f, none, "ci-1", &rule), EPHEM_OK);
        assert_reason(decide(f, two, "ci-1", &rule), EPHEM_OK);
        assert_string_equal(rule, "delegated");
        assert_reason(decide(f, three, "ci-1", NULL), EPHEM_R_USER_NOT_ALLOWED);
        /* The host's default rule (agents) allows no delegation at all. */
        assert_reason(decide(f, one, "agent-1", NULL), EPHEM_R_USER_NOT_ALLOWED);
}

static void test_only_the_current_actor_is_matched(void **state) {
        fixture *f = *state;
        /* planner-* must be the current actor; a planner earlier in the chain does not count. */
        _cleanup_free_ char *other = delegated(f, "{\"sub\":\"intruder\",\"act\":{\"sub\":\"planner-1\"}}");
        _cleanup_free_ char *may = NULL;

        assert_reason(decide(f, other, "ci-1", NULL), EPHEM_R_USER_NOT_ALLOWED);
        /* may_act says who may act, it is no actor: a token with it is not delegated
         * and grants nothing more. */
        {
                _cleanup_json_ json_t *claims = test_claims(NOW, "task-42");
                json_error_t err;
                json_object_set_new(claims, "kind", json_string("delegated"));
                json_object_set_new(claims, "may_act", json_loads("{\"sub\":\"planner-9\"}", 0, &err));
                may = test_token(f->host->key, JWS_ES256, TEST_KID, claims);
        }
        assert_reason(decide(f, may, "ci-1", NULL), EPHEM_OK);
}

static void test_malformed_or_deep_chains_are_refused(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *nosub = delegated(f, "{\"name\":\"planner-1\"}");
        _cleanup_free_ char *text = NULL, *deep = NULL, *act = test_strdup_printf("{\"sub\":\"a0\"}");
        ephem_verdict v;
        ephem_token *t = NULL;

        assert_reason(test_verify(f->config, nosub, NOW), EPHEM_R_DELEGATION);
        {
                _cleanup_json_ json_t *claims = test_claims(NOW, "x");
                json_object_set_new(claims, "act", json_string("planner"));
                text = test_token(f->host->key, JWS_ES256, TEST_KID, claims);
        }
        assert_reason(test_verify(f->config, text, NOW), EPHEM_R_DELEGATION);
        for (unsigned i = 1; i <= DELEGATION_MAX_DEPTH; i++) {
                char *next = test_strdup_printf("{\"sub\":\"a%u\",\"act\":%s}", i, act);
                free(act);
                act = next;
        }
        deep = delegated(f, act); /* DELEGATION_MAX_DEPTH + 1 actors */
        assert_reason(test_verify(f->config, deep, NOW), EPHEM_R_DELEGATION);
        (void) v;
        (void) t;
}

static void test_the_chain_is_reported_current_actor_first(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *two = delegated(f, "{\"sub\":\"planner-1\",\"act\":{\"sub\":\"human-alice\"}}");
        _cleanup_free_ char *chain = NULL;
        ephem_token *t = NULL;
        ephem_verdict v = { 0 };

        assert_reason(token_verify(f->config, two, strlen(two), NOW, &t, &v), EPHEM_OK);
        assert_int_equal(token_act_depth(t), 2);
        assert_int_equal(token_act_chain(t, &chain), 0);
        assert_string_equal(chain, "[\"planner-1\",\"human-alice\"]");
        token_free(t);
}

static void test_rules_cannot_match_prior_actors_or_may_act(void **state) {
        fixture *f = *state;
        const char *bad[] = { "claim.act/act/sub = x\n", "claim.may_act/sub = x\n", "claim.may_act = x\n" };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *extra = test_strdup_printf("[rule r]\nissuer = broker\nlogins = ci-*\n%s", bad[i]);
                conf_error err = { 0 };
                ephem_config *c = NULL;

                test_host_configure(f->host, NULL, extra);
                assert_int_equal(config_load(f->host->config_path, 0, NULL, &c, &err), -EINVAL);
                assert_non_null(strstr(err.message, "cannot decide access"));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_a_proof_by_the_bound_key_is_accepted),
                cmocka_unit_test(test_a_proof_is_single_use),
                cmocka_unit_test(test_a_proof_must_name_this_login),
                cmocka_unit_test(test_a_proof_must_be_fresh),
                cmocka_unit_test(test_a_proof_is_bound_to_the_token),
                cmocka_unit_test(test_a_proof_by_another_key_is_refused),
                cmocka_unit_test(test_a_proof_header_is_checked),
                cmocka_unit_test(test_other_key_types_prove_too),
                cmocka_unit_test(test_the_token_binding_is_read_from_cnf),
                cmocka_unit_test(test_delegation_depth_is_limited_by_the_rule),
                cmocka_unit_test(test_only_the_current_actor_is_matched),
                cmocka_unit_test(test_malformed_or_deep_chains_are_refused),
                cmocka_unit_test(test_the_chain_is_reported_current_actor_first),
                cmocka_unit_test(test_rules_cannot_match_prior_actors_or_may_act),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
