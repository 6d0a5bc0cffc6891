/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Verification keys: checked when loaded, selected by kid, and the algorithm is the key's. */
#include "test-cmocka.h"

#include <errno.h>
#include <sys/stat.h>
#include <time.h>

#include "ephem/b64url.h"
#include "ephem/token.h"
#include "testutil.h"

typedef struct fixture {
        test_host *host;
        int64_t now;
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));

        f->host = test_host_new(NULL);
        f->now = (int64_t) time(NULL);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        test_host_free(f->host);
        free(f);
        return 0;
}

/* Replaces the broker's key file. */
static void set_keys(fixture *f, const char *text) {
        test_write_file(f->host->jwks_path, text, 0644);
}

static int load(const char *text, keyset *ks) {
        conf_error err = { 0 };
        int r;

        *ks = (keyset){ 0 };
        r = keyset_load_buffer(text, strlen(text), ks, &err);
        if (r < 0) {
                assert_int_equal(ks->n, 0);
                assert_true(err.message[0] != '\0'); /* refusals say why */
        }
        return r;
}

/* Verifies a token signed by `key` (alg, kid) against the host's current key file; the
 * selected key's kid goes to *ret_kid (free it) when given and the token is accepted. */
static ephem_reason verify_signed_by(fixture *f, EVP_PKEY *key, jws_alg alg, const char *kid, char **ret_kid) {
        _cleanup_config_ ephem_config *c = test_host_config(f->host);
        json_t *claims = test_claims(f->now, "agent-1");
        _cleanup_free_ char *token = test_token(key, alg, kid, claims);
        ephem_token *t = NULL;
        ephem_verdict v = { 0 };
        ephem_reason r = token_verify(c, token, strlen(token), f->now, &t, &v);

        if (ret_kid)
                *ret_kid = r == EPHEM_OK && t->key->kid ? strdup(t->key->kid) : NULL;
        token_free(t);
        json_decref(claims);
        return r;
}

static void test_jwks_several_keys_selected_by_kid(void **state) {
        fixture *f = *state;
        _cleanup_pkey_ EVP_PKEY *a = test_keygen(JWS_ES256), *b = test_keygen(JWS_ES256), *e = test_keygen(JWS_EDDSA);
        _cleanup_free_ char *jwks = test_jwks(test_jwk(a, "k1", NULL), test_jwk(b, "k2", NULL), test_jwk(e, "e1", NULL),
                                              NULL);
        _cleanup_free_ char *kid = NULL;

        set_keys(f, jwks);
        assert_reason(verify_signed_by(f, b, JWS_ES256, "k2", &kid), EPHEM_OK);
        assert_string_equal(kid, "k2");
        assert_reason(verify_signed_by(f, a, JWS_ES256, "k1", NULL), EPHEM_OK);
        /* The kid picks the key; a signature by another key of the set does not verify. */
        assert_reason(verify_signed_by(f, b, JWS_ES256, "k1", NULL), EPHEM_R_SIGNATURE);
        assert_reason(verify_signed_by(f, a, JWS_ES256, "k9", NULL), EPHEM_R_KID_UNKNOWN);
        /* Without a kid, two P-256 keys are ambiguous; one Ed25519 key is not. */
        assert_reason(verify_signed_by(f, a, JWS_ES256, NULL, NULL), EPHEM_R_KID_REQUIRED);
        assert_reason(verify_signed_by(f, e, JWS_EDDSA, NULL, NULL), EPHEM_OK);
}

static void test_rotation_old_and_new_key_both_accepted(void **state) {
        fixture *f = *state;
        _cleanup_pkey_ EVP_PKEY *old = test_keygen(JWS_ES256), *new = test_keygen(JWS_ES256);
        _cleanup_free_ char *both = test_jwks(test_jwk(old, "2026-10", "ES256"), test_jwk(new, "2026-11", "ES256"),
                                              NULL);
        _cleanup_free_ char *new_only = test_jwks(test_jwk(new, "2026-11", "ES256"), NULL);

        set_keys(f, both);
        assert_reason(verify_signed_by(f, old, JWS_ES256, "2026-10", NULL), EPHEM_OK);
        assert_reason(verify_signed_by(f, new, JWS_ES256, "2026-11", NULL), EPHEM_OK);
        /* Once the old key leaves the JWKS, its tokens stop working. */
        set_keys(f, new_only);
        assert_reason(verify_signed_by(f, old, JWS_ES256, "2026-10", NULL), EPHEM_R_KID_UNKNOWN);
        assert_reason(verify_signed_by(f, new, JWS_ES256, "2026-11", NULL), EPHEM_OK);
}

