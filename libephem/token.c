/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/token.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ephem/b64url.h"
#include "ephem/json.h"
#include "ephem/macro.h"

static void verdict_set(ephem_verdict *v, ephem_reason r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Fills the verdict and evaluates to the reason. A macro, so that the reason a
 * function returns is visible where it returns (clang's analyzer does not follow
 * variadic calls: it could not tell that parse() never returns EPHEM_OK without a
 * token). The reason must be free of side effects: it is evaluated twice. */
#define refuse(v, r, ...) (verdict_set((v), (r), __VA_ARGS__), (r))

static void verdict_set(ephem_verdict *v, ephem_reason r, const char *fmt, ...) {
        va_list ap;

        v->reason = r;
        v->detail[0] = '\0';
        if (fmt) {
                va_start(ap, fmt);
                (void) vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
                va_end(ap);
        }
}

void token_free(ephem_token *t) {
        if (!t)
                return;
        if (t->header)
                json_decref(t->header);
        if (t->claims)
                json_decref(t->claims);
        free(t->signature);
        free(t);
}

int token_fingerprint(const char *s, size_t len, char ret[TOKEN_FP_LEN + 1]) {
        static const char hex[] = "0123456789abcdef";
        const char *last_dot = memrchr(s, '.', len);
        uint8_t d[32];
        unsigned dl = 0;

        /* The signed part only: ECDSA signatures are malleable (s and n-s both
         * verify), so hashing the signature would give one token two fingerprints,
         * and a revocation by fingerprint could be sidestepped. */
        if (last_dot)
                len = (size_t) (last_dot - s);
        ret[0] = '\0';
        if (EVP_Digest(s, len, d, &dl, EVP_sha256(), NULL) != 1 || dl != sizeof(d))
                return -ENOMEM;
        for (unsigned i = 0; i < TOKEN_FP_LEN / 2; i++) {
                ret[2 * i] = hex[d[i] >> 4];
                ret[2 * i + 1] = hex[d[i] & 15];
        }
        ret[TOKEN_FP_LEN] = '\0';
        return 0;
}

int token_act_depth(const ephem_token *t) {
        const json_t *act = json_object_get(t->claims, "act");
        int depth = 0;

        while (act) {
                const json_t *sub = json_object_get(act, "sub");
                if (!json_is_object(act) || !json_is_string(sub) || json_string_length(sub) == 0 ||
                    strlen(json_string_value(sub)) != json_string_length(sub) || ++depth > (int) DELEGATION_MAX_DEPTH)
                        return -EBADMSG;
                act = json_object_get(act, "act");
        }
        return depth;
}

int token_act_chain(const ephem_token *t, char **ret) {
        _cleanup_json_ json_t *chain = json_array();
        const json_t *act = json_object_get(t->claims, "act");
        char *s;

        if (!chain)
                return -ENOMEM;
        if (token_act_depth(t) < 0)
                return -EBADMSG;
        for (; act; act = json_object_get(act, "act"))
                if (json_array_append(chain, json_object_get(act, "sub")) < 0)
                        return -ENOMEM;
        s = json_dumps(chain, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

const char *token_claim_string(const ephem_token *t, const char *path) {
        json_t *v = json_lookup_path(t->claims, path);
        return json_is_string(v) ? json_string_value(v) : NULL;
}

static ephem_reason decode_part(const char *s, size_t len, size_t max_json, json_t **ret, const char *what,
                                ephem_verdict *v) {
        _cleanup_free_ uint8_t *raw = NULL;
        size_t rawlen;
        ephem_reason r;
        int k;

        k = b64url_decode(s, len, &raw, &rawlen);
        if (k == -ENOMEM)
                return refuse(v, EPHEM_R_INTERNAL, "out of memory");
        if (k < 0)
                return refuse(v, EPHEM_R_BASE64, "%s", what);
        r = json_parse_object(raw, rawlen, max_json, ret);
        if (r != EPHEM_OK)
                return refuse(v, r, "%s", what);
        return EPHEM_OK;
}

/* Header parameters that would let the token choose its own key or processing. */
static const char *const forbidden_header[] = { "crit", "jku", "jwk", "x5u", "x5c", "zip", "b64", "cty" };

typedef struct parse_opts {
        size_t max_len;
        size_t array_max;
        const char *required_typ; /* documents: this typ and no other; tokens: NULL */
        bool allow_jwk;           /* DPoP proofs carry their public key in the header */
} parse_opts;

static ephem_reason check_header(ephem_token *t, const parse_opts *o, ephem_verdict *v) {
        const json_t *alg = json_object_get(t->header, "alg");
        const json_t *typ = json_object_get(t->header, "typ");
        const json_t *kid = json_object_get(t->header, "kid");

        if (!alg)
                return refuse(v, EPHEM_R_HEADER_INVALID, "the header has no alg");
        if (!json_is_string(alg))
                return refuse(v, EPHEM_R_HEADER_INVALID, "alg is not a string");
        if (strcasecmp(json_string_value(alg), "none") == 0)
                return refuse(v, EPHEM_R_ALG_NONE, NULL);
        t->alg = jws_alg_from_string(json_string_value(alg));
        if (t->alg == JWS_ALG_INVALID || strlen(json_string_value(alg)) != json_string_length(alg))
                return refuse(v, EPHEM_R_ALG_UNSUPPORTED, "alg is not ES256, ES384, RS256, PS256 or EdDSA");

        for (size_t i = 0; i < ELEMENTSOF(forbidden_header); i++)
                if (json_object_get(t->header, forbidden_header[i]) &&
                    !(o->allow_jwk && streq(forbidden_header[i], "jwk")))
                        return refuse(v, EPHEM_R_HEADER_FORBIDDEN, "header parameter '%s'", forbidden_header[i]);

        if (typ) {
                const char *s;
                if (!json_is_string(typ))
                        return refuse(v, EPHEM_R_TYP, "typ is not a string");
                s = json_string_value(typ);
                /* RFC 7515 4.1.9: media type names are case-insensitive and may omit
                 * "application/". RFC 9068 access tokens are at+jwt. */
                if (strncasecmp(s, "application/", 12) == 0)
                        s += 12;
                if (o->required_typ) {
                        if (strcasecmp(s, o->required_typ) != 0)
                                return refuse(v, EPHEM_R_TYP, "typ is not %s", o->required_typ);
                } else if (strcasecmp(s, "JWT") != 0 && strcasecmp(s, "at+jwt") != 0 && strcasecmp(s, "JOSE") != 0)
                        /* JOSE: the generic JWS media type, which the JWT-SVID spec allows. */
                        return refuse(v, EPHEM_R_TYP, "typ is neither JWT, at+jwt nor JOSE");
                t->typ = json_string_value(typ);
        } else if (o->required_typ)
                return refuse(v, EPHEM_R_TYP, "typ %s is required", o->required_typ);
        if (kid) {
                if (!json_is_string(kid) || json_string_length(kid) == 0 || json_string_length(kid) > KEY_KID_MAX ||
                    strlen(json_string_value(kid)) != json_string_length(kid))
                        return refuse(v, EPHEM_R_HEADER_INVALID, "kid is not a string of 1 to %u bytes", KEY_KID_MAX);
                t->kid = json_string_value(kid);
        }
        return EPHEM_OK;
}

/* Every string and array in the payload is bounded, wherever it is. */
static bool payload_bounded(const json_t *j, size_t array_max, const char **ret_what) {
        const char *key;
        json_t *val;
        size_t i;

        switch (json_typeof(j)) {
        case JSON_STRING:
                if (json_string_length(j) > CLAIM_STRING_MAX) {
                        *ret_what = "a string longer than 4096 bytes";
                        return false;
                }
                return true;
        case JSON_ARRAY:
                if (json_array_size(j) > array_max) {
                        *ret_what = "an array too large";
                        return false;
                }
                json_array_foreach(j, i, val)
                        if (!payload_bounded(val, array_max, ret_what))
                                return false;
                return true;
        case JSON_OBJECT:
                if (json_object_size(j) > CLAIM_ARRAY_MAX) {
                        *ret_what = "an object of more than 256 members";
                        return false;
                }
                json_object_foreach((json_t *) j, key, val) {
                        if (strlen(key) > CLAIM_ID_MAX) {
                                *ret_what = "a member name longer than 1024 bytes";
                                return false;
                        }
                        if (!payload_bounded(val, array_max, ret_what))
                                return false;
                }
                return true;
        default:
                return true;
        }
}

/* Picks up standard claims that have the right type; token_verify() insists on them. */
static void pick_claims(ephem_token *t) {
        const json_t *c = t->claims;

        t->iss = json_is_string(json_object_get(c, "iss")) ? json_string_value(json_object_get(c, "iss")) : NULL;
        t->sub = json_is_string(json_object_get(c, "sub")) ? json_string_value(json_object_get(c, "sub")) : NULL;
        t->jti = json_is_string(json_object_get(c, "jti")) ? json_string_value(json_object_get(c, "jti")) : NULL;
        t->has_exp = json_is_timestamp(json_object_get(c, "exp"), &t->exp);
        t->has_iat = json_is_timestamp(json_object_get(c, "iat"), &t->iat);
        t->has_nbf = json_is_timestamp(json_object_get(c, "nbf"), &t->nbf);
}

static ephem_reason parse(const char *s, size_t len, const parse_opts *o, ephem_token **ret, ephem_verdict *v) {
        size_t max_len = o->max_len;
        ephem_token *t;
        const char *d1, *d2;
        const char *what = NULL;
        ephem_reason r;
        int k;

        if (len == 0)
                return refuse(v, EPHEM_R_TOKEN_EMPTY, NULL);
        if (len > max_len)
                return refuse(v, EPHEM_R_TOKEN_TOO_LONG, "%zu bytes, at most %zu", len, max_len);
        if (memchr(s, '\0', len))
                return refuse(v, EPHEM_R_MALFORMED, "a NUL byte");
        d1 = memchr(s, '.', len);
        d2 = d1 ? memchr(d1 + 1, '.', len - (size_t) (d1 + 1 - s)) : NULL;
        if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t) (d2 + 1 - s)))
                return refuse(v, EPHEM_R_MALFORMED, "expected exactly three dot-separated parts");

        t = calloc(1, sizeof(*t));
        if (!t)
                return refuse(v, EPHEM_R_INTERNAL, "out of memory");
        t->alg = JWS_ALG_INVALID;
        /* Without its fingerprint a token could slip past a revocation by fingerprint. */
        if (token_fingerprint(s, len, t->fingerprint) < 0) {
                r = refuse(v, EPHEM_R_INTERNAL, "SHA-256 failed");
                goto fail;
        }

        r = decode_part(s, (size_t) (d1 - s), TOKEN_HEADER_MAX, &t->header, "header", v);
        if (r != EPHEM_OK)
                goto fail;
        r = check_header(t, o, v);
        if (r != EPHEM_OK)
                goto fail;
        r = decode_part(d1 + 1, (size_t) (d2 - d1 - 1), max_len, &t->claims, "payload", v);
        if (r != EPHEM_OK)
                goto fail;
        k = b64url_decode(d2 + 1, len - (size_t) (d2 + 1 - s), &t->signature, &t->signature_len);
        if (k < 0) {
                r = k == -ENOMEM ? refuse(v, EPHEM_R_INTERNAL, "out of memory")
                                 : refuse(v, EPHEM_R_BASE64, "signature");
                goto fail;
        }
        if (!payload_bounded(t->claims, o->array_max, &what)) {
                r = refuse(v, EPHEM_R_CLAIM_TOO_LONG, "the payload holds %s", what);
                goto fail;
        }
        pick_claims(t);
        *ret = t;
        return EPHEM_OK;
fail:
        token_free(t);
        return r;
}

