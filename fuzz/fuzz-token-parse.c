/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: token_parse(), the first thing that touches a presented token
 * (and all of "ephemctl token inspect"). Beyond "no crash, no overread, no leak",
 * it checks token.h's promises: a refusal fills the verdict with the same reason
 * and hands out no token; an accepted token has three parts, a supported alg, JSON
 * objects for header and payload, a kid of 1 to KEY_KID_MAX bytes if any, typ JWT
 * or at+jwt if any, and its fingerprint is token_fingerprint() of the input.
 *
 * In the -oom variant the first two input bytes pick an allocation, open or read to
 * fail (fuzz.h); a token accepted then must be accepted without the failure too.
 */
#include <string.h>
#include <strings.h>

#include "ephem/macro.h"
#include "ephem/token.h"
#include "fuzz.h"

typedef struct outcome {
        ephem_reason reason;
        char fingerprint[TOKEN_FP_LEN + 1];
} outcome;

static void run(const char *s, size_t len, unsigned long fail_at, bool persistent, outcome *ret) {
        ephem_token *t = NULL;
        ephem_verdict v = { .reason = _EPHEM_REASON_MAX };
        char fp[TOKEN_FP_LEN + 1];
        ephem_reason r;

        failinject_arm(fail_at, persistent);
        r = token_parse(s, len, TOKEN_MAX_LENGTH_LIMIT, &t, &v);
        (void) failinject_disarm();

        *ret = (outcome){ .reason = r };
        if (r != EPHEM_OK) {
                if (t)
                        violated("token_parse refused (%s) but handed out a token", reason_id(r));
                if (v.reason != r)
                        violated("token_parse returned %s, its verdict says %s", reason_id(r), reason_id(v.reason));
                if (r >= _EPHEM_REASON_MAX)
                        violated("token_parse returned reason %d", (int) r);
                return;
        }
        if (!t)
                violated("token_parse accepted without a token");
        if (len == 0 || len > TOKEN_MAX_LENGTH_LIMIT || memchr(s, '\0', len))
                violated("token_parse accepted %zu bytes (or a NUL)", len);
        if (t->alg < 0 || t->alg >= _JWS_ALG_MAX)
                violated("accepted alg %d", (int) t->alg);
        if (!json_is_object(t->header) || !json_is_object(t->claims))
                violated("header or payload is not an object");
        if (t->kid && (strlen(t->kid) == 0 || strlen(t->kid) > KEY_KID_MAX))
                violated("accepted a kid of %zu bytes", strlen(t->kid));
        if (t->typ) {
                const char *typ = strncasecmp(t->typ, "application/", 12) == 0 ? t->typ + 12 : t->typ;
                if (strcasecmp(typ, "JWT") != 0 && strcasecmp(typ, "at+jwt") != 0)
                        violated("accepted typ '%s'", t->typ);
        }
        if (t->issuer || t->key)
                violated("token_parse set the issuer or the key");
        /* An accepted token always has its real fingerprint (docs/fuzzing.md, finding
         * 17): under an injected failure this call may fail itself, then there is
         * nothing to compare with. */
        if (token_fingerprint(s, len, fp) < 0) {
                if (!fail_at)
                        violated("SHA-256 failed without an injected failure");
        } else if (strcmp(fp, t->fingerprint) != 0 || strlen(fp) != TOKEN_FP_LEN)
                violated("fingerprint %s, expected %s", t->fingerprint, fp);
        memcpy(ret->fingerprint, fp, sizeof(fp));
        token_free(t);
}

FUZZ_INITIALIZE((void) 0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        unsigned long fail_at = 0;
        bool persistent = false;
        outcome ref, got;

        if (failinject_available())
                fuzz_failinject_from_input(&data, &size, &fail_at, &persistent);
        /* Larger inputs only hit the length check. */
        if (size > TOKEN_MAX_LENGTH_LIMIT + 1)
                return 0;
        run((const char *) data, size, 0, false, &ref);
        if (fail_at) {
                run((const char *) data, size, fail_at, persistent, &got);
                if (got.reason == EPHEM_OK && ref.reason != EPHEM_OK)
                        violated("accepted under an injected failure, refused (%s) without", reason_id(ref.reason));
        }
        return 0;
}
