/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/keys.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <string.h>

#include "ephem/b64url.h"
#include "ephem/json.h"
#include "ephem/macro.h"
#include "ephem/safefile.h"

/* jwk_to_key(): a key for encryption or other uses, skipped without complaint. */
#define ENOTSUP_USE EOPNOTSUPP

static const char *const alg_names[_JWS_ALG_MAX] = {
        [JWS_ES256] = "ES256", [JWS_ES384] = "ES384", [JWS_RS256] = "RS256",
        [JWS_PS256] = "PS256", [JWS_EDDSA] = "EdDSA",
};

jws_alg jws_alg_from_string(const char *s) {
        if (!s)
                return JWS_ALG_INVALID;
        for (int i = 0; i < _JWS_ALG_MAX; i++)
                if (streq(s, alg_names[i]))
                        return (jws_alg) i;
        return JWS_ALG_INVALID;
}

const char *jws_alg_to_string(jws_alg a) {
        if (a < 0 || a >= _JWS_ALG_MAX)
                return "invalid";
        return alg_names[a];
}

bool key_type_allows(key_type t, jws_alg alg) {
        switch (t) {
        case KEY_EC_P256:
                return alg == JWS_ES256;
        case KEY_EC_P384:
                return alg == JWS_ES384;
        case KEY_RSA:
                return alg == JWS_RS256 || alg == JWS_PS256;
        case KEY_ED25519:
                return alg == JWS_EDDSA;
        }
        return false;
}

const char *key_type_to_string(key_type t) {
        switch (t) {
        case KEY_EC_P256:
                return "EC P-256";
        case KEY_EC_P384:
                return "EC P-384";
        case KEY_RSA:
                return "RSA";
        case KEY_ED25519:
                return "Ed25519";
        }
        return "unknown";
}

void ephem_key_done(ephem_key *k) {
        EVP_PKEY_free(k->pkey);
        free(k->kid);
        *k = (ephem_key){ .pinned = JWS_ALG_INVALID };
}

void keyset_done(keyset *ks) {
        for (size_t i = 0; i < ks->n; i++)
                ephem_key_done(&ks->keys[i]);
        free(ks->keys);
        *ks = (keyset){ 0 };
}

/* Decodes a base64url JWK member; exact_len 0 means any non-empty length up to max_len. */
static int member_bytes(const json_t *jwk, const char *name, size_t exact_len, size_t max_len, uint8_t **ret,
                        size_t *ret_len) {
        const json_t *v = json_object_get(jwk, name);
        const char *s;
        size_t n;

        if (!json_is_string(v))
                return -EINVAL;
        s = json_string_value(v);
        n = json_string_length(v);
        if (n == 0 || n > (max_len * 4 + 2) / 3)
                return -EINVAL;
        if (b64url_decode(s, n, ret, ret_len) < 0)
                return -EINVAL;
        if ((exact_len && *ret_len != exact_len) || *ret_len == 0) {
                free(*ret);
                *ret = NULL;
                return -EINVAL;
        }
        return 0;
}

static int check_public(EVP_PKEY *pkey) {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        int ok;

        if (!ctx)
                return -ENOMEM;
        ok = EVP_PKEY_public_check(ctx);
        EVP_PKEY_CTX_free(ctx);
        ERR_clear_error();
        return ok == 1 ? 0 : -EINVAL;
}

