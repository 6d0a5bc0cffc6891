/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Policy: nothing is allowed unless a rule allows it; the first matching rule decides. */
#include "test-cmocka.h"

#include "ephem/policy.h"
#include "ephem/token.h"
#include "testutil.h"

#define OTHER_ISS "https://other.example.net"
#define NOW INT64_C(1900000000)

typedef struct fixture {
        test_host *host;
        EVP_PKEY *other_key;
        ephem_config *config;
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));
        _cleanup_free_ char *other_jwks = NULL, *other_path = NULL, *extra = NULL;

        f->host = test_host_new(NULL);
        f->other_key = test_keygen(JWS_ES256);
        other_path = test_strdup_printf("%s/other.jwks", f->host->dir);
        other_jwks = test_jwks(test_jwk(f->other_key, "o1", NULL), NULL);
        test_write_file(other_path, other_jwks, 0644);
        extra = test_strdup_printf("[issuer other]\n"
                                   "iss = " OTHER_ISS "\n"
                                   "keys = %s\n"
                                   "\n"
                                   "[rule agents-late]\n"
                                   "issuer = broker\n"
                                   "claim.late = yes\n"
                                   "logins = agent-*\n"
                                   "\n"
                                   "[rule ci]\n"
                                   "issuer = broker\n"
                                   "claim.agent_type = ci-*\n"
                                   "claim.groups = deploy\n"
                                   "logins = ci-${sub}\n"
                                   "groups = adm\n"
                                   "max_session = 1h\n"
                                   "\n"
                                   "[rule nested]\n"
                                   "issuer = broker\n"
                                   "claim.ctx/team = blue\n"
                                   "logins = ci-blue-*\n"
                                   "\n"
                                   "[rule typed]\n"
                                   "issuer = broker\n"
                                   "claim.risk_tier = 1 2\n"
                                   "claim.approved = true\n"
                                   "logins = ci-typed-?\n"
                                   "\n"
                                   "[rule owned]\n"
                                   "issuer = broker\n"
                                   "claim.kind = owned\n"
                                   "logins = ci-${owner}-*\n"
                                   "\n"
                                   "[rule from-other]\n"
                                   "issuer = other\n"
                                   "logins = ci-other-*\n",
                                   other_path);
        test_host_configure(f->host, NULL, extra);
        f->config = test_host_config(f->host);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        config_free(f->config);
        EVP_PKEY_free(f->other_key);
        test_host_free(f->host);
        free(f);
        return 0;
}

/*
 * Verifies a token with these claims (reference stolen; iss decides the signing key)
 * and asks the policy about `user`. The allowing rule's name goes to *ret_rule.
 */
static ephem_reason decide(fixture *f, json_t *claims, const char *user, const char **ret_rule) {
        const char *iss = json_string_value(json_object_get(claims, "iss"));
        bool other = iss && streq(iss, OTHER_ISS);
        _cleanup_free_ char *token = test_token(other ? f->other_key : f->host->key, JWS_ES256, other ? "o1" : TEST_KID,
                                                claims);
        const ephem_rule *rule = NULL;
        ephem_token *t = NULL;
        ephem_verdict v = { 0 };
        ephem_reason r;

        json_decref(claims);
        assert_reason(token_verify(f->config, token, strlen(token), NOW, &t, &v), EPHEM_OK);
        r = policy_decide(f->config, t, user, &rule, &v, NULL, NULL);
        assert_int_equal(v.reason, r);
        if (ret_rule)
                *ret_rule = r == EPHEM_OK ? rule->name : NULL;
        token_free(t);
        return r;
}

/* Standard claims plus the members of a JSON object text. */
static json_t *claims(const char *sub, const char *json_members) {
        json_t *c = test_claims(NOW, sub);

        if (json_members) {
                json_error_t e;
                json_t *extra = json_loads(json_members, 0, &e);
                if (!extra)
                        fail_msg("bad test JSON %s: %s", json_members, e.text);
                json_object_update(c, extra);
                json_decref(extra);
        }
        return c;
}

static void test_rule_allows_matching_login(void **state) {
        fixture *f = *state;
        const char *rule = NULL;

        assert_reason(decide(f, claims("s", NULL), "agent-1", &rule), EPHEM_OK);
        assert_string_equal(rule, "agents");
        assert_reason(decide(f, claims("s", NULL), "agent-build_7", &rule), EPHEM_OK);
}

