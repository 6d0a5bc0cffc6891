/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writes the named seeds of every fuzz target into DIR/<target>/: real tokens of
 * every algorithm signed with the fuzz host's keys at FUZZ_NOW, their "header.payload"
 * halves (which the harness signs), the fuzz host's JWKS and configuration, records
 * as the code writes them, revocation lists, DPoP proofs, break-glass codes and
 * prompt conversations. The checked-in corpora are these seeds merged with what the
 * fuzzers found (docs/fuzzing.md):
 *
 *   build-fuzz/fuzz/fuzz-seeds /tmp/seeds
 *   build-fuzz/fuzz/fuzz-NAME -merge=1 -use_counters=0 fuzz/corpus/NAME /tmp/seeds/NAME ...
 */
#include <errno.h>
#include <openssl/pem.h>
#include <string.h>
#include <sys/stat.h>

#include "ephem/b64url.h"
#include "ephem/dpop.h"
#include "ephem/login.h"
#include "ephem/macro.h"
#include "ephem/revocation.h"
#include "ephem/token.h"
#include "fuzz.h"

static const char *out;

static void seed(const char *target, const char *name, const void *data, size_t len) {
        _cleanup_free_ char *dir = NULL, *path = NULL;

        if (asprintf(&dir, "%s/%s", out, target) < 0 || asprintf(&path, "%s/%s", dir, name) < 0)
                fuzz_die("out of memory");
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                fuzz_die("mkdir(%s): %m", dir);
        fuzz_write_file(path, data, len, 0644);
}

static void seeds(const char *target, const char *name, const char *text) {
        seed(target, name, text, strlen(text));
}

/* A seed with a leading selector byte. */
static void seed_kind(const char *target, const char *name, uint8_t kind, const char *text, size_t len) {
        _cleanup_free_ char *buf = malloc(len + 1);

        if (!buf)
                fuzz_die("out of memory");
        buf[0] = (char) kind;
        memcpy(buf + 1, text, len);
        seed(target, name, buf, len + 1);
}

static char *sign(jws_alg alg, const char *header_json, const char *claims_json) {
        json_t *h = json_loads(header_json, 0, NULL), *c = json_loads(claims_json, 0, NULL);
        char *token = NULL;

        if (!h || !c || jws_compact_sign(fuzz_key(alg), alg, h, c, &token) < 0)
                fuzz_die("cannot sign %s / %s", header_json, claims_json);
        json_decref(h);
        json_decref(c);
        return token;
}

/* The two JSON texts on two lines: the harness encodes and signs them. */
static void seed_json_pair(const char *target, const char *name, const char *header_json, const char *claims_json) {
        _cleanup_free_ char *text = NULL, *n = NULL;

        if (asprintf(&text, "%s\n%s", header_json, claims_json) < 0 || asprintf(&n, "%s-json", name) < 0)
                fuzz_die("out of memory");
        seeds(target, n, text);
}

/* "header.payload" of raw JSON texts: the harness signs it. */
static char *unsigned_two_parts(const char *header_json, const char *claims_json) {
        _cleanup_free_ char *h = NULL, *c = NULL;
        char *s = NULL;

        if (b64url_encode((const uint8_t *) header_json, strlen(header_json), &h) < 0 ||
            b64url_encode((const uint8_t *) claims_json, strlen(claims_json), &c) < 0 ||
            asprintf(&s, "%s.%s", h, c) < 0)
                fuzz_die("out of memory");
        return s;
}

static char *claims(const char *iss, const char *sub, const char *extra) {
        char *s = NULL;

        bool own_aud = extra && strstr(extra, "\"aud\"");

        if (asprintf(&s, "{\"iss\":\"%s\",%s\"sub\":\"%s\",\"jti\":\"j-%s\",\"iat\":%lld,\"exp\":%lld%s%s}", iss,
                     own_aud ? "" : "\"aud\":\"" FUZZ_AUD "\",", sub, sub, (long long) FUZZ_NOW,
                     (long long) FUZZ_NOW + 300, extra ? "," : "", extra ? extra : "") < 0)
                fuzz_die("out of memory");
        return s;
}

