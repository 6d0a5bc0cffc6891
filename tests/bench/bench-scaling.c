/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How each cost grows with its work, measured at several sizes with the core
 * library (as bench-auth does) and the real ephemctl and ephem-cutoff programs:
 *
 *   JWKS keys (1..64)        token_verify() with the configuration loaded (the
 *                            token's key last in the set), and a cold start:
 *                            config_load() + the first token_verify(), which loads
 *                            and checks every key of the issuer — what each PAM
 *                            transaction does (pam_start .. pam_end)
 *   rules (1..256)           policy_decide() when only the last rule matches (each
 *                            rule checks one claim), and config_load()
 *   revocation list          `ephemctl revocations apply` of a signed list of that
 *   (1..100,000 entries)     many entries (wall time, a fresh directory each time),
 *                            then of the same list once more (a refresh timer's
 *                            run when the list has not changed),
 *                            the login-time revocation_check() with that list in
 *                            place, and (root, cgroup v2) the cut-off helper's
 *                            reaction to one new entry: a real ephem-cutoff waiting
 *                            on a session whose leader sits in an ephem cgroup;
 *                            revocation_add() to the leader's death (and to the
 *                            helper's exit, after its clean-up)
 *   replay cache             replay_register() p50/p99 with that many live jtis
 *   (1..1,000,000 jtis)      (the probe entries removed again, so the size holds),
 *                            a register that sweeps its shard (once a minute per
 *                            shard), and a full `ephemctl gc` (wall time)
 *
 * Prints a report, and GROWTH/ROW lines for tools/bench.sh (bench-util.h).
 *
 *   bench-scaling /path/to/ephemctl /path/to/ephem-cutoff [--quick]
 *
 * --quick stops at 10,000 revocations and 10,000 jtis. State lives on /dev/shm
 * (tmpfs, as /run/ephem) when it exists; revocation lists on persistent storage, as
 * /var/lib/ephem/revoked, under $EPHEM_BENCH_REVDIR (default /var/tmp).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ephem/config.h"
#include "ephem/policy.h"
#include "ephem/replay.h"
#include "ephem/revocation.h"
#include "ephem/session.h"
#include "ephem/token.h"
#include "bench-util.h"
#include "testutil.h"

static const char *ephemctl_path, *cutoff_path;
static bool quick;
/* Revocation lists live on persistent storage (/var/lib/ephem/revoked by default),
 * unlike the state (/run/ephem, a tmpfs): their directories go here. */
static char *rev_base;

/* ---- fixtures ---- */

/* ephem.conf of the host h with the given revocation directory and rules (instead
 * of testutil's catch-all rule). */
static void write_conf(const test_host *h, const char *path, const char *revocation_dir, const char *rules) {
        test_host_write_config(h, path, revocation_dir, NULL, rules, NULL);
}

static ephem_config *load(const char *path) {
        conf_error err = { 0 };
        ephem_config *c = NULL;
        if (config_load(path, 0, NULL, &c, &err) < 0)
                test_die("%s:%u: %s", path, err.line, err.message);
        return c;
}

/* Runs a program, returns its wall time in us (aborts unless it exits 0). */
static double run_timed(char *const argv[], char *out, size_t out_size) {
        int p[2], status;
        double a, t;
        pid_t pid;
        size_t got = 0;

        if (pipe(p) < 0)
                test_die("pipe");
        a = bench_now_us();
        pid = fork();
        if (pid < 0)
                test_die("fork");
        if (pid == 0) {
                dup2(p[1], STDOUT_FILENO);
                close(p[0]);
                close(p[1]);
                execv(argv[0], argv);
                _exit(127);
        }
        close(p[1]);
        for (;;) {
                ssize_t k = read(p[0], out + got, out_size - got - 1);
                if (k <= 0)
                        break;
                got += (size_t) k;
        }
        out[got] = '\0';
        close(p[0]);
        (void) waitpid(pid, &status, 0);
        t = bench_now_us() - a;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                test_die("%s %s failed (status %d): %s", argv[0], argv[1], status, out);
        return t;
}

static double median3(double a, double b, double c) {
        double v[3] = { a, b, c };
        bench_sort(v, 3);
        return v[1];
}

/* ---- JWKS size ---- */

static void scale_keys(test_host *h) {
        static const double sizes[] = { 1, 2, 4, 8, 16, 32, 64 };
        const size_t n = ELEMENTSOF(sizes), warm_n = quick ? 500 : 2000, cold_n = quick ? 50 : 200;
        EVP_PKEY *keys[64];
        double warm[ELEMENTSOF(sizes)], cold[ELEMENTSOF(sizes)];
        _cleanup_free_ char *conf = test_strdup_printf("%s/keys.conf", h->dir),
                            *rev = test_strdup_printf("%s/rev-keys", h->dir);
        int64_t now = (int64_t) time(NULL);

        for (size_t i = 0; i < 64; i++)
                keys[i] = test_keygen(JWS_ES256);
        write_conf(h, conf, rev, NULL);
        printf("\nJWKS size: ES256 keys, the token's key last; p50 (us)\n  %8s %14s %26s\n", "keys", "token_verify",
               "config_load + 1st verify");
        for (size_t s = 0; s < n; s++) {
                unsigned k = (unsigned) sizes[s];
                _cleanup_free_ char *jwks = NULL, *kid = test_strdup_printf("k%u", k - 1), *token = NULL;
                json_t *arr = json_array(), *claims = test_claims(now, "agent");
                double *w = calloc(warm_n, sizeof(double)), *c = calloc(cold_n, sizeof(double));
                ephem_config *cfg;

                for (unsigned i = 0; i < k; i++) {
                        char id[16];
                        snprintf(id, sizeof(id), "k%u", i);
                        json_array_append_new(arr, test_jwk(keys[i], id, "ES256"));
                }
                {
                        json_t *set = json_pack("{s:o}", "keys", arr);
                        jwks = json_dumps(set, JSON_COMPACT);
                        json_decref(set);
                }
                test_write_file(h->jwks_path, jwks, 0644);
                token = test_token(keys[k - 1], JWS_ES256, kid, claims);
                json_decref(claims);

                cfg = load(conf);
                if (test_verify(cfg, token, now) != EPHEM_OK) /* loads the keys */
                        test_die("token with %u keys refused", k);
                for (size_t i = 0; i < warm_n; i++) {
                        double a = bench_now_us();
                        if (test_verify(cfg, token, now) != EPHEM_OK)
                                test_die("verify");
                        w[i] = bench_now_us() - a;
                }
                config_free(cfg);
                for (size_t i = 0; i < cold_n; i++) {
                        double a = bench_now_us();
                        cfg = load(conf);
                        if (test_verify(cfg, token, now) != EPHEM_OK)
                                test_die("verify");
                        config_free(cfg);
                        c[i] = bench_now_us() - a;
                }
                warm[s] = bench_summary(w, warm_n).p50;
                cold[s] = bench_summary(c, cold_n).p50;
                printf("  %8u %14.1f %26.1f\n", k, warm[s], cold[s]);
                free(w);
                free(c);
        }
        for (size_t i = 0; i < 64; i++)
                EVP_PKEY_free(keys[i]);
        bench_growth_line("token_verify (configuration loaded)", "JWKS keys", sizes, warm, n, "us");
        bench_growth_line("config_load + first token_verify (per PAM transaction)", "JWKS keys", sizes, cold, n, "us");
        bench_row("JWKS of 64 keys: token_verify (p50)", warm[n - 1], "us", "JWKS of 1 key", warm[0], "us", 0, NULL);
        bench_row("JWKS of 64 keys: config_load + first verify (p50)", cold[n - 1], "us", "JWKS of 1 key", cold[0],
                  "us", 0, "once per PAM transaction");
        /* back to one key for what follows */
        {
                _cleanup_free_ char *jwks = test_jwks(test_jwk(h->key, TEST_KID, "ES256"), NULL);
                test_write_file(h->jwks_path, jwks, 0644);
        }
}

/* ---- rules ---- */

static void scale_rules(test_host *h) {
        static const double sizes[] = { 1, 4, 16, 64, 256 };
        const size_t n = ELEMENTSOF(sizes), warm_n = quick ? 2000 : 10000, cold_n = quick ? 50 : 200;
        double warm[ELEMENTSOF(sizes)], cold[ELEMENTSOF(sizes)];
        _cleanup_free_ char *conf = test_strdup_printf("%s/rules.conf", h->dir),
                            *rev = test_strdup_printf("%s/rev-rules", h->dir);
        int64_t now = (int64_t) time(NULL);

        printf("\nRules: each checks one claim, only the last matches; p50 (us)\n  %8s %14s %14s\n", "rules",
               "policy_decide", "config_load");
        for (size_t s = 0; s < n; s++) {
                unsigned r = (unsigned) sizes[s];
                size_t cap = (size_t) r * 96 + 1, len = 0;
                char *rules = malloc(cap);
                json_t *claims = test_claims(now, "agent");
                _cleanup_free_ char *token = NULL, *repo = test_strdup_printf("acme/repo-%u", r - 1);
                double *w = calloc(warm_n, sizeof(double)), *c = calloc(cold_n, sizeof(double));
                ephem_config *cfg;
                ephem_token *t = NULL;
                ephem_verdict v = { 0 };
                const ephem_rule *rule = NULL;

                for (unsigned i = 0; i < r; i++)
                        len += (size_t) snprintf(
                                rules + len, cap - len,
                                "[rule r%u]\nissuer = broker\nclaim.repo = acme/repo-%u\nlogins = agent-*\n\n", i, i);
                write_conf(h, conf, rev, rules);
                free(rules);
                json_object_set_new(claims, "repo", json_string(repo));
                token = test_token(h->key, JWS_ES256, TEST_KID, claims);
                json_decref(claims);

                cfg = load(conf);
                if (token_verify(cfg, token, strlen(token), now, &t, &v) != EPHEM_OK)
                        test_die("token refused: %s", v.detail);
                if (policy_decide(cfg, t, "agent-1", &rule, &v, NULL, NULL) != EPHEM_OK || !rule ||
                    strcmp(rule->name, "r0") < 0 || atoi(rule->name + 1) != (int) r - 1)
                        test_die("policy with %u rules did not pick the last", r);
                for (size_t i = 0; i < warm_n; i++) {
                        double a = bench_now_us();
                        if (policy_decide(cfg, t, "agent-1", &rule, &v, NULL, NULL) != EPHEM_OK)
                                test_die("policy");
                        w[i] = bench_now_us() - a;
                }
                token_free(t);
                config_free(cfg);
                for (size_t i = 0; i < cold_n; i++) {
                        double a = bench_now_us();
                        cfg = load(conf);
                        c[i] = bench_now_us() - a;
                        config_free(cfg);
                }
                warm[s] = bench_summary(w, warm_n).p50;
                cold[s] = bench_summary(c, cold_n).p50;
                printf("  %8u %14.2f %14.1f\n", r, warm[s], cold[s]);
                free(w);
                free(c);
        }
        bench_growth_line("policy_decide (last rule matches)", "rules", sizes, warm, n, "us");
        bench_growth_line("config_load (per PAM transaction)", "rules", sizes, cold, n, "us");
        bench_row("256 rules: policy_decide, last rule matches (p50)", warm[n - 1], "us", "1 rule", warm[0], "us", 0,
                  NULL);
        bench_row("256 rules: config_load (p50)", cold[n - 1], "us", "1 rule", cold[0], "us", 0,
                  "once per PAM transaction");
}

/* ---- revocation list ---- */

/* A signed revocation list of `entries` jtis, written to path. */
static void write_revocation_list(const test_host *h, const char *path, unsigned entries, int64_t now) {
        json_t *header = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "typ", REVOCATION_DOC_TYP, "kid", TEST_KID);
        json_t *list = json_array(), *claims;
        char *doc;

        for (unsigned i = 0; i < entries; i++) {
                char jti[48];
                snprintf(jti, sizeof(jti), "revoked-%08u-%08x", i, i * 2654435761u);
                json_array_append_new(list, json_pack("{s:s, s:I}", "jti", jti, "exp", (json_int_t) (now + 3600)));
        }
        claims = json_pack("{s:s, s:I, s:o}", "iss", TEST_ISS, "iat", (json_int_t) now, "revoked", list);
        doc = test_token_header(h->key, JWS_ES256, header, claims);
        test_write_file(path, doc, 0600);
        free(doc);
        json_decref(header);
        json_decref(claims);
}

