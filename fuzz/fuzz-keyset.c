/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: keyset_load_buffer(), what an issuer's "keys" file becomes: a
 * JWKS, a single JWK or PEM public keys. The file is the administrator's, fetched
 * from a broker's jwks_uri: a compromised or broken broker controls it.
 *
 * Checked (keys.h): a refusal is a negative errno with a message and no keys; an
 * accepted set has 1 to KEYSET_MAX_KEYS keys, each with an OpenSSL key, a
 * thumbprint of JWK_THUMBPRINT_LEN characters, a kid of 1 to KEY_KID_MAX bytes if
 * any, kids unique, a pinned alg that suits the key type, RSA of 2048 to 16384
 * bits; an all-zero signature of the right length never verifies with any key.
 *
 * In the -oom variant (fuzz.h), a set accepted under an injected failure must be
 * accepted without it, with the same keys.
 */
#include <errno.h>
#include <string.h>

#include "ephem/macro.h"
#include "fuzz.h"

typedef struct outcome {
        int r;
        size_t n;
        char thumbprints[KEYSET_MAX_KEYS][JWK_THUMBPRINT_LEN + 1];
} outcome;

static void check_key(const ephem_key *k) {
        static const uint8_t zeros[KEY_RSA_MAX_BITS / 8] = { 0 };

        if (!k->pkey)
                violated("a key without an OpenSSL key");
        if (strlen(k->thumbprint) != JWK_THUMBPRINT_LEN)
                violated("thumbprint '%s'", k->thumbprint);
        if (k->kid && (strlen(k->kid) == 0 || strlen(k->kid) > KEY_KID_MAX))
                violated("a kid of %zu bytes", strlen(k->kid));
        if (k->pinned != JWS_ALG_INVALID && !key_type_allows(k->type, k->pinned))
                violated("alg %s pinned on a %s key", jws_alg_to_string(k->pinned), key_type_to_string(k->type));
        if (k->type == KEY_RSA &&
            (EVP_PKEY_get_bits(k->pkey) < KEY_RSA_MIN_BITS || EVP_PKEY_get_bits(k->pkey) > KEY_RSA_MAX_BITS))
                violated("an RSA key of %d bits", EVP_PKEY_get_bits(k->pkey));
        for (int a = 0; a < _JWS_ALG_MAX; a++)
                if (key_type_allows(k->type, (jws_alg) a)) {
                        size_t n = a == JWS_ES384                     ? 96
                                   : a == JWS_RS256 || a == JWS_PS256 ? (size_t) EVP_PKEY_get_size(k->pkey)
                                                                      : 64;
                        int r = jws_verify(k, (jws_alg) a, (const uint8_t *) "x", 1, zeros, n);
                        if (r == 0)
                                violated("an all-zero %s signature verified", jws_alg_to_string((jws_alg) a));
                }
}

static void run(const char *buf, size_t len, unsigned long fail_at, bool persistent, outcome *ret) {
        keyset ks = { 0 };
        conf_error err = { 0 };
        int r;

        failinject_arm(fail_at, persistent);
        r = keyset_load_buffer(buf, len, &ks, &err);
        (void) failinject_disarm();
        *ret = (outcome){ .r = r };
        if (r < 0) {
                if (ks.keys || ks.n)
                        violated("refused (%d) but keys were handed out", r);
                if (!err.message[0])
                        violated("refused (%d) without a message", r);
                return;
        }
        if (r != 0)
                violated("keyset_load_buffer returned %d", r);
        if (ks.n == 0 || ks.n > KEYSET_MAX_KEYS)
                violated("accepted a set of %zu keys", ks.n);
        for (size_t i = 0; i < ks.n; i++) {
                check_key(&ks.keys[i]);
                for (size_t j = 0; j < i; j++)
                        if (ks.keys[i].kid && ks.keys[j].kid && streq(ks.keys[i].kid, ks.keys[j].kid))
                                violated("two keys with kid '%s'", ks.keys[i].kid);
                memcpy(ret->thumbprints[i], ks.keys[i].thumbprint, JWK_THUMBPRINT_LEN + 1);
        }
        ret->n = ks.n;
        keyset_done(&ks);
}

FUZZ_INITIALIZE((void) 0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *buf = NULL;
        unsigned long fail_at = 0;
        bool persistent = false;
        outcome ref, got;

        if (failinject_available())
                fuzz_failinject_from_input(&data, &size, &fail_at, &persistent);
        /* keyset_load_file() reads at most SAFEFILE_MAX_SIZE bytes, without a NUL. */
        if (size > 256 * 1024 || memchr(data, '\0', size))
                return 0;
        buf = fuzz_strndup(data, size);
        if (!buf)
                return 0;
        run(buf, size, 0, false, &ref);
        if (!fail_at)
                return 0;
        run(buf, size, fail_at, persistent, &got);
        if (got.r == 0 &&
            (ref.r != 0 || got.n != ref.n || memcmp(got.thumbprints, ref.thumbprints, sizeof(got.thumbprints)) != 0))
                violated("accepted under an injected failure, %d without (or other keys)", ref.r);
        return 0;
}
