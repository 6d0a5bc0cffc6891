/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/dpop.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "ephem/b64url.h"
#include "ephem/json.h"
#include "ephem/keys.h"
#include "ephem/macro.h"
#include "ephem/replay.h"

static ephem_reason invalid(ephem_verdict *v, ephem_reason r, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static ephem_reason invalid(ephem_verdict *v, ephem_reason r, const char *fmt, ...) {
        va_list ap;

        v->reason = r;
        va_start(ap, fmt);
        (void) vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
        va_end(ap);
        return r;
}

ephem_reason dpop_token_binding(const ephem_token *t, const char **ret_jkt, ephem_verdict *v) {
        const json_t *cnf = json_object_get(t->claims, "cnf"), *jkt;

        *ret_jkt = NULL;
        if (!cnf)
                return EPHEM_OK;
        if (!json_is_object(cnf))
                return invalid(v, EPHEM_R_CNF_UNSUPPORTED, "cnf is not an object");
        jkt = json_object_get(cnf, "jkt");
        /* x5t#S256 (mTLS) and jwk bindings cannot be proven over SSH: refuse rather
         * than let a bound token act as a bearer token. */
        if (!jkt)
                return invalid(v, EPHEM_R_CNF_UNSUPPORTED, "cnf without jkt");
        if (!json_is_string(jkt) || json_string_length(jkt) != JWK_THUMBPRINT_LEN)
                return invalid(v, EPHEM_R_CNF_UNSUPPORTED, "cnf.jkt is not a SHA-256 thumbprint");
        *ret_jkt = json_string_value(jkt);
        return EPHEM_OK;
}

int dpop_htu(const ephem_config *c _unused_, const ephem_token *t, const char *user, char *buf, size_t size) {
        int n = snprintf(buf, size, "ssh://%s@%s", user, t->audience ? t->audience : "");
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int dpop_ath(const char *token, size_t len, char ret[DPOP_ATH_LEN + 1]) {
        _cleanup_free_ char *b64 = NULL;
        uint8_t digest[32];
        unsigned dl = 0;

        if (EVP_Digest(token, len, digest, &dl, EVP_sha256(), NULL) != 1 || dl != sizeof(digest))
                return -EIO;
        if (b64url_encode(digest, sizeof(digest), &b64) < 0)
                return -ENOMEM;
        memcpy(ret, b64, DPOP_ATH_LEN + 1);
        return 0;
}

int dpop_nonce(char ret[DPOP_NONCE_LEN + 1]) {
        uint8_t raw[16];
        _cleanup_free_ char *b64 = NULL;

        if (getrandom(raw, sizeof(raw), 0) != (ssize_t) sizeof(raw))
                return -EIO;
        if (b64url_encode(raw, sizeof(raw), &b64) < 0)
                return -ENOMEM;
        memcpy(ret, b64, DPOP_NONCE_LEN + 1);
        return 0;
}

static bool claim_equals(const ephem_token *p, const char *name, const char *want) {
        const json_t *j = json_object_get(p->claims, name);
        return json_is_string(j) && strlen(json_string_value(j)) == json_string_length(j) &&
               streq(json_string_value(j), want);
}

ephem_reason dpop_verify(const ephem_config *c, const char *proof, size_t len, const dpop_expect *e, ephem_verdict *v) {
        _cleanup_token_ ephem_token *p = NULL;
        char thumbprint[JWK_THUMBPRINT_LEN + 1], scope[16 + JWK_THUMBPRINT_LEN];
        const json_t *jwk, *jti;
        const char *last_dot;
        ephem_key key = { .pinned = JWS_ALG_INVALID };
        conf_error err = { 0 };
        int64_t iat;
        ephem_reason r;
        int k;

        r = token_parse_dpop(proof, len, DPOP_PROOF_MAX, &p, v);
        if (r != EPHEM_OK)
                return invalid(v, EPHEM_R_DPOP_INVALID, "the proof is not a dpop+jwt JWS (%s)", reason_id(r));

        /* The key: in the header, public only, of the thumbprint the token is bound to. */
        jwk = json_object_get(p->header, "jwk");
        if (!jwk)
                return invalid(v, EPHEM_R_DPOP_INVALID, "no jwk in the proof's header");
        k = jwk_to_key(jwk, &key, &err);
        if (k < 0)
                return invalid(v, EPHEM_R_DPOP_INVALID, "the proof's jwk: %s", err.message);
        if (jwk_thumbprint(jwk, thumbprint) < 0 || !streq(thumbprint, e->jkt)) {
                ephem_key_done(&key);
                return invalid(v, EPHEM_R_DPOP_INVALID, "the proof's key is not the one the token is bound to");
        }
        if (!key_type_allows(key.type, p->alg)) {
                ephem_key_done(&key);
                return invalid(v, EPHEM_R_DPOP_INVALID, "alg %s does not suit the proof's %s key",
                               jws_alg_to_string(p->alg), key_type_to_string(key.type));
        }
        last_dot = memrchr(proof, '.', len);
        k = jws_verify(&key, p->alg, (const uint8_t *) proof, (size_t) (last_dot - proof), p->signature,
                       p->signature_len);
        ephem_key_done(&key);
        if (k == -ENOMEM || k == -EIO)
                return invalid(v, EPHEM_R_INTERNAL, "signature verification failed to run");
        if (k < 0)
                return invalid(v, EPHEM_R_DPOP_INVALID, "the proof's signature does not verify");

        /* What it proves: this login, to this host, for this token, now. */
        if (!claim_equals(p, "htm", DPOP_HTM))
                return invalid(v, EPHEM_R_DPOP_INVALID, "htm is not %s", DPOP_HTM);
        if (!claim_equals(p, "htu", e->htu))
                return invalid(v, EPHEM_R_DPOP_INVALID, "htu does not name this login and host");
        if (!claim_equals(p, "nonce", e->nonce))
                return invalid(v, EPHEM_R_DPOP_INVALID, "the proof does not carry this login's nonce");
        if (!json_is_timestamp(json_object_get(p->claims, "iat"), &iat))
                return invalid(v, EPHEM_R_DPOP_INVALID, "iat is missing or not a Unix time");
        if (iat > e->now + (int64_t) c->leeway || iat < e->now - DPOP_IAT_WINDOW - (int64_t) c->leeway)
                return invalid(v, EPHEM_R_DPOP_INVALID, "iat is outside the %d s window", DPOP_IAT_WINDOW);
        jti = json_object_get(p->claims, "jti");
        if (!json_is_string(jti) || json_string_length(jti) == 0 || json_string_length(jti) > CLAIM_JTI_MAX ||
            strlen(json_string_value(jti)) != json_string_length(jti))
                return invalid(v, EPHEM_R_DPOP_INVALID, "jti is missing or invalid");
        if (!claim_equals(p, "ath", e->ath))
                return invalid(v, EPHEM_R_DPOP_INVALID, "ath is not the hash of the presented token");

        /* Single use per key, for as long as the proof could be fresh. */
        (void) snprintf(scope, sizeof(scope), "dpop:%s", e->jkt);
        k = replay_register(c->state_dir, scope, json_string_value(jti),
                            iat + DPOP_IAT_WINDOW + 2 * (int64_t) c->leeway, e->now);
        if (k == -EEXIST)
                return invalid(v, EPHEM_R_DPOP_REPLAY, "proof jti used before");
        if (k < 0)
                return invalid(v, EPHEM_R_STATE, "replay cache: %s", strerror(-k));
        v->reason = EPHEM_OK;
        v->detail[0] = '\0';
        return EPHEM_OK;
}