/* One trial: a session in an ephem cgroup watched by a real ephem-cutoff; a new
 * revocation entry for its jti. *react: entry -> leader dead; *done: -> helper exited. */
static bool helper_trial(const char *conf, ephem_config *c, unsigned trial, double *react, double *done) {
        session_record s = { 0 };
        char jti[64], fp[TOKEN_FP_LEN + 1];
        pid_t leader, helper;
        int status;
        double a;
        int64_t now = (int64_t) time(NULL);
        _cleanup_free_ char *conf_arg = test_strdup_printf("config=%s", conf);

        snprintf(s.id, sizeof(s.id), "%08x%08x", (unsigned) getpid(), trial);
        snprintf(jti, sizeof(jti), "session-%s", s.id);
        memset(fp, 'a', TOKEN_FP_LEN);
        fp[TOKEN_FP_LEN] = '\0';
        leader = fork();
        if (leader < 0)
                test_die("fork");
        if (leader == 0) {
                pause();
                _exit(0);
        }
        if (cgroup_session_create(s.id, s.cgroup, sizeof(s.cgroup)) < 0 || cgroup_enter(s.cgroup, leader) < 0) {
                kill(leader, SIGKILL);
                (void) waitpid(leader, NULL, 0);
                if (s.cgroup[0])
                        (void) rmdir(s.cgroup);
                return false;
        }
        snprintf(s.user, sizeof(s.user), "agent-1");
        s.uid = userconf_uid(&c->users, "agent-1");
        s.leader = leader;
        s.leader_start = process_start_time(leader);
        s.start = now;
        s.deadline = now + 3600;
        snprintf(s.deadline_reason, sizeof(s.deadline_reason), "token_expiry");
        memcpy(s.fingerprint, fp, sizeof(fp));
        s.issuer = (char *) "broker";
        s.iss = (char *) TEST_ISS;
        s.sub = (char *) "agent";
        s.jti = jti;
        s.rule = (char *) "agents";
        s.service = (char *) "bench";
        s.rhost = (char *) "";
        if (session_save(c, &s) < 0)
                test_die("session_save");
        helper = fork();
        if (helper < 0)
                test_die("fork");
        if (helper == 0) {
                execl(cutoff_path, cutoff_path, s.id, "--", conf_arg, (char *) NULL);
                _exit(127);
        }
        for (int i = 0; i < 500 && !bench_helper_armed(helper); i++)
                usleep(10 * 1000);
        usleep(20 * 1000);
        a = bench_now_us();
        if (revocation_add(c, REVOKE_JTI, TEST_ISS, jti, now + 3600, "bench", now) < 0)
                test_die("revocation_add");
        (void) waitpid(leader, &status, 0);
        *react = bench_now_us() - a;
        (void) waitpid(helper, &status, 0);
        *done = bench_now_us() - a;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fprintf(stderr, "bench-scaling: ephem-cutoff exited with status %d\n", status);
        (void) rmdir(s.cgroup);
        return true;
}

