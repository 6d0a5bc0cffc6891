/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ephem/b64url.h"
#include "ephem/json.h"
#include "ephem/state.h"
#include "ephem/token.h"

void test_die(const char *fmt, ...) {
        va_list ap;

        fputs("test fixture failed: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        abort();
}

char *test_strdup_printf(const char *fmt, ...) {
        va_list ap;
        char *s = NULL;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0)
                test_die("out of memory");
        return s;
}

char *test_tmpdir(void) {
        const char *base = getenv("TMPDIR");
        char *path = test_strdup_printf("%s/ephem-test.XXXXXX", base && *base ? base : "/tmp");

        if (!mkdtemp(path))
                test_die("mkdtemp(%s): %s", path, strerror(errno));
        return path;
}

static int rm_entry(const char *path, const struct stat *st _unused_, int type _unused_, struct FTW *f _unused_) {
        if (remove(path) < 0 && errno != ENOENT)
                fprintf(stderr, "cannot remove %s: %s\n", path, strerror(errno));
        return 0;
}

void test_rmrf(const char *path) {
        if (path)
                (void) nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

void test_write_bytes(const char *path, const void *data, size_t len, mode_t mode) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        size_t off = 0;

        if (fd < 0)
                test_die("open(%s): %s", path, strerror(errno));
        while (off < len) {
                ssize_t k = write(fd, (const char *) data + off, len - off);
                if (k < 0)
                        test_die("write(%s): %s", path, strerror(errno));
                off += (size_t) k;
        }
        if (fchmod(fd, mode) < 0)
                test_die("fchmod(%s): %s", path, strerror(errno));
}

void test_write_file(const char *path, const char *text, mode_t mode) {
        test_write_bytes(path, text, strlen(text), mode);
}

char *test_read_file(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t cap = 0, len = 0;

        if (!f)
                return NULL;
        for (;;) {
                if (len + 4096 + 1 > cap) {
                        cap = cap ? cap * 2 : 8192;
                        buf = realloc(buf, cap);
                        if (!buf)
                                test_die("out of memory");
                }
                size_t k = fread(buf + len, 1, cap - len - 1, f);
                len += k;
                if (k == 0)
                        break;
        }
        fclose(f);
        buf[len] = '\0';
        return buf;
}

int test_count_entries(const char *dir, const char *glob) {
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        if (!d)
                return -1;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..") && fnmatch(glob, de->d_name, 0) == 0)
                        n++;
        closedir(d);
        return n;
}

EVP_PKEY *test_keygen_rsa(unsigned bits) {
        EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) bits);
        if (!k)
                test_die("RSA-%u key generation failed", bits);
        return k;
}

EVP_PKEY *test_keygen(jws_alg alg) {
        EVP_PKEY *k = NULL;

        switch (alg) {
        case JWS_ES256:
                k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
                break;
        case JWS_ES384:
                k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
                break;
        case JWS_RS256:
        case JWS_PS256:
                return test_keygen_rsa(2048);
        case JWS_EDDSA:
                k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
                break;
        default:
                break;
        }
        if (!k)
                test_die("key generation for %s failed", jws_alg_to_string(alg));
        return k;
}

json_t *test_jwk(EVP_PKEY *key, const char *kid, const char *alg) {
        json_t *jwk = NULL;
        key_type t;

        if (key_public_jwk(key, &t, &jwk) < 0)
                test_die("key_public_jwk failed");
        if ((kid && json_object_set_new(jwk, "kid", json_string(kid)) < 0) ||
            (alg && json_object_set_new(jwk, "alg", json_string(alg)) < 0))
                test_die("out of memory");
        return jwk;
}

char *test_jwks(json_t *first, ...) {
        json_t *keys = json_array(), *doc;
        va_list ap;
        char *text;

        va_start(ap, first);
        for (json_t *k = first; k; k = va_arg(ap, json_t *))
                if (json_array_append_new(keys, k) < 0)
                        test_die("out of memory");
        va_end(ap);
        doc = json_pack("{s:o}", "keys", keys);
        text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
        if (!text)
                test_die("out of memory");
        json_decref(doc);
        return text;
}

char *test_pem_public(EVP_PKEY *key) {
        BIO *bio = BIO_new(BIO_s_mem());
        char *data = NULL, *out;
        long n;

        if (!bio || PEM_write_bio_PUBKEY(bio, key) != 1)
                test_die("PEM_write_bio_PUBKEY failed");
        n = BIO_get_mem_data(bio, &data);
        out = strndup(data, (size_t) n);
        BIO_free(bio);
        if (!out)
                test_die("out of memory");
        return out;
}

char *test_b64(const void *data, size_t len) {
        char *s = NULL;

        if (b64url_encode(data, len, &s) < 0)
                test_die("out of memory");
        return s;
}

char *test_b64s(const char *s) {
        return test_b64(s, strlen(s));
}

json_t *test_claims(int64_t now, const char *sub) {
        char jti[33];
        json_t *c;

        if (random_hex(jti, 16) < 0)
                test_die("no randomness");
        c = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", TEST_ISS, "aud", TEST_AUD, "sub", sub, "jti", jti, "iat",
                      (json_int_t) now, "exp", (json_int_t) (now + 300));
        if (!c)
                test_die("out of memory");
        return c;
}