ephem_reason token_parse(const char *s, size_t len, size_t max_len, ephem_token **ret, ephem_verdict *v) {
        parse_opts o = { .max_len = max_len, .array_max = CLAIM_ARRAY_MAX };
        return parse(s, len, &o, ret, v);
}

ephem_reason token_parse_dpop(const char *s, size_t len, size_t max_len, ephem_token **ret, ephem_verdict *v) {
        parse_opts o = {
                .max_len = max_len, .array_max = CLAIM_ARRAY_MAX, .required_typ = "dpop+jwt", .allow_jwk = true
        };
        return parse(s, len, &o, ret, v);
}

static ephem_reason select_key(ephem_token *t, const keyset *ks, ephem_verdict *v) {
        const ephem_key *found = NULL;
        size_t candidates = 0;

        if (t->kid) {
                for (size_t i = 0; i < ks->n; i++)
                        if (ks->keys[i].kid && streq(ks->keys[i].kid, t->kid))
                                found = &ks->keys[i];
                /* Keys without a kid (PEM) answer to their RFC 7638 thumbprint. */
                for (size_t i = 0; !found && i < ks->n; i++)
                        if (!ks->keys[i].kid && streq(ks->keys[i].thumbprint, t->kid))
                                found = &ks->keys[i];
                if (!found)
                        return refuse(v, EPHEM_R_KID_UNKNOWN, NULL);
        } else {
                for (size_t i = 0; i < ks->n; i++)
                        if (key_type_allows(ks->keys[i].type, t->alg)) {
                                found = &ks->keys[i];
                                candidates++;
                        }
                if (candidates > 1)
                        return refuse(v, EPHEM_R_KID_REQUIRED, NULL);
                if (!found)
                        return refuse(v, EPHEM_R_ALG_KEY_MISMATCH, "no %s key for the issuer",
                                      jws_alg_to_string(t->alg));
        }
        if (!key_type_allows(found->type, t->alg) || (found->pinned != JWS_ALG_INVALID && found->pinned != t->alg))
                return refuse(v, EPHEM_R_ALG_KEY_MISMATCH, "alg %s with a %s key", jws_alg_to_string(t->alg),
                              key_type_to_string(found->type));
        t->key = found;
        return EPHEM_OK;
}