static void scale_revocations(test_host *h) {
        static const double all_sizes[] = { 1, 100, 1000, 10000, 100000 };
        const size_t n = quick ? 4 : ELEMENTSOF(all_sizes), check_n = quick ? 500 : 2000, trials = quick ? 5 : 10;
        double apply[ELEMENTSOF(all_sizes)], again[ELEMENTSOF(all_sizes)], check50[ELEMENTSOF(all_sizes)],
                check99[ELEMENTSOF(all_sizes)], react50[ELEMENTSOF(all_sizes)], react99[ELEMENTSOF(all_sizes)],
                done50[ELEMENTSOF(all_sizes)];
        int64_t now = (int64_t) time(NULL);
        bool helper_ok = true;
        char root[256];
        ephem_token *t = NULL;
        ephem_verdict v = { 0 };

        if (geteuid() != 0 || cgroup_v2_root(root, sizeof(root)) < 0) {
                helper_ok = false;
                printf("\n(the cut-off helper's reaction needs root and a writable cgroup v2: skipped)\n");
        }
        printf("\nRevocation list size: %s\n  %8s %12s %12s %18s %18s %18s\n",
               "apply = `ephemctl revocations apply` into an empty directory, wall (median of 3; once at"
               "\n  100,000); again = the same list applied once more (what a refresh timer does when the list"
               "\n  has not changed); check = revocation_check() p50/p99; helper = ephem-cutoff, new entry ->"
               "\n  session leader dead p50/p99 (-> helper exited p50)",
               "entries", "apply (ms)", "again (ms)", "check (us)", "helper (ms)", "helper exit (ms)");
        for (size_t s = 0; s < n; s++) {
                unsigned entries = (unsigned) all_sizes[s];
                _cleanup_free_ char *doc = test_strdup_printf("%s/revocations-%u.jwt", h->dir, entries);
                double reps[3];
                int n_reps = entries >= 100000 ? 1 : 3;
                ephem_config *c = NULL;
                _cleanup_free_ char *conf0 = NULL, *rev0 = NULL;

                write_revocation_list(h, doc, entries, now);
                for (int r = 0; r < n_reps; r++) {
                        _cleanup_free_ char *conf = test_strdup_printf("%s/rev-%u-%d.conf", h->dir, entries, r),
                                            *rev = test_strdup_printf("%s/rev-%u-%d", rev_base, entries, r);
                        char out[512], want[64];
                        char *argv[] = { (char *) ephemctl_path,
                                         (char *) "revocations",
                                         (char *) "apply",
                                         (char *) "--config",
                                         conf,
                                         doc,
                                         NULL };
                        write_conf(h, conf, rev, NULL);
                        reps[r] = run_timed(argv, out, sizeof(out));
                        snprintf(want, sizeof(want), "applied %u revocation", entries);
                        if (!strstr(out, want))
                                test_die("ephemctl revocations apply: %s", out);
                        if (r == 0) {
                                conf0 = TAKE_PTR(conf);
                                rev0 = TAKE_PTR(rev);
                        } else
                                test_rmrf(rev);
                }
                apply[s] = n_reps == 3 ? median3(reps[0], reps[1], reps[2]) : reps[0];
                {
                        char out[512];
                        char *argv[] = { (char *) ephemctl_path,
                                         (char *) "revocations",
                                         (char *) "apply",
                                         (char *) "--config",
                                         conf0,
                                         doc,
                                         NULL };
                        again[s] = run_timed(argv, out, sizeof(out));
                }

                c = load(conf0);
                {
                        _cleanup_free_ char *tok = test_host_token(h, now, "agent");
                        if (token_verify(c, tok, strlen(tok), now, &t, &v) != EPHEM_OK)
                                test_die("token refused");
                }
                {
                        double *w = calloc(check_n, sizeof(double));
                        bench_stats st;
                        char detail[192];
                        for (size_t i = 0; i < check_n; i++) {
                                double a = bench_now_us();
                                if (revocation_check(c, t->iss, t->sub, t->jti, "agent-1", t->fingerprint, now, detail,
                                                     sizeof(detail)))
                                        test_die("a valid token counted as revoked: %s", detail);
                                w[i] = bench_now_us() - a;
                        }
                        st = bench_summary(w, check_n);
                        check50[s] = st.p50;
                        check99[s] = st.p99;
                        free(w);
                }
                token_free(t);
                t = NULL;

                react50[s] = react99[s] = done50[s] = NAN;
                if (helper_ok) {
                        double *r = calloc(trials, sizeof(double)), *d = calloc(trials, sizeof(double));
                        size_t got = 0;
                        for (size_t i = 0; i < trials; i++)
                                if (helper_trial(conf0, c, (unsigned) (s * 100 + i), &r[got], &d[got]))
                                        got++;
                        if (got == trials) {
                                bench_stats rs = bench_summary(r, got), ds = bench_summary(d, got);
                                react50[s] = rs.p50;
                                react99[s] = rs.p99;
                                done50[s] = ds.p50;
                        } else {
                                helper_ok = false;
                                printf("(the cut-off helper's reaction: cgroup setup failed, skipped)\n");
                        }
                        free(r);
                        free(d);
                }
                config_free(c);
                test_rmrf(rev0);
                printf("  %8u %12.1f %12.1f %8.1f / %7.1f %8.2f / %7.2f %18.2f\n", entries, apply[s] / 1e3,
                       again[s] / 1e3, check50[s], check99[s], react50[s] / 1e3, react99[s] / 1e3, done50[s] / 1e3);
                fflush(stdout);
        }
        bench_growth_line("ephemctl revocations apply (wall)", "entries", all_sizes, apply, n, "us");
        bench_growth_line("ephemctl revocations apply of the same list again (wall)", "entries", all_sizes, again, n,
                          "us");
        bench_growth_line("revocation check at login", "entries", all_sizes, check50, n, "us");
        {
                char label[64];
                snprintf(label, sizeof(label), "%.0f entries", all_sizes[n - 1]);
                bench_row("revocation check at login, large list (p50)", check50[n - 1], "us", "1 entry", check50[0],
                          "us", 0, label);
                bench_row("ephemctl revocations apply, large list (wall)", apply[n - 1], "us", "1 entry", apply[0],
                          "us", 0, label);
                bench_row("ephemctl revocations apply of the same list again, large list (wall)", again[n - 1], "us",
                          "its first apply", apply[n - 1], "us", 0, label);
                if (helper_ok) {
                        bench_growth_line("cut-off helper reaction to a new entry", "entries", all_sizes, react50, n,
                                          "us");
                        bench_row("cut-off helper reaction to a new entry, large list (p99)", react99[n - 1], "us",
                                  "1 entry (p99)", react99[0], "us", 0, label);
                }
        }
}

