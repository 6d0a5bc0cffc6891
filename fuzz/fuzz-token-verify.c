/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the whole decision on a presented token at FUZZ_NOW against the
 * fuzz host (fuzz.h): token_verify() (issuer, key, algorithm, signature, claims),
 * then policy_decide() for a few login names and login_record_from_token().
 *
 * An input of two parts ("header.payload") is signed by the harness with the fuzz
 * host's key for the header's alg before verification, so that mutated claims
 * get past the signature and reach the claim checks; the checked-in seeds hold
 * such inputs and real, fully signed tokens of every algorithm.
 *
 * What an accepted token must satisfy (token.h, policy.h): issuer found by its exact
 * iss, the algorithm allowed by the issuer and suited to (and pinned by) the key,
 * sub a non-empty string, a jti or a sha256: replay id only for an issuer with
 * optional_claims = jti, exp + leeway >= now, nbf - leeway <= now, iat at most the
 * leeway in the future, a lifetime within the issuer's limit, an audience of the
 * host. A name a rule allows is a transient name, and the rule names the issuer.
 *
 * In the -oom variant the first two input bytes pick a call to fail (fuzz.h): what
 * is accepted under a failure must be accepted without it, with the same result.
 */
#include <string.h>

#include "ephem/login.h"
#include "ephem/macro.h"
#include "ephem/policy.h"
#include "ephem/token.h"
#include "fuzz.h"

#define USERS 4
static const char *const users[USERS] = { "agent-1", "ci-42", "root", "breakglass-1" };

typedef struct outcome {
        ephem_reason reason;
        char replay_id[CLAIM_JTI_MAX + 1];
        ephem_reason policy[USERS];
        const ephem_rule *rule[USERS];
} outcome;