static void test_pem_public_key_accepted(void **state) {
        fixture *f = *state;
        _cleanup_pkey_ EVP_PKEY *k = test_keygen(JWS_ES256), *e = test_keygen(JWS_EDDSA);
        _cleanup_free_ char *pem = test_pem_public(k), *pem_e = test_pem_public(e), *both = NULL;
        json_t *jwk = test_jwk(k, NULL, NULL);
        char tp[JWK_THUMBPRINT_LEN + 1];

        assert_errno(jwk_thumbprint(jwk, tp), 0);
        json_decref(jwk);

        set_keys(f, pem);
        assert_reason(verify_signed_by(f, k, JWS_ES256, NULL, NULL), EPHEM_OK);
        /* A PEM key has no kid of its own: it answers to its RFC 7638 thumbprint. */
        assert_reason(verify_signed_by(f, k, JWS_ES256, tp, NULL), EPHEM_OK);
        assert_reason(verify_signed_by(f, k, JWS_ES256, "k1", NULL), EPHEM_R_KID_UNKNOWN);
        assert_reason(verify_signed_by(f, e, JWS_EDDSA, NULL, NULL), EPHEM_R_ALG_KEY_MISMATCH);

        both = test_strdup_printf("%s%s", pem, pem_e);
        set_keys(f, both);
        assert_reason(verify_signed_by(f, k, JWS_ES256, NULL, NULL), EPHEM_OK);
        assert_reason(verify_signed_by(f, e, JWS_EDDSA, NULL, NULL), EPHEM_OK);
}

static void test_rsa_below_2048_bits_refused(void **state) {
        fixture *f = *state;
        _cleanup_pkey_ EVP_PKEY *small = test_keygen_rsa(1024), *ok = test_keygen_rsa(2048);
        _cleanup_free_ char *jwks = test_jwks(test_jwk(small, "r1", NULL), NULL), *pem = test_pem_public(small);
        _cleanup_free_ char *jwks_ok = test_jwks(test_jwk(ok, "r1", NULL), NULL);
        keyset ks;

        assert_errno(load(jwks, &ks), -EINVAL);
        assert_errno(load(pem, &ks), -EINVAL);
        assert_errno(load(jwks_ok, &ks), 0);
        assert_int_equal(ks.n, 1);
        assert_int_equal(ks.keys[0].type, KEY_RSA);
        keyset_done(&ks);

        /* An issuer whose key file is refused verifies nothing. */
        set_keys(f, jwks);
        assert_reason(verify_signed_by(f, small, JWS_RS256, "r1", NULL), EPHEM_R_CONFIG);
}

static char *flip_last_byte(const char *b64) {
        _cleanup_free_ uint8_t *raw = NULL;
        size_t n = 0;

        assert_errno(b64url_decode(b64, strlen(b64), &raw, &n), 0);
        raw[n - 1] ^= 0x01;
        return test_b64(raw, n);
}

static void test_ec_point_not_on_curve_refused(void **state _unused_) {
        _cleanup_pkey_ EVP_PKEY *k = test_keygen(JWS_ES256), *k384 = test_keygen(JWS_ES384);
        json_t *jwk = test_jwk(k, "k1", NULL), *jwk384 = test_jwk(k384, "k2", NULL);
        _cleanup_free_ char *y = flip_last_byte(json_string_value(json_object_get(jwk, "y")));
        _cleanup_free_ char *y384 = flip_last_byte(json_string_value(json_object_get(jwk384, "y")));
        _cleanup_free_ char *text = NULL, *text384 = NULL;
        keyset ks;

        json_object_set_new(jwk, "y", json_string(y));
        json_object_set_new(jwk384, "y", json_string(y384));
        text = test_jwks(jwk, NULL);
        text384 = test_jwks(jwk384, NULL);
        assert_errno(load(text, &ks), -EINVAL);
        assert_errno(load(text384, &ks), -EINVAL);
}