static ephem_reason check_signature(const ephem_token *t, const char *s, size_t len, ephem_verdict *v) {
        /* The signing input is everything before the last dot. */
        const char *d2 = memrchr(s, '.', len);
        int k;

        k = jws_verify(t->key, t->alg, (const uint8_t *) s, (size_t) (d2 - s), t->signature, t->signature_len);
        if (k == -ENOMEM || k == -EIO)
                return refuse(v, EPHEM_R_INTERNAL, "signature verification failed to run");
        if (k < 0)
                return refuse(v, EPHEM_R_SIGNATURE, NULL);
        return EPHEM_OK;
}

static ephem_reason check_string_claim(const ephem_token *t, const char *name, size_t max, ephem_verdict *v) {
        const json_t *c = json_object_get(t->claims, name);

        if (!c)
                return refuse(v, EPHEM_R_CLAIM_MISSING, "claim '%s'", name);
        if (!json_is_string(c))
                return refuse(v, EPHEM_R_CLAIM_TYPE, "claim '%s' is not a string", name);
        if (json_string_length(c) == 0)
                return refuse(v, EPHEM_R_CLAIM_TYPE, "claim '%s' is empty", name);
        if (json_string_length(c) > max)
                return refuse(v, EPHEM_R_CLAIM_TOO_LONG, "claim '%s' is longer than %zu bytes", name, max);
        if (strlen(json_string_value(c)) != json_string_length(c))
                return refuse(v, EPHEM_R_CLAIM_TYPE, "claim '%s' holds a NUL", name);
        return EPHEM_OK;
}