static int pkey_from_params(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **ret) {
        OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
        EVP_PKEY_CTX *ctx = NULL;
        EVP_PKEY *pkey = NULL;
        int r = -EINVAL;

        if (!params)
                return -ENOMEM;
        ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
        if (!ctx) {
                r = -ENOMEM;
                goto done;
        }
        if (EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
                goto done;
        *ret = pkey;
        r = 0;
done:
        EVP_PKEY_CTX_free(ctx);
        OSSL_PARAM_free(params);
        ERR_clear_error();
        return r;
}

static int ec_from_jwk(const json_t *jwk, const char *crv, ephem_key *k, conf_error *err) {
        _cleanup_free_ uint8_t *x = NULL, *y = NULL;
        uint8_t pub[1 + 2 * 48];
        size_t coord, xl, yl;
        const char *group;
        OSSL_PARAM_BLD *bld;
        int r;

        if (streq(crv, "P-256")) {
                coord = 32;
                group = "P-256";
                k->type = KEY_EC_P256;
        } else if (streq(crv, "P-384")) {
                coord = 48;
                group = "P-384";
                k->type = KEY_EC_P384;
        } else {
                conf_error_set(err, 0, "EC curve '%s' is not supported", crv);
                return -EPROTONOSUPPORT;
        }
        if (member_bytes(jwk, "x", coord, coord, &x, &xl) < 0 || member_bytes(jwk, "y", coord, coord, &y, &yl) < 0) {
                conf_error_set(err, 0, "EC key: x and y must be %zu-byte base64url values", coord);
                return -EINVAL;
        }
        pub[0] = 0x04;
        memcpy(pub + 1, x, coord);
        memcpy(pub + 1 + coord, y, coord);

        bld = OSSL_PARAM_BLD_new();
        if (!bld)
                return -ENOMEM;
        if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * coord) != 1) {
                OSSL_PARAM_BLD_free(bld);
                return -ENOMEM;
        }
        r = pkey_from_params("EC", bld, &k->pkey);
        OSSL_PARAM_BLD_free(bld);
        if (r < 0 || check_public(k->pkey) < 0) {
                conf_error_set(err, 0, "EC key: the point is not on curve %s", crv);
                return r == -ENOMEM ? r : -EINVAL;
        }
        return 0;
}

static int rsa_from_jwk(const json_t *jwk, ephem_key *k, conf_error *err) {
        _cleanup_free_ uint8_t *n = NULL, *e = NULL;
        size_t nl, el;
        BIGNUM *bn_n = NULL, *bn_e = NULL;
        OSSL_PARAM_BLD *bld = NULL;
        int r = -ENOMEM, bits;

        if (member_bytes(jwk, "n", 0, KEY_RSA_MAX_BITS / 8 + 1, &n, &nl) < 0 ||
            member_bytes(jwk, "e", 0, 8, &e, &el) < 0) {
                conf_error_set(err, 0, "RSA key: n and e must be base64url values of sane size");
                return -EINVAL;
        }
        bn_n = BN_bin2bn(n, (int) nl, NULL);
        bn_e = BN_bin2bn(e, (int) el, NULL);
        bld = OSSL_PARAM_BLD_new();
        if (!bn_n || !bn_e || !bld)
                goto done;
        if (!BN_is_odd(bn_e) || BN_is_one(bn_e)) {
                conf_error_set(err, 0, "RSA key: the public exponent must be odd and greater than 1");
                r = -EINVAL;
                goto done;
        }
        if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1)
                goto done;
        r = pkey_from_params("RSA", bld, &k->pkey);
        if (r < 0) {
                conf_error_set(err, 0, "RSA key: OpenSSL refused the key");
                goto done;
        }
        bits = EVP_PKEY_get_bits(k->pkey);
        if (bits < KEY_RSA_MIN_BITS || bits > KEY_RSA_MAX_BITS) {
                conf_error_set(err, 0, "RSA key: %d bits, must be %d to %d", bits, KEY_RSA_MIN_BITS, KEY_RSA_MAX_BITS);
                r = -EINVAL;
                goto done;
        }
        if (check_public(k->pkey) < 0) {
                conf_error_set(err, 0, "RSA key: the public key check failed");
                r = -EINVAL;
                goto done;
        }
        k->type = KEY_RSA;
        r = 0;
done:
        BN_free(bn_n);
        BN_free(bn_e);
        OSSL_PARAM_BLD_free(bld);
        return r;
}

