/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/reason.h"

static const struct {
        const char *id;
        const char *text;
} table[_EPHEM_REASON_MAX] = {
        [EPHEM_OK] = { "ok", "accepted" },
        [EPHEM_R_TOKEN_EMPTY] = { "token_empty", "no token was given" },
        [EPHEM_R_TOKEN_TOO_LONG] = { "token_too_long", "the token is longer than the configured maximum" },
        [EPHEM_R_TOKEN_TRUNCATED] = { "token_truncated",
                                      "the answer is exactly 1023 bytes, the OpenSSH client's limit: the token "
                                      "was probably cut off; present it in parts (ephem-askpass does)" },
        [EPHEM_R_PARTS_INVALID] = { "parts_invalid", "the multi-part token announcement is invalid" },
        [EPHEM_R_MALFORMED] = { "token_malformed",
                                "the token is not a JWS in compact form (header.payload.signature)" },
        [EPHEM_R_BASE64] = { "base64_invalid", "a token part is not canonical unpadded base64url" },
        [EPHEM_R_JSON] = { "json_invalid", "the token header or payload is not a valid JSON object" },
        [EPHEM_R_JSON_DUPLICATE] = { "json_duplicate_key", "the token header or payload repeats a member name" },
        [EPHEM_R_JSON_DEPTH] = { "json_too_deep", "the token header or payload is nested too deeply" },
        [EPHEM_R_JSON_TOO_LARGE] = { "json_too_large", "the token header or payload is too large" },
        [EPHEM_R_ALG_NONE] = { "alg_none", "the token is unsigned (alg none)" },
        [EPHEM_R_ALG_UNSUPPORTED] = { "alg_unsupported",
                                      "the token's algorithm is not one ephem accepts (ES256, ES384, RS256, PS256, EdDSA)" },
        [EPHEM_R_HEADER_FORBIDDEN] = { "header_forbidden",
                                       "the token header carries a parameter ephem refuses (crit, jku, jwk, x5u, x5c, zip, b64, cty)" },
        [EPHEM_R_TYP] = { "typ_invalid", "the token header's typ is not one ephem accepts here" },
        [EPHEM_R_HEADER_INVALID] = { "header_invalid", "the token header is invalid" },
        [EPHEM_R_ISSUER_UNKNOWN] = { "issuer_unknown", "the token's issuer is not trusted on this host" },
        [EPHEM_R_KID_UNKNOWN] = { "kid_unknown", "the issuer has no key with the token's key id" },
        [EPHEM_R_KID_REQUIRED] = { "kid_required", "the issuer has several keys and the token names none" },
        [EPHEM_R_ALG_KEY_MISMATCH] = { "alg_key_mismatch", "the token's algorithm does not match the key's type" },
        [EPHEM_R_ALG_NOT_ALLOWED] = { "alg_not_allowed", "the issuer is not configured to use the token's algorithm" },
        [EPHEM_R_SIGNATURE] = { "signature_invalid", "the token's signature does not verify" },
        [EPHEM_R_CLAIM_MISSING] = { "claim_missing", "a required claim is missing" },
        [EPHEM_R_CLAIM_TYPE] = { "claim_type", "a claim has the wrong type or an impossible value" },
        [EPHEM_R_CLAIM_TOO_LONG] = { "claim_too_long", "a claim is longer than allowed" },
        [EPHEM_R_EXPIRED] = { "expired", "the token has expired" },
        [EPHEM_R_NOT_YET_VALID] = { "not_yet_valid", "the token is not valid yet (nbf)" },
        [EPHEM_R_IAT_FUTURE] = { "iat_future", "the token claims to be issued in the future" },
        [EPHEM_R_LIFETIME] = { "lifetime_too_long", "the token's lifetime (exp - iat) exceeds the configured maximum" },
        [EPHEM_R_AUDIENCE] = { "audience_mismatch", "the token is not meant for this host (aud)" },
        [EPHEM_R_REPLAY] = { "replay", "the token has been used before (jti)" },
        [EPHEM_R_REVOKED] = { "revoked", "the token has been revoked" },
        [EPHEM_R_USER_INVALID] = { "user_invalid", "the login name is not a valid user name" },
        [EPHEM_R_USER_NOT_ALLOWED] = { "user_not_allowed", "no rule allows this token to log in under this name" },
        [EPHEM_R_USER_LOCAL] = { "user_local", "the login name or its UID belongs to an account that is not ephem's" },
        [EPHEM_R_USER_COLLISION] = { "user_collision",
                                     "the transient user's entry differs from what the host resolved before authentication" },
        [EPHEM_R_CONFIG] = { "config_invalid", "the host's ephem configuration cannot be used" },
        [EPHEM_R_STATE] = { "state_error", "the host's ephem state directory cannot be used" },
        [EPHEM_R_CONV] = { "conversation_failed", "the token could not be read from the client" },
        [EPHEM_R_INTERNAL] = { "internal_error", "an internal error occurred" },
        [EPHEM_R_CODE_INVALID] = { "breakglass_code_invalid", "the break-glass code is not valid for this account" },
        [EPHEM_R_CODE_USED] = { "breakglass_code_used", "the break-glass code has been used before" },
        [EPHEM_R_RATE_LIMITED] = { "rate_limited",
                                   "too many wrong break-glass codes for this account: wait for the backoff to end" },
        [EPHEM_R_BREAKGLASS_STORE] = { "breakglass_store_unsafe",
                                       "the break-glass code files are unsafe or unreadable: every code is refused" },
        [EPHEM_R_DPOP_REQUIRED] = { "dpop_required",
                                    "policy requires a token bound to a key (cnf.jkt) with a proof of possession" },
        [EPHEM_R_DPOP_INVALID] = { "dpop_invalid", "the proof of possession (DPoP) is missing or invalid" },
        [EPHEM_R_DPOP_REPLAY] = { "dpop_replay", "the proof of possession (DPoP) has been used before (jti)" },
        [EPHEM_R_CNF_UNSUPPORTED] = { "cnf_unsupported",
                                      "the token is bound to a key by a method ephem does not support (only cnf.jkt)" },
        [EPHEM_R_DELEGATION] = { "delegation_invalid", "the token's delegation chain (act) is malformed or too deep" },
};

const char *reason_id(ephem_reason r) {
        if ((unsigned) r >= _EPHEM_REASON_MAX || !table[r].id)
                return "unknown";
        return table[r].id;
}

const char *reason_text(ephem_reason r) {
        if ((unsigned) r >= _EPHEM_REASON_MAX || !table[r].text)
                return "unknown reason";
        return table[r].text;
}
