/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a login costs: pam_authenticate() of pam_ephem in this process (libpam with
 * pam_start_confdir(), an absolute-path service file) with an ES256 token against a
 * JWKS of 3 keys, the replay check included (a fresh jti per login: N tokens are
 * minted beforehand with the core's signer), next to a bare OpenSSL ES256
 * verification of the same tokens (base64url signature, r||s to DER,
 * EVP_DigestVerify with a ready key). Prints p50/p99 of both and their ratio, and,
 * to show where the difference goes, the core's token_verify() alone and a whole
 * PAM transaction per login (configuration and JWKS read each time).
 *
 * Usage: bench-auth /path/to/pam_ephem.so [N]
 *   (ninja -C build bench-auth, or meson test -C build --benchmark)
 * The state directory lives on /dev/shm when it exists (as /run/ephem is tmpfs),
 * else under $TMPDIR.
 */
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ephem/audit.h"
#include "ephem/b64url.h"
#include "ephem/login.h"
#include "ephem/macro.h"
#include "ephem/policy.h"
#include "ephem/replay.h"
#include "ephem/revocation.h"
#include "ephem/store.h"
#include "ephem/token.h"
#include "pamutil.h"
#include "testutil.h"

static double now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p) {
        size_t i = (size_t) (p * (double) (n - 1) + 0.5);
        return v[i < n ? i : n - 1];
}

/* The bare verification: what any ES256 verifier has to do at the least. */
static int bare_verify(EVP_PKEY *key, const char *token) {
        const char *dot = strrchr(token, '.');
        _cleanup_free_ uint8_t *sig = NULL;
        unsigned char *der = NULL;
        size_t sig_len = 0;
        ECDSA_SIG *es;
        EVP_MD_CTX *md;
        int n, ok;

        if (b64url_decode(dot + 1, strlen(dot + 1), &sig, &sig_len) < 0 || sig_len != 64)
                return -1;
        es = ECDSA_SIG_new();
        ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
        n = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);
        md = EVP_MD_CTX_new();
        ok = n > 0 && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestVerify(md, der, (size_t) n, (const unsigned char *) token, (size_t) (dot - token)) == 1;
        EVP_MD_CTX_free(md);
        OPENSSL_free(der);
        return ok ? 0 : -1;
}

static void report(const char *what, double *v, size_t n, double *ret_p50, double *ret_p99) {
        qsort(v, n, sizeof(double), cmp_double);
        *ret_p50 = percentile(v, n, 0.50);
        *ret_p99 = percentile(v, n, 0.99);
        printf("  %-44s %10.1f %10.1f\n", what, *ret_p50, *ret_p99);
}