static int okp_from_jwk(const json_t *jwk, const char *crv, ephem_key *k, conf_error *err) {
        _cleanup_free_ uint8_t *x = NULL;
        size_t xl;

        if (!streq(crv, "Ed25519")) {
                conf_error_set(err, 0, "OKP curve '%s' is not supported", crv);
                return -EPROTONOSUPPORT;
        }
        if (member_bytes(jwk, "x", 32, 32, &x, &xl) < 0) {
                conf_error_set(err, 0, "Ed25519 key: x must be a 32-byte base64url value");
                return -EINVAL;
        }
        k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, xl);
        ERR_clear_error();
        if (!k->pkey) {
                conf_error_set(err, 0, "Ed25519 key: OpenSSL refused the key");
                return -EINVAL;
        }
        k->type = KEY_ED25519;
        return 0;
}

static bool has_private_members(const json_t *jwk) {
        static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k" };
        for (size_t i = 0; i < ELEMENTSOF(priv); i++)
                if (json_object_get(jwk, priv[i]))
                        return true;
        return false;
}

static int check_use(const json_t *jwk, conf_error *err) {
        const json_t *use = json_object_get(jwk, "use"), *ops = json_object_get(jwk, "key_ops");

        /* "sig", or a SPIFFE trust bundle's "jwt-svid" (RFC 7517 leaves use open);
         * x509-svid and enc keys sign no JWT. */
        if (use && !(json_is_string(use) &&
                     (streq(json_string_value(use), "sig") || streq(json_string_value(use), "jwt-svid")))) {
                conf_error_set(err, 0, "key is not for signatures (use)");
                return -ENOTSUP_USE;
        }
        if (ops) {
                size_t i;
                json_t *op;
                bool verify = false;

                if (!json_is_array(ops))
                        goto bad;
                json_array_foreach(ops, i, op) {
                        if (!json_is_string(op))
                                goto bad;
                        if (streq(json_string_value(op), "verify"))
                                verify = true;
                }
                if (!verify) {
                        conf_error_set(err, 0, "key is not for verification (key_ops)");
                        return -ENOTSUP_USE;
                }
        }
        return 0;
bad:
        conf_error_set(err, 0, "key_ops must be an array of strings");
        return -EINVAL;
}

