/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: revocation_apply_document(), a broker's signed revocation list
 * ("ephemctl revocations apply", fetched from the network), against the fuzz host
 * at FUZZ_NOW with an empty revocation directory each time. As for tokens, an input
 * of two parts is signed by the harness with the key for its header's alg, so that
 * mutated lists reach the entries.
 *
 * Checked (revocation.h): a refused list changes nothing (taken whole or not at all)
 * and fills the verdict with its reason; an applied list is recorded (.applied-<issuer>)
 * and afterwards every entry it holds that has not lapsed revokes what it names
 * (revocation_check_entry()), and nothing more is listed than was added.
 *
 * In the -oom variant (fuzz.h), a list applied under an injected failure must apply
 * without it too.
 */
#include <string.h>
#include <unistd.h>

#include "ephem/b64url.h"
#include "ephem/json.h"
#include "ephem/macro.h"
#include "ephem/revocation.h"
#include "fuzz.h"

/* The payload, decoded without judging it (the code under test did that). */
static json_t *payload(const char *s, size_t len) {
        const char *d1 = memchr(s, '.', len), *d2;
        _cleanup_free_ uint8_t *raw = NULL;
        size_t rawlen;

        if (!d1 || !(d2 = memchr(d1 + 1, '.', len - (size_t) (d1 + 1 - s))))
                return NULL;
        if (b64url_decode(d1 + 1, (size_t) (d2 - d1 - 1), &raw, &rawlen) < 0)
                return NULL;
        return json_loadb((const char *) raw, rawlen, 0, NULL);
}

static void check_applied(const fuzz_host *h, const char *s, size_t len, unsigned added) {
        json_t *claims = payload(s, len), *list, *e;
        _cleanup_free_ char *stamp = NULL;
        const ephem_issuer *issuer;
        const char *iss;
        size_t i;
        int n = fuzz_count_entries(h->revocation_dir);

        if (!claims)
                violated("applied a list whose payload does not decode");
        list = json_object_get(claims, "revoked");
        iss = json_string_value(json_object_get(claims, "iss"));
        if (!json_is_array(list) || !iss)
                violated("applied a list without iss or revoked");
        if (added > json_array_size(list) || n < 0 || (unsigned) n > added)
                violated("%u added, %d listed, of %zu entries", added, n, json_array_size(list));
        issuer = config_find_issuer_by_iss(h->config, iss);
        if (!issuer)
                violated("applied a list of an unknown issuer");
        if (asprintf(&stamp, "%s/.applied-%s", h->revocation_dir, issuer->name) < 0)
                fuzz_die("out of memory");
        if (access(stamp, F_OK) < 0)
                violated("applied a list without recording it (%s)", stamp);
        json_array_foreach(list, i, e) {
                static const char *const kinds[] = { "jti", "sub", "user", "fp" };
                const char *v[4] = { NULL };
                json_t *when;
                int64_t until = 0;
                char detail[256];
                size_t found = 0;

                for (size_t k = 0; k < ELEMENTSOF(kinds); k++)
                        if ((v[k] = json_string_value(json_object_get(e, kinds[k]))))
                                found++;
                if (found != 1)
                        violated("applied a list with an entry naming %zu things", found);
                when = json_object_get(e, v[0] ? "exp" : "until");
                if (when && !json_is_timestamp(when, &until))
                        violated("applied a list with an entry whose time is not a Unix time");
                if (until != 0 && until + (int64_t) h->config->leeway < FUZZ_NOW)
                        continue; /* lapsed: not written */
                if (!revocation_check(h->config, iss, v[1], v[0], v[2], v[3], FUZZ_NOW, detail, sizeof(detail)))
                        violated("entry %zu of an applied list does not revoke", i);
        }
        json_decref(claims);
}

typedef struct outcome {
        ephem_reason reason;
        unsigned added;
} outcome;

static void run(const char *s, size_t len, unsigned long fail_at, bool persistent, outcome *ret) {
        const fuzz_host *h = fuzz_host_get();
        ephem_verdict v = { .reason = _EPHEM_REASON_MAX };
        unsigned added = 0;
        ephem_reason r;

        fuzz_clear_dir(h->revocation_dir);
        failinject_arm(fail_at, persistent);
        r = revocation_apply_document(h->config, s, len, FUZZ_NOW, &added, &v);
        (void) failinject_disarm();
        *ret = (outcome){ .reason = r, .added = added };
        fuzz_note("revocation_apply_document: %s (%s), %u added", reason_id(r), v.detail, added);
        if (r != EPHEM_OK) {
                if (v.reason != r)
                        violated("revocation_apply_document returned %s, its verdict says %s", reason_id(r),
                                 reason_id(v.reason));
                /* Whole or not at all; under an injected failure writing may stop halfway,
                 * which only revokes more. */
                if (!fail_at && fuzz_count_entries(h->revocation_dir) != 0)
                        violated("a refused list (%s) left entries behind", reason_id(r));
                return;
        }
        check_applied(h, s, len, added);
}

FUZZ_INITIALIZE((void) fuzz_host_get())

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *signed_doc = NULL;
        unsigned long fail_at = 0;
        bool persistent = false;
        const char *s;
        size_t len;
        outcome ref, got;

        if (failinject_available())
                fuzz_failinject_from_input(&data, &size, &fail_at, &persistent);
        /* Every entry is a file: keep lists small enough for thousands of runs a second. */
        if (size > 65536)
                return 0;
        signed_doc = fuzz_sign_two_parts((const char *) data, size);
        s = signed_doc ? signed_doc : (const char *) data;
        len = signed_doc ? strlen(signed_doc) : size;

        run(s, len, 0, false, &ref);
        if (!fail_at)
                return 0;
        run(s, len, fail_at, persistent, &got);
        if (got.reason == EPHEM_OK && ref.reason != EPHEM_OK)
                violated("applied under an injected failure, refused (%s) without", reason_id(ref.reason));
        return 0;
}