static void test_ec_coordinates_of_wrong_length_refused(void **state _unused_) {
        _cleanup_pkey_ EVP_PKEY *k = test_keygen(JWS_ES256);
        json_t *jwk = test_jwk(k, "k1", NULL);
        _cleanup_free_ char *text = NULL;
        keyset ks;

        /* 31 bytes where P-256 needs 32: RFC 7518 §6.2.1.2 wants the full length. */
        json_object_set_new(jwk, "x", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        text = test_jwks(jwk, NULL);
        assert_errno(load(text, &ks), -EINVAL);
}

static void test_private_key_material_refused(void **state _unused_) {
        static const char *const members[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k" };
        _cleanup_pkey_ EVP_PKEY *k = test_keygen(JWS_ES256);
        _cleanup_free_ char *sym = NULL;
        keyset ks;

        for (size_t i = 0; i < ELEMENTSOF(members); i++) {
                json_t *priv = test_jwk(k, "k1", NULL);
                _cleanup_free_ char *text = NULL;
                json_object_set_new(priv, members[i], json_string("AAAA"));
                text = test_jwks(test_jwk(k, "k0", NULL), priv, NULL);
                /* One private key refuses the whole file: it was published by mistake. */
                if (load(text, &ks) != -EPERM)
                        fail_msg("a JWK with member '%s' was not refused with -EPERM", members[i]);
        }
        sym = test_strdup_printf("{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\",\"kid\":\"h1\"}]}");
        assert_errno(load(sym, &ks), -EPERM);
}

static void test_pem_private_key_refused(void **state _unused_) {
        static const char pem[] = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n"
                                  "-----END PRIVATE KEY-----\n";
        keyset ks;

        assert_errno(load(pem, &ks), -EPERM);
}

/* A SPIFFE trust bundle marks its JWT signing keys use "jwt-svid". */
static void test_spiffe_bundle_uses(void **state _unused_) {
        _cleanup_pkey_ EVP_PKEY *jwt = test_keygen(JWS_ES256), *x509 = test_keygen(JWS_ES256);
        json_t *jjwt = test_jwk(jwt, "svid-jwt", NULL), *jx509 = test_jwk(x509, "svid-x509", NULL);
        _cleanup_free_ char *text = NULL;
        keyset ks;

        json_object_set_new(jjwt, "use", json_string("jwt-svid"));
        json_object_set_new(jx509, "use", json_string("x509-svid"));
        text = test_jwks(jjwt, jx509, NULL);
        assert_errno(load(text, &ks), 0);
        assert_int_equal(ks.n, 1);
        assert_string_equal(ks.keys[0].kid, "svid-jwt");
        assert_int_equal(ks.skipped_use, 1);
        keyset_done(&ks);
}

static void test_encryption_keys_skipped(void **state _unused_) {
        _cleanup_pkey_ EVP_PKEY *enc = test_keygen(JWS_ES256), *sig = test_keygen(JWS_ES256);
        json_t *jenc = test_jwk(enc, "enc-1", NULL), *jsig = test_jwk(sig, "sig-1", NULL);
        json_t *jops = test_jwk(enc, "ops-1", NULL);
        _cleanup_free_ char *text = NULL, *only_enc = NULL;
        keyset ks;

        json_object_set_new(jenc, "use", json_string("enc"));
        json_object_set_new(jsig, "use", json_string("sig"));
        json_object_set_new(jops, "key_ops", json_pack("[s]", "encrypt"));
        text = test_jwks(jenc, jsig, jops, NULL);
        assert_errno(load(text, &ks), 0);
        assert_int_equal(ks.n, 1);
        /* Keys for other uses are expected in a provider's JWKS: counted apart from
         * keys of unsupported types, which policy check warns about. */
        assert_int_equal(ks.skipped_use, 2);
        assert_int_equal(ks.skipped, 0);
        assert_string_equal(ks.keys[0].kid, "sig-1");
        keyset_done(&ks);

        jenc = test_jwk(enc, "enc-1", NULL);
        json_object_set_new(jenc, "use", json_string("enc"));
        only_enc = test_jwks(jenc, NULL);
        assert_errno(load(only_enc, &ks), -ENOKEY);
}

static void test_unsupported_key_types_skipped(void **state _unused_) {
        _cleanup_pkey_ EVP_PKEY *k = test_keygen(JWS_ES256);
        _cleanup_free_ char *text = test_jwks(
                json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-521", "kid", "p521", "x", "AA", "y",
                          "AA"),
                json_pack("{s:s, s:s, s:s, s:s}", "kty", "OKP", "crv", "X25519", "kid", "x1", "x", "AA"),
                json_pack("{s:s, s:s}", "kty", "PQC", "kid", "q1"), test_jwk(k, "k1", NULL), NULL);
        keyset ks;

        assert_errno(load(text, &ks), 0);
        assert_int_equal(ks.n, 1);
        assert_int_equal(ks.skipped, 3);
        keyset_done(&ks);
}

static void test_duplicate_kid_refused(void **state _unused_) {
        _cleanup_pkey_ EVP_PKEY *a = test_keygen(JWS_ES256), *b = test_keygen(JWS_ES256);
        _cleanup_free_ char *text = test_jwks(test_jwk(a, "same", NULL), test_jwk(b, "same", NULL), NULL);
        keyset ks;

        assert_errno(load(text, &ks), -EINVAL);
}

static void test_jwk_alg_pins_the_algorithm(void **state) {
        fixture *f = *state;
        _cleanup_pkey_ EVP_PKEY *rsa = test_keygen_rsa(2048), *ec = test_keygen(JWS_ES256);
        _cleanup_free_ char *pinned = test_jwks(test_jwk(rsa, "r1", "RS256"), NULL);
        _cleanup_free_ char *unpinned = test_jwks(test_jwk(rsa, "r1", NULL), NULL);
        _cleanup_free_ char *unsuitable = test_jwks(test_jwk(ec, "k1", "RS256"), NULL);
        _cleanup_free_ char *unknown = test_jwks(test_jwk(ec, "k1", "ES512"), NULL);
        keyset ks;

        set_keys(f, pinned);
        assert_reason(verify_signed_by(f, rsa, JWS_RS256, "r1", NULL), EPHEM_OK);
        assert_reason(verify_signed_by(f, rsa, JWS_PS256, "r1", NULL), EPHEM_R_ALG_KEY_MISMATCH);
        set_keys(f, unpinned);
        assert_reason(verify_signed_by(f, rsa, JWS_PS256, "r1", NULL), EPHEM_OK);

        /* An "alg" that cannot suit the key refuses the file; an unknown one skips the key. */
        assert_errno(load(unsuitable, &ks), -EINVAL);
        assert_errno(load(unknown, &ks), -ENOKEY);
}

static void test_header_alg_must_match_key_type(void **state) {
        fixture *f = *state;
        _cleanup_pkey_ EVP_PKEY *p256 = test_keygen(JWS_ES256), *p384 = test_keygen(JWS_ES384),
                                *rsa = test_keygen_rsa(2048), *ed = test_keygen(JWS_EDDSA);
        _cleanup_free_ char *jwks = test_jwks(test_jwk(p256, "p256", NULL), test_jwk(rsa, "rsa", NULL),
                                              test_jwk(ed, "ed", NULL), NULL);

        set_keys(f, jwks);
        /* ES384 named against a P-256 key (signed by a P-384 key to get that far). */
        assert_reason(verify_signed_by(f, p384, JWS_ES384, "p256", NULL), EPHEM_R_ALG_KEY_MISMATCH);
        assert_reason(verify_signed_by(f, p256, JWS_ES256, "rsa", NULL), EPHEM_R_ALG_KEY_MISMATCH);
        assert_reason(verify_signed_by(f, rsa, JWS_RS256, "p256", NULL), EPHEM_R_ALG_KEY_MISMATCH);
        assert_reason(verify_signed_by(f, ed, JWS_EDDSA, "p256", NULL), EPHEM_R_ALG_KEY_MISMATCH);
        assert_reason(verify_signed_by(f, p256, JWS_ES256, "ed", NULL), EPHEM_R_ALG_KEY_MISMATCH);
        /* No kid and no key of that type at all. */
        assert_reason(verify_signed_by(f, p384, JWS_ES384, NULL, NULL), EPHEM_R_ALG_KEY_MISMATCH);
}

static void test_issuer_algorithms_restrict(void **state) {
        fixture *f = *state;
        _cleanup_pkey_ EVP_PKEY *rsa = test_keygen_rsa(2048);
        _cleanup_free_ char *jwks = test_jwks(test_jwk(f->host->key, "k1", NULL), test_jwk(rsa, "r1", NULL), NULL);

        set_keys(f, jwks);
        /* A section may be continued further down the file. */
        test_host_configure(f->host, NULL, "[issuer broker]\nalgorithms = PS256\n");
        assert_reason(verify_signed_by(f, rsa, JWS_PS256, "r1", NULL), EPHEM_OK);
        assert_reason(verify_signed_by(f, rsa, JWS_RS256, "r1", NULL), EPHEM_R_ALG_NOT_ALLOWED);
        assert_reason(verify_signed_by(f, f->host->key, JWS_ES256, "k1", NULL), EPHEM_R_ALG_NOT_ALLOWED);
}

static void test_unusable_key_file_fails_closed(void **state) {
        fixture *f = *state;

        assert_reason(verify_signed_by(f, f->host->key, JWS_ES256, "k1", NULL), EPHEM_OK);
        assert_int_equal(chmod(f->host->jwks_path, 0666), 0);
        assert_reason(verify_signed_by(f, f->host->key, JWS_ES256, "k1", NULL), EPHEM_R_CONFIG);
        assert_int_equal(unlink(f->host->jwks_path), 0);
        assert_reason(verify_signed_by(f, f->host->key, JWS_ES256, "k1", NULL), EPHEM_R_CONFIG);
        set_keys(f, "{\"keys\": [");
        assert_reason(verify_signed_by(f, f->host->key, JWS_ES256, "k1", NULL), EPHEM_R_CONFIG);
        set_keys(f, "not a key");
        assert_reason(verify_signed_by(f, f->host->key, JWS_ES256, "k1", NULL), EPHEM_R_CONFIG);
}

static void test_too_many_keys_refused(void **state _unused_) {
        _cleanup_pkey_ EVP_PKEY *k = test_keygen(JWS_ES256);
        json_t *keys = json_array(), *doc;
        char *text;
        keyset ks;

        for (unsigned i = 0; i <= KEYSET_MAX_KEYS; i++) {
                char kid[16];
                snprintf(kid, sizeof(kid), "k%u", i);
                json_array_append_new(keys, test_jwk(k, kid, NULL));
        }
        doc = json_pack("{s:o}", "keys", keys);
        text = json_dumps(doc, 0);
        assert_errno(load(text, &ks), -E2BIG);
        free(text);
        json_decref(doc);
}

static void test_single_jwk_document_accepted(void **state _unused_) {
        _cleanup_pkey_ EVP_PKEY *k = test_keygen(JWS_EDDSA);
        json_t *jwk = test_jwk(k, "solo", NULL);
        char *text = json_dumps(jwk, 0);
        keyset ks;

        assert_errno(load(text, &ks), 0);
        assert_int_equal(ks.n, 1);
        assert_int_equal(ks.keys[0].type, KEY_ED25519);
        keyset_done(&ks);
        free(text);
        json_decref(jwk);
}

static void test_rfc7638_thumbprint(void **state _unused_) {
        /* The example of RFC 7638 §3.1. */
        json_t *jwk = json_pack(
                "{s:s, s:s, s:s, s:s}", "kty", "RSA", "e", "AQAB", "alg", "RS256", "n",
                "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
                "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY3"
                "68QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4"
                "lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw");
        char tp[JWK_THUMBPRINT_LEN + 1];

        assert_errno(jwk_thumbprint(jwk, tp), 0);
        assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        json_decref(jwk);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_jwks_several_keys_selected_by_kid, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rotation_old_and_new_key_both_accepted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pem_public_key_accepted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rsa_below_2048_bits_refused, setup, teardown),
                cmocka_unit_test(test_ec_point_not_on_curve_refused),
                cmocka_unit_test(test_ec_coordinates_of_wrong_length_refused),
                cmocka_unit_test(test_private_key_material_refused),
                cmocka_unit_test(test_pem_private_key_refused),
                cmocka_unit_test(test_encryption_keys_skipped),
                cmocka_unit_test(test_spiffe_bundle_uses),
                cmocka_unit_test(test_unsupported_key_types_skipped),
                cmocka_unit_test(test_duplicate_kid_refused),
                cmocka_unit_test_setup_teardown(test_jwk_alg_pins_the_algorithm, setup, teardown),
                cmocka_unit_test_setup_teardown(test_header_alg_must_match_key_type, setup, teardown),
                cmocka_unit_test_setup_teardown(test_issuer_algorithms_restrict, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unusable_key_file_fails_closed, setup, teardown),
                cmocka_unit_test(test_too_many_keys_refused),
                cmocka_unit_test(test_single_jwk_document_accepted),
                cmocka_unit_test(test_rfc7638_thumbprint),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