int jwk_to_key(const json_t *jwk, ephem_key *ret, conf_error *err) {
        ephem_key k = { .pinned = JWS_ALG_INVALID };
        const json_t *kty, *crv, *kid, *alg;
        const char *kty_s, *crv_s = NULL;
        int r;

        if (!json_is_object(jwk)) {
                conf_error_set(err, 0, "a key must be a JSON object");
                return -EINVAL;
        }
        if (has_private_members(jwk)) {
                conf_error_set(err, 0, "private or symmetric key material in a verification key");
                return -EPERM;
        }
        kty = json_object_get(jwk, "kty");
        if (!json_is_string(kty)) {
                conf_error_set(err, 0, "key without kty");
                return -EINVAL;
        }
        kty_s = json_string_value(kty);
        crv = json_object_get(jwk, "crv");
        if (crv && !json_is_string(crv)) {
                conf_error_set(err, 0, "crv must be a string");
                return -EINVAL;
        }
        if (crv)
                crv_s = json_string_value(crv);

        r = check_use(jwk, err);
        if (r < 0)
                return r;

        kid = json_object_get(jwk, "kid");
        if (kid) {
                if (!json_is_string(kid) || json_string_length(kid) == 0 || json_string_length(kid) > KEY_KID_MAX ||
                    strlen(json_string_value(kid)) != json_string_length(kid)) {
                        conf_error_set(err, 0, "kid must be a non-empty string of at most %u bytes", KEY_KID_MAX);
                        return -EINVAL;
                }
        }

        if (streq(kty_s, "EC") && crv_s)
                r = ec_from_jwk(jwk, crv_s, &k, err);
        else if (streq(kty_s, "RSA"))
                r = rsa_from_jwk(jwk, &k, err);
        else if (streq(kty_s, "OKP") && crv_s)
                r = okp_from_jwk(jwk, crv_s, &k, err);
        else if (streq(kty_s, "EC") || streq(kty_s, "OKP")) {
                conf_error_set(err, 0, "%s key without crv", kty_s);
                r = -EINVAL;
        } else {
                conf_error_set(err, 0, "key type '%s' is not supported", kty_s);
                r = -EPROTONOSUPPORT;
        }
        if (r < 0)
                goto fail;

        alg = json_object_get(jwk, "alg");
        if (alg) {
                k.pinned = json_is_string(alg) ? jws_alg_from_string(json_string_value(alg)) : JWS_ALG_INVALID;
                if (k.pinned == JWS_ALG_INVALID) {
                        conf_error_set(err, 0, "key alg is not one of ES256, ES384, RS256, PS256, EdDSA");
                        r = -EPROTONOSUPPORT;
                        goto fail;
                }
                if (!key_type_allows(k.type, k.pinned)) {
                        conf_error_set(err, 0, "key alg %s does not suit a %s key", jws_alg_to_string(k.pinned),
                                       key_type_to_string(k.type));
                        r = -EINVAL;
                        goto fail;
                }
        }
        r = jwk_thumbprint(jwk, k.thumbprint);
        if (r < 0) {
                conf_error_set(err, 0, "cannot compute the key's thumbprint");
                goto fail;
        }
        if (kid) {
                k.kid = strdup(json_string_value(kid));
                if (!k.kid) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        *ret = k;
        return 0;
fail:
        ephem_key_done(&k);
        return r;
}

int jwk_thumbprint(const json_t *jwk, char ret[JWK_THUMBPRINT_LEN + 1]) {
        /* RFC 7638: the required members only, in lexicographic order, no whitespace. */
        static const char *const ec[] = { "crv", "kty", "x", "y", NULL };
        static const char *const rsa[] = { "e", "kty", "n", NULL };
        static const char *const okp[] = { "crv", "kty", "x", NULL };
        const char *const *members;
        const json_t *kty = json_object_get(jwk, "kty");
        _cleanup_json_ json_t *canon = NULL;
        _cleanup_free_ char *text = NULL, *b64 = NULL;
        uint8_t digest[32];
        unsigned dlen = 0;

        if (!json_is_string(kty))
                return -EINVAL;
        if (streq(json_string_value(kty), "EC"))
                members = ec;
        else if (streq(json_string_value(kty), "RSA"))
                members = rsa;
        else if (streq(json_string_value(kty), "OKP"))
                members = okp;
        else
                return -EINVAL;

        canon = json_object();
        if (!canon)
                return -ENOMEM;
        for (const char *const *m = members; *m; m++) {
                json_t *v = json_object_get(jwk, *m);
                if (!json_is_string(v))
                        return -EINVAL;
                if (json_object_set(canon, *m, v) < 0)
                        return -ENOMEM;
        }
        text = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
        if (!text)
                return -ENOMEM;
        if (EVP_Digest(text, strlen(text), digest, &dlen, EVP_sha256(), NULL) != 1 || dlen != 32)
                return -EIO;
        if (b64url_encode(digest, sizeof(digest), &b64) < 0)
                return -ENOMEM;
        memcpy(ret, b64, JWK_THUMBPRINT_LEN + 1);
        return 0;
}

int key_public_jwk(EVP_PKEY *pkey, key_type *ret_type, json_t **ret) {
        _cleanup_json_ json_t *jwk = json_object();
        _cleanup_free_ char *x64 = NULL, *y64 = NULL;
        BIGNUM *a = NULL, *b = NULL;
        uint8_t abuf[KEY_RSA_MAX_BITS / 8], bbuf[64];
        int r = -EINVAL;

        if (!jwk)
                return -ENOMEM;
        switch (EVP_PKEY_get_base_id(pkey)) {
        case EVP_PKEY_EC: {
                char group[32];
                size_t coord;

                if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) != 1)
                        goto done;
                if (streq(group, "prime256v1") || streq(group, "P-256")) {
                        *ret_type = KEY_EC_P256;
                        coord = 32;
                } else if (streq(group, "secp384r1") || streq(group, "P-384")) {
                        *ret_type = KEY_EC_P384;
                        coord = 48;
                } else {
                        r = -EPROTONOSUPPORT;
                        goto done;
                }
                if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &a) != 1 ||
                    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &b) != 1 ||
                    BN_bn2binpad(a, abuf, (int) coord) < 0 || BN_bn2binpad(b, bbuf, (int) coord) < 0)
                        goto done;
                if (b64url_encode(abuf, coord, &x64) < 0 || b64url_encode(bbuf, coord, &y64) < 0) {
                        r = -ENOMEM;
                        goto done;
                }
                if (json_object_set_new(jwk, "kty", json_string("EC")) < 0 ||
                    json_object_set_new(jwk, "crv", json_string(coord == 32 ? "P-256" : "P-384")) < 0 ||
                    json_object_set_new(jwk, "x", json_string(x64)) < 0 ||
                    json_object_set_new(jwk, "y", json_string(y64)) < 0) {
                        r = -ENOMEM;
                        goto done;
                }
                break;
        }
        case EVP_PKEY_RSA: {
                int nl, el;

                *ret_type = KEY_RSA;
                if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &a) != 1 ||
                    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &b) != 1)
                        goto done;
                nl = BN_num_bytes(a);
                el = BN_num_bytes(b);
                if (nl <= 0 || (size_t) nl > sizeof(abuf) || el <= 0 || (size_t) el > sizeof(bbuf))
                        goto done;
                BN_bn2bin(a, abuf);
                BN_bn2bin(b, bbuf);
                if (b64url_encode(abuf, (size_t) nl, &x64) < 0 || b64url_encode(bbuf, (size_t) el, &y64) < 0) {
                        r = -ENOMEM;
                        goto done;
                }
                if (json_object_set_new(jwk, "kty", json_string("RSA")) < 0 ||
                    json_object_set_new(jwk, "n", json_string(x64)) < 0 ||
                    json_object_set_new(jwk, "e", json_string(y64)) < 0) {
                        r = -ENOMEM;
                        goto done;
                }
                break;
        }
        case EVP_PKEY_ED25519: {
                size_t len = 32;

                *ret_type = KEY_ED25519;
                if (EVP_PKEY_get_raw_public_key(pkey, abuf, &len) != 1 || len != 32)
                        goto done;
                if (b64url_encode(abuf, 32, &x64) < 0) {
                        r = -ENOMEM;
                        goto done;
                }
                if (json_object_set_new(jwk, "kty", json_string("OKP")) < 0 ||
                    json_object_set_new(jwk, "crv", json_string("Ed25519")) < 0 ||
                    json_object_set_new(jwk, "x", json_string(x64)) < 0) {
                        r = -ENOMEM;
                        goto done;
                }
                break;
        }
        default:
                r = -EPROTONOSUPPORT;
                goto done;
        }
        *ret = TAKE_PTR(jwk);
        r = 0;
