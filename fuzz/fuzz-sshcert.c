/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: OpenSSH certificates (sshcert.h). The first input byte chooses:
 *
 *   0  the rest is a certificate blob: sshcert_parse()
 *   1  the rest is an SSH_AUTH_INFO_0 value: sshcert_from_auth_info()
 *   2  the rest is a public key line or fingerprint: sshcert_key_fingerprint()
 *
 * sshd has checked the certificate's signature before PAM sees it, but ephem parses
 * the blob itself, so every length in it is the attacker's until proven otherwise.
 * Checked (sshcert.h): a refusal is -EBADMSG, -ENOENT or -ENOMEM (-EINVAL for key
 * lines) and hands out nothing; a parsed certificate has a known *-cert-v01 key type,
 * at most SSHCERT_PRINCIPALS_MAX principals of at most SSHCERT_STRING_MAX bytes,
 * each of which sshcert_has_principal() finds, and fingerprints of the form
 * "SHA256:" and 43 base64 characters.
 *
 * In the -oom variant (fuzz.h), a certificate parsed under an injected failure must
 * parse without it, to the same fingerprint.
 */
#include <errno.h>
#include <string.h>

#include "ephem/macro.h"
#include "ephem/sshcert.h"
#include "fuzz.h"

static void check_fingerprint(const char *fp) {
        if (strlen(fp) != SSHCERT_FP_LEN || strncmp(fp, "SHA256:", 7) != 0)
                violated("fingerprint '%s'", fp);
        for (const char *p = fp + 7; *p; p++)
                if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '+' ||
                      *p == '/'))
                        violated("fingerprint '%s'", fp);
}

static void check_cert(const sshcert *c) {
        size_t n = 0;

        if (strlen(c->key_type) < strlen("-cert-v01@openssh.com") || !strstr(c->key_type, "-cert-v01@openssh.com"))
                violated("key type '%s'", c->key_type);
        for (char **p = c->principals; p && *p; p++, n++) {
                if (strlen(*p) > SSHCERT_STRING_MAX)
                        violated("a principal of %zu bytes", strlen(*p));
                if (!sshcert_has_principal(c, *p))
                        violated("principal '%s' is not found", *p);
        }
        if (n != c->n_principals || n > SSHCERT_PRINCIPALS_MAX)
                violated("%zu principals listed, %zu counted", c->n_principals, n);
        if (strlen(c->key_id) > SSHCERT_STRING_MAX)
                violated("a key id of %zu bytes", strlen(c->key_id));
        check_fingerprint(c->ca_fingerprint);
        check_fingerprint(c->cert_fingerprint);
}

typedef struct outcome {
        int r;
        char fp[SSHCERT_FP_LEN + 1];
} outcome;

static void run(uint8_t kind, const uint8_t *data, size_t size, unsigned long fail_at, bool persistent, outcome *ret) {
        _cleanup_free_ char *text = NULL;
        sshcert c = { 0 };
        char fp[SSHCERT_FP_LEN + 1] = "";
        int r;

        *ret = (outcome){ 0 };
        if (kind != 0 && !(text = fuzz_strndup(data, size)))
                return;
        failinject_arm(fail_at, persistent);
        switch (kind) {
        case 0:
                r = sshcert_parse(data, size, &c);
                break;
        case 1:
                r = sshcert_from_auth_info(text, &c);
                break;
        default:
                r = sshcert_key_fingerprint(text, fp);
                break;
        }
        (void) failinject_disarm();
        ret->r = r;
        if (kind == 2) {
                /* A "SHA256:..." argument is taken as it is when it is one (docs/fuzzing.md,
                 * finding 19); anything else is hashed. */
                if (r == 0 && strncmp(text, "SHA256:", 7) == 0) {
                        if (!streq(fp, text))
                                violated("fingerprint '%s' from '%s'", fp, text);
                        check_fingerprint(fp);
                } else if (r == 0)
                        check_fingerprint(fp);
                else if (r != -EINVAL)
                        violated("sshcert_key_fingerprint returned %d", r);
                memcpy(ret->fp, fp, sizeof(fp));
                return;
        }
        if (r < 0) {
                if (r != -EBADMSG && r != -ENOMEM && r != -ENOENT && r != -EIO)
                        violated("returned %d", r);
                if (c.principals || c.critical_options || c.extensions || c.key_type[0])
                        violated("failed (%d) but filled the output", r);
                return;
        }
        if (r != 0)
                violated("returned %d", r);
        check_cert(&c);
        memcpy(ret->fp, c.cert_fingerprint, sizeof(ret->fp));
        sshcert_done(&c);
}

FUZZ_INITIALIZE((void) 0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        unsigned long fail_at = 0;
        bool persistent = false;
        outcome ref, got;
        uint8_t kind;

        if (failinject_available())
                fuzz_failinject_from_input(&data, &size, &fail_at, &persistent);
        if (size < 1 || size > 8 * SSHCERT_BLOB_MAX)
                return 0;
        kind = data[0] % 3;
        run(kind, data + 1, size - 1, 0, false, &ref);
        if (!fail_at)
                return 0;
        run(kind, data + 1, size - 1, fail_at, persistent, &got);
        if (got.r == 0 && (ref.r != 0 || !streq(got.fp, ref.fp)))
                violated("parsed under an injected failure, %d without", ref.r);
        return 0;
}