int main(int argc, char **argv) {
        size_t n = argc > 2 ? (size_t) strtoul(argv[2], NULL, 10) : 2000;
        struct stat st;
        test_host *h;
        _cleanup_pkey_ EVP_PKEY *k2 = NULL, *k3 = NULL;
        _cleanup_free_ char *jwks = NULL, *confdir = NULL, *service = NULL;
        char **tokens;
        double *pam_us, *bare_us, *full_us, *core_us, pam50, pam99, bare50, bare99, full50, full99, core50, core99;
        ephem_config *config;
        const char *answers[2] = { NULL, NULL };
        pam_script script = { .answers = answers };
        struct pam_conv conv = { .conv = pam_script_conv, .appdata_ptr = &script };
        pam_handle_t *ph = NULL;
        int64_t t0;

        if (argc < 2 || argv[1][0] != '/' || n < 10) {
                fprintf(stderr, "usage: %s /absolute/path/to/pam_ephem.so [N >= 10]\n", argv[0]);
                return 2;
        }
        if (!getenv("TMPDIR") && stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode))
                setenv("TMPDIR", "/dev/shm", 1);

        h = test_host_new(NULL);
        k2 = test_keygen(JWS_ES256);
        k3 = test_keygen(JWS_ES256);
        jwks = test_jwks(test_jwk(k2, "k0", "ES256"), test_jwk(h->key, TEST_KID, "ES256"), test_jwk(k3, "k2", "ES256"),
                         NULL);
        test_write_file(h->jwks_path, jwks, 0644);
        confdir = test_strdup_printf("%s/pam.d", h->dir);
        if (mkdir(confdir, 0755) < 0)
                test_die("mkdir %s", confdir);
        service = test_strdup_printf("auth required %s config=%s\n", argv[1], h->config_path);
        pam_write_service(confdir, "ephem", service);

        /* Tokens for three passes: warm handle, fresh transactions, bare verification. */
        tokens = calloc(2 * n, sizeof(char *));
        pam_us = calloc(n, sizeof(double));
        bare_us = calloc(n, sizeof(double));
        full_us = calloc(n, sizeof(double));
        core_us = calloc(n, sizeof(double));
        t0 = (int64_t) time(NULL);
        for (size_t i = 0; i < 2 * n; i++)
                tokens[i] = test_host_token(h, t0, "agent");

        /* 1. pam_authenticate() on one handle: the configuration and keys are loaded
         * once, as in a daemon; every login verifies, checks policy and identity,
         * burns its jti and writes the user and login records. */
        if (pam_start_confdir("ephem", "agent-1", &conv, confdir, &ph) != PAM_SUCCESS)
                test_die("pam_start_confdir failed");
        for (size_t i = 0; i < n; i++) {
                double a;
                int r;

                answers[0] = tokens[i];
                script.next = 0;
                a = now_us();
                r = pam_authenticate(ph, 0);
                pam_us[i] = now_us() - a;
                if (r != PAM_SUCCESS)
                        test_die("login %zu: %s", i, pam_code_name(r));
        }
        /* The replay check is live: the first token again is refused. */
        answers[0] = tokens[0];
        script.next = 0;
        if (pam_authenticate(ph, 0) != PAM_AUTH_ERR)
                test_die("a replayed token was not refused");
        pam_end(ph, PAM_SUCCESS);

        /* 2. A whole transaction per login (pam_start .. pam_end), as sshd does:
         * the configuration and JWKS are read and checked every time. */
        for (size_t i = 0; i < n; i++) {
                double a;
                int r;

                answers[0] = tokens[n + i];
                script.next = 0;
                a = now_us();
                if (pam_start_confdir("ephem", "agent-1", &conv, confdir, &ph) != PAM_SUCCESS)
                        test_die("pam_start_confdir failed");
                r = pam_authenticate(ph, 0);
                pam_end(ph, r);
                full_us[i] = now_us() - a;
                if (r != PAM_SUCCESS)
                        test_die("transaction %zu: %s", i, pam_code_name(r));
        }

        /* 3. The core's token_verify() alone (parse, header rules, key, signature,
         * claims), with the configuration loaded: no PAM, no state. */
        config = test_host_config(h);
        for (size_t i = 0; i < n; i++) {
                double a = now_us();
                if (test_verify(config, tokens[i], t0) != EPHEM_OK)
                        test_die("token_verify %zu failed", i);
                core_us[i] = now_us() - a;
        }
        config_free(config);

        /* 4. The bare verification of the same tokens. */
        for (size_t i = 0; i < n; i++) {
                double a = now_us();
                if (bare_verify(h->key, tokens[i]) < 0)
                        test_die("bare verification %zu failed", i);
                bare_us[i] = now_us() - a;
        }

        printf("bench-auth: %zu logins per figure, ES256, JWKS of 3 keys, replay check on, state in %s\n", n,
               h->state_dir);
        printf("  %-44s %10s %10s\n", "", "p50 (us)", "p99 (us)");
        report("pam_authenticate (warm handle)", pam_us, n, &pam50, &pam99);
        report("bare OpenSSL ES256 verify", bare_us, n, &bare50, &bare99);
        printf("  %-44s %10.2f %10.2f   (target <= 2.0: %s)\n", "ratio", pam50 / bare50, pam99 / bare99,
               pam50 / bare50 <= 2.0 ? "met" : "missed: see the stages below");
        report("token_verify (core, no state)", core_us, n, &core50, &core99);
        printf("  %-44s %10.2f %10.2f\n", "ratio (core verifier)", core50 / bare50, core99 / bare99);
        report("pam_start+authenticate+end", full_us, n, &full50, &full99);
        printf("  %-44s %10.2f %10.2f\n", "ratio (whole transaction)", full50 / bare50, full99 / bare99);

        /* 5. Where a login's time goes: the stages of pam_ephem's auth, each timed
         * alone, on fresh tokens (the first pass burnt the others' jtis). */
        {
                static const char *const names[] = {
                        "  verify (parse, key, signature, claims)", "  policy (rules)",
                        "  identity (getpwnam_r + getpwuid_r via NSS)", "  revocation check",
                        "  replay cache (burn the jti)", "  user record (store_user_put)",
                        "  login record (hand-off)", "  audit event (journald/syslog)",
                };
                double *stage[ELEMENTSOF(names)];
                ephem_config *c = test_host_config(h);

                for (size_t k = 0; k < ELEMENTSOF(names); k++)
                        stage[k] = calloc(n, sizeof(double));
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *tok = test_host_token(h, t0, "agent");
                        ephem_token *t = NULL;
                        ephem_verdict v;
                        const ephem_rule *rule = NULL;
                        login_record rec = { 0 };
                        struct passwd pw, *res;
                        char pwbuf[4096], detail[256];
                        bool created;
                        double a;

                        a = now_us();
                        if (token_verify(c, tok, strlen(tok), t0, &t, &v) != EPHEM_OK)
                                test_die("stage verify %zu", i);
                        stage[0][i] = now_us() - a;
                        a = now_us();
                        if (policy_decide(c, t, "agent-1", &rule, &v, NULL, NULL) != EPHEM_OK)
                                test_die("stage policy %zu", i);
                        stage[1][i] = now_us() - a;
                        a = now_us();
                        (void) getpwnam_r("agent-1", &pw, pwbuf, sizeof(pwbuf), &res);
                        (void) getpwuid_r(userconf_uid(&c->users, "agent-1"), &pw, pwbuf, sizeof(pwbuf), &res);
                        stage[2][i] = now_us() - a;
                        a = now_us();
                        if (revocation_check(c, t->iss, t->sub, t->jti, "agent-1", t->fingerprint, t0, detail,
                                             sizeof(detail)))
                                test_die("stage revocation %zu", i);
                        stage[3][i] = now_us() - a;
                        a = now_us();
                        if (replay_register(c->state_dir, t->iss, t->jti, t->exp, t0) != 0)
                                test_die("stage replay %zu", i);
                        stage[4][i] = now_us() - a;
                        a = now_us();
                        if (store_user_put(c, "agent-1", (gid_t[]){ 4 }, 1, t->exp, t0, &created, detail,
                                           sizeof(detail)) < 0)
                                test_die("stage user record %zu", i);
                        stage[5][i] = now_us() - a;
                        a = now_us();
                        if (login_record_from_token(&rec, t, rule, "agent-1", t0) < 0 ||
                            login_record_save(c->state_dir, &rec) < 0)
                                test_die("stage login record %zu", i);
                        stage[6][i] = now_us() - a;
                        (void) login_record_remove(c->state_dir, rec.id);
                        login_record_done(&rec);
                        a = now_us();
                        {
                                audit_record ar = { .event = AUDIT_AUTH_OK, .identifier = "bench-auth", .user = "agent-1",
                                                    .uid = -1, .fingerprint = t->fingerprint, .iss = t->iss, .sub = t->sub,
                                                    .jti = t->jti };
                                audit_emit(&ar);
                        }
                        stage[7][i] = now_us() - a;
                        token_free(t);
                }
                printf("\n  where the time of a login goes:\n");
                for (size_t k = 0; k < ELEMENTSOF(names); k++) {
                        double p50, p99;
                        report(names[k], stage[k], n, &p50, &p99);
                }
                /* The scope the foundation's target was set for: parsing, policy and
                 * the replay cache around the signature check. */
                {
                        double *sum = calloc(n, sizeof(double)), p50, p99;
                        for (size_t i = 0; i < n; i++)
                                sum[i] = stage[0][i] + stage[1][i] + stage[4][i];
                        printf("\n");
                        report("verify + policy + replay cache", sum, n, &p50, &p99);
                        printf("  %-44s %10.2f %10.2f   (target <= 2.0: %s)\n", "ratio", p50 / bare50, p99 / bare99,
                               p50 / bare50 <= 2.0 ? "met" : "missed");
                        free(sum);
                }
                for (size_t k = 0; k < ELEMENTSOF(names); k++)
                        free(stage[k]);
                config_free(c);
        }

        for (size_t i = 0; i < 2 * n; i++)
                free(tokens[i]);
        free(tokens);
        free(pam_us);
        free(bare_us);
        free(full_us);
        free(core_us);
        test_host_free(h);
        return 0;
}