done:
        BN_free(a);
        BN_free(b);
        ERR_clear_error();
        return r;
}

static int keyset_add(keyset *ks, ephem_key *k, conf_error *err) {
        ephem_key *nk;

        if (ks->n >= KEYSET_MAX_KEYS) {
                conf_error_set(err, 0, "more than %u keys", KEYSET_MAX_KEYS);
                return -E2BIG;
        }
        if (k->kid)
                for (size_t i = 0; i < ks->n; i++)
                        if (ks->keys[i].kid && streq(ks->keys[i].kid, k->kid)) {
                                conf_error_set(err, 0, "two keys share the kid '%s'", k->kid);
                                return -EINVAL;
                        }
        nk = realloc(ks->keys, (ks->n + 1) * sizeof(ephem_key));
        if (!nk)
                return -ENOMEM;
        ks->keys = nk;
        ks->keys[ks->n++] = *k;
        *k = (ephem_key){ .pinned = JWS_ALG_INVALID };
        return 0;
}

static int load_jwks(const char *buf, size_t len, keyset *ks, conf_error *err) {
        _cleanup_json_ json_t *doc = NULL;
        json_t *keys, *jwk;
        size_t i;
        ephem_reason reason;

        reason = json_parse_object((const uint8_t *) buf, len, SAFEFILE_MAX_SIZE, &doc);
        if (reason == EPHEM_R_INTERNAL)
                return -ENOMEM;
        if (reason != EPHEM_OK) {
                conf_error_set(err, 0, "not a valid JSON document (%s)", reason_id(reason));
                return -EINVAL;
        }
        keys = json_object_get(doc, "keys");
        if (!keys && json_object_get(doc, "kty")) {
                /* A single JWK rather than a set. */
                ephem_key k;
                int r = jwk_to_key(doc, &k, err);
                if (r < 0)
                        return r == -EPROTONOSUPPORT || r == -EOPNOTSUPP ? -EINVAL : r;
                r = keyset_add(ks, &k, err);
                if (r < 0)
                        ephem_key_done(&k); /* not taken: a failed realloc() */
                return r;
        }
        if (!json_is_array(keys)) {
                conf_error_set(err, 0, "a JWKS needs a \"keys\" array");
                return -EINVAL;
        }
        if (json_array_size(keys) > KEYSET_MAX_KEYS) {
                conf_error_set(err, 0, "more than %u keys", KEYSET_MAX_KEYS);
                return -E2BIG;
        }
        json_array_foreach(keys, i, jwk) {
                ephem_key k;
                conf_error kerr = { 0 };
                int r = jwk_to_key(jwk, &k, &kerr);

                if (r == -ENOTSUP_USE) {
                        ks->skipped_use++; /* e.g. an encryption key in a provider's JWKS: expected */
                        continue;
                }
                if (r == -EPROTONOSUPPORT) {
                        ks->skipped++;
                        continue;
                }
                if (r < 0) {
                        conf_error_set(err, 0, "key #%zu: %s", i + 1, kerr.message);
                        return r;
                }
                r = keyset_add(ks, &k, err);
                if (r < 0) {
                        ephem_key_done(&k);
                        return r;
                }
        }
        return 0;
}

