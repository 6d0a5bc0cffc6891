/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/sshcert.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "ephem/macro.h"
#include "ephem/strutil.h"

typedef struct reader {
        const uint8_t *p;
        size_t left;
} reader;

static int read_u32(reader *r, uint32_t *ret) {
        if (r->left < 4)
                return -EBADMSG;
        *ret = (uint32_t) r->p[0] << 24 | (uint32_t) r->p[1] << 16 | (uint32_t) r->p[2] << 8 | r->p[3];
        r->p += 4;
        r->left -= 4;
        return 0;
}

static int read_u64(reader *r, uint64_t *ret) {
        uint32_t hi, lo;
        if (read_u32(r, &hi) < 0 || read_u32(r, &lo) < 0)
                return -EBADMSG;
        *ret = (uint64_t) hi << 32 | lo;
        return 0;
}

/* A string: length and bytes, the bytes staying in the blob. */
static int read_string(reader *r, const uint8_t **ret, size_t *ret_len) {
        uint32_t n;
        if (read_u32(r, &n) < 0 || n > r->left)
                return -EBADMSG;
        *ret = r->p;
        *ret_len = n;
        r->p += n;
        r->left -= n;
        return 0;
}

static int skip_strings(reader *r, unsigned n) {
        for (unsigned i = 0; i < n; i++) {
                const uint8_t *s;
                size_t l;
                if (read_string(r, &s, &l) < 0)
                        return -EBADMSG;
        }
        return 0;
}

/* Text from the blob: no NUL, at most SSHCERT_STRING_MAX bytes. */
static int copy_text(const uint8_t *s, size_t len, char *buf, size_t size) {
        if (len >= size || len > SSHCERT_STRING_MAX || memchr(s, '\0', len))
                return -EBADMSG;
        memcpy(buf, s, len);
        buf[len] = '\0';
        return 0;
}

/* The public-key fields each certificate type carries before the serial. */
static const struct {
        const char *type;
        unsigned fields;
} cert_types[] = {
        { "ssh-ed25519-cert-v01@openssh.com", 1 },
        { "sk-ssh-ed25519-cert-v01@openssh.com", 2 },
        { "ecdsa-sha2-nistp256-cert-v01@openssh.com", 2 },
        { "ecdsa-sha2-nistp384-cert-v01@openssh.com", 2 },
        { "ecdsa-sha2-nistp521-cert-v01@openssh.com", 2 },
        { "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", 3 },
        { "ssh-rsa-cert-v01@openssh.com", 2 },
        { "ssh-dss-cert-v01@openssh.com", 4 },
};

static int fingerprint(const uint8_t *blob, size_t len, char ret[SSHCERT_FP_LEN + 1]) {
        uint8_t d[32];
        unsigned dl = 0;
        unsigned char b64[48];
        int n;

        if (EVP_Digest(blob, len, d, &dl, EVP_sha256(), NULL) != 1 || dl != 32)
                return -EIO;
        n = EVP_EncodeBlock(b64, d, 32); /* 44 characters with one '=' */
        while (n > 0 && b64[n - 1] == '=')
                n--;
        memcpy(ret, "SHA256:", 7);
        memcpy(ret + 7, b64, (size_t) n);
        ret[7 + n] = '\0';
        return 0;
}

/* A list of strings packed in one string (principals), or name/data pairs (options). */
static int read_list(const uint8_t *s, size_t len, bool pairs, char ***ret, size_t *ret_n) {
        reader r = { s, len };
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;

        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        while (r.left > 0) {
                const uint8_t *item, *data;
                size_t ilen, dlen;
                char buf[SSHCERT_STRING_MAX + 1];
                char **nl;

                if (n >= SSHCERT_PRINCIPALS_MAX || read_string(&r, &item, &ilen) < 0 ||
                    (pairs && read_string(&r, &data, &dlen) < 0) || copy_text(item, ilen, buf, sizeof(buf)) < 0)
                        return -EBADMSG;
                nl = realloc(l, (n + 2) * sizeof(char *));
                if (!nl)
                        return -ENOMEM;
                l = nl;
                l[n] = strdup(buf);
                if (!l[n])
                        return -ENOMEM;
                l[++n] = NULL;
        }
        *ret = TAKE_PTR(l);
        if (ret_n)
                *ret_n = n;
        return 0;
}

