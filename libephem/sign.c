/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The signing side of JWS, for ephemctl mint and DPoP proofs. The PAM module links
 * it only because it shares the static library; it never signs.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ephem/b64url.h"
#include "ephem/json.h"
#include "ephem/keys.h"
#include "ephem/macro.h"
#include "ephem/safefile.h"

static int der_to_raw(const uint8_t *der, size_t len, size_t coord, uint8_t **ret, size_t *ret_len) {
        const unsigned char *p = der;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long) len);
        const BIGNUM *r, *s;
        uint8_t *out;

        if (!es)
                return -EIO;
        ECDSA_SIG_get0(es, &r, &s);
        out = malloc(2 * coord);
        if (!out) {
                ECDSA_SIG_free(es);
                return -ENOMEM;
        }
        if (BN_bn2binpad(r, out, (int) coord) < 0 || BN_bn2binpad(s, out + coord, (int) coord) < 0) {
                ECDSA_SIG_free(es);
                free(out);
                return -EIO;
        }
        ECDSA_SIG_free(es);
        *ret = out;
        *ret_len = 2 * coord;
        return 0;
}

jws_alg key_default_alg(EVP_PKEY *key) {
        key_type t;
        json_t *jwk = NULL;
        jws_alg a = JWS_ALG_INVALID;

        if (key_public_jwk(key, &t, &jwk) < 0)
                return JWS_ALG_INVALID;
        json_decref(jwk);
        switch (t) {
        case KEY_EC_P256:
                a = JWS_ES256;
                break;
        case KEY_EC_P384:
                a = JWS_ES384;
                break;
        case KEY_RSA:
                a = JWS_RS256;
                break;
        case KEY_ED25519:
                a = JWS_EDDSA;
                break;
        }
        return a;
}

int jws_sign(EVP_PKEY *key, jws_alg alg, const uint8_t *input, size_t input_len, uint8_t **ret, size_t *ret_len) {
        EVP_MD_CTX *md = NULL;
        EVP_PKEY_CTX *pctx = NULL;
        const EVP_MD *digest = NULL;
        uint8_t *sig = NULL;
        size_t siglen = 0;
        json_t *jwk = NULL;
        key_type t;
        int r = -EIO;

        r = key_public_jwk(key, &t, &jwk);
        json_decref(jwk);
        if (r < 0)
                return r;
        if (!key_type_allows(t, alg))
                return -EINVAL;
        if (alg == JWS_ES256 || alg == JWS_RS256 || alg == JWS_PS256)
                digest = EVP_sha256();
        else if (alg == JWS_ES384)
                digest = EVP_sha384();

        md = EVP_MD_CTX_new();
        if (!md)
                return -ENOMEM;
        r = -EIO;
        if (EVP_DigestSignInit(md, &pctx, digest, NULL, key) != 1)
                goto done;
        if (alg == JWS_PS256 && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                                 EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
                goto done;
        if (EVP_DigestSign(md, NULL, &siglen, input, input_len) != 1)
                goto done;
        sig = malloc(siglen);
        if (!sig) {
                r = -ENOMEM;
                goto done;
        }
        if (EVP_DigestSign(md, sig, &siglen, input, input_len) != 1)
                goto done;
        if (alg == JWS_ES256 || alg == JWS_ES384) {
                r = der_to_raw(sig, siglen, alg == JWS_ES256 ? 32 : 48, ret, ret_len);
                goto done;
        }
        *ret = TAKE_PTR(sig);
        *ret_len = siglen;
        r = 0;
done:
        free(sig);
        EVP_MD_CTX_free(md);
        ERR_clear_error();
        return r;
}

int jws_compact_sign(EVP_PKEY *key, jws_alg alg, const json_t *header, const json_t *claims, char **ret) {
        _cleanup_free_ char *h = NULL, *c = NULL, *h64 = NULL, *c64 = NULL, *s64 = NULL, *input = NULL;
        _cleanup_free_ uint8_t *sig = NULL;
        size_t siglen, n;
        char *out;
        int r;

        h = json_dumps(header, JSON_COMPACT);
        c = json_dumps(claims, JSON_COMPACT);
        if (!h || !c)
                return -ENOMEM;
        if (b64url_encode((const uint8_t *) h, strlen(h), &h64) < 0 ||
            b64url_encode((const uint8_t *) c, strlen(c), &c64) < 0)
                return -ENOMEM;
        n = strlen(h64) + 1 + strlen(c64);
        input = malloc(n + 1);
        if (!input)
                return -ENOMEM;
        strcpy(input, h64);
        strcat(input, ".");
        strcat(input, c64);
        r = jws_sign(key, alg, (const uint8_t *) input, n, &sig, &siglen);
        if (r < 0)
                return r;
        if (b64url_encode(sig, siglen, &s64) < 0)
                return -ENOMEM;
        out = malloc(n + 1 + strlen(s64) + 1);
        if (!out)
                return -ENOMEM;
        strcpy(out, input);
        strcat(out, ".");
        strcat(out, s64);
        *ret = out;
        return 0;
}

int private_key_read_file(const char *path, char **ret, size_t *ret_len, conf_error *err) {
        char *buf = NULL;
        size_t len = 0;
        struct stat st;
        int r;

        r = safe_read_file(path, SAFEFILE_MAX_SIZE, &buf, &len, &st);
        if (r < 0) {
                conf_error_set(err, 0, "%s: %s", path, safe_read_strerror(r));
                return r;
        }
        if (st.st_mode & (S_IRWXG | S_IRWXO)) {
                conf_error_set(err, 0, "%s: a private key must be readable by its owner only (chmod 600)", path);
                explicit_bzero(buf, len);
                free(buf);
                return -EPERM;
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

int private_key_from_pem(const char *pem, size_t len, EVP_PKEY **ret) {
        BIO *bio = BIO_new_mem_buf(pem, (int) len);
        EVP_PKEY *k;

        if (!bio)
                return -ENOMEM;
        k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        BIO_free(bio);
        ERR_clear_error();
        if (!k)
                return -EINVAL;
        *ret = k;
        return 0;
}

int private_key_load_file(const char *path, EVP_PKEY **ret, conf_error *err) {
        char *pem = NULL;
        size_t len = 0;
        int r;

        r = private_key_read_file(path, &pem, &len, err);
        if (r < 0)
                return r;
        r = private_key_from_pem(pem, len, ret);
        if (r == -EINVAL)
                conf_error_set(err, 0, "%s: not a PEM private key", path);
        explicit_bzero(pem, len);
        free(pem);
        return r;
}
