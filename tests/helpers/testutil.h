/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fixtures shared by the C tests: temporary directories, keys, JWKS, tokens signed
 * with the core's own signer (jws_compact_sign()), and a "host" (a directory with
 * ephem.conf, the broker's keys and a state directory). Every helper aborts with a
 * message when it cannot do its job: a test cannot go on without its fixtures, and
 * a fixture failure must never look like a verdict of the code under test.
 */
#pragma once

#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <sys/types.h>

#include "ephem/config.h"
#include "ephem/keys.h"
#include "ephem/macro.h"
#include "ephem/reason.h"

#define TEST_ISS "https://broker.example.net"
#define TEST_AUD "host-7.example.net"
#define TEST_KID "k1"
#define TEST_LEEWAY 30
#define TEST_MAX_LIFETIME 900

void test_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

char *test_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A new directory from mkdtemp() under $TMPDIR (or /tmp), mode 0700. */
char *test_tmpdir(void);
/* Removes a tree without following symlinks. */
void test_rmrf(const char *path);
/* Writes a file (created or truncated) and sets its mode exactly. */
void test_write_file(const char *path, const char *text, mode_t mode);
void test_write_bytes(const char *path, const void *data, size_t len, mode_t mode);
/* Reads a whole file; NULL when it does not exist. */
char *test_read_file(const char *path);
/* The number of entries of a directory matching a glob (hidden ones included), -1 if missing. */
int test_count_entries(const char *dir, const char *glob);

/* A key for an algorithm: P-256, P-384, RSA-2048 (RS256 and PS256) or Ed25519. */
EVP_PKEY *test_keygen(jws_alg alg);
EVP_PKEY *test_keygen_rsa(unsigned bits);
/* The public JWK of a key, with "kid" and "alg" when given. */
json_t *test_jwk(EVP_PKEY *key, const char *kid, const char *alg);
/* {"keys": [...]} of the given JWKs (references stolen; NULL-terminated). */
char *test_jwks(json_t *first, ...);
/* The public half as PEM (SubjectPublicKeyInfo). */
char *test_pem_public(EVP_PKEY *key);

/* base64url of a byte string, or of a C string. */
char *test_b64(const void *data, size_t len);
char *test_b64s(const char *s);

/* Claims a host accepts at `now`: iss, aud, sub, a fresh jti, iat = now, exp = now + 300. */
json_t *test_claims(int64_t now, const char *sub);
/* A compact JWS: header {"alg", "typ": "JWT", "kid" when given}, signed with the core signer. */
char *test_token(EVP_PKEY *key, jws_alg alg, const char *kid, const json_t *claims);
char *test_token_header(EVP_PKEY *key, jws_alg alg, const json_t *header, const json_t *claims);
/* A token assembled from raw text: base64url(header).base64url(payload).signature (given encoded). */
char *test_token_raw(const char *header_json, const char *payload_json, const char *signature_b64);
/* header.payload of raw JSON texts, signed with the core signer: for claims JSON that
 * jansson could not produce (duplicates, floats, huge numbers). */
char *test_token_signed_raw(EVP_PKEY *key, jws_alg alg, const char *header_json, const char *payload_json);

/*
 * A host: a temporary directory holding the broker's ES256 key (kid "k1") and its
 * JWKS, ephem.conf and the state, revocation, quarantine and home directories.
 * The configuration trusts issuer "broker" (TEST_ISS) for audience TEST_AUD,
 * transient names agent-* and ci-*, and rule "agents" (logins agent-*); `extra`
 * is appended verbatim (more sections).
 */
typedef struct test_host {
        char *dir;
        char *config_path;
        char *state_dir;
        char *jwks_path;
        EVP_PKEY *key;
} test_host;

test_host *test_host_new(const char *extra);
/* Rewrites ephem.conf with different extra sections; host_settings go into [host]. */
void test_host_configure(test_host *h, const char *host_settings, const char *extra);
/* The host's configuration written to path, with another revocation directory (NULL:
 * the host's) and other rules in place of rule "agents" (NULL: that rule). */
void test_host_write_config(const test_host *h, const char *path, const char *revocation_dir, const char *host_settings,
                            const char *rules, const char *extra);
void test_host_free(test_host *h);
static inline void test_host_freep(test_host **h) {
        test_host_free(*h);
}
#define _cleanup_host_ _cleanup_(test_host_freep)

/* config_load() of the host's file; aborts when it does not load. */
ephem_config *test_host_config(const test_host *h);
/* A fresh token from the broker for `sub`, valid at `now`. */
char *test_host_token(const test_host *h, int64_t now, const char *sub);

/* token_verify() at `now`, returning the reason (the token is freed). */
ephem_reason test_verify(ephem_config *c, const char *token, int64_t now);

static inline void EVP_PKEY_freep(EVP_PKEY **k) {
        EVP_PKEY_free(*k);
}
#define _cleanup_pkey_ _cleanup_(EVP_PKEY_freep)

static inline void config_freep(ephem_config **c) {
        config_free(*c);
}
#define _cleanup_config_ _cleanup_(config_freep)