static bool names(char **l, const char *s) {
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

static bool audience_ok(const ephem_config *c, const json_t *aud) {
        size_t i;
        json_t *e;

        if (json_is_string(aud)) {
                for (char **a = c->audiences; *a; a++)
                        if (streq(*a, json_string_value(aud)))
                                return true;
                return false;
        }
        json_array_foreach(aud, i, e)
                if (json_is_string(e) && audience_ok(c, e))
                        return true;
        return false;
}

static void check_accepted(const ephem_config *c, const ephem_token *t) {
        const ephem_issuer *i = t->issuer;
        int64_t leeway = (int64_t) c->leeway, start;
        const json_t *sub = json_object_get(t->claims, "sub");

        if (!i || !t->key || !t->iss)
                violated("accepted without issuer, key or iss");
        if (i != config_find_issuer_by_iss(c, t->iss) || !streq(i->iss, t->iss))
                violated("issuer %s for iss '%s'", i->name, t->iss);
        if (!(i->algorithms & (1u << t->alg)) || !key_type_allows(t->key->type, t->alg) ||
            (t->key->pinned != JWS_ALG_INVALID && t->key->pinned != t->alg))
                violated("alg %s with a %s key for issuer %s", jws_alg_to_string(t->alg),
                         key_type_to_string(t->key->type), i->name);
        if (t->key < i->keys.keys || t->key >= i->keys.keys + i->keys.n)
                violated("the key is not one of the issuer's");
        if (t->kid && (!t->key->kid || !streq(t->kid, t->key->kid)) && !streq(t->kid, t->key->thumbprint))
                violated("kid '%s' selected another key", t->kid);
        if (!json_is_string(sub) || json_string_length(sub) == 0 || json_string_length(sub) > CLAIM_ID_MAX)
                violated("accepted without a proper sub");
        if (!t->replay_id[0])
                violated("accepted without a replay id");
        if (!t->jti && (!i->jti_optional || strncmp(t->replay_id, "sha256:", 7) != 0 || strlen(t->replay_id) != 71))
                violated("no jti, replay id '%s', issuer %s", t->replay_id, i->name);
        if (t->jti && !streq(t->jti, t->replay_id))
                violated("replay id is not the jti");
        if (!t->has_exp || t->exp + leeway < FUZZ_NOW)
                violated("accepted an expired token (exp %lld)", (long long) t->exp);
        if (t->has_nbf && t->nbf - leeway > FUZZ_NOW)
                violated("accepted a token not yet valid");
        if (!t->has_iat && !i->iat_optional)
                violated("accepted without iat from issuer %s", i->name);
        if (t->has_iat && t->iat > FUZZ_NOW + leeway)
                violated("accepted an iat in the future");
        start = t->has_iat ? t->iat : FUZZ_NOW;
        if (t->exp > start && (uint64_t) (t->exp - start) > issuer_max_lifetime(c, i))
                violated("accepted a lifetime of %lld s", (long long) (t->exp - start));
        if (!audience_ok(c, json_object_get(t->claims, "aud")))
                violated("accepted for an audience not of this host");
}

static void run(const char *s, size_t len, unsigned long fail_at, bool persistent, outcome *ret) {
        ephem_config *c = fuzz_host_get()->config;
        _cleanup_token_ ephem_token *t = NULL;
        ephem_verdict v = { .reason = _EPHEM_REASON_MAX };
        ephem_reason r;

        *ret = (outcome){ 0 };
        failinject_arm(fail_at, persistent);
        r = token_verify(c, s, len, FUZZ_NOW, &t, &v);
        (void) failinject_disarm();
        ret->reason = r;
        fuzz_note("token_verify: %s (%s)", reason_id(r), v.detail);
        if (r != EPHEM_OK) {
                if (t)
                        violated("token_verify refused (%s) but handed out a token", reason_id(r));
                if (v.reason != r)
                        violated("token_verify returned %s, its verdict says %s", reason_id(r), reason_id(v.reason));
                return;
        }
        if (!t)
                violated("token_verify accepted without a token");
        check_accepted(c, t);
        memcpy(ret->replay_id, t->replay_id, sizeof(ret->replay_id));

        for (size_t u = 0; u < USERS; u++) {
                const ephem_rule *rule = NULL;
                login_record rec = { 0 };
                int k;

                v = (ephem_verdict){ .reason = _EPHEM_REASON_MAX };
                failinject_arm(fail_at, persistent);
                r = policy_decide(c, t, users[u], &rule, &v, NULL, NULL);
                (void) failinject_disarm();
                ret->policy[u] = r;
                ret->rule[u] = rule;
                fuzz_note("  policy %s: %s", users[u], reason_id(r));
                if (r != EPHEM_OK) {
                        if (v.reason != r)
                                violated("policy_decide returned %s, its verdict says %s", reason_id(r),
                                         reason_id(v.reason));
                        continue;
                }
                if (!rule || !userconf_is_transient(&c->users, users[u]))
                        violated("policy allowed '%s' without a rule or for a name that is not transient", users[u]);
                if (!names(rule->issuers, t->issuer->name))
                        violated("rule %s allowed a token of issuer %s", rule->name, t->issuer->name);

                failinject_arm(fail_at, persistent);
                k = login_record_from_token(&rec, t, rule, users[u], FUZZ_NOW);
                (void) failinject_disarm();
                if (k == 0 && (!streq(rec.jti, t->replay_id) || !streq(rec.user, users[u]) ||
                               !streq(rec.issuer, t->issuer->name) || rec.exp != t->exp))
                        violated("the login record does not say what the token said");
                if (k < 0 && k != -ENOMEM)
                        violated("login_record_from_token returned %d", k);
                login_record_done(&rec);
        }
}

FUZZ_INITIALIZE((void) fuzz_host_get())

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *signed_token = NULL;
        unsigned long fail_at = 0;
        bool persistent = false;
        const char *s;
        size_t len;
        outcome ref, got;

        if (failinject_available())
                fuzz_failinject_from_input(&data, &size, &fail_at, &persistent);
        if (size > TOKEN_MAX_LENGTH_LIMIT + 1)
                return 0;
        signed_token = fuzz_sign_two_parts((const char *) data, size);
        s = signed_token ? signed_token : (const char *) data;
        len = signed_token ? strlen(signed_token) : size;

        run(s, len, 0, false, &ref);
        if (!fail_at)
                return 0;
        run(s, len, fail_at, persistent, &got);
        if (got.reason == EPHEM_OK && (ref.reason != EPHEM_OK || !streq(got.replay_id, ref.replay_id)))
                violated("accepted under an injected failure, %s without", reason_id(ref.reason));
        for (size_t u = 0; got.reason == EPHEM_OK && u < USERS; u++)
                if (got.policy[u] == EPHEM_OK && (ref.policy[u] != EPHEM_OK || got.rule[u] != ref.rule[u]))
                        violated("policy allowed %s under an injected failure, not without", users[u]);
        return 0;
}
