/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * OpenSSH user certificates (PROTOCOL.certkeys), as sshd exposes the one it
 * accepted to PAM: SSH_AUTH_INFO_0 holds lines "publickey <type> <base64 blob>".
 * sshd has verified the certificate's signature against TrustedUserCAKeys; ephem
 * parses it to apply its own policy (which CA may issue for which names, for how
 * long), to cut the session off at valid_before, and to revoke by serial, key id
 * or CA. Every length is checked against the blob: a hostile blob is refused, never
 * read past.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSHCERT_BLOB_MAX (16u * 1024u)
#define SSHCERT_PRINCIPALS_MAX 256u
#define SSHCERT_STRING_MAX 1024u
#define SSHCERT_FP_LEN 50u /* "SHA256:" + 43 base64 characters */

typedef struct sshcert {
        char key_type[64]; /* e.g. ssh-ed25519-cert-v01@openssh.com */
        uint64_t serial;
        uint32_t cert_type; /* 1 user, 2 host */
        char key_id[SSHCERT_STRING_MAX + 1];
        char **principals; /* NULL-terminated; empty list: any principal */
        size_t n_principals;
        uint64_t valid_after, valid_before;
        size_t n_critical_options;               /* force-command, source-address, ... */
        char **critical_options;                 /* their names */
        char **extensions;                       /* names: permit-pty, ... */
        char ca_fingerprint[SSHCERT_FP_LEN + 1]; /* SHA256:... of the signature key, as ssh-keygen -l prints */
        char cert_fingerprint[SSHCERT_FP_LEN + 1];
} sshcert;

/*
 * Parses a certificate blob (raw bytes). Returns 0, -EBADMSG for anything malformed
 * (truncated fields, lengths past the end, trailing bytes, too many principals,
 * strings with NUL or beyond the caps, an unknown key type), -ENOMEM.
 */
int sshcert_parse(const uint8_t *blob, size_t len, sshcert *ret);

/*
 * Finds the certificate in an SSH_AUTH_INFO_0 value: the last "publickey" line
 * whose key type is a certificate, base64-decoded and parsed. Returns 0, -ENOENT
 * (no certificate was used), -EBADMSG (a certificate line, any of them, is damaged),
 * -ENOMEM; on failure nothing is handed out.
 */
int sshcert_from_auth_info(const char *info, sshcert *ret);

void sshcert_done(sshcert *c);

/* Whether the certificate names `user` among its principals. */
bool sshcert_has_principal(const sshcert *c, const char *user);

/* The SHA256 fingerprint of a public key line "type base64 [comment]" or of a raw
 * blob, in ssh-keygen's form. 0 or -EINVAL. */
int sshcert_key_fingerprint(const char *key_line, char ret[SSHCERT_FP_LEN + 1]);