static void token_seeds(void) {
        static const struct {
                const char *name;
                jws_alg alg;
                const char *header, *iss, *sub, *extra;
        } t[] = {
                { "es256", JWS_ES256, "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"es\"}", FUZZ_ISS, "agent-1", NULL },
                { "es384", JWS_ES384, "{\"alg\":\"ES384\",\"kid\":\"es384\"}", FUZZ_ISS, "agent-1", NULL },
                { "eddsa", JWS_EDDSA, "{\"alg\":\"EdDSA\",\"typ\":\"at+jwt\",\"kid\":\"ed\"}", FUZZ_ISS, "agent-1",
                  NULL },
                { "eddsa-nokid", JWS_EDDSA, "{\"alg\":\"EdDSA\"}", FUZZ_ISS, "agent-2", NULL },
                { "rs256", JWS_RS256, "{\"alg\":\"RS256\",\"typ\":\"application/jwt\",\"kid\":\"rs\"}", FUZZ_ISS,
                  "agent-1", NULL },
                { "ps256", JWS_PS256, "{\"alg\":\"PS256\",\"kid\":\"rs\"}", FUZZ_ISS, "agent-1", NULL },
                { "pem-rs256", JWS_RS256, "{\"alg\":\"RS256\"}", FUZZ_ISS_PEM, "agent-3", NULL },
                { "ci-claims", JWS_EDDSA, "{\"alg\":\"EdDSA\",\"kid\":\"ed\"}", FUZZ_ISS, "repo:acme/x",
                  "\"repository\":\"acme/deploy\",\"run_id\":\"42\",\"ctx\":{\"ref\":\"refs/heads/main\"},"
                  "\"aud\":[\"x\",\"" FUZZ_AUD "\"]" },
                { "delegation", JWS_EDDSA, "{\"alg\":\"EdDSA\",\"kid\":\"ed\"}", FUZZ_ISS, "agent-1",
                  "\"act\":{\"sub\":\"agent-b\",\"act\":{\"sub\":\"agent-a\"}},\"cnf\":{\"jkt\":\"abc\"},\"nbf\":1767225000" },
                { "lax-es256", JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"es\"}", FUZZ_ISS_LAX, "ci-build", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *c = claims(t[i].iss, t[i].sub, t[i].extra), *tok = sign(t[i].alg, t[i].header, c),
                                    *two = unsigned_two_parts(t[i].header, c), *name = NULL;

                seeds("token-verify", t[i].name, tok);
                seeds("token-parse", t[i].name, tok);
                if (asprintf(&name, "%s-unsigned", t[i].name) < 0)
                        fuzz_die("out of memory");
                seeds("token-verify", name, two);
                seed_json_pair("token-verify", t[i].name, t[i].header, c);
        }
        {
                /* Issuers without jti and iat (optional_claims), expired, future, wrong aud. */
                static const char *const variants[][2] = {
                        { "lax-no-jti-iat",
                          "{\"iss\":\"" FUZZ_ISS_LAX "\",\"aud\":\"" FUZZ_AUD
                          "\",\"sub\":\"ci-1\",\"exp\":1767226000,\"repository\":\"acme/a\",\"run_id\":\"7\",\"ctx\":{\"ref\":\"refs/heads/main\"}}" },
                        { "expired", "{\"iss\":\"" FUZZ_ISS "\",\"aud\":\"" FUZZ_AUD
                                     "\",\"sub\":\"a\",\"jti\":\"x\",\"iat\":1767200000,\"exp\":1767200300}" },
                        { "iat-future", "{\"iss\":\"" FUZZ_ISS "\",\"aud\":\"" FUZZ_AUD
                                        "\",\"sub\":\"a\",\"jti\":\"x\",\"iat\":1767229999,\"exp\":1767230000}" },
                        { "too-long-lived", "{\"iss\":\"" FUZZ_ISS "\",\"aud\":[\"" FUZZ_AUD
                                            "\"],\"sub\":\"a\",\"jti\":\"x\",\"iat\":1767225600,\"exp\":1767325600}" },
                        { "wrong-aud",
                          "{\"iss\":\"" FUZZ_ISS
                          "\",\"aud\":\"elsewhere\",\"sub\":\"a\",\"jti\":\"x\",\"iat\":1767225600,\"exp\":1767225900}" },
                        { "nbf-future",
                          "{\"iss\":\"" FUZZ_ISS "\",\"aud\":\"" FUZZ_AUD
                          "\",\"sub\":\"a\",\"jti\":\"x\",\"iat\":1767225600,\"exp\":1767225900,\"nbf\":1767225800}" },
                };
                for (size_t i = 0; i < ELEMENTSOF(variants); i++) {
                        seed_json_pair("token-verify", variants[i][0], "{\"alg\":\"EdDSA\",\"kid\":\"ed\"}",
                                       variants[i][1]);
                }
        }
        seeds("token-parse", "alg-none", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.");
        seeds("token-parse", "two-parts", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0");
        seeds("token-parse", "crit", "eyJhbGciOiJFUzI1NiIsImNyaXQiOlsiZXhwIl19.eyJzdWIiOiJ4In0.AAAA");
        seeds("token-parse", "jwk-header", "eyJhbGciOiJFUzI1NiIsImp3ayI6e319.eyJzdWIiOiJ4In0.AAAA");
}

static void keyset_seeds(void) {
        _cleanup_free_ char *jwks = NULL, *path = fuzz_path("broker.jwks");
        static const jws_alg algs[] = { JWS_ES256, JWS_ES384, JWS_EDDSA, JWS_RS256 };
        FILE *f;
        size_t n;

        (void) fuzz_host_get();
        f = fopen(path, "re");
        jwks = f ? malloc(65536) : NULL;
        if (!jwks)
                fuzz_die("cannot read %s", path);
        n = fread(jwks, 1, 65535, f);
        fclose(f);
        seed("keyset", "jwks", jwks, n);
        for (size_t i = 0; i < ELEMENTSOF(algs); i++) {
                BIO *bio = BIO_new(BIO_s_mem());
                json_t *jwk = NULL;
                key_type t;
                char *data = NULL, name[32], *text;
                long len;

                if (!bio || PEM_write_bio_PUBKEY(bio, fuzz_key(algs[i])) != 1)
                        fuzz_die("PEM_write_bio_PUBKEY");
                len = BIO_get_mem_data(bio, &data);
                (void) snprintf(name, sizeof(name), "pem-%s", jws_alg_to_string(algs[i]));
                seed("keyset", name, data, (size_t) len);
                BIO_free(bio);
                if (key_public_jwk(fuzz_key(algs[i]), &t, &jwk) < 0)
                        fuzz_die("key_public_jwk");
                (void) json_object_set_new(jwk, "alg", json_string(jws_alg_to_string(algs[i])));
                (void) json_object_set_new(jwk, "use", json_string("sig"));
                text = json_dumps(jwk, JSON_COMPACT);
                (void) snprintf(name, sizeof(name), "jwk-%s", jws_alg_to_string(algs[i]));
                seeds("keyset", name, text);
                free(text);
                json_decref(jwk);
        }
        seeds("keyset", "enc-and-x5c",
              "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"enc\",\"n\":\"AQAB\",\"e\":\"AQAB\"},"
              "{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"AA\",\"y\":\"AA\"},"
              "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"AA\",\"key_ops\":[\"deriveKey\"]}]}");
        seeds("keyset", "private", "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AA\",\"d\":\"AA\"}");
}

static void config_seeds(void) {
        const char *text = (fuzz_host_get(), fuzz_host_config_text());
        static const char args[] = "\0debug\0config=/x\0leeway=10s\0max_token_length=1024\0state_dir=/run/e";

        seeds("config", "fuzz-host", text);
        {
                size_t n = strlen(text);
                _cleanup_free_ char *with_args = malloc(n + sizeof(args));
                if (!with_args)
                        fuzz_die("out of memory");
                memcpy(with_args, text, n);
                memcpy(with_args + n, args, sizeof(args) - 1);
                seed("config", "fuzz-host-with-args", with_args, n + sizeof(args) - 1);
        }
        seeds("config", "readme",
              "# what tokens for this host carry in \"aud\"\n[host]\naudience = build-host-17.example.com\n"
              "max_token_lifetime = 15m\n\n[users]\nnames = agent-* ci-*\nuid_range = 1879048192-2147352575\n\n"
              "[issuer ci]\niss = https://token.actions.githubusercontent.com\nkeys = /etc/ephem/keys/ci.jwks\n"
              "algorithms = RS256\n\n[rule deploy-jobs]\nissuer = ci\nclaim.repository = acme/deploy-*\n"
              "claim.ref = refs/heads/main\nlogins = ci-${run_id}\ngroups = deploy\nmax_session = 30m\n");
        seeds("config", "users-only",
              "[users]\nnames = a-?? b*\nhome_base = /home/e/\nshell = /bin/bash\n"
              "gecos = x y\nquarantine = 7d\nskel = /etc/skel\n[host]\nstate_dir = /run/x\n");
}

static void record_seeds(void) {
        static const char login[] = "user=agent-1\nfingerprint=0123456789abcdef\nissuer=broker\niss=https://b\n"
                                    "sub=s%0Ax\njti=j\nrule=agents\nexp=1767225900\niat=1767225600\n"
                                    "auth_time=1767225600\nmax_session=600\nbreakglass=0\ngroup=adm\ngroup=wheel\n";
        static const char session[] = "user=agent-1\nuid=1900000000\nleader=123\nleader_start=456\n"
                                      "start=1767225600\ndeadline=1767225900\nwarn_at=1767225840\n"
                                      "deadline_reason=token_expiry\nfingerprint=0123456789abcdef\nissuer=broker\n"
                                      "iss=https://b\nsub=s\njti=j\nrule=agents\nservice=sshd\nrhost=10.0.0.1\n"
                                      "cgroup=/sys/fs/cgroup/ephem/0123456789abcdef\nlogind=\nbreakglass=0\n";
        static const char revoked[] = "kind=jti\niss=https://broker.fuzz.example\nvalue=fuzz-jti\nuntil=1767225000\n"
                                      "added=1767220000\nadded_us=1767220000000000\nsource=cli\n";
        static const char revoked_forever[] = "kind=jti\niss=x\nvalue=fuzz-jti\nuntil=0\nadded=1\nsource=list:broker\n";
        static const char quarantine[] = "name=agent-2\nremoved=1767000000\nuntil=1769000000\n";
        static const char quarantine_other[] = "name=agent-9\nremoved=1767000000\nuntil=1769000000\n";
        unsigned uid = (unsigned) userconf_uid(&fuzz_host_get()->config->users, "agent-2");
        _cleanup_free_ char *user = NULL;
        static const char applied[] = "iat=1767225000\n";

        seed_kind("records", "login", 0, login, strlen(login));
        seed_kind("records", "session", 1, session, strlen(session));
        seed_kind("records", "revocation-lapsed", 2, revoked, strlen(revoked));
        seed_kind("records", "revocation-forever", 2, revoked_forever, strlen(revoked_forever));
        seed_kind("records", "quarantine-self", 3, quarantine, strlen(quarantine));
        seed_kind("records", "quarantine-other", 3, quarantine_other, strlen(quarantine_other));
        if (asprintf(&user,
                     "v=1\nname=agent-2\nuid=%1$u\ngid=%1$u\ngecos=ephem transient user\n"
                     "home=/home/ephem/agent-2\nshell=/bin/sh\ngroup=4\ncreated=1767225600\nexpires=1767225900\n",
                     uid) < 0)
                fuzz_die("out of memory");
        seed_kind("records", "user-by-uid", 4, user, strlen(user));
        seed_kind("records", "applied", 5, applied, strlen(applied));
}

static void revocation_seeds(void) {
        static const char *const lists[][2] = {
                { "all-kinds",
                  "{\"iss\":\"" FUZZ_ISS "\",\"iat\":1767225500,\"revoked\":[{\"jti\":\"j1\",\"exp\":1767229999},"
                  "{\"sub\":\"s1\",\"until\":0},{\"user\":\"agent-1\"},{\"fp\":\"0123456789abcdef\",\"until\":1767229999},"
                  "{\"jti\":\"lapsed\",\"exp\":1}]}" },
                { "empty", "{\"iss\":\"" FUZZ_ISS "\",\"iat\":1767225500,\"revoked\":[]}" },
                { "lax", "{\"iss\":\"" FUZZ_ISS_LAX "\",\"iat\":1767225500,\"revoked\":[{\"sub\":\"x\"}]}" },
        };

        for (size_t i = 0; i < ELEMENTSOF(lists); i++) {
                static const char header[] = "{\"alg\":\"EdDSA\",\"typ\":\"revocation+jwt\",\"kid\":\"ed\"}";
                _cleanup_free_ char *doc = sign(JWS_EDDSA, header, lists[i][1]),
                                    *two = unsigned_two_parts(header, lists[i][1]), *name = NULL;
                seeds("revocation-doc", lists[i][0], doc);
                if (asprintf(&name, "%s-unsigned", lists[i][0]) < 0)
                        fuzz_die("out of memory");
                seeds("revocation-doc", name, two);
                seed_json_pair("revocation-doc", lists[i][0], header, lists[i][1]);
        }
}

static void breakglass_seeds(void) {
        static const char code_file[] = "kdf=scrypt\nn=32768\nr=8\np=1\nsalt=00112233445566778899aabbccddeeff\n"
                                        "hash=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
                                        "created=1767225600\n";
        static const char used[] = "kdf=scrypt\nn=32768\nr=8\np=1\nsalt=00112233445566778899aabbccddeeff\n"
                                   "hash=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
                                   "created=1767225600\n\0used_at=1767225700\nused_from=10.1.2.3\n";
        static const char failures[] = "failures=3\nlast_ms=1767225600000\n";

        seed_kind("breakglass", "code", 0, "07-K3M9QD-7TXW2P-HB4R8N-ZJ6C1V", 30);
        seed_kind("breakglass", "code-lower-spaces", 0, "999-k3m9qd 7txw2p hb4r8n zj6c1v", 31);
        seed_kind("breakglass", "code-file", 1, code_file, strlen(code_file));
        seed_kind("breakglass", "used-code", 2, used, sizeof(used) - 1);
        seed_kind("breakglass", "failures", 3, failures, strlen(failures));
}

static void dpop_seeds(void) {
        json_t *jwk = NULL;
        key_type t;
        char ath[DPOP_ATH_LEN + 1];
        _cleanup_free_ char *jwk_text = NULL, *header = NULL, *claims_text = NULL, *proof = NULL, *two = NULL;

        if (key_public_jwk(fuzz_key(JWS_ES256), &t, &jwk) < 0 || dpop_ath("fuzz.token.presented", 20, ath) < 0)
                fuzz_die("jwk");
        jwk_text = json_dumps(jwk, JSON_COMPACT);
        json_decref(jwk);
        if (asprintf(&header, "{\"alg\":\"ES256\",\"typ\":\"dpop+jwt\",\"jwk\":%s}", jwk_text) < 0 ||
            asprintf(&claims_text,
                     "{\"htm\":\"SSH\",\"htu\":\"ssh://agent-1@" FUZZ_AUD "\",\"iat\":%lld,\"jti\":\"p1\","
                     "\"ath\":\"%s\",\"nonce\":\"bm9uY2Utbm9uY2Utbm9uYw\"}",
                     (long long) FUZZ_NOW, ath) < 0)
                fuzz_die("out of memory");
        proof = sign(JWS_ES256, header, claims_text);
        two = unsigned_two_parts(header, claims_text);
        seeds("dpop", "proof", proof);
        seeds("dpop", "proof-unsigned", two);
        seed_json_pair("dpop", "proof", header, claims_text);
}

static void prompt_seeds(void) {
        static const char single[] = "\x01"
                                     "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA";
        static const char multi[] = "\x02"
                                    "multipart:3:eyJhbGciOiJFUzI1NiJ9\n.eyJzdWIiOiJ4In0\n.AAAA";
        static const char no_response[] = "\x00"
                                          "multipart:2:abc\n\x01";
        static const char conv_error[] = "\x03"
                                         "multipart:80:a\nb\n\x02";
        static const char bad[] = "\x00"
                                  "multipart:02:abc";
        char limit[1 + 1023 + 1];

        seed("prompt", "single", single, sizeof(single) - 1);
        seed("prompt", "multipart", multi, sizeof(multi) - 1);
        seed("prompt", "no-response", no_response, sizeof(no_response) - 1);
        seed("prompt", "conv-error", conv_error, sizeof(conv_error) - 1);
        seed("prompt", "bad-announcement", bad, sizeof(bad) - 1);
        limit[0] = 1;
        memset(limit + 1, 'a', 1023);
        seed("prompt", "openssh-limit", limit, 1 + 1023);
}

int main(int argc, char *argv[]) {
        if (argc != 2) {
                fprintf(stderr, "usage: %s DIR\n", argv[0]);
                return 2;
        }
        out = argv[1];
        if (mkdir(out, 0755) < 0 && errno != EEXIST)
                fuzz_die("mkdir(%s): %m", out);
        token_seeds();
        keyset_seeds();
        config_seeds();
        record_seeds();
        revocation_seeds();
        breakglass_seeds();
        dpop_seeds();
        prompt_seeds();
        return 0;
}