void sshcert_done(sshcert *c) {
        strv_free(c->principals);
        strv_free(c->critical_options);
        strv_free(c->extensions);
        *c = (sshcert){ 0 };
}

int sshcert_parse(const uint8_t *blob, size_t len, sshcert *ret) {
        _cleanup_(sshcert_done) sshcert c = { 0 };
        reader r = { blob, len };
        const uint8_t *s, *sigkey;
        size_t l, sigkey_len;
        unsigned fields = 0;
        bool known = false;
        int k;

        if (len > SSHCERT_BLOB_MAX)
                return -EBADMSG;
        if (read_string(&r, &s, &l) < 0 || copy_text(s, l, c.key_type, sizeof(c.key_type)) < 0)
                return -EBADMSG;
        for (size_t i = 0; i < ELEMENTSOF(cert_types); i++)
                if (streq(c.key_type, cert_types[i].type)) {
                        fields = cert_types[i].fields;
                        known = true;
                }
        if (!known)
                return -EBADMSG;
        /* nonce, then the certified key's own fields */
        if (skip_strings(&r, 1 + fields) < 0 || read_u64(&r, &c.serial) < 0 || read_u32(&r, &c.cert_type) < 0)
                return -EBADMSG;
        if (read_string(&r, &s, &l) < 0 || copy_text(s, l, c.key_id, sizeof(c.key_id)) < 0)
                return -EBADMSG;
        if (read_string(&r, &s, &l) < 0)
                return -EBADMSG;
        k = read_list(s, l, false, &c.principals, &c.n_principals);
        if (k < 0)
                return k;
        if (read_u64(&r, &c.valid_after) < 0 || read_u64(&r, &c.valid_before) < 0)
                return -EBADMSG;
        if (read_string(&r, &s, &l) < 0)
                return -EBADMSG;
        k = read_list(s, l, true, &c.critical_options, &c.n_critical_options);
        if (k < 0)
                return k;
        if (read_string(&r, &s, &l) < 0)
                return -EBADMSG;
        k = read_list(s, l, true, &c.extensions, NULL);
        if (k < 0)
                return k;
        /* reserved, signature key, signature: and nothing after */
        if (read_string(&r, &s, &l) < 0 || read_string(&r, &sigkey, &sigkey_len) < 0 || sigkey_len == 0 ||
            read_string(&r, &s, &l) < 0 || r.left != 0)
                return -EBADMSG;
        if (fingerprint(sigkey, sigkey_len, c.ca_fingerprint) < 0 || fingerprint(blob, len, c.cert_fingerprint) < 0)
                return -EIO;
        *ret = c;
        /* Handed out: the cleanup, which reads c, must not free it. */
        c = (sshcert){ 0 }; // NOLINT(clang-analyzer-deadcode.DeadStores)
        return 0;
}