/* ---- replay cache ---- */

/* The path replay.c gives an entry: <state>/replay/<hex d[0]>/<hex d[1..31]>,
 * d = SHA-256(iss NUL jti). */
static void replay_path(const char *state_dir, const char *iss, const char *jti, char *shard, size_t shard_size,
                        char *entry, size_t entry_size) {
        static const char hex[] = "0123456789abcdef";
        unsigned char d[32];
        unsigned dl = 0;
        char name[63];
        EVP_MD_CTX *md = EVP_MD_CTX_new();

        if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(md, iss, strlen(iss) + 1) != 1 ||
            EVP_DigestUpdate(md, jti, strlen(jti)) != 1 || EVP_DigestFinal_ex(md, d, &dl) != 1)
                test_die("sha256");
        EVP_MD_CTX_free(md);
        for (int i = 1; i < 32; i++) {
                name[2 * (i - 1)] = hex[d[i] >> 4];
                name[2 * (i - 1) + 1] = hex[d[i] & 15];
        }
        name[62] = '\0';
        snprintf(shard, shard_size, "%s/replay/%c%c", state_dir, hex[d[0] >> 4], hex[d[0] & 15]);
        snprintf(entry, entry_size, "%s/%s", shard, name);
}

static void scale_replay(test_host *h) {
        static const double all_sizes[] = { 1, 100, 10000, 1000000 };
        const size_t n = quick ? 3 : ELEMENTSOF(all_sizes), probe_n = quick ? 500 : 2000, sweep_n = quick ? 10 : 30;
        double reg50[ELEMENTSOF(all_sizes)], reg99[ELEMENTSOF(all_sizes)], sweep50[ELEMENTSOF(all_sizes)],
                gc[ELEMENTSOF(all_sizes)], end50[ELEMENTSOF(all_sizes)];
        char root[256];
        bool helper_ok = geteuid() == 0 && cgroup_v2_root(root, sizeof(root)) == 0;
        _cleanup_free_ char *conf = test_strdup_printf("%s/replay.conf", h->dir),
                            *rev = test_strdup_printf("%s/rev-replay", h->dir);
        int64_t now = (int64_t) time(NULL);
        unsigned live = 0;

        write_conf(h, conf, rev, NULL);
        printf("\nReplay cache: live jtis; replay_register p50/p99 (probe entries removed again), a register that "
               "sweeps\n  its shard (p50), full `ephemctl gc` wall (median of 3; once at 1,000,000), and a session's "
               "end: a\n  revocation to the cut-off helper's exit, after its clean-up (store_gc, which sweeps the "
               "replay cache;\n  median of 3, once at 1,000,000)\n"
               "  %8s %20s %16s %14s %18s\n",
               "jtis", "register (us)", "sweep (us)", "gc (ms)", "session end (ms)");
        for (size_t s = 0; s < n; s++) {
                unsigned target = (unsigned) all_sizes[s];
                double *w = calloc(probe_n, sizeof(double)), *sw = calloc(sweep_n, sizeof(double)), reps[3];
                unsigned reps_n = target >= 1000000 ? 1 : 3; /* a full sweep of a million takes seconds */
                double fill = bench_now_us();
                bench_stats st;

                while (live < target) {
                        char jti[32];
                        snprintf(jti, sizeof(jti), "live-%u", live);
                        if (replay_register(h->state_dir, TEST_ISS, jti, now + 7200, (int64_t) time(NULL)) != 0)
                                test_die("replay_register %s", jti);
                        live++;
                        if (live % 100000 == 0)
                                fprintf(stderr, "bench-scaling: %u live jtis (%.0f s)\n", live,
                                        (bench_now_us() - fill) / 1e6);
                }
                for (size_t i = 0; i < probe_n; i++) {
                        char jti[48], shard[512], entry[600];
                        double a;
                        int64_t t = (int64_t) time(NULL);
                        snprintf(jti, sizeof(jti), "probe-%u-%zu", target, i);
                        a = bench_now_us();
                        if (replay_register(h->state_dir, TEST_ISS, jti, now + 7200, t) != 0)
                                test_die("replay_register %s", jti);
                        w[i] = bench_now_us() - a;
                        replay_path(h->state_dir, TEST_ISS, jti, shard, sizeof(shard), entry, sizeof(entry));
                        if (unlink(entry) < 0)
                                test_die("unlink %s (the bench's idea of the replay layout is out of date)", entry);
                }
                /* A register whose shard is due for its once-a-minute sweep. */
                for (size_t i = 0; i < sweep_n; i++) {
                        char jti[48], shard[512], entry[600], stamp[600];
                        struct timespec old[2] = { { .tv_sec = now - 3600 }, { .tv_sec = now - 3600 } };
                        double a;
                        snprintf(jti, sizeof(jti), "sweep-%u-%zu", target, i);
                        replay_path(h->state_dir, TEST_ISS, jti, shard, sizeof(shard), entry, sizeof(entry));
                        snprintf(stamp, sizeof(stamp), "%s/.gc", shard);
                        (void) utimensat(AT_FDCWD, stamp, old, AT_SYMLINK_NOFOLLOW);
                        a = bench_now_us();
                        if (replay_register(h->state_dir, TEST_ISS, jti, now + 7200, (int64_t) time(NULL)) != 0)
                                test_die("replay_register %s", jti);
                        sw[i] = bench_now_us() - a;
                        if (unlink(entry) < 0)
                                test_die("unlink %s", entry);
                }
                for (unsigned r = 0; r < reps_n; r++) {
                        char out[512];
                        char *argv[] = { (char *) ephemctl_path, (char *) "gc", (char *) "--config", conf, NULL };
                        reps[r] = run_timed(argv, out, sizeof(out));
                        if (!strstr(out, " 0 replay entries"))
                                test_die("ephemctl gc removed live entries: %s", out);
                }
                end50[s] = NAN;
                if (helper_ok) {
                        ephem_config *c = load(conf);
                        double react[3], done[3];
                        for (unsigned i = 0; i < reps_n && helper_ok; i++)
                                helper_ok = helper_trial(conf, c, (unsigned) (9000 + s * 10 + i), &react[i], &done[i]);
                        if (helper_ok)
                                end50[s] = reps_n == 3 ? median3(done[0], done[1], done[2]) : done[0];
                        config_free(c);
                }
                st = bench_summary(w, probe_n);
                reg50[s] = st.p50;
                reg99[s] = st.p99;
                sweep50[s] = bench_summary(sw, sweep_n).p50;
                gc[s] = reps_n == 3 ? median3(reps[0], reps[1], reps[2]) : reps[0];
                printf("  %8u %9.1f / %8.1f %16.1f %14.1f %18.1f\n", target, reg50[s], reg99[s], sweep50[s],
                       gc[s] / 1e3, end50[s] / 1e3);
                free(w);
                free(sw);
        }
        bench_growth_line("replay_register (p50)", "live jtis", all_sizes, reg50, n, "us");
        bench_growth_line("replay_register that sweeps its shard", "live jtis", all_sizes, sweep50, n, "us");
        bench_growth_line("ephemctl gc (wall)", "live jtis", all_sizes, gc, n, "us");
        if (helper_ok)
                bench_growth_line("session end: revocation -> cut-off helper exited (its store_gc)", "live jtis",
                                  all_sizes, end50, n, "us");
        {
                char label[64];
                snprintf(label, sizeof(label), "%.0f live jtis", all_sizes[n - 1]);
                bench_row("replay cache: replay_register, large cache (p50)", reg50[n - 1], "us", "1 live jti",
                          reg50[0], "us", 0, label);
                bench_row("replay cache: register that sweeps its shard, large cache (p50)", sweep50[n - 1], "us",
                          "1 live jti", sweep50[0], "us", 0, label);
                bench_row("replay cache: ephemctl gc, large cache (wall)", gc[n - 1], "us", "1 live jti", gc[0], "us",
                          0, label);
                if (helper_ok)
                        bench_row("replay cache: a session's end, revocation -> helper exited, large cache (p50)",
                                  end50[n - 1], "us", "1 live jti", end50[0], "us", 0, label);
        }
        fprintf(stderr, "bench-scaling: removing %u replay entries\n", live);
}

