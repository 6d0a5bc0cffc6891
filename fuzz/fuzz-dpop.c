/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: dpop_verify(), the client's answer to the DPoP prompt
 * (dpop.h): a JWS whose header carries the client's public key. The fuzz host
 * expects a proof for ssh://agent-1@host.fuzz.example with a fixed nonce, the ath
 * of a fixed token and the jkt of the fuzz host's P-256 key (the "client" key here).
 * An input of two parts is signed by the harness with the fuzz host's key for its
 * header's alg, so that mutated proofs reach the claim checks. The replay store is
 * emptied before each input.
 *
 * Checked: a refusal fills the verdict with its reason; an accepted proof carries
 * the key the token is bound to, htm SSH, this htu, nonce and ath, an iat inside the
 * window and a jti; and the same proof a second time is refused as a replay.
 *
 * In the -oom variant (fuzz.h), a proof accepted under an injected failure must be
 * accepted without it.
 */
#include <string.h>

#include "ephem/dpop.h"
#include "ephem/json.h"
#include "ephem/macro.h"
#include "fuzz.h"

#define HTU "ssh://agent-1@" FUZZ_AUD
#define NONCE "bm9uY2Utbm9uY2Utbm9uYw"
#define TOKEN "fuzz.token.presented"

static dpop_expect expect;
static char jkt[JWK_THUMBPRINT_LEN + 1], ath[DPOP_ATH_LEN + 1];

static void check_accepted(const char *s, size_t len) {
        ephem_token *p = NULL;
        ephem_verdict v = { 0 };
        char tp[JWK_THUMBPRINT_LEN + 1];
        int64_t iat;

        if (token_parse_dpop(s, len, DPOP_PROOF_MAX, &p, &v) != EPHEM_OK)
                violated("accepted a proof token_parse_dpop() refuses");
        if (jwk_thumbprint(json_object_get(p->header, "jwk"), tp) < 0 || !streq(tp, jkt))
                violated("accepted a proof by another key");
        if (!streq(json_string_value(json_object_get(p->claims, "htm")) ?: "", DPOP_HTM) ||
            !streq(json_string_value(json_object_get(p->claims, "htu")) ?: "", HTU) ||
            !streq(json_string_value(json_object_get(p->claims, "nonce")) ?: "", NONCE) ||
            !streq(json_string_value(json_object_get(p->claims, "ath")) ?: "", ath))
                violated("accepted a proof for another login, host, nonce or token");
        if (!json_is_timestamp(json_object_get(p->claims, "iat"), &iat) || iat > FUZZ_NOW + 30 ||
            iat < FUZZ_NOW - DPOP_IAT_WINDOW - 30)
                violated("accepted a proof outside the time window");
        if (!json_is_string(json_object_get(p->claims, "jti")))
                violated("accepted a proof without jti");
        token_free(p);
}

static ephem_reason run(const char *s, size_t len, unsigned long fail_at, bool persistent) {
        const fuzz_host *h = fuzz_host_get();
        ephem_verdict v = { .reason = _EPHEM_REASON_MAX };
        ephem_reason r;

        fuzz_clear_dir(h->state_dir);
        failinject_arm(fail_at, persistent);
        r = dpop_verify(h->config, s, len, &expect, &v);
        (void) failinject_disarm();
        fuzz_note("dpop_verify: %s (%s)", reason_id(r), v.detail);
        if (r != EPHEM_OK) {
                if (v.reason != r)
                        violated("dpop_verify returned %s, its verdict says %s", reason_id(r), reason_id(v.reason));
                return r;
        }
        check_accepted(s, len);
        v = (ephem_verdict){ 0 };
        if (dpop_verify(h->config, s, len, &expect, &v) != EPHEM_R_DPOP_REPLAY)
                violated("a proof was accepted twice (%s)", reason_id(v.reason));
        return r;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        json_t *jwk = NULL;
        key_type t;

        (void) argc;
        (void) argv;
        fuzz_init();
        (void) fuzz_host_get();
        if (key_public_jwk(fuzz_key(JWS_ES256), &t, &jwk) < 0 || jwk_thumbprint(jwk, jkt) < 0 ||
            dpop_ath(TOKEN, strlen(TOKEN), ath) < 0)
                fuzz_die("cannot compute the expected jkt and ath");
        json_decref(jwk);
        expect = (dpop_expect){ .htu = HTU, .nonce = NONCE, .ath = ath, .jkt = jkt, .now = FUZZ_NOW };
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *signed_proof = NULL;
        unsigned long fail_at = 0;
        bool persistent = false;
        const char *s;
        size_t len;
        ephem_reason ref;

        if (failinject_available())
                fuzz_failinject_from_input(&data, &size, &fail_at, &persistent);
        if (size > DPOP_PROOF_MAX + 1)
                return 0;
        signed_proof = fuzz_sign_two_parts((const char *) data, size);
        s = signed_proof ? signed_proof : (const char *) data;
        len = signed_proof ? strlen(signed_proof) : size;

        ref = run(s, len, 0, false);
        if (fail_at && run(s, len, fail_at, persistent) == EPHEM_OK && ref != EPHEM_OK)
                violated("accepted under an injected failure, refused (%s) without", reason_id(ref));
        return 0;
}