static int load_pem(const char *buf, size_t len, keyset *ks, conf_error *err) {
        BIO *bio;
        int r = 0;

        if (strstr(buf, "PRIVATE KEY-----")) {
                conf_error_set(err, 0, "a private key where a public key belongs");
                return -EPERM;
        }
        bio = BIO_new_mem_buf(buf, (int) len);
        if (!bio)
                return -ENOMEM;
        for (;;) {
                ephem_key k = { .pinned = JWS_ALG_INVALID };
                _cleanup_json_ json_t *jwk = NULL;

                k.pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
                if (!k.pkey)
                        break;
                r = key_public_jwk(k.pkey, &k.type, &jwk);
                if (r == 0 && k.type == KEY_RSA &&
                    (EVP_PKEY_get_bits(k.pkey) < KEY_RSA_MIN_BITS || EVP_PKEY_get_bits(k.pkey) > KEY_RSA_MAX_BITS)) {
                        conf_error_set(err, 0, "RSA key: %d bits, must be %d to %d", EVP_PKEY_get_bits(k.pkey),
                                       KEY_RSA_MIN_BITS, KEY_RSA_MAX_BITS);
                        r = -EINVAL;
                }
                if (r == 0 && check_public(k.pkey) < 0) {
                        conf_error_set(err, 0, "the public key check failed");
                        r = -EINVAL;
                }
                if (r == 0)
                        r = jwk_thumbprint(jwk, k.thumbprint);
                if (r == 0)
                        r = keyset_add(ks, &k, err);
                if (r < 0) {
                        if (r == -EPROTONOSUPPORT)
                                conf_error_set(err, 0, "PEM key of an unsupported type");
                        ephem_key_done(&k);
                        break;
                }
        }
        BIO_free(bio);
        ERR_clear_error();
        return r;
}