static ephem_reason check_time_claim(const ephem_token *t, const char *name, bool required, ephem_verdict *v) {
        const json_t *c = json_object_get(t->claims, name);
        int64_t dummy;

        if (!c)
                return required ? refuse(v, EPHEM_R_CLAIM_MISSING, "claim '%s'", name) : EPHEM_OK;
        if (!json_is_timestamp(c, &dummy))
                return refuse(v, EPHEM_R_CLAIM_TYPE, "claim '%s' is not an integer Unix time", name);
        return EPHEM_OK;
}

static const char *audience_matches(const ephem_config *c, const char *aud) {
        for (char **a = c->audiences; a && *a; a++)
                if (streq(*a, aud))
                        return *a;
        return NULL;
}

static ephem_reason check_audience(const ephem_config *c, ephem_token *t, ephem_verdict *v) {
        const json_t *aud = json_object_get(t->claims, "aud");
        json_t *e;
        size_t i;

        if (!aud)
                return refuse(v, EPHEM_R_CLAIM_MISSING, "claim 'aud'");
        if (json_is_string(aud))
                return (t->audience = audience_matches(c, json_string_value(aud))) ? EPHEM_OK
                                                                                   : refuse(v, EPHEM_R_AUDIENCE, NULL);
        if (!json_is_array(aud) || json_array_size(aud) == 0)
                return refuse(v, EPHEM_R_CLAIM_TYPE, "claim 'aud' is neither a string nor a non-empty array");
        if (json_array_size(aud) > CLAIM_AUD_MAX)
                return refuse(v, EPHEM_R_CLAIM_TOO_LONG, "claim 'aud' has more than %u entries", CLAIM_AUD_MAX);
        json_array_foreach(aud, i, e)
                if (!json_is_string(e))
                        return refuse(v, EPHEM_R_CLAIM_TYPE, "claim 'aud' holds a non-string");
        json_array_foreach(aud, i, e)
                if ((t->audience = audience_matches(c, json_string_value(e))))
                        return EPHEM_OK;
        return refuse(v, EPHEM_R_AUDIENCE, NULL);
}

