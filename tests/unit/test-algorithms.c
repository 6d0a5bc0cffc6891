/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every accepted algorithm verifies through the same path, and nothing else does. */
#include "test-cmocka.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <time.h>

#include "ephem/b64url.h"
#include "ephem/token.h"
#include "testutil.h"

typedef struct fixture {
        test_host *host;
        ephem_config *config;
        EVP_PKEY *keys[_JWS_ALG_MAX];
        EVP_PKEY *others[_JWS_ALG_MAX]; /* same types, not in the JWKS */
        int64_t now;
} fixture;

static const char *const kids[_JWS_ALG_MAX] = {
        [JWS_ES256] = "es256", [JWS_ES384] = "es384", [JWS_RS256] = "rsa", [JWS_PS256] = "rsa", [JWS_EDDSA] = "ed",
};

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));
        _cleanup_free_ char *jwks = NULL;

        f->host = test_host_new(NULL);
        f->now = (int64_t) time(NULL);
        for (int a = 0; a < _JWS_ALG_MAX; a++) {
                /* RS256 and PS256 share one RSA key: the key allows both. */
                if (a == JWS_PS256) {
                        f->keys[a] = f->keys[JWS_RS256];
                        f->others[a] = f->others[JWS_RS256];
                        continue;
                }
                f->keys[a] = test_keygen((jws_alg) a);
                f->others[a] = test_keygen((jws_alg) a);
        }
        jwks = test_jwks(test_jwk(f->keys[JWS_ES256], "es256", NULL), test_jwk(f->keys[JWS_ES384], "es384", NULL),
                         test_jwk(f->keys[JWS_RS256], "rsa", NULL), test_jwk(f->keys[JWS_EDDSA], "ed", NULL), NULL);
        test_write_file(f->host->jwks_path, jwks, 0644);
        f->config = test_host_config(f->host);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        for (int a = 0; a < _JWS_ALG_MAX; a++)
                if (a != JWS_PS256) {
                        EVP_PKEY_free(f->keys[a]);
                        EVP_PKEY_free(f->others[a]);
                }
        config_free(f->config);
        test_host_free(f->host);
        free(f);
        return 0;
}

static char *sign(fixture *f, EVP_PKEY *key, jws_alg alg) {
        json_t *claims = test_claims(f->now, "agent-1");
        char *token = test_token(key, alg, kids[alg], claims);

        json_decref(claims);
        return token;
}

/* Replaces the signature part of a token by `sig` (raw bytes). */
static char *with_signature(const char *token, const uint8_t *sig, size_t len) {
        const char *dot = strrchr(token, '.');
        _cleanup_free_ char *s = test_b64(sig, len);

        return test_strdup_printf("%.*s.%s", (int) (dot - token), token, s);
}

static uint8_t *signature_of(const char *token, size_t *ret_len) {
        const char *dot = strrchr(token, '.');
        uint8_t *sig = NULL;

        assert_errno(b64url_decode(dot + 1, strlen(dot + 1), &sig, ret_len), 0);
        return sig;
}

static void test_every_algorithm_verifies(void **state) {
        fixture *f = *state;

        for (int a = 0; a < _JWS_ALG_MAX; a++) {
                _cleanup_free_ char *token = sign(f, f->keys[a], (jws_alg) a);
                ephem_token *t = NULL;
                ephem_verdict v = { 0 };
                ephem_reason r = token_verify(f->config, token, strlen(token), f->now, &t, &v);

                if (r != EPHEM_OK)
                        fail_msg("%s: %s (%s)", jws_alg_to_string((jws_alg) a), reason_id(r), v.detail);
                assert_int_equal(t->alg, a);
                assert_string_equal(t->key->kid, kids[a]);
                token_free(t);
        }
}

static void test_flipped_signature_bit_refused(void **state) {
        fixture *f = *state;

        for (int a = 0; a < _JWS_ALG_MAX; a++)
                for (size_t bit = 0; bit < 3; bit++) {
                        _cleanup_free_ char *token = sign(f, f->keys[a], (jws_alg) a), *bad = NULL;
                        size_t len = 0;
                        _cleanup_free_ uint8_t *sig = signature_of(token, &len);
                        size_t at = bit == 0 ? 0 : bit == 1 ? len / 2 : len - 1;

                        sig[at] ^= 0x01;
                        bad = with_signature(token, sig, len);
                        if (test_verify(f->config, bad, f->now) != EPHEM_R_SIGNATURE)
                                fail_msg("%s: a signature with byte %zu flipped was not refused",
                                         jws_alg_to_string((jws_alg) a), at);
                }
}

