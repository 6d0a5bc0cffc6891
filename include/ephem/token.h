/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Verification of JWS compact tokens (RFC 7515/7519) against the host's trusted
 * issuers, on OpenSSL's EVP API and jansson. One code path for every algorithm.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ephem/config.h"
#include "ephem/keys.h"
#include "ephem/macro.h"
#include "ephem/reason.h"

#define TOKEN_FP_LEN 16u       /* hex digits of SHA-256 in fingerprints */
#define TOKEN_HEADER_MAX 2048u /* decoded header bytes */
#define CLAIM_STRING_MAX 4096u /* any string anywhere in the payload */
#define CLAIM_ARRAY_MAX 256u   /* any array anywhere in the payload */
#define CLAIM_ID_MAX 1024u     /* iss, sub */
#define CLAIM_JTI_MAX 256u
#define CLAIM_AUD_MAX 32u /* entries of an aud array */

typedef struct ephem_verdict {
        ephem_reason reason;
        char detail[192]; /* what exactly: a claim or parameter name; never token content */
} ephem_verdict;

typedef struct ephem_token {
        json_t *header;
        json_t *claims;
        jws_alg alg;
        const char *typ;             /* NULL when absent */
        const char *kid;             /* NULL when absent */
        const char *iss, *sub, *jti; /* NULL until checked present (token_parse leaves them if absent) */
        int64_t exp, iat, nbf;
        bool has_exp, has_iat, has_nbf;
        const ephem_issuer *issuer; /* set by token_verify */
        const char *audience;       /* the host audience the token matched (the configuration's string) */
        const ephem_key *key;       /* set by token_verify */
        uint8_t *signature;
        size_t signature_len;
        /* What single use is keyed by: the jti, or — for an issuer whose tokens carry
         * none (optional_claims = jti) — "sha256:" and the hash of the signed part. */
        char replay_id[CLAIM_JTI_MAX + 1];
        char fingerprint[TOKEN_FP_LEN + 1];
} ephem_token;

/*
 * Parses a compact JWS without trusting it: exactly three base64url parts, strict
 * base64url, header and payload strict JSON objects within the size caps, header
 * rules (asymmetric alg only, no crit/jku/jwk/x5u/x5c/zip/b64/cty, typ absent or
 * JWT or at+jwt). Standard claims are picked up when they have the right type,
 * not checked. For "token inspect" and as the first step of token_verify().
 * Returns EPHEM_OK and *ret (token_free() it), or the reason with v filled.
 */
ephem_reason token_parse(const char *s, size_t len, size_t max_len, ephem_token **ret, ephem_verdict *v);

/* token_parse() for a DPoP proof: typ must be dpop+jwt and the header may (must,
 * as dpop.c checks) carry the public key as "jwk". Nothing is trusted yet. */
ephem_reason token_parse_dpop(const char *s, size_t len, size_t max_len, ephem_token **ret, ephem_verdict *v);

/*
 * Verifies a token for this host at time `now`: token_parse(), then a trusted
 * issuer by "iss", the key by "kid" and algorithm (pinned by the key and the
 * issuer's allowed algorithms), the signature, then the claims: iss, sub, jti,
 * aud (one of the host's audiences), exp, iat, nbf, the issuer's maximum lifetime,
 * leeway. Replay and policy are the caller's next steps.
 * Returns EPHEM_OK and *ret, or the first reason for refusal with v filled.
 */
ephem_reason token_verify(ephem_config *c, const char *s, size_t len, int64_t now, ephem_token **ret, ephem_verdict *v);

/*
 * Verifies a signed document (not a login token) from a trusted issuer: header typ
 * must be `typ`, signature as for tokens, "iat" present and not in the future; no
 * other claim is required. For revocation lists. Limits: max_len bytes, arrays of
 * array_max elements.
 */
ephem_reason token_verify_document(ephem_config *c, const char *s, size_t len, size_t max_len, size_t array_max,
                                   const char *typ, int64_t now, ephem_token **ret, ephem_verdict *v);

void token_free(ephem_token *t);
static inline void token_freep(ephem_token **t) {
        token_free(*t);
}
#define _cleanup_token_ __attribute__((cleanup(token_freep)))

/* First TOKEN_FP_LEN hex digits of SHA-256 over the token's signed part (everything
 * before the last '.'; the whole string when it has none). Not over the signature:
 * ECDSA signatures are malleable, and one token must have one fingerprint.
 * 0, or -ENOMEM when SHA-256 could not be computed (an allocation in OpenSSL); ret
 * is then an empty string, never a fingerprint that could miss a revocation. */
_warn_unused_result_ int token_fingerprint(const char *s, size_t len, char ret[TOKEN_FP_LEN + 1]);

/* RFC 8693 delegation: the depth of the "act" chain (0: none), or -EBADMSG when an
 * actor is not an object with a string sub or the chain is deeper than
 * DELEGATION_MAX_DEPTH. */
int token_act_depth(const ephem_token *t);

/* The chain as a JSON array of actor subjects, current actor first:
 * ["agent-b","agent-a"]. 0 and a string to free(), or -errno. */
int token_act_chain(const ephem_token *t, char **ret);

/* A string claim's value (a top-level name, or a path "a/b"), NULL if absent or not a string. */
const char *token_claim_string(const ephem_token *t, const char *path);
