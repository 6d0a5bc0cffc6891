/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Claims: presence, types and time windows, exactly at their boundaries. */
#include "test-cmocka.h"

#include <time.h>

#include "ephem/token.h"
#include "testutil.h"

typedef struct fixture {
        test_host *host;
        ephem_config *config;
        int64_t now;
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));

        f->host = test_host_new(NULL);
        {
                /* Two more issuers on the same key, with lifetimes of their own. */
                _cleanup_free_ char *extra = test_strdup_printf(
                        "[issuer short]\niss = https://short.example.net\nkeys = %s\nmax_token_lifetime = 10m\n\n"
                        "[issuer long]\niss = https://long.example.net\nkeys = %s\nmax_token_lifetime = 1h\n",
                        f->host->jwks_path, f->host->jwks_path);
                test_host_configure(f->host, NULL, extra);
        }
        f->config = test_host_config(f->host);
        f->now = 1900000000;
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

/* Signs the claims (reference stolen) with the broker's key and verifies them at f->now. */
static ephem_reason verify_at(fixture *f, json_t *claims, int64_t now) {
        _cleanup_free_ char *token = test_token(f->host->key, JWS_ES256, TEST_KID, claims);
        json_decref(claims);
        return test_verify(f->config, token, now);
}

static ephem_reason verify(fixture *f, json_t *claims) {
        return verify_at(f, claims, f->now);
}

/* Valid claims with one member replaced (value stolen) or, for NULL, removed. */
static json_t *with(fixture *f, const char *name, json_t *value) {
        json_t *c = test_claims(f->now, "agent-1");

        if (value)
                json_object_set_new(c, name, value);
        else
                json_object_del(c, name);
        return c;
}

/* Valid claims with iat and exp (and nbf unless < 0) set. */
static json_t *times(fixture *f, int64_t iat, int64_t exp, int64_t nbf) {
        json_t *c = test_claims(f->now, "agent-1");

        json_object_set_new(c, "iat", json_integer(iat));
        json_object_set_new(c, "exp", json_integer(exp));
        if (nbf >= 0)
                json_object_set_new(c, "nbf", json_integer(nbf));
        return c;
}

static char *repeat(char c, size_t n) {
        char *s = malloc(n + 1);
        memset(s, c, n);
        s[n] = '\0';
        return s;
}

static void test_valid_claims_accepted(void **state) {
        fixture *f = *state;
        assert_reason(verify(f, test_claims(f->now, "agent-1")), EPHEM_OK);
        assert_reason(verify(f, times(f, f->now - 10, f->now + 60, f->now - 10)), EPHEM_OK);
}

static void test_iss_presence_and_type(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *long_iss = repeat('i', CLAIM_ID_MAX + 1);

        assert_reason(verify(f, with(f, "iss", NULL)), EPHEM_R_CLAIM_MISSING);
        assert_reason(verify(f, with(f, "iss", json_integer(1))), EPHEM_R_CLAIM_TYPE);
        assert_reason(verify(f, with(f, "iss", json_pack("[s]", TEST_ISS))), EPHEM_R_CLAIM_TYPE);
        assert_reason(verify(f, with(f, "iss", json_string(""))), EPHEM_R_CLAIM_TYPE);
        assert_reason(verify(f, with(f, "iss", json_string(long_iss))), EPHEM_R_CLAIM_TOO_LONG);
}

static void test_iss_must_match_exactly(void **state) {
        fixture *f = *state;
        static const char *const near[] = {
                TEST_ISS "/",
                "HTTPS://BROKER.EXAMPLE.NET",
                "https://Broker.example.net",
                "https://broker.example",
                TEST_ISS ".evil.example",
                "https://evil.example/" TEST_ISS,
                "http://broker.example.net",
                " " TEST_ISS,
        };

        for (size_t i = 0; i < ELEMENTSOF(near); i++) {
                ephem_reason r = verify(f, with(f, "iss", json_string(near[i])));
                if (r != EPHEM_R_ISSUER_UNKNOWN)
                        fail_msg("iss '%s': %s, expected issuer_unknown", near[i], reason_id(r));
        }
}