/* Standard base64 with padding, as authorized_keys lines carry it. */
static int base64_decode(const char *in, size_t len, uint8_t **ret, size_t *ret_len) {
        size_t pad = 0;
        uint8_t *out;
        int n;

        if (len == 0 || len % 4 != 0 || len > 4 * (SSHCERT_BLOB_MAX / 3 + 1))
                return -EBADMSG;
        for (size_t i = 0; i < len; i++) {
                char ch = in[i];
                bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                          ch == '+' || ch == '/' || (ch == '=' && i >= len - 2);
                if (!ok)
                        return -EBADMSG;
        }
        if (in[len - 1] == '=')
                pad = in[len - 2] == '=' ? 2 : 1;
        out = malloc(len / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        n = EVP_DecodeBlock(out, (const unsigned char *) in, (int) len);
        if (n < 0 || (size_t) n < pad) {
                free(out);
                return -EBADMSG;
        }
        *ret = out;
        *ret_len = (size_t) n - pad;
        return 0;
}

#define CERT_SUFFIX "-cert-v01@openssh.com"

int sshcert_from_auth_info(const char *info, sshcert *ret) {
        _cleanup_(sshcert_done) sshcert last = { 0 };
        bool found = false;
        int damaged = 0;

        for (const char *line = info; line && *line;) {
                const char *nl = strchr(line, '\n');
                size_t n = nl ? (size_t) (nl - line) : strlen(line);
                char type[64];
                const char *sp1, *sp2, *b64;
                size_t tlen, blen;

                /* "publickey TYPE BASE64" */
                if (n > 8 && n < 4 * SSHCERT_BLOB_MAX && strncmp(line, "publickey ", 10) == 0) {
                        sp1 = line + 10;
                        sp2 = memchr(sp1, ' ', n - 10);
                        if (sp2) {
                                tlen = (size_t) (sp2 - sp1);
                                b64 = sp2 + 1;
                                blen = n - (size_t) (b64 - line);
                                if (tlen < sizeof(type) && tlen > strlen(CERT_SUFFIX) &&
                                    memcmp(sp1 + tlen - strlen(CERT_SUFFIX), CERT_SUFFIX, strlen(CERT_SUFFIX)) == 0) {
                                        _cleanup_free_ uint8_t *blob = NULL;
                                        sshcert c;
                                        size_t len;
                                        int k;

                                        memcpy(type, sp1, tlen);
                                        type[tlen] = '\0';
                                        k = base64_decode(b64, blen, &blob, &len);
                                        if (k == 0)
                                                k = sshcert_parse(blob, len, &c);
                                        if (k == 0 && !streq(c.key_type, type)) {
                                                sshcert_done(&c);
                                                k = -EBADMSG;
                                        }
                                        if (k < 0)
                                                damaged = k;
                                        else {
                                                /* The last certificate line wins (the method that completed last). */
                                                sshcert_done(&last);
                                                last = c;
                                                found = true;
                                        }
                                }
                        }
                }
                line = nl ? nl + 1 : NULL;
        }
        /* A damaged certificate line anywhere fails the whole value: sshd wrote it,
         * so damage means something is wrong, and nothing is handed out. */
        if (damaged < 0)
                return damaged;
        if (!found)
                return -ENOENT;
        *ret = last;
        last = (sshcert){ 0 }; // NOLINT(clang-analyzer-deadcode.DeadStores): read by the cleanup
        return 0;
}

bool sshcert_has_principal(const sshcert *c, const char *user) {
        for (char **p = c->principals; p && *p; p++)
                if (streq(*p, user))
                        return true;
        return false;
}

int sshcert_key_fingerprint(const char *key_line, char ret[SSHCERT_FP_LEN + 1]) {
        const char *sp = strchr(key_line, ' '), *end;
        _cleanup_free_ uint8_t *blob = NULL;
        size_t len;

        if (strncmp(key_line, "SHA256:", 7) == 0) {
                /* ssh-keygen's form: 43 characters of unpadded standard base64. */
                if (strlen(key_line) != SSHCERT_FP_LEN ||
                    strspn(key_line + 7, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") !=
                            SSHCERT_FP_LEN - 7)
                        return -EINVAL;
                strcpy(ret, key_line);
                return 0;
        }
        if (!sp)
                return -EINVAL;
        sp++;
        end = strchr(sp, ' ');
        if (base64_decode(sp, end ? (size_t) (end - sp) : strlen(sp), &blob, &len) < 0)
                return -EINVAL;
        return fingerprint(blob, len, ret) < 0 ? -EINVAL : 0;
}