int main(int argc, char **argv) {
        struct stat st;
        test_host *h;

        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--quick"))
                        quick = true;
                else if (!ephemctl_path)
                        ephemctl_path = argv[i];
                else
                        cutoff_path = argv[i];
        }
        if (!ephemctl_path || !cutoff_path || ephemctl_path[0] != '/' || cutoff_path[0] != '/') {
                fprintf(stderr, "usage: %s /path/to/ephemctl /path/to/ephem-cutoff [--quick]\n", argv[0]);
                return 2;
        }
        {
                const char *base = getenv("EPHEM_BENCH_REVDIR") ? getenv("EPHEM_BENCH_REVDIR") : "/var/tmp";
                char *tmpl = test_strdup_printf("%s/ephem-bench-revoked.XXXXXX", base);
                if (!mkdtemp(tmpl))
                        test_die("mkdtemp %s", tmpl);
                rev_base = tmpl;
        }
        if (!getenv("TMPDIR") && stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode))
                setenv("TMPDIR", "/dev/shm", 1);
        setvbuf(stdout, NULL, _IOLBF, 0); /* the log shows each size as it is measured */
        h = test_host_new(NULL);
        printf("bench-scaling: state in %s, revocation lists in %s%s\n", h->dir, rev_base, quick ? " (quick)" : "");
        scale_keys(h);
        scale_rules(h);
        scale_revocations(h);
        scale_replay(h);
        test_host_free(h);
        test_rmrf(rev_base);
        free(rev_base);
        return 0;
}