static void test_aud_string_or_array(void **state) {
        fixture *f = *state;

        assert_reason(verify(f, with(f, "aud", json_string(TEST_AUD))), EPHEM_OK);
        assert_reason(verify(f, with(f, "aud", json_pack("[s]", TEST_AUD))), EPHEM_OK);
        assert_reason(verify(f, with(f, "aud", json_pack("[s,s,s]", "a", TEST_AUD, "b"))), EPHEM_OK);
        assert_reason(verify(f, with(f, "aud", json_pack("[s,s]", "a", "b"))), EPHEM_R_AUDIENCE);
        assert_reason(verify(f, with(f, "aud", NULL)), EPHEM_R_CLAIM_MISSING);
        assert_reason(verify(f, with(f, "aud", json_array())), EPHEM_R_CLAIM_TYPE);
        assert_reason(verify(f, with(f, "aud", json_pack("[s,i]", TEST_AUD, 1))), EPHEM_R_CLAIM_TYPE);
        assert_reason(verify(f, with(f, "aud", json_integer(7))), EPHEM_R_CLAIM_TYPE);
        assert_reason(verify(f, with(f, "aud", json_pack("{s:s}", "aud", TEST_AUD))), EPHEM_R_CLAIM_TYPE);
}

static void test_aud_array_is_bounded(void **state) {
        fixture *f = *state;
        json_t *many = json_array();

        for (unsigned i = 0; i < CLAIM_AUD_MAX; i++)
                json_array_append_new(many, json_string("other"));
        json_array_append_new(many, json_string(TEST_AUD));
        assert_reason(verify(f, with(f, "aud", many)), EPHEM_R_CLAIM_TOO_LONG);
}

static void test_aud_must_match_exactly(void **state) {
        fixture *f = *state;
        static const char *const near[] = {
                TEST_AUD "/",
                "HOST-7.example.net",
                "host-7.example.ne",
                "host-7.example.net.evil.example",
                "xhost-7.example.net",
                "host-7",
                "",
                "*",
        };

        for (size_t i = 0; i < ELEMENTSOF(near); i++) {
                ephem_reason r = verify(f, with(f, "aud", json_string(near[i])));
                if (r != EPHEM_R_AUDIENCE)
                        fail_msg("aud '%s': %s, expected audience_mismatch", near[i], reason_id(r));
        }
}

/* A time claim (exp, iat, nbf) must be an integer Unix time. */
static void assert_time_claim_typed(fixture *f, const char *name) {
        json_t *bad[] = {
                json_real((double) f->now + 100),
                json_string("1900000100"),
                json_true(),
                json_false(),
                json_null(),
                json_integer(-1),
                json_real(1e20),
                json_integer(INT64_C(253402300800)),
                json_integer(INT64_MAX),
                json_pack("[I]", (json_int_t) f->now),
                json_object(),
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *text = json_dumps(bad[i], JSON_ENCODE_ANY);
                ephem_reason r = verify(f, with(f, name, bad[i]));
                if (r != EPHEM_R_CLAIM_TYPE)
                        fail_msg("%s = %s: %s, expected claim_type", name, text, reason_id(r));
                free(text);
        }
}

static void test_exp_presence_and_type(void **state) {
        fixture *f = *state;
        assert_reason(verify(f, with(f, "exp", NULL)), EPHEM_R_CLAIM_MISSING);
        assert_time_claim_typed(f, "exp");
}

static void test_iat_presence_and_type(void **state) {
        fixture *f = *state;
        assert_reason(verify(f, with(f, "iat", NULL)), EPHEM_R_CLAIM_MISSING);
        assert_time_claim_typed(f, "iat");
}

static void test_nbf_optional_but_typed(void **state) {
        fixture *f = *state;
        assert_reason(verify(f, with(f, "nbf", NULL)), EPHEM_OK);
        assert_time_claim_typed(f, "nbf");
}

static void test_integer_beyond_int64_refused(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *payload = test_strdup_printf(
                "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"agent-1\",\"jti\":\"j\",\"iat\":%lld,"
                "\"exp\":99999999999999999999}",
                TEST_ISS, TEST_AUD, (long long) f->now);
        _cleanup_free_ char *token = test_token_signed_raw(f->host->key, JWS_ES256,
                                                           "{\"alg\":\"ES256\",\"kid\":\"k1\"}", payload);

        /* jansson cannot represent it: the payload is not valid JSON for us. */
        assert_reason(test_verify(f->config, token, f->now), EPHEM_R_JSON);
}

