/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fuzz targets' shared fixtures (see fuzz.h). */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ephem/b64url.h"
#include "ephem/macro.h"
#include "fuzz-keys.h"

void fuzz_die(const char *fmt, ...) {
        va_list ap;

        fputs("fuzz fixture failed: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        _exit(2);
}

void fuzz_note(const char *fmt, ...) {
        static int verbose = -1;
        va_list ap;

        if (verbose < 0)
                verbose = getenv("FUZZ_VERBOSE") && streq(getenv("FUZZ_VERBOSE"), "1");
        if (!verbose)
                return;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

char *fuzz_strndup(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);

        if (!s)
                return NULL;
        memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

static char *tmpdir;

static int rm_entry(const char *path, const struct stat *st _unused_, int type _unused_, struct FTW *f _unused_) {
        (void) remove(path);
        return 0;
}

static void tmpdir_remove(void) {
        if (tmpdir)
                (void) nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

const char *fuzz_tmpdir(void) {
        const char *base;

        if (tmpdir)
                return tmpdir;
        base = getenv("TMPDIR");
        if (asprintf(&tmpdir, "%s/ephem-fuzz.XXXXXX", base && *base ? base : "/tmp") < 0)
                fuzz_die("out of memory");
        if (!mkdtemp(tmpdir))
                fuzz_die("mkdtemp(%s): %m", tmpdir);
        atexit(tmpdir_remove);
        return tmpdir;
}

char *fuzz_path(const char *fmt, ...) {
        _cleanup_free_ char *rel = NULL;
        char *path = NULL;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&rel, fmt, ap);
        va_end(ap);
        if (n < 0 || asprintf(&path, "%s/%s", fuzz_tmpdir(), rel) < 0)
                fuzz_die("out of memory");
        return path;
}

void fuzz_write_file(const char *path, const void *data, size_t len, mode_t mode) {
        _cleanup_close_ int fd = -1;
        size_t off = 0;

        (void) unlink(path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0)
                fuzz_die("open(%s): %m", path);
        while (off < len) {
                ssize_t k = write(fd, (const char *) data + off, len - off);
                if (k < 0)
                        fuzz_die("write(%s): %m", path);
                off += (size_t) k;
        }
        if (fchmod(fd, mode) < 0)
                fuzz_die("fchmod(%s): %m", path);
}

void fuzz_mkdir(const char *path, mode_t mode) {
        if (mkdir(path, mode) < 0 && errno != EEXIST)
                fuzz_die("mkdir(%s): %m", path);
        if (chmod(path, mode) < 0)
                fuzz_die("chmod(%s): %m", path);
}

void fuzz_clear_dir(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (asprintf(&p, "%s/%s", dir, de->d_name) < 0)
                        fuzz_die("out of memory");
                (void) nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
        }
        closedir(d);
}

int fuzz_count_entries(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        if (!d)
                return -1;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

static EVP_PKEY *keys[_JWS_ALG_MAX];

EVP_PKEY *fuzz_key(jws_alg alg) {
        static const char *const pem[_JWS_ALG_MAX] = {
                [JWS_ES256] = FUZZ_KEY_P256, [JWS_ES384] = FUZZ_KEY_P384,    [JWS_RS256] = FUZZ_KEY_RSA,
                [JWS_PS256] = FUZZ_KEY_RSA,  [JWS_EDDSA] = FUZZ_KEY_ED25519,
        };

        if (alg < 0 || alg >= _JWS_ALG_MAX)
                return NULL;
        if (!keys[alg] && private_key_from_pem(pem[alg], strlen(pem[alg]), &keys[alg]) < 0)
                fuzz_die("fixed key for %s does not load", jws_alg_to_string(alg));
        return keys[alg];
}

static json_t *public_jwk(jws_alg alg, const char *kid) {
        json_t *jwk = NULL;
        key_type t;

        if (key_public_jwk(fuzz_key(alg), &t, &jwk) < 0 ||
            (kid && json_object_set_new(jwk, "kid", json_string(kid)) < 0))
                fuzz_die("public JWK for %s", jws_alg_to_string(alg));
        return jwk;
}

static char *config_text;

const char *fuzz_host_config_text(void) {
        return config_text;
}

static fuzz_host host;

const fuzz_host *fuzz_host_get(void) {
        _cleanup_free_ char *jwks_path = NULL, *pem_path = NULL, *jwks = NULL, *home = NULL;
        json_t *doc;
        conf_error err = { 0 };
        BIO *bio;
        long n;
        char *data = NULL;

        if (host.config)
                return &host;
        host.dir = strdup(fuzz_tmpdir());
        host.config_path = fuzz_path("ephem.conf");
        host.state_dir = fuzz_path("state");
        host.revocation_dir = fuzz_path("revoked");
        host.quarantine_dir = fuzz_path("quarantine");
        host.breakglass_dir = fuzz_path("codes");
        home = fuzz_path("home");
        jwks_path = fuzz_path("broker.jwks");
        pem_path = fuzz_path("pem.pem");
        if (!host.dir)
                fuzz_die("out of memory");
        fuzz_mkdir(host.state_dir, 0755);
        fuzz_mkdir(host.revocation_dir, 0700);
        fuzz_mkdir(host.quarantine_dir, 0700);
        fuzz_mkdir(host.breakglass_dir, 0700);
        fuzz_mkdir(home, 0755);

        doc = json_pack("{s:[o,o,o,o]}", "keys", public_jwk(JWS_ES256, "es"), public_jwk(JWS_ES384, "es384"),
                        public_jwk(JWS_EDDSA, "ed"), public_jwk(JWS_RS256, "rs"));
        jwks = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
        json_decref(doc);
        if (!jwks)
                fuzz_die("out of memory");
        fuzz_write_file(jwks_path, jwks, strlen(jwks), 0644);

        bio = BIO_new(BIO_s_mem());
        if (!bio || PEM_write_bio_PUBKEY(bio, fuzz_key(JWS_RS256)) != 1)
                fuzz_die("PEM_write_bio_PUBKEY");
        n = BIO_get_mem_data(bio, &data);
        fuzz_write_file(pem_path, data, (size_t) n, 0644);
        BIO_free(bio);

        if (asprintf(&config_text,
                     "[host]\n"
                     "audience = " FUZZ_AUD " other.fuzz.example\n"
                     "leeway = 30s\n"
                     "max_token_lifetime = 15m\n"
                     "max_token_length = 65536\n"
                     "fail_delay = 0\n"
                     "state_dir = %s\n"
                     "revocation_dir = %s\n"
                     "\n"
                     "[users]\n"
                     "names = agent-* ci-* breakglass-*\n"
                     "home_base = %s\n"
                     "quarantine_dir = %s\n"
                     "\n"
                     "[issuer broker]\n"
                     "iss = " FUZZ_ISS "\n"
                     "keys = %s\n"
                     "\n"
                     "[issuer lax]\n"
                     "iss = " FUZZ_ISS_LAX "\n"
                     "keys = %s\n"
                     "algorithms = ES256 EdDSA\n"
                     "optional_claims = jti iat\n"
                     "max_token_lifetime = 1h\n"
                     "breakglass = yes\n"
                     "\n"
                     "[issuer pem]\n"
                     "iss = " FUZZ_ISS_PEM "\n"
                     "keys = %s\n"
                     "algorithms = RS256 PS256\n"
                     "\n"
                     "[rule agents]\n"
                     "issuer = broker pem\n"
                     "logins = agent-*\n"
                     "max_session = 10m\n"
                     "\n"
                     "[rule ci]\n"
                     "issuer = broker lax\n"
                     "claim.repository = acme/*\n"
                     "claim.ctx/ref = refs/heads/main\n"
                     "logins = ci-${run_id}\n"
                     "groups = adm\n"
                     "\n"
                     "[breakglass]\n"
                     "accounts = breakglass-*\n"
                     "codes = %s\n",
                     host.state_dir, host.revocation_dir, home, host.quarantine_dir, jwks_path, jwks_path, pem_path,
                     host.breakglass_dir) < 0)
                fuzz_die("out of memory");
        fuzz_write_file(host.config_path, config_text, strlen(config_text), 0644);
        if (config_load(host.config_path, 0, NULL, &host.config, &err) < 0)
                fuzz_die("%s:%u: %s", host.config_path, err.line, err.message);
        return &host;
}

/* The header's "alg", without judging anything else. */
static jws_alg header_alg(const char *s, size_t len) {
        _cleanup_free_ uint8_t *raw = NULL;
        size_t rawlen;
        json_t *h;
        jws_alg alg = JWS_ALG_INVALID;

        if (b64url_decode(s, len, &raw, &rawlen) < 0)
                return JWS_ALG_INVALID;
        h = json_loadb((const char *) raw, rawlen, 0, NULL);
        if (json_is_string(json_object_get(h, "alg")))
                alg = jws_alg_from_string(json_string_value(json_object_get(h, "alg")));
        json_decref(h);
        return alg;
}

/* "HEADER-JSON\nPAYLOAD-JSON" as "header.payload" (base64url), so that mutations work
 * on the JSON; NULL when the input is not of that form. */
static char *encode_json_pair(const char *s, size_t len) {
        const char *nl = memchr(s, '\n', len);
        _cleanup_free_ char *h = NULL, *p = NULL;
        char *out = NULL;

        if (len == 0 || s[0] != '{' || !nl || memchr(s, '\0', len))
                return NULL;
        if (b64url_encode((const uint8_t *) s, (size_t) (nl - s), &h) < 0 ||
            b64url_encode((const uint8_t *) nl + 1, len - (size_t) (nl + 1 - s), &p) < 0 ||
            asprintf(&out, "%s.%s", h, p) < 0)
                fuzz_die("out of memory");
        return out;
}

char *fuzz_sign_two_parts(const char *input, size_t input_len) {
        _cleanup_free_ char *encoded = encode_json_pair(input, input_len);
        const char *s = encoded ? encoded : input, *dot;
        size_t len = encoded ? strlen(encoded) : input_len;
        _cleanup_free_ uint8_t *sig = NULL;
        _cleanup_free_ char *sig64 = NULL;
        size_t siglen = 0;
        char *out = NULL;
        jws_alg alg;

        dot = memchr(s, '.', len);
        if (!dot || memchr(dot + 1, '.', len - (size_t) (dot + 1 - s)) || memchr(s, '\0', len))
                return NULL;
        alg = header_alg(s, (size_t) (dot - s));
        if (alg == JWS_ALG_INVALID)
                return NULL;
        if (jws_sign(fuzz_key(alg), alg, (const uint8_t *) s, len, &sig, &siglen) < 0 ||
            b64url_encode(sig, siglen, &sig64) < 0)
                fuzz_die("signing with the %s key failed", jws_alg_to_string(alg));
        if (asprintf(&out, "%.*s.%s", (int) len, s, sig64) < 0)
                fuzz_die("out of memory");
        return out;
}

void fuzz_failinject_from_input(const uint8_t **data, size_t *size, unsigned long *ret_fail_at, bool *ret_persistent) {
        unsigned v = 0;

        if (*size >= 2) {
                v = (unsigned) (*data)[0] | (unsigned) (*data)[1] << 8;
                *data += 2;
                *size -= 2;
        }
        *ret_fail_at = v & 0x7fff;
        *ret_persistent = v & 0x8000;
}

void fuzz_init(void) {
        if (!failinject_route_libraries())
                fuzz_die("OpenSSL allocated before the failure injection was set up");
}