int keyset_load_buffer(const char *buf, size_t len, keyset *ret, conf_error *err) {
        keyset ks = { 0 };
        const char *p = buf;
        int r;

        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
                p++;
        if (*p == '{')
                r = load_jwks(buf, len, &ks, err);
        else if (strncmp(p, "-----BEGIN ", 11) == 0)
                r = load_pem(buf, len, &ks, err);
        else {
                conf_error_set(err, 0, "neither a JWKS (JSON) nor a PEM public key");
                r = -EINVAL;
        }
        if (r == 0 && ks.n == 0) {
                conf_error_set(err, 0, "no usable key (%u of unsupported types, %u for other uses)", ks.skipped,
                               ks.skipped_use);
                r = -ENOKEY;
        }
        if (r < 0) {
                /* keys.h: every refusal says why, running out of memory included. */
                if (err && !err->message[0])
                        conf_error_set(err, 0, "%s", r == -ENOMEM ? "out of memory" : strerror(-r));
                keyset_done(&ks);
                return r;
        }
        *ret = ks;
        return 0;
}

int keyset_load_file(const char *path, keyset *ret, conf_error *err) {
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r;

        r = safe_read_file(path, SAFEFILE_MAX_SIZE, &buf, &len, NULL);
        if (r < 0) {
                conf_error_set(err, 0, "%s: %s", path, safe_read_strerror(r));
                return r;
        }
        r = keyset_load_buffer(buf, len, ret, err);
        if (r < 0 && err) {
                char msg[CONF_ERROR_MAX];
                memcpy(msg, err->message, sizeof(msg));
                conf_error_set(err, 0, "%s: %s", path, msg);
        }
        return r;
}

static int ecdsa_raw_to_der(const uint8_t *sig, size_t len, size_t coord, uint8_t **ret, size_t *ret_len) {
        ECDSA_SIG *es;
        BIGNUM *r, *s;
        unsigned char *der = NULL;
        int n;

        if (len != 2 * coord)
                return -EBADMSG;
        es = ECDSA_SIG_new();
        r = BN_bin2bn(sig, (int) coord, NULL);
        s = BN_bin2bn(sig + coord, (int) coord, NULL);
        if (!es || !r || !s) {
                ECDSA_SIG_free(es);
                BN_free(r);
                BN_free(s);
                return -ENOMEM;
        }
        ECDSA_SIG_set0(es, r, s);
        n = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);
        if (n <= 0)
                return -ENOMEM;
        *ret = der;
        *ret_len = (size_t) n;
        return 0;
}

int jws_verify(const ephem_key *k, jws_alg alg, const uint8_t *input, size_t input_len, const uint8_t *sig,
               size_t sig_len) {
        EVP_MD_CTX *md = NULL;
        EVP_PKEY_CTX *pctx = NULL;
        const EVP_MD *digest = NULL;
        uint8_t *der = NULL;
        const uint8_t *s = sig;
        size_t slen = sig_len;
        int r;

        if (!key_type_allows(k->type, alg))
                return -EBADMSG;
        switch (alg) {
        case JWS_ES256:
        case JWS_ES384:
                digest = alg == JWS_ES256 ? EVP_sha256() : EVP_sha384();
                r = ecdsa_raw_to_der(sig, sig_len, alg == JWS_ES256 ? 32 : 48, &der, &slen);
                if (r < 0)
                        return r;
                s = der;
                break;
        case JWS_RS256:
        case JWS_PS256:
                digest = EVP_sha256();
                if (sig_len != (size_t) EVP_PKEY_get_size(k->pkey))
                        return -EBADMSG;
                break;
        case JWS_EDDSA:
                if (sig_len != 64)
                        return -EBADMSG;
                break;
        default:
                return -EBADMSG;
        }

        md = EVP_MD_CTX_new();
        if (!md) {
                r = -ENOMEM;
                goto done;
        }
        if (EVP_DigestVerifyInit(md, &pctx, digest, NULL, k->pkey) != 1) {
                r = -EIO;
                goto done;
        }
        if (alg == JWS_PS256 && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                                 EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
                                 EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1)) {
                r = -EIO;
                goto done;
        }
        r = EVP_DigestVerify(md, s, slen, input, input_len) == 1 ? 0 : -EBADMSG;
done:
        EVP_MD_CTX_free(md);
        OPENSSL_free(der);
        ERR_clear_error();
        return r;
}
