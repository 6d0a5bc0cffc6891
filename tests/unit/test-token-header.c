/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The JWS header: the token may name its algorithm and key, never choose them. */
#include "test-cmocka.h"

#include <time.h>

#include "ephem/token.h"
#include "testutil.h"

#define PAYLOAD "{\"iss\":\"" TEST_ISS "\",\"sub\":\"s\"}"

typedef struct fixture {
        test_host *host;
        ephem_config *config;
        int64_t now;
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));

        f->host = test_host_new(NULL);
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

/* token_parse() of a token with this header text (payload and signature well formed). */
static ephem_reason parse_header(const char *header_json) {
        _cleanup_free_ char *token = test_token_raw(header_json, PAYLOAD, "AAAA");
        ephem_token *t = NULL;
        ephem_verdict v = { 0 };
        ephem_reason r = token_parse(token, strlen(token), 8192, &t, &v);

        if (r == EPHEM_OK)
                assert_non_null(t);
        else {
                assert_null(t);
                assert_int_equal(v.reason, r);
        }
        token_free(t);
        return r;
}

/* token_verify() of a properly signed token with this header (alg ES256, the host's key). */
static ephem_reason verify_with_header(fixture *f, const char *header_json) {
        json_error_t e;
        json_t *header = json_loads(header_json, 0, &e);
        json_t *claims = test_claims(f->now, "s");
        _cleanup_free_ char *token = NULL;
        ephem_reason r;

        assert_non_null(header);
        token = test_token_header(f->host->key, JWS_ES256, header, claims);
        r = test_verify(f->config, token, f->now);
        json_decref(header);
        json_decref(claims);
        return r;
}

static void test_alg_none_refused_in_every_case(void **state _unused_) {
        assert_reason(parse_header("{\"alg\":\"none\"}"), EPHEM_R_ALG_NONE);
        assert_reason(parse_header("{\"alg\":\"None\"}"), EPHEM_R_ALG_NONE);
        assert_reason(parse_header("{\"alg\":\"NONE\"}"), EPHEM_R_ALG_NONE);
        assert_reason(parse_header("{\"alg\":\"nOnE\"}"), EPHEM_R_ALG_NONE);
        assert_reason(parse_header("{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"k1\"}"), EPHEM_R_ALG_NONE);
}