char *test_token_header(EVP_PKEY *key, jws_alg alg, const json_t *header, const json_t *claims) {
        char *token = NULL;
        int r = jws_compact_sign(key, alg, header, claims, &token);

        if (r < 0)
                test_die("jws_compact_sign(%s): %s", jws_alg_to_string(alg), strerror(-r));
        return token;
}

char *test_token(EVP_PKEY *key, jws_alg alg, const char *kid, const json_t *claims) {
        json_t *header = json_pack("{s:s, s:s}", "alg", jws_alg_to_string(alg), "typ", "JWT");
        char *token;

        if (!header || (kid && json_object_set_new(header, "kid", json_string(kid)) < 0))
                test_die("out of memory");
        token = test_token_header(key, alg, header, claims);
        json_decref(header);
        return token;
}

char *test_token_raw(const char *header_json, const char *payload_json, const char *signature_b64) {
        _cleanup_free_ char *h = test_b64s(header_json), *p = test_b64s(payload_json);
        return test_strdup_printf("%s.%s.%s", h, p, signature_b64);
}

char *test_token_signed_raw(EVP_PKEY *key, jws_alg alg, const char *header_json, const char *payload_json) {
        _cleanup_free_ char *h = test_b64s(header_json), *p = test_b64s(payload_json), *input = NULL, *s = NULL;
        _cleanup_free_ uint8_t *sig = NULL;
        size_t siglen = 0;

        input = test_strdup_printf("%s.%s", h, p);
        if (jws_sign(key, alg, (const uint8_t *) input, strlen(input), &sig, &siglen) < 0)
                test_die("jws_sign(%s) failed", jws_alg_to_string(alg));
        s = test_b64(sig, siglen);
        return test_strdup_printf("%s.%s", input, s);
}

void test_host_write_config(const test_host *h, const char *path, const char *revocation_dir, const char *host_settings,
                            const char *rules, const char *extra) {
        _cleanup_free_ char *rev = revocation_dir ? NULL : test_strdup_printf("%s/revoked", h->dir);
        _cleanup_free_ char *text = test_strdup_printf(
                "# written by the test suite\n"
                "[host]\n"
                "audience = " TEST_AUD "\n"
                "leeway = %ds\n"
                "max_token_lifetime = %ds\n"
                "fail_delay = 0\n"
                "state_dir = %s\n"
                "revocation_dir = %s\n"
                "%s"
                "\n"
                "[users]\n"
                "names = agent-* ci-*\n"
                "home_base = %s/home\n"
                "quarantine_dir = %s/quarantine\n"
                "\n"
                "[issuer broker]\n"
                "iss = " TEST_ISS "\n"
                "keys = %s\n"
                "\n"
                "%s"
                "\n"
                "%s",
                TEST_LEEWAY, TEST_MAX_LIFETIME, h->state_dir, revocation_dir ? revocation_dir : rev,
                host_settings ? host_settings : "", h->dir, h->dir, h->jwks_path,
                rules ? rules : "[rule agents]\nissuer = broker\nlogins = agent-*\n", extra ? extra : "");

        test_write_file(path, text, 0644);
}

static void host_write_config(test_host *h, const char *host_settings, const char *extra) {
        test_host_write_config(h, h->config_path, NULL, host_settings, NULL, extra);
}

test_host *test_host_new(const char *extra) {
        test_host *h = calloc(1, sizeof(*h));
        _cleanup_free_ char *jwks = NULL;

        if (!h)
                test_die("out of memory");
        h->dir = test_tmpdir();
        h->config_path = test_strdup_printf("%s/ephem.conf", h->dir);
        h->state_dir = test_strdup_printf("%s/state", h->dir);
        h->jwks_path = test_strdup_printf("%s/broker.jwks", h->dir);
        h->key = test_keygen(JWS_ES256);
        jwks = test_jwks(test_jwk(h->key, TEST_KID, "ES256"), NULL);
        test_write_file(h->jwks_path, jwks, 0644);
        host_write_config(h, NULL, extra);
        return h;
}

void test_host_configure(test_host *h, const char *host_settings, const char *extra) {
        host_write_config(h, host_settings, extra);
}

void test_host_free(test_host *h) {
        if (!h)
                return;
        test_rmrf(h->dir);
        free(h->dir);
        free(h->config_path);
        free(h->state_dir);
        free(h->jwks_path);
        EVP_PKEY_free(h->key);
        free(h);
}

ephem_config *test_host_config(const test_host *h) {
        conf_error err = { 0 };
        ephem_config *c = NULL;
        int r = config_load(h->config_path, 0, NULL, &c, &err);

        if (r < 0)
                test_die("%s:%u: %s", h->config_path, err.line, err.message);
        return c;
}

char *test_host_token(const test_host *h, int64_t now, const char *sub) {
        json_t *claims = test_claims(now, sub);
        char *token = test_token(h->key, JWS_ES256, TEST_KID, claims);

        json_decref(claims);
        return token;
}

ephem_reason test_verify(ephem_config *c, const char *token, int64_t now) {
        ephem_token *t = NULL;
        ephem_verdict v = { 0 };
        ephem_reason r = token_verify(c, token, strlen(token), now, &t, &v);

        if (r == EPHEM_OK && !t)
                test_die("token_verify returned OK without a token");
        if (r != EPHEM_OK && v.reason != r)
                test_die("token_verify returned %s but its verdict says %s", reason_id(r), reason_id(v.reason));
        token_free(t);
        return r;
}