static void test_sub_and_jti_presence_and_type(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *long_jti = repeat('j', CLAIM_JTI_MAX + 1), *max_jti = repeat('j', CLAIM_JTI_MAX);
        _cleanup_free_ char *long_sub = repeat('s', CLAIM_ID_MAX + 1);

        assert_reason(verify(f, with(f, "sub", NULL)), EPHEM_R_CLAIM_MISSING);
        assert_reason(verify(f, with(f, "sub", json_integer(42))), EPHEM_R_CLAIM_TYPE);
        assert_reason(verify(f, with(f, "sub", json_string(""))), EPHEM_R_CLAIM_TYPE);
        assert_reason(verify(f, with(f, "sub", json_string(long_sub))), EPHEM_R_CLAIM_TOO_LONG);
        assert_reason(verify(f, with(f, "jti", NULL)), EPHEM_R_CLAIM_MISSING);
        assert_reason(verify(f, with(f, "jti", json_integer(42))), EPHEM_R_CLAIM_TYPE);
        assert_reason(verify(f, with(f, "jti", json_null())), EPHEM_R_CLAIM_TYPE);
        assert_reason(verify(f, with(f, "jti", json_string(""))), EPHEM_R_CLAIM_TYPE);
        assert_reason(verify(f, with(f, "jti", json_string(long_jti))), EPHEM_R_CLAIM_TOO_LONG);
        assert_reason(verify(f, with(f, "jti", json_string(max_jti))), EPHEM_OK);
}

static void test_exp_leeway_boundary(void **state) {
        fixture *f = *state;
        int64_t now = f->now;

        /* Still valid exactly `leeway` seconds after exp, expired one second later. */
        assert_reason(verify(f, times(f, now - 300, now - TEST_LEEWAY, -1)), EPHEM_OK);
        assert_reason(verify(f, times(f, now - 300, now - TEST_LEEWAY - 1, -1)), EPHEM_R_EXPIRED);
        assert_reason(verify(f, times(f, now - 300, now, -1)), EPHEM_OK);
}

static void test_nbf_leeway_boundary(void **state) {
        fixture *f = *state;
        int64_t now = f->now;

        assert_reason(verify(f, times(f, now, now + 300, now + TEST_LEEWAY)), EPHEM_OK);
        assert_reason(verify(f, times(f, now, now + 300, now + TEST_LEEWAY + 1)), EPHEM_R_NOT_YET_VALID);
}

static void test_iat_in_the_future_boundary(void **state) {
        fixture *f = *state;
        int64_t now = f->now;

        assert_reason(verify(f, times(f, now + TEST_LEEWAY, now + TEST_LEEWAY + 300, -1)), EPHEM_OK);
        assert_reason(verify(f, times(f, now + TEST_LEEWAY + 1, now + TEST_LEEWAY + 301, -1)), EPHEM_R_IAT_FUTURE);
        assert_reason(verify(f, times(f, now + 3600, now + 3900, -1)), EPHEM_R_IAT_FUTURE);
}

static void test_lifetime_boundary(void **state) {
        fixture *f = *state;
        int64_t now = f->now;

        assert_reason(verify(f, times(f, now, now + TEST_MAX_LIFETIME, -1)), EPHEM_OK);
        assert_reason(verify(f, times(f, now, now + TEST_MAX_LIFETIME + 1, -1)), EPHEM_R_LIFETIME);
        assert_reason(verify(f, times(f, now - 100, now + 86400, -1)), EPHEM_R_LIFETIME);
}

static void test_exp_must_follow_iat(void **state) {
        fixture *f = *state;

        assert_reason(verify(f, times(f, f->now, f->now, -1)), EPHEM_R_CLAIM_TYPE);
        assert_reason(verify(f, times(f, f->now, f->now - 1, -1)), EPHEM_R_CLAIM_TYPE);
}

static void test_issuer_lifetime_overrides_host(void **state) {
        fixture *f = *state;
        int64_t now = f->now;
        json_t *c;

        /* 10 minutes for "short", 1 hour for "long" (longer than the host's 15 minutes). */
        c = times(f, now, now + 600, -1);
        json_object_set_new(c, "iss", json_string("https://short.example.net"));
        assert_reason(verify(f, c), EPHEM_OK);
        c = times(f, now, now + 601, -1);
        json_object_set_new(c, "iss", json_string("https://short.example.net"));
        assert_reason(verify(f, c), EPHEM_R_LIFETIME);
        c = times(f, now, now + 3600, -1);
        json_object_set_new(c, "iss", json_string("https://long.example.net"));
        assert_reason(verify(f, c), EPHEM_OK);
        c = times(f, now, now + 3601, -1);
        json_object_set_new(c, "iss", json_string("https://long.example.net"));
        assert_reason(verify(f, c), EPHEM_R_LIFETIME);
}