static ephem_reason check_claims(const ephem_config *c, ephem_token *t, int64_t now, ephem_verdict *v) {
        int64_t leeway = (int64_t) c->leeway;
        uint64_t max_life = issuer_max_lifetime(c, t->issuer);
        ephem_reason r;

        bool has_jti = json_object_get(t->claims, "jti") != NULL, has_iat = json_object_get(t->claims, "iat") != NULL;
        int64_t start;

        if ((r = check_string_claim(t, "sub", CLAIM_ID_MAX, v)) != EPHEM_OK ||
            ((has_jti || !t->issuer->jti_optional) &&
             (r = check_string_claim(t, "jti", CLAIM_JTI_MAX, v)) != EPHEM_OK) ||
            (r = check_time_claim(t, "exp", true, v)) != EPHEM_OK ||
            (r = check_time_claim(t, "iat", !t->issuer->iat_optional, v)) != EPHEM_OK ||
            (r = check_time_claim(t, "nbf", false, v)) != EPHEM_OK)
                return r;

        if (now > t->exp + leeway)
                return refuse(v, EPHEM_R_EXPIRED, "%lld s ago", (long long) (now - t->exp));
        if (t->has_nbf && now + leeway < t->nbf)
                return refuse(v, EPHEM_R_NOT_YET_VALID, "in %lld s", (long long) (t->nbf - now));
        /* Without iat (an issuer that may omit it), the lifetime counts from now:
         * what is left of it must still be within the limit. */
        start = has_iat ? t->iat : now;
        if (has_iat && t->iat > now + leeway)
                return refuse(v, EPHEM_R_IAT_FUTURE, "%lld s ahead", (long long) (t->iat - now));
        if (has_iat && t->exp <= t->iat)
                return refuse(v, EPHEM_R_CLAIM_TYPE, "exp is not after iat");
        if (t->exp > start && (uint64_t) (t->exp - start) > max_life)
                return refuse(v, EPHEM_R_LIFETIME, "%lld s, at most %llu s", (long long) (t->exp - start),
                              (unsigned long long) max_life);
        if (json_object_get(t->claims, "act") && token_act_depth(t) < 0)
                return refuse(v, EPHEM_R_DELEGATION, "act must be objects with a sub, nested at most %u deep",
                              DELEGATION_MAX_DEPTH);
        return check_audience(c, t, v);
}