static void test_nothing_allowed_without_a_rule(void **state) {
        fixture *f = *state;

        /* ci-x is a transient name, but no rule allows this token to use it. */
        assert_reason(decide(f, claims("s", NULL), "ci-x", NULL), EPHEM_R_USER_NOT_ALLOWED);
}

static void test_claim_glob_must_match(void **state) {
        fixture *f = *state;
        const char *rule = NULL;

        assert_reason(
                decide(f, claims("job42", "{\"agent_type\":\"ci-runner\",\"groups\":[\"deploy\"]}"), "ci-job42", &rule),
                EPHEM_OK);
        assert_string_equal(rule, "ci");
        assert_reason(
                decide(f, claims("job42", "{\"agent_type\":\"human\",\"groups\":[\"deploy\"]}"), "ci-job42", NULL),
                EPHEM_R_USER_NOT_ALLOWED);
        assert_reason(
                decide(f, claims("job42", "{\"agent_type\":\"xci-runner\",\"groups\":[\"deploy\"]}"), "ci-job42", NULL),
                EPHEM_R_USER_NOT_ALLOWED);
        assert_reason(decide(f, claims("job42", "{\"groups\":[\"deploy\"]}"), "ci-job42", NULL),
                      EPHEM_R_USER_NOT_ALLOWED);
        assert_reason(decide(f, claims("job42", "{\"agent_type\":null,\"groups\":[\"deploy\"]}"), "ci-job42", NULL),
                      EPHEM_R_USER_NOT_ALLOWED);
}

static void test_claim_arrays_match_any_element(void **state) {
        fixture *f = *state;

        assert_reason(
                decide(f, claims("j1", "{\"agent_type\":\"ci-x\",\"groups\":[\"a\",\"deploy\",\"b\"]}"), "ci-j1", NULL),
                EPHEM_OK);
        assert_reason(decide(f, claims("j1", "{\"agent_type\":\"ci-x\",\"groups\":\"deploy\"}"), "ci-j1", NULL),
                      EPHEM_OK);
        assert_reason(
                decide(f, claims("j1", "{\"agent_type\":[\"human\",\"ci-x\"],\"groups\":[\"deploy\"]}"), "ci-j1", NULL),
                EPHEM_OK);
        assert_reason(decide(f, claims("j1", "{\"agent_type\":\"ci-x\",\"groups\":[\"a\",\"b\"]}"), "ci-j1", NULL),
                      EPHEM_R_USER_NOT_ALLOWED);
        assert_reason(decide(f, claims("j1", "{\"agent_type\":\"ci-x\",\"groups\":[]}"), "ci-j1", NULL),
                      EPHEM_R_USER_NOT_ALLOWED);
        /* Arrays are not searched recursively. */
        assert_reason(decide(f, claims("j1", "{\"agent_type\":\"ci-x\",\"groups\":[[\"deploy\"]]}"), "ci-j1", NULL),
                      EPHEM_R_USER_NOT_ALLOWED);
}

static void test_substitution_names_the_login(void **state) {
        fixture *f = *state;
        const char *ok = "{\"agent_type\":\"ci-x\",\"groups\":[\"deploy\"]}";

        assert_reason(decide(f, claims("job42", ok), "ci-job42", NULL), EPHEM_OK);
        assert_reason(decide(f, claims("job_4-2", ok), "ci-job_4-2", NULL), EPHEM_OK);
        /* Another job's login is not this token's. */
        assert_reason(decide(f, claims("job42", ok), "ci-job43", NULL), EPHEM_R_USER_NOT_ALLOWED);
        assert_reason(decide(f, claims("job42", ok), "ci-job4", NULL), EPHEM_R_USER_NOT_ALLOWED);
}

static void test_substitution_refuses_non_user_name_characters(void **state) {
        fixture *f = *state;
        static const char *const subs[] = { "*",        "job*", "j?b42",   "job[4]2", "Job42",  "job 42",
                                            "../job42", "a/b",  "job42\n", "job.42",  "job:42", "jöb42" };
        const char *ok = "{\"agent_type\":\"ci-x\",\"groups\":[\"deploy\"]}";

        for (size_t i = 0; i < ELEMENTSOF(subs); i++) {
                /* A wildcard coming from a claim must not widen the pattern to ci-job42. */
                ephem_reason r = decide(f, claims(subs[i], ok), "ci-job42", NULL);
                if (r != EPHEM_R_USER_NOT_ALLOWED)
                        fail_msg("sub '%s' allowed ci-job42: %s", subs[i], reason_id(r));
        }
}

