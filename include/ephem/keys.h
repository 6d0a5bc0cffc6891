/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Verification keys: JWK (RFC 7517) and PEM public keys, checked on load, and the
 * JWS algorithms each key type may verify. The algorithm is a property of the key,
 * never of the token: a token's "alg" only has to agree with it.
 */
#pragma once

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ephem/conffile.h"

typedef enum jws_alg {
        JWS_ES256,
        JWS_ES384,
        JWS_RS256,
        JWS_PS256,
        JWS_EDDSA,
        _JWS_ALG_MAX,
        JWS_ALG_INVALID = -1,
} jws_alg;

#define JWS_ALG_ALL ((1u << _JWS_ALG_MAX) - 1)

typedef enum key_type {
        KEY_EC_P256,
        KEY_EC_P384,
        KEY_RSA,
        KEY_ED25519,
} key_type;

#define KEYSET_MAX_KEYS 64u
#define KEY_KID_MAX 256u
#define KEY_RSA_MIN_BITS 2048
#define KEY_RSA_MAX_BITS 16384
#define JWK_THUMBPRINT_LEN 43 /* base64url of SHA-256, unpadded */

typedef struct ephem_key {
        EVP_PKEY *pkey;
        key_type type;
        char *kid;                               /* NULL when the key has none (PEM) */
        jws_alg pinned;                          /* the JWK's "alg", or JWS_ALG_INVALID */
        char thumbprint[JWK_THUMBPRINT_LEN + 1]; /* RFC 7638 */
} ephem_key;

typedef struct keyset {
        ephem_key *keys;
        size_t n;
        unsigned skipped;     /* keys of types ephem does not support (policy check warns) */
        unsigned skipped_use; /* keys for other uses (use: enc, x509-svid; key_ops without verify) */
} keyset;

/* "ES256" → JWS_ES256; JWS_ALG_INVALID for anything else (case-sensitive, as RFC 7515). */
jws_alg jws_alg_from_string(const char *s);
const char *jws_alg_to_string(jws_alg a);

/* Whether `alg` is the algorithm for a key of type t (ES256 only on P-256, ...). */
bool key_type_allows(key_type t, jws_alg alg);
const char *key_type_to_string(key_type t);

/*
 * Builds a verification key from one JWK object, after checking it: supported kty
 * and crv, no private members, "use" absent or "sig", "key_ops" absent or holding
 * "verify", an "alg" that suits the key, RSA of at least 2048 bits, a point on the
 * curve (EVP_PKEY_public_check).
 * Returns 0, -EINVAL (err set; key refused), -EPROTONOSUPPORT (kty/crv not
 * supported; err set), -EOPNOTSUPP (a key for another use: encryption, X.509-SVIDs),
 * -EPERM (private key material), -ENOMEM.
 */
int jwk_to_key(const json_t *jwk, ephem_key *ret, conf_error *err);

/* The public JWK (kty, crv, x, y / n, e) of a key, public or private, and its type.
 * Returns 0, -EPROTONOSUPPORT (not EC P-256/P-384, RSA or Ed25519), -ENOMEM, -EINVAL. */
int key_public_jwk(EVP_PKEY *pkey, key_type *ret_type, json_t **ret);

/* RFC 7638 JWK thumbprint of a public key's required members. 0, -EINVAL, -ENOMEM. */
int jwk_thumbprint(const json_t *jwk, char ret[JWK_THUMBPRINT_LEN + 1]);

/*
 * Loads a JWKS document or PEM public key(s) from a file opened with safe_read_file().
 * Keys of unsupported types are skipped (counted in ->skipped); a key that is
 * invalid, private key material, duplicate kids, or a file without one usable key
 * refuses the whole file. Returns 0 or negative errno with err set.
 */
int keyset_load_file(const char *path, keyset *ret, conf_error *err);
/* The same from memory (len bytes, NUL-terminated). */
int keyset_load_buffer(const char *buf, size_t len, keyset *ret, conf_error *err);
void keyset_done(keyset *ks);

void ephem_key_done(ephem_key *k);

/*
 * Verifies a JWS signature over `input` with key k and algorithm alg (which the
 * caller has matched to the key). ECDSA signatures are the raw r||s of RFC 7518.
 * Returns 0 when valid, -EBADMSG when not, -ENOMEM/-EIO on internal failure.
 */
int jws_verify(const ephem_key *k, jws_alg alg, const uint8_t *input, size_t input_len, const uint8_t *sig,
               size_t sig_len);

/*
 * Signs `input` with a private key for JWS algorithm alg; ECDSA signatures come out
 * as raw r||s. For ephemctl mint and DPoP proofs; never used when verifying.
 * Returns 0 and a malloc'ed signature, -EINVAL (key does not suit alg), -ENOMEM, -EIO.
 */
int jws_sign(EVP_PKEY *key, jws_alg alg, const uint8_t *input, size_t input_len, uint8_t **ret, size_t *ret_len);

/* Builds a compact JWS from a header and claims (both serialised compactly). */
int jws_compact_sign(EVP_PKEY *key, jws_alg alg, const json_t *header, const json_t *claims, char **ret);

/* Loads a PEM private key from a file that must be owned by root (or the caller)
 * and readable by its owner only. The file buffer is wiped. 0 or -errno (err set). */
int private_key_load_file(const char *path, EVP_PKEY **ret, conf_error *err);
/* The same checks, returning the PEM text (explicit_bzero() and free() it). */
int private_key_read_file(const char *path, char **ret, size_t *ret_len, conf_error *err);
int private_key_from_pem(const char *pem, size_t len, EVP_PKEY **ret);

/* The algorithm a key signs with by default: ES256/ES384/RS256/EdDSA. */
jws_alg key_default_alg(EVP_PKEY *key);
