/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Why a token or a login was refused. Each reason has a stable identifier (audit
 * field EPHEM_REASON, ephemctl output, tests) and a sentence for humans. Identifiers
 * are a contract: add new ones, never rename.
 */
#pragma once

typedef enum ephem_reason {
        EPHEM_OK = 0,
        /* presentation */
        EPHEM_R_TOKEN_EMPTY,
        EPHEM_R_TOKEN_TOO_LONG,
        EPHEM_R_TOKEN_TRUNCATED,
        EPHEM_R_PARTS_INVALID,
        /* structure */
        EPHEM_R_MALFORMED,
        EPHEM_R_BASE64,
        EPHEM_R_JSON,
        EPHEM_R_JSON_DUPLICATE,
        EPHEM_R_JSON_DEPTH,
        EPHEM_R_JSON_TOO_LARGE,
        /* header */
        EPHEM_R_ALG_NONE,
        EPHEM_R_ALG_UNSUPPORTED,
        EPHEM_R_HEADER_FORBIDDEN,
        EPHEM_R_TYP,
        EPHEM_R_HEADER_INVALID,
        /* keys and signature */
        EPHEM_R_ISSUER_UNKNOWN,
        EPHEM_R_KID_UNKNOWN,
        EPHEM_R_KID_REQUIRED,
        EPHEM_R_ALG_KEY_MISMATCH,
        EPHEM_R_ALG_NOT_ALLOWED,
        EPHEM_R_SIGNATURE,
        /* claims */
        EPHEM_R_CLAIM_MISSING,
        EPHEM_R_CLAIM_TYPE,
        EPHEM_R_CLAIM_TOO_LONG,
        EPHEM_R_EXPIRED,
        EPHEM_R_NOT_YET_VALID,
        EPHEM_R_IAT_FUTURE,
        EPHEM_R_LIFETIME,
        EPHEM_R_AUDIENCE,
        /* use */
        EPHEM_R_REPLAY,
        EPHEM_R_REVOKED,
        /* who */
        EPHEM_R_USER_INVALID,
        EPHEM_R_USER_NOT_ALLOWED,
        EPHEM_R_USER_LOCAL,
        EPHEM_R_USER_COLLISION,
        /* host */
        EPHEM_R_CONFIG,
        EPHEM_R_STATE,
        EPHEM_R_CONV,
        EPHEM_R_INTERNAL,
        /* break-glass */
        EPHEM_R_CODE_INVALID,
        EPHEM_R_CODE_USED,
        EPHEM_R_RATE_LIMITED,
        EPHEM_R_BREAKGLASS_STORE,
        /* proof of possession, delegation */
        EPHEM_R_DPOP_REQUIRED,
        EPHEM_R_DPOP_INVALID,
        EPHEM_R_DPOP_REPLAY,
        EPHEM_R_CNF_UNSUPPORTED,
        EPHEM_R_DELEGATION,
        _EPHEM_REASON_MAX,
} ephem_reason;

/* "expired", "signature_invalid", ...; "unknown" for values out of range. */
const char *reason_id(ephem_reason r);
/* "the token has expired", ... */
const char *reason_text(ephem_reason r);