static void test_substitution_of_missing_claim_allows_nothing(void **state) {
        fixture *f = *state;

        assert_reason(decide(f, claims("s", "{\"kind\":\"owned\",\"owner\":\"alice\"}"), "ci-alice-1", NULL), EPHEM_OK);
        assert_reason(decide(f, claims("s", "{\"kind\":\"owned\",\"owner\":\"bob\"}"), "ci-alice-1", NULL),
                      EPHEM_R_USER_NOT_ALLOWED);
        assert_reason(decide(f, claims("s", "{\"kind\":\"owned\"}"), "ci-alice-1", NULL), EPHEM_R_USER_NOT_ALLOWED);
        assert_reason(decide(f, claims("s", "{\"kind\":\"owned\",\"owner\":7}"), "ci-7-1", NULL),
                      EPHEM_R_USER_NOT_ALLOWED);
        assert_reason(decide(f, claims("s", "{\"kind\":\"owned\",\"owner\":\"\"}"), "ci--1", NULL),
                      EPHEM_R_USER_NOT_ALLOWED);
}

static void test_nested_claim_path(void **state) {
        fixture *f = *state;
        const char *rule = NULL;

        assert_reason(decide(f, claims("s", "{\"ctx\":{\"team\":\"blue\"}}"), "ci-blue-1", &rule), EPHEM_OK);
        assert_string_equal(rule, "nested");
        assert_reason(decide(f, claims("s", "{\"ctx\":{\"team\":\"red\"}}"), "ci-blue-1", NULL),
                      EPHEM_R_USER_NOT_ALLOWED);
        assert_reason(decide(f, claims("s", "{\"ctx/team\":\"blue\"}"), "ci-blue-1", NULL), EPHEM_R_USER_NOT_ALLOWED);
        assert_reason(decide(f, claims("s", "{\"ctx\":[{\"team\":\"blue\"}]}"), "ci-blue-1", NULL),
                      EPHEM_R_USER_NOT_ALLOWED);
}

static void test_integer_and_boolean_claims_match_as_text(void **state) {
        fixture *f = *state;

        assert_reason(decide(f, claims("s", "{\"risk_tier\":2,\"approved\":true}"), "ci-typed-1", NULL), EPHEM_OK);
        assert_reason(decide(f, claims("s", "{\"risk_tier\":3,\"approved\":true}"), "ci-typed-1", NULL),
                      EPHEM_R_USER_NOT_ALLOWED);
        assert_reason(decide(f, claims("s", "{\"risk_tier\":1,\"approved\":false}"), "ci-typed-1", NULL),
                      EPHEM_R_USER_NOT_ALLOWED);
        assert_reason(decide(f, claims("s", "{\"risk_tier\":1.0,\"approved\":true}"), "ci-typed-1", NULL),
                      EPHEM_R_USER_NOT_ALLOWED);
        /* "?" is one character. */
        assert_reason(decide(f, claims("s", "{\"risk_tier\":1,\"approved\":true}"), "ci-typed-12", NULL),
                      EPHEM_R_USER_NOT_ALLOWED);
}

static void test_first_matching_rule_wins(void **state) {
        fixture *f = *state;
        const char *rule = NULL;

        /* Both "agents" and the later "agents-late" allow this token: "agents" decides. */
        assert_reason(decide(f, claims("s", "{\"late\":\"yes\"}"), "agent-1", &rule), EPHEM_OK);
        assert_string_equal(rule, "agents");
}

static void test_rules_are_restricted_to_their_issuers(void **state) {
        fixture *f = *state;
        const char *rule = NULL;
        json_t *c;

        c = claims("s", NULL);
        json_object_set_new(c, "iss", json_string(OTHER_ISS));
        assert_reason(decide(f, c, "ci-other-1", &rule), EPHEM_OK);
        assert_string_equal(rule, "from-other");

        /* The broker's rule "agents" does not apply to the other issuer's tokens... */
        c = claims("s", NULL);
        json_object_set_new(c, "iss", json_string(OTHER_ISS));
        assert_reason(decide(f, c, "agent-1", NULL), EPHEM_R_USER_NOT_ALLOWED);
        /* ...and "from-other" not to the broker's. */
        assert_reason(decide(f, claims("s", NULL), "ci-other-1", NULL), EPHEM_R_USER_NOT_ALLOWED);
        /* The same claims that satisfy rule "ci" for the broker do nothing for "other". */
        c = claims("job42", "{\"agent_type\":\"ci-x\",\"groups\":[\"deploy\"]}");
        json_object_set_new(c, "iss", json_string(OTHER_ISS));
        assert_reason(decide(f, c, "ci-job42", NULL), EPHEM_R_USER_NOT_ALLOWED);
}