/* Everything up to and including the signature: issuer, key, algorithm. */
static ephem_reason verify_signed(ephem_config *c, const char *s, size_t len, const parse_opts *o, ephem_token **ret,
                                  ephem_verdict *v) {
        _cleanup_token_ ephem_token *t = NULL;
        ephem_issuer *issuer;
        const keyset *ks;
        ephem_reason r;
        int k;

        r = parse(s, len, o, &t, v);
        if (r != EPHEM_OK)
                return r;

        r = check_string_claim(t, "iss", CLAIM_ID_MAX, v);
        if (r != EPHEM_OK)
                return r;
        issuer = (ephem_issuer *) config_find_issuer_by_iss(c, t->iss);
        if (!issuer)
                return refuse(v, EPHEM_R_ISSUER_UNKNOWN, NULL);
        t->issuer = issuer;
        if (!(issuer->algorithms & (1u << t->alg)))
                return refuse(v, EPHEM_R_ALG_NOT_ALLOWED, "%s for issuer %s", jws_alg_to_string(t->alg), issuer->name);
        k = issuer_keys(issuer, &ks);
        if (k < 0)
                return refuse(v, EPHEM_R_CONFIG, "keys of issuer %s: %s", issuer->name, issuer->keys_error_text);
        r = select_key(t, ks, v);
        if (r != EPHEM_OK)
                return r;
        r = check_signature(t, s, len, v);
        if (r != EPHEM_OK)
                return r;
        *ret = TAKE_PTR(t);
        return EPHEM_OK;
}

ephem_reason token_verify(ephem_config *c, const char *s, size_t len, int64_t now, ephem_token **ret,
                          ephem_verdict *v) {
        parse_opts o = { .max_len = (size_t) c->max_token_length, .array_max = CLAIM_ARRAY_MAX };
        _cleanup_token_ ephem_token *t = NULL;
        ephem_reason r;

        r = verify_signed(c, s, len, &o, &t, v);
        if (r != EPHEM_OK)
                return r;
        r = check_claims(c, t, now, v);
        if (r != EPHEM_OK)
                return r;
        if (t->jti)
                memcpy(t->replay_id, t->jti, strlen(t->jti) + 1);
        else {
                static const char hex[] = "0123456789abcdef";
                const char *last_dot = memrchr(s, '.', len);
                uint8_t d[32];
                unsigned dl = 0;
                if (EVP_Digest(s, (size_t) (last_dot - s), d, &dl, EVP_sha256(), NULL) != 1 || dl != sizeof(d))
                        return refuse(v, EPHEM_R_INTERNAL, "sha256");
                memcpy(t->replay_id, "sha256:", 7);
                for (unsigned i = 0; i < 32; i++) {
                        t->replay_id[7 + 2 * i] = hex[d[i] >> 4];
                        t->replay_id[8 + 2 * i] = hex[d[i] & 15];
                }
                t->replay_id[71] = '\0';
        }
        v->reason = EPHEM_OK;
        v->detail[0] = '\0';
        *ret = TAKE_PTR(t);
        return EPHEM_OK;
}

ephem_reason token_verify_document(ephem_config *c, const char *s, size_t len, size_t max_len, size_t array_max,
                                   const char *typ, int64_t now, ephem_token **ret, ephem_verdict *v) {
        parse_opts o = { .max_len = max_len, .array_max = array_max, .required_typ = typ };
        _cleanup_token_ ephem_token *t = NULL;
        ephem_reason r;

        r = verify_signed(c, s, len, &o, &t, v);
        if (r != EPHEM_OK)
                return r;
        r = check_time_claim(t, "iat", true, v);
        if (r != EPHEM_OK)
                return r;
        if (t->iat > now + (int64_t) c->leeway)
                return refuse(v, EPHEM_R_IAT_FUTURE, "%lld s ahead", (long long) (t->iat - now));
        v->reason = EPHEM_OK;
        v->detail[0] = '\0';
        *ret = TAKE_PTR(t);
        return EPHEM_OK;
}