static void test_wrong_length_or_empty_signature_refused(void **state) {
        fixture *f = *state;

        for (int a = 0; a < _JWS_ALG_MAX; a++) {
                _cleanup_free_ char *token = sign(f, f->keys[a], (jws_alg) a), *shorter = NULL, *longer = NULL,
                                    *empty = NULL;
                size_t len = 0;
                _cleanup_free_ uint8_t *sig = signature_of(token, &len);
                uint8_t *big = calloc(1, len + 1);

                memcpy(big, sig, len);
                shorter = with_signature(token, sig, len - 1);
                longer = with_signature(token, big, len + 1);
                empty = with_signature(token, sig, 0);
                assert_reason(test_verify(f->config, shorter, f->now), EPHEM_R_SIGNATURE);
                assert_reason(test_verify(f->config, longer, f->now), EPHEM_R_SIGNATURE);
                assert_reason(test_verify(f->config, empty, f->now), EPHEM_R_SIGNATURE);
                free(big);
        }
}

static void test_altered_payload_refused(void **state) {
        fixture *f = *state;

        for (int a = 0; a < _JWS_ALG_MAX; a++) {
                _cleanup_free_ char *token = sign(f, f->keys[a], (jws_alg) a), *forged = NULL;
                _cleanup_free_ char *payload = test_b64s(
                        "{\"iss\":\"" TEST_ISS "\",\"aud\":\"" TEST_AUD
                        "\",\"sub\":\"agent-1\",\"jti\":\"x\",\"iat\":1,\"exp\":4102444800}");
                const char *d1 = strchr(token, '.'), *d2 = strrchr(token, '.');

                forged = test_strdup_printf("%.*s.%s%s", (int) (d1 - token), token, payload, d2);
                assert_reason(test_verify(f->config, forged, f->now), EPHEM_R_SIGNATURE);
        }
}

static void test_signature_by_another_key_refused(void **state) {
        fixture *f = *state;

        for (int a = 0; a < _JWS_ALG_MAX; a++) {
                _cleanup_free_ char *token = sign(f, f->others[a], (jws_alg) a);
                assert_reason(test_verify(f->config, token, f->now), EPHEM_R_SIGNATURE);
        }
}

static void test_pss_and_pkcs1_not_interchangeable(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *rs_as_ps = NULL, *ps_as_rs = NULL;
        json_t *claims = test_claims(f->now, "agent-1");
        _cleanup_free_ char *ps_token = test_token(f->keys[JWS_PS256], JWS_PS256, "rsa", claims);
        _cleanup_free_ char *rs_token = test_token(f->keys[JWS_RS256], JWS_RS256, "rsa", claims);
        size_t l1 = 0, l2 = 0;
        _cleanup_free_ uint8_t *s1 = signature_of(ps_token, &l1), *s2 = signature_of(rs_token, &l2);

        /* The same signing input with the other padding's signature. */
        rs_as_ps = with_signature(ps_token, s2, l2);
        ps_as_rs = with_signature(rs_token, s1, l1);
        assert_reason(test_verify(f->config, rs_as_ps, f->now), EPHEM_R_SIGNATURE);
        assert_reason(test_verify(f->config, ps_as_rs, f->now), EPHEM_R_SIGNATURE);
        json_decref(claims);
}

static void test_der_encoded_ecdsa_signature_refused(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *token = sign(f, f->keys[JWS_ES256], JWS_ES256), *der_token = NULL;
        size_t len = 0;
        _cleanup_free_ uint8_t *sig = signature_of(token, &len);
        ECDSA_SIG *es = ECDSA_SIG_new();
        unsigned char *der = NULL;
        int n;

        /* JWS wants raw r||s (RFC 7518 §3.4); the same signature in DER is refused. */
        assert_int_equal(len, 64);
        ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
        n = i2d_ECDSA_SIG(es, &der);
        assert_true(n > 0);
        der_token = with_signature(token, der, (size_t) n);
        assert_reason(test_verify(f->config, der_token, f->now), EPHEM_R_SIGNATURE);
        OPENSSL_free(der);
        ECDSA_SIG_free(es);
}

static void test_zero_ecdsa_signature_refused(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *token = sign(f, f->keys[JWS_ES256], JWS_ES256), *zero = NULL;
        uint8_t sig[64] = { 0 };

        /* r = s = 0 "verifies" in broken ECDSA implementations (CVE-2022-21449). */
        zero = with_signature(token, sig, sizeof(sig));
        assert_reason(test_verify(f->config, zero, f->now), EPHEM_R_SIGNATURE);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_algorithm_verifies),
                cmocka_unit_test(test_flipped_signature_bit_refused),
                cmocka_unit_test(test_wrong_length_or_empty_signature_refused),
                cmocka_unit_test(test_altered_payload_refused),
                cmocka_unit_test(test_signature_by_another_key_refused),
                cmocka_unit_test(test_pss_and_pkcs1_not_interchangeable),
                cmocka_unit_test(test_der_encoded_ecdsa_signature_refused),
                cmocka_unit_test(test_zero_ecdsa_signature_refused),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