static void test_invalid_user_names_refused(void **state) {
        fixture *f = *state;
        static const char *const invalid[] = {
                "",
                "Agent-1",
                "AGENT-1",
                "agent-1 ",
                " agent-1",
                "agent 1",
                "agent-1\n",
                "agent\n1",
                "agent-1\t",
                "/",
                "agent/1",
                "../agent-1",
                "..",
                ".",
                ":",
                "agent:1",
                "root:x:0:0",
                "-agent",
                "agent-",
                "\xd0\xb0gent-1" /* Cyrillic a */,
                "agent-1\xc2\xa0",
                "1agent",
                "agent@host",
                "agent$1",
                "agent-123456789012345678901234567", /* 33 bytes */
        };
        static const char *const not_transient[] = { "root", "daemon", "nobody", "agent", "agents", "ci", "_agent" };

        for (size_t i = 0; i < ELEMENTSOF(invalid); i++) {
                ephem_reason r = decide(f, claims("s", NULL), invalid[i], NULL);
                if (r != EPHEM_R_USER_INVALID)
                        fail_msg("user '%s': %s, expected user_invalid", invalid[i], reason_id(r));
        }
        for (size_t i = 0; i < ELEMENTSOF(not_transient); i++) {
                ephem_reason r = decide(f, claims("s", NULL), not_transient[i], NULL);
                if (r != EPHEM_R_USER_NOT_ALLOWED)
                        fail_msg("user '%s': %s, expected user_not_allowed", not_transient[i], reason_id(r));
        }
        /* 32 bytes is the longest name. */
        assert_int_equal(strlen("agent-12345678901234567890123456"), USER_NAME_MAX);
        assert_reason(decide(f, claims("s", NULL), "agent-12345678901234567890123456", NULL), EPHEM_OK);
}

static void test_claim_match_ignores_embedded_nul(void **state _unused_) {
        char *patterns[] = { (char *) "deploy", NULL };
        json_t *v = json_stringn("deploy\0root", 11);

        assert_false(policy_claim_matches(v, patterns));
        json_decref(v);
        v = json_string("deploy");
        assert_true(policy_claim_matches(v, patterns));
        json_decref(v);
}

static void test_decision_carries_the_rule(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *token = NULL;
        json_t *c = claims("job7", "{\"agent_type\":\"ci-x\",\"groups\":[\"deploy\"]}");
        const ephem_rule *rule = NULL;
        ephem_token *t = NULL;
        ephem_verdict v = { 0 };

        token = test_token(f->host->key, JWS_ES256, TEST_KID, c);
        json_decref(c);
        assert_reason(token_verify(f->config, token, strlen(token), NOW, &t, &v), EPHEM_OK);
        assert_reason(policy_decide(f->config, t, "ci-job7", &rule, &v, NULL, NULL), EPHEM_OK);
        assert_string_equal(rule->name, "ci");
        assert_string_equal(rule->groups[0], "adm");
        assert_int_equal(rule->max_session, 3600);
        token_free(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rule_allows_matching_login),
                cmocka_unit_test(test_nothing_allowed_without_a_rule),
                cmocka_unit_test(test_claim_glob_must_match),
                cmocka_unit_test(test_claim_arrays_match_any_element),
                cmocka_unit_test(test_substitution_names_the_login),
                cmocka_unit_test(test_substitution_refuses_non_user_name_characters),
                cmocka_unit_test(test_substitution_of_missing_claim_allows_nothing),
                cmocka_unit_test(test_nested_claim_path),
                cmocka_unit_test(test_integer_and_boolean_claims_match_as_text),
                cmocka_unit_test(test_first_matching_rule_wins),
                cmocka_unit_test(test_rules_are_restricted_to_their_issuers),
                cmocka_unit_test(test_invalid_user_names_refused),
                cmocka_unit_test(test_claim_match_ignores_embedded_nul),
                cmocka_unit_test(test_decision_carries_the_rule),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