static void test_alg_none_refused_with_empty_signature(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *token = NULL;
        json_t *claims = test_claims(f->now, "agent-1");
        char *payload = json_dumps(claims, JSON_COMPACT);

        token = test_token_raw("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, "");
        assert_reason(test_verify(f->config, token, f->now), EPHEM_R_ALG_NONE);
        free(payload);
        json_decref(claims);
}

static void test_symmetric_and_other_algs_unsupported(void **state _unused_) {
        static const char *const algs[] = { "HS256", "HS384",  "HS512",    "RS384",  "RS512",
                                            "ES512", "PS384",  "PS512",    "ES256K", "Ed25519",
                                            "es256", "ES256 ", "RSA-OAEP", "dir",    "" };

        for (size_t i = 0; i < ELEMENTSOF(algs); i++) {
                _cleanup_free_ char *h = test_strdup_printf("{\"alg\":\"%s\"}", algs[i]);
                ephem_reason r = parse_header(h);
                if (r != EPHEM_R_ALG_UNSUPPORTED)
                        fail_msg("alg '%s': %s, expected alg_unsupported", algs[i], reason_id(r));
        }
        /* An embedded NUL must not make "ES256\0x" look like ES256. */
        assert_reason(parse_header("{\"alg\":\"ES256\\u0000\"}"), EPHEM_R_JSON);
}

static void test_alg_missing_or_not_a_string_invalid(void **state _unused_) {
        assert_reason(parse_header("{\"typ\":\"JWT\"}"), EPHEM_R_HEADER_INVALID);
        assert_reason(parse_header("{\"alg\":256}"), EPHEM_R_HEADER_INVALID);
        assert_reason(parse_header("{\"alg\":[\"ES256\"]}"), EPHEM_R_HEADER_INVALID);
        assert_reason(parse_header("{\"alg\":null}"), EPHEM_R_HEADER_INVALID);
        assert_reason(parse_header("{\"alg\":{\"name\":\"ES256\"}}"), EPHEM_R_HEADER_INVALID);
}

static void test_forbidden_header_parameters(void **state _unused_) {
        static const char *const forbidden[] = {
                "\"crit\":[\"exp\"]",
                "\"jku\":\"https://attacker.example/jwks.json\"",
                "\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}",
                "\"x5u\":\"https://attacker.example/cert.pem\"",
                "\"x5c\":[\"MIIB\"]",
                "\"zip\":\"DEF\"",
                "\"b64\":false",
                "\"cty\":\"JWT\"",
        };

        for (size_t i = 0; i < ELEMENTSOF(forbidden); i++) {
                _cleanup_free_ char *h = test_strdup_printf("{\"alg\":\"ES256\",%s}", forbidden[i]);
                ephem_reason r = parse_header(h);
                if (r != EPHEM_R_HEADER_FORBIDDEN)
                        fail_msg("header %s: %s, expected header_forbidden", forbidden[i], reason_id(r));
        }
}

static void test_forbidden_header_refused_even_when_signed(void **state) {
        fixture *f = *state;
        assert_reason(verify_with_header(f, "{\"alg\":\"ES256\",\"kid\":\"k1\",\"crit\":[\"b64\"],\"b64\":true}"),
                      EPHEM_R_HEADER_FORBIDDEN);
        assert_reason(verify_with_header(f, "{\"alg\":\"ES256\",\"kid\":\"k1\",\"jku\":\"https://x.example/\"}"),
                      EPHEM_R_HEADER_FORBIDDEN);
}

static void test_typ_absent_jwt_and_access_token_accepted(void **state) {
        fixture *f = *state;

        assert_reason(verify_with_header(f, "{\"alg\":\"ES256\",\"kid\":\"k1\"}"), EPHEM_OK);
        assert_reason(verify_with_header(f, "{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"JWT\"}"), EPHEM_OK);
        assert_reason(verify_with_header(f, "{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"jwt\"}"), EPHEM_OK);
        assert_reason(verify_with_header(f, "{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"at+jwt\"}"), EPHEM_OK);
        assert_reason(verify_with_header(f, "{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"application/at+jwt\"}"),
                      EPHEM_OK);
        assert_reason(verify_with_header(f, "{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"application/jwt\"}"),
                      EPHEM_OK);
}

static void test_other_typ_refused(void **state) {
        fixture *f = *state;

        /* A DPoP proof or a signed revocation list from the same issuer is not a login token. */
        assert_reason(verify_with_header(f, "{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"dpop+jwt\"}"), EPHEM_R_TYP);
        assert_reason(verify_with_header(f, "{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"revocation+jwt\"}"),
                      EPHEM_R_TYP);
        /* JOSE (compact, as JWT-SVIDs may say) is accepted; its JSON serialization is not. */
        assert_reason(verify_with_header(f, "{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"JOSE\"}"), EPHEM_OK);
        assert_reason(parse_header("{\"alg\":\"ES256\",\"typ\":\"JOSE+JSON\"}"), EPHEM_R_TYP);
        assert_reason(parse_header("{\"alg\":\"ES256\",\"typ\":\"\"}"), EPHEM_R_TYP);
        assert_reason(parse_header("{\"alg\":\"ES256\",\"typ\":\"application/\"}"), EPHEM_R_TYP);
        assert_reason(parse_header("{\"alg\":\"ES256\",\"typ\":7}"), EPHEM_R_TYP);
        assert_reason(parse_header("{\"alg\":\"ES256\",\"typ\":[\"JWT\"]}"), EPHEM_R_TYP);
}

static void test_kid_must_be_a_short_string(void **state _unused_) {
        _cleanup_free_ char *long_kid = NULL, *h = NULL;

        assert_reason(parse_header("{\"alg\":\"ES256\",\"kid\":7}"), EPHEM_R_HEADER_INVALID);
        assert_reason(parse_header("{\"alg\":\"ES256\",\"kid\":[\"k1\"]}"), EPHEM_R_HEADER_INVALID);
        assert_reason(parse_header("{\"alg\":\"ES256\",\"kid\":{\"k\":1}}"), EPHEM_R_HEADER_INVALID);
        assert_reason(parse_header("{\"alg\":\"ES256\",\"kid\":null}"), EPHEM_R_HEADER_INVALID);
        assert_reason(parse_header("{\"alg\":\"ES256\",\"kid\":true}"), EPHEM_R_HEADER_INVALID);
        assert_reason(parse_header("{\"alg\":\"ES256\",\"kid\":\"\"}"), EPHEM_R_HEADER_INVALID);

        long_kid = malloc(KEY_KID_MAX + 2);
        memset(long_kid, 'k', KEY_KID_MAX + 1);
        long_kid[KEY_KID_MAX + 1] = '\0';
        h = test_strdup_printf("{\"alg\":\"ES256\",\"kid\":\"%s\"}", long_kid);
        assert_reason(parse_header(h), EPHEM_R_HEADER_INVALID);
        free(h);
        long_kid[KEY_KID_MAX] = '\0';
        h = test_strdup_printf("{\"alg\":\"ES256\",\"kid\":\"%s\"}", long_kid);
        assert_reason(parse_header(h), EPHEM_OK);
}

static void test_header_json_rules(void **state _unused_) {
        _cleanup_free_ char *big = NULL, *pad = malloc(TOKEN_HEADER_MAX + 1);

        assert_reason(parse_header("[\"ES256\"]"), EPHEM_R_JSON);
        assert_reason(parse_header("{\"alg\":\"ES256\",\"alg\":\"none\"}"), EPHEM_R_JSON_DUPLICATE);
        assert_reason(parse_header("{\"alg\":\"none\",\"\\u0061lg\":\"ES256\"}"), EPHEM_R_JSON_DUPLICATE);
        assert_reason(parse_header("{\"alg\":\"ES256\"} "), EPHEM_OK);
        assert_reason(parse_header("{\"alg\":\"ES256\"}x"), EPHEM_R_JSON);

        memset(pad, 'p', TOKEN_HEADER_MAX);
        pad[TOKEN_HEADER_MAX] = '\0';
        big = test_strdup_printf("{\"alg\":\"ES256\",\"x\":\"%s\"}", pad);
        assert_reason(parse_header(big), EPHEM_R_JSON_TOO_LARGE);
}

static void test_compact_structure(void **state) {
        fixture *f = *state;
        static const char nul_token[] = "eyJhbGciOiJFUzI1NiJ9.e30\0.AAAA";
        ephem_token *t = NULL;
        ephem_verdict v = { 0 };

        assert_reason(test_verify(f->config, "", f->now), EPHEM_R_TOKEN_EMPTY);
        assert_reason(test_verify(f->config, "eyJhbGciOiJFUzI1NiJ9.e30", f->now), EPHEM_R_MALFORMED);
        assert_reason(test_verify(f->config, "eyJhbGciOiJFUzI1NiJ9.e30.AAAA.AAAA", f->now), EPHEM_R_MALFORMED);
        assert_reason(test_verify(f->config, "eyJhbGciOiJFUzI1NiJ9", f->now), EPHEM_R_MALFORMED);
        assert_reason(test_verify(f->config, "..", f->now), EPHEM_R_JSON);
        assert_reason(token_parse(nul_token, sizeof(nul_token) - 1, 8192, &t, &v), EPHEM_R_MALFORMED);
        assert_null(t);
}

static void test_parts_must_be_strict_base64url(void **state _unused_) {
        _cleanup_free_ char *p = test_b64s(PAYLOAD);
        _cleanup_free_ char *t1 = test_strdup_printf("eyJhbGciOiJFUzI1NiJ9=.%s.AAAA", p);
        _cleanup_free_ char *t2 = test_strdup_printf("eyJhbGciOiJFUzI1NiJ9.%s.AA+/", p);
        _cleanup_free_ char *t3 = test_strdup_printf("eyJhbGciOiJFUzI1NiJ9.%s.AB", p);
        _cleanup_free_ char *t4 = test_strdup_printf("eyJhbGciOiJFUzI1NiJ9.%s .AAAA", p);
        ephem_token *t = NULL;
        ephem_verdict v = { 0 };

        assert_reason(token_parse(t1, strlen(t1), 8192, &t, &v), EPHEM_R_BASE64);
        assert_reason(token_parse(t2, strlen(t2), 8192, &t, &v), EPHEM_R_BASE64);
        assert_reason(token_parse(t3, strlen(t3), 8192, &t, &v), EPHEM_R_BASE64);
        assert_reason(token_parse(t4, strlen(t4), 8192, &t, &v), EPHEM_R_BASE64);
        assert_null(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_alg_none_refused_in_every_case),
                cmocka_unit_test(test_alg_none_refused_with_empty_signature),
                cmocka_unit_test(test_symmetric_and_other_algs_unsupported),
                cmocka_unit_test(test_alg_missing_or_not_a_string_invalid),
                cmocka_unit_test(test_forbidden_header_parameters),
                cmocka_unit_test(test_forbidden_header_refused_even_when_signed),
                cmocka_unit_test(test_typ_absent_jwt_and_access_token_accepted),
                cmocka_unit_test(test_other_typ_refused),
                cmocka_unit_test(test_kid_must_be_a_short_string),
                cmocka_unit_test(test_header_json_rules),
                cmocka_unit_test(test_compact_structure),
                cmocka_unit_test(test_parts_must_be_strict_base64url),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