static void test_leeway_set_by_module_argument(void **state) {
        fixture *f = *state;
        const char *argv[] = { "leeway=5" };
        conf_error err = { 0 };
        ephem_config *c = NULL;
        _cleanup_free_ char *ok = NULL, *late = NULL;
        json_t *claims;

        assert_errno(config_load(f->host->config_path, 1, argv, &c, &err), 0);
        assert_int_equal(c->leeway, 5);
        claims = times(f, f->now - 300, f->now - 5, -1);
        ok = test_token(f->host->key, JWS_ES256, TEST_KID, claims);
        json_decref(claims);
        claims = times(f, f->now - 300, f->now - 6, -1);
        late = test_token(f->host->key, JWS_ES256, TEST_KID, claims);
        json_decref(claims);
        assert_reason(test_verify(c, ok, f->now), EPHEM_OK);
        assert_reason(test_verify(c, late, f->now), EPHEM_R_EXPIRED);
        config_free(c);
}

static void test_payload_sizes_are_bounded(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *s4096 = repeat('x', CLAIM_STRING_MAX), *s4097 = repeat('x', CLAIM_STRING_MAX + 1);
        _cleanup_free_ char *long_name = repeat('n', CLAIM_ID_MAX + 1);
        json_t *arr = json_array(), *obj = json_object(), *c;

        for (unsigned i = 0; i <= CLAIM_ARRAY_MAX; i++) {
                char name[16];
                json_array_append_new(arr, json_integer(i));
                snprintf(name, sizeof(name), "m%u", i);
                json_object_set_new(obj, name, json_true());
        }
        assert_reason(verify(f, with(f, "note", json_string(s4096))), EPHEM_OK);
        assert_reason(verify(f, with(f, "note", json_string(s4097))), EPHEM_R_CLAIM_TOO_LONG);
        assert_reason(verify(f, with(f, "groups", json_pack("{s:[s]}", "deep", s4097))), EPHEM_R_CLAIM_TOO_LONG);
        assert_reason(verify(f, with(f, "groups", arr)), EPHEM_R_CLAIM_TOO_LONG);
        assert_reason(verify(f, with(f, "attrs", obj)), EPHEM_R_CLAIM_TOO_LONG);
        c = test_claims(f->now, "agent-1");
        json_object_set_new(c, long_name, json_true());
        assert_reason(verify(f, c), EPHEM_R_CLAIM_TOO_LONG);
}

static void test_token_length_is_capped(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *pad = repeat('p', 7000);

        /* max_token_length defaults to 8192 bytes. */
        assert_reason(verify(f, with(f, "note", json_pack("[s,s]", pad, pad))), EPHEM_R_TOKEN_TOO_LONG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid_claims_accepted),
                cmocka_unit_test(test_iss_presence_and_type),
                cmocka_unit_test(test_iss_must_match_exactly),
                cmocka_unit_test(test_aud_string_or_array),
                cmocka_unit_test(test_aud_array_is_bounded),
                cmocka_unit_test(test_aud_must_match_exactly),
                cmocka_unit_test(test_exp_presence_and_type),
                cmocka_unit_test(test_iat_presence_and_type),
                cmocka_unit_test(test_nbf_optional_but_typed),
                cmocka_unit_test(test_integer_beyond_int64_refused),
                cmocka_unit_test(test_sub_and_jti_presence_and_type),
                cmocka_unit_test(test_exp_leeway_boundary),
                cmocka_unit_test(test_nbf_leeway_boundary),
                cmocka_unit_test(test_iat_in_the_future_boundary),
                cmocka_unit_test(test_lifetime_boundary),
                cmocka_unit_test(test_exp_must_follow_iat),
                cmocka_unit_test(test_issuer_lifetime_overrides_host),
                cmocka_unit_test(test_leeway_set_by_module_argument),
                cmocka_unit_test(test_payload_sizes_are_bounded),
                cmocka_unit_test(test_token_length_is_capped),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
