/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Proof of possession for a login: RFC 9449 (DPoP) adapted to SSH.
 *
 * A token bound to a key carries "cnf": {"jkt": <RFC 7638 thumbprint>}. At login the
 * host asks, after the token, for a proof with a fresh server nonce:
 *
 *   prompt  "ephem dpop proof for ssh://USER@AUDIENCE nonce NONCE: "
 *
 * and the client answers with a JWS (typ dpop+jwt, an asymmetric alg, the public key
 * as "jwk" in the header) whose claims are
 *
 *   htm    "SSH"
 *   htu    "ssh://USER@AUDIENCE"        (the login name and this host's audience)
 *   iat    now, within DPOP_IAT_WINDOW
 *   jti    unique (single use per key)
 *   ath    base64url(SHA-256(the token))
 *   nonce  the server's nonce
 *
 * signed by the key whose thumbprint is cnf.jkt. A stolen bound token is useless
 * without the key; a stolen proof is useless for another token, host, user or
 * attempt.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "ephem/config.h"
#include "ephem/token.h"

#define DPOP_HTM "SSH"
#define DPOP_IAT_WINDOW 60 /* seconds a proof may be old */
#define DPOP_PROOF_MAX 4096u
#define DPOP_NONCE_LEN 22u /* 16 random bytes, base64url */
#define DPOP_PROMPT_FMT "ephem dpop proof for %s nonce %s: "

typedef struct dpop_expect {
        const char *htu;
        const char *nonce;
        const char *ath; /* dpop_ath() of the token as presented */
        const char *jkt; /* from the token's cnf */
        int64_t now;
} dpop_expect;

/* The binding a verified token asks for: EPHEM_OK and *ret_jkt (NULL: not bound),
 * or EPHEM_R_CNF_UNSUPPORTED for a cnf without a usable jkt. */
ephem_reason dpop_token_binding(const ephem_token *t, const char **ret_jkt, ephem_verdict *v);

/* "ssh://USER@AUDIENCE" for the audience the token matched. 0 or -ENAMETOOLONG. */
int dpop_htu(const ephem_config *c, const ephem_token *t, const char *user, char *buf, size_t size);

#define DPOP_ATH_LEN 43u
/* base64url(SHA-256(token)): what a proof's ath must be. 0 or -errno. */
int dpop_ath(const char *token, size_t len, char ret[DPOP_ATH_LEN + 1]);

/* A fresh nonce (DPOP_NONCE_LEN characters). 0 or -errno. */
int dpop_nonce(char ret[DPOP_NONCE_LEN + 1]);

/*
 * Verifies a proof against what the login expects, then records its jti as used
 * (per key). Returns EPHEM_OK, EPHEM_R_DPOP_INVALID (detail says which check),
 * EPHEM_R_DPOP_REPLAY, EPHEM_R_STATE, EPHEM_R_INTERNAL.
 */
ephem_reason dpop_verify(const ephem_config *c, const char *proof, size_t len, const dpop_expect *e, ephem_verdict *v);
