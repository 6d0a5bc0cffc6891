/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ephemctl policy check | policy test */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ephem/dpop.h"
#include "ephem/login.h"
#include "ephem/macro.h"
#include "ephem/policy.h"
#include "ephem/state.h"
#include "ephem/strutil.h"
#include "ephem/token.h"
#include "ephemctl.h"

typedef struct lint {
        unsigned errors, warnings;
} lint;

static void lint_error(lint *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lint_warn(lint *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void lint_error(lint *l, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fputs("error: ", stdout);
        vprintf(fmt, ap);
        putchar('\n');
        va_end(ap);
        l->errors++;
}

static void lint_warn(lint *l, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fputs("warning: ", stdout);
        vprintf(fmt, ap);
        putchar('\n');
        va_end(ap);
        l->warnings++;
}

/* UID ranges that belong to someone else (systemd's UIDS-GIDS.md, the special IDs). */
static const struct {
        uint32_t lo, hi;
        const char *what;
} reserved[] = {
        { 0, 999, "system users" },
        { 1000, 60000, "regular users" },
        { 60001, 60513, "systemd-homed users" },
        { 61184, 65519, "systemd DynamicUser=" },
        { 65534, 65535, "nobody and the 16-bit -1" },
        { 524288, 1879048191, "systemd-nspawn container ranges" },
        { 2147352576, 2147418111, "systemd's foreign UID range" },
        { 4294967295u, 4294967295u, "the 32-bit -1" },
};

static bool overlaps(uint32_t a_lo, uint32_t a_hi, uint32_t b_lo, uint32_t b_hi) {
        return a_lo <= b_hi && b_lo <= a_hi;
}

/* /etc/subuid and /etc/subgid hand UID ranges to user namespaces: NAME:START:COUNT. */
static void lint_subid_file(lint *l, const userconf *u, const char *path) {
        FILE *f = fopen(path, "re");
        char line[512];

        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                uint32_t start, count;
                if (!c2)
                        continue;
                *c1 = *c2 = '\0';
                c2[strcspn(c2 + 1, "\n") + 1] = '\0';
                if (parse_u32(c1 + 1, &start) < 0 || parse_u32(c2 + 1, &count) < 0 || count == 0)
                        continue;
                if (overlaps(u->uid_min, u->uid_max, start, start + (count - 1)))
                        lint_error(l, "[users] uid_range overlaps the range of '%s' in %s", line, path);
        }
        fclose(f);
}

static void lint_users(lint *l, const ephem_config *c) {
        const userconf *u = &c->users;
        FILE *f;
        struct passwd *pw;

        if (!u->patterns)
                lint_warn(l, "[users] names is not set: no login name is transient, no token can log in");
        for (size_t i = 0; i < ELEMENTSOF(reserved); i++)
                if (overlaps(u->uid_min, u->uid_max, reserved[i].lo, reserved[i].hi))
                        lint_error(l, "[users] uid_range %u-%u overlaps %u-%u (%s)", u->uid_min, u->uid_max,
                                   reserved[i].lo, reserved[i].hi, reserved[i].what);
        if (u->uid_max - u->uid_min < 65536)
                lint_warn(l, "[users] uid_range holds %u UIDs: name hashes will collide often",
                          u->uid_max - u->uid_min + 1);

        /* Local accounts straight from the files: NSS would show transient users too. */
        f = fopen("/etc/passwd", "re");
        if (f) {
                while ((pw = fgetpwent(f))) {
                        if (pw->pw_uid >= u->uid_min && pw->pw_uid <= u->uid_max)
                                lint_error(l, "local account '%s' has UID %u, inside [users] uid_range", pw->pw_name,
                                           (unsigned) pw->pw_uid);
                        if (userconf_is_transient(u, pw->pw_name))
                                lint_error(l, "local account '%s' matches the transient-name patterns", pw->pw_name);
                }
                fclose(f);
        }
        lint_subid_file(l, u, "/etc/subuid");
        lint_subid_file(l, u, "/etc/subgid");
}

/* Whether some name could match both a login template and a transient pattern; a
 * cheap test: the template's literal prefix must agree with the pattern's. */
static bool template_can_be_transient(const char *tmpl, const userconf *u) {
        for (char **p = u->patterns; p && *p; p++) {
                size_t i = 0;
                while (tmpl[i] && (*p)[i] && tmpl[i] == (*p)[i] && !strchr("*?$", tmpl[i]))
                        i++;
                if (!tmpl[i] || !(*p)[i] || strchr("*?$", tmpl[i]) || strchr("*?", (*p)[i]))
                        return true;
        }
        return false;
}

static void lint_issuers_and_rules(lint *l, ephem_config *c) {
        for (size_t i = 0; i < c->n_issuers; i++) {
                ephem_issuer *is = &c->issuers[i];
                const keyset *ks;
                bool used = false;
                int r = issuer_keys(is, &ks);

                if (r < 0)
                        lint_error(l, "[issuer %s] keys: %s", is->name, is->keys_error_text);
                else {
                        unsigned usable = 0;
                        for (size_t k = 0; k < ks->n; k++)
                                for (int a = 0; a < _JWS_ALG_MAX; a++)
                                        if ((is->algorithms & (1u << a)) &&
                                            key_type_allows(ks->keys[k].type, (jws_alg) a)) {
                                                usable++;
                                                break;
                                        }
                        if (usable == 0)
                                lint_error(l, "[issuer %s] none of its %zu keys can verify the allowed algorithms",
                                           is->name, ks->n);
                        if (ks->skipped)
                                lint_warn(l, "[issuer %s] %u keys of %s are of unsupported types and ignored", is->name,
                                          ks->skipped, is->keys_path);
                }
                if (issuer_max_lifetime(c, is) > 3600)
                        lint_warn(l, "[issuer %s] accepts tokens living %" PRIu64 " s: short-lived means minutes",
                                  is->name, issuer_max_lifetime(c, is));
                for (size_t j = 0; j < c->n_rules; j++)
                        for (char **n = c->rules[j].issuers; *n; n++)
                                if (streq(*n, is->name))
                                        used = true;
                if (!used && !is->breakglass)
                        lint_warn(l, "[issuer %s] no rule names it: its tokens can log in nowhere", is->name);
        }
        if (c->n_rules == 0 && c->n_cas == 0)
                lint_warn(l, "no [rule] and no [ca]: nothing is allowed");
        for (size_t j = 0; j < c->n_rules; j++) {
                const ephem_rule *rule = &c->rules[j];
                bool emergency = false;
                for (char **n = rule->issuers; *n; n++) {
                        const ephem_issuer *is = config_find_issuer(c, *n);
                        emergency = emergency || (is && is->breakglass);
                }
                /* Emergency tokens may also name local emergency accounts. */
                for (char **t = rule->logins; *t && !emergency; t++)
                        if (!template_can_be_transient(*t, &c->users))
                                lint_warn(l, "[rule %s] login pattern '%s' can never be a transient name", rule->name,
                                          *t);
                for (char **g = rule->groups; g && *g; g++) {
                        FILE *f = fopen("/etc/group", "re");
                        char line[1024];
                        bool found = false;
                        size_t n = strlen(*g);
                        while (f && fgets(line, sizeof(line), f))
                                if (strncmp(line, *g, n) == 0 && line[n] == ':')
                                        found = true;
                        if (f)
                                fclose(f);
                        if (!found)
                                lint_warn(l, "[rule %s] group '%s' does not exist in /etc/group", rule->name, *g);
                }
        }
        if (c->leeway > 60)
                lint_warn(l, "[host] leeway is %" PRIu64 " s: clocks should agree to within seconds", c->leeway);
        for (size_t i = 0; i < c->n_cas; i++) {
                const ephem_ca *ca = &c->cas[i];
                for (char **p = ca->principals; p && *p; p++)
                        if (!template_can_be_transient(*p, &c->users))
                                lint_warn(l, "[ca %s] principal pattern '%s' can never be a transient name", ca->name,
                                          *p);
                if (ca->max_validity > 3600)
                        lint_warn(l, "[ca %s] accepts certificates valid for %" PRIu64 " s: short-lived means minutes",
                                  ca->name, ca->max_validity);
        }
        if (c->n_cas > 0)
                printf("note: sshd must trust the [ca] keys too (TrustedUserCAKeys); ephem only narrows what they may do\n");
}

int cmd_policy_check(int argc, char **argv) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "strict", no_argument, NULL, 's' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *config = NULL;
        bool strict = false;
        ephem_config *c = NULL;
        lint l = { 0 };
        int opt, r;

        while ((opt = getopt_long(argc, argv, "c:sh", options, NULL)) >= 0)
                switch (opt) {
                case 'c':
                        config = optarg;
                        break;
                case 's':
                        strict = true;
                        break;
                case 'h':
                        printf("ephemctl policy check [--config FILE] [--strict]\n");
                        return 0;
                default:
                        return EXIT_USAGE;
                }
        r = ctl_load_config(config, &c);
        if (r != 0) {
                printf("error: the configuration cannot be loaded (see above)\n");
                return EXIT_DENIED;
        }
        lint_users(&l, c);
        lint_issuers_and_rules(&l, c);
        printf("%s: %u error(s), %u warning(s), %zu issuer(s), %zu rule(s)\n", c->path, l.errors, l.warnings,
               c->n_issuers, c->n_rules);
        config_free(c);
        return l.errors || (strict && l.warnings) ? EXIT_DENIED : 0;
}

static void print_trace(void *userdata _unused_, const char *line) {
        char clean[512];
        printf("  %s\n", sanitize_for_log(line, clean, sizeof(clean)));
}

static void print_time(const char *label, int64_t t, int64_t now) {
        char buf[64];
        time_t tt = (time_t) t;
        struct tm tm;

        if (gmtime_r(&tt, &tm))
                strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
        else
                strcpy(buf, "?");
        printf("  %-4s %s (%+" PRId64 " s)\n", label, buf, t - now);
}

int cmd_policy_test(int argc, char **argv) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "user", required_argument, NULL, 'u' },
                { "now", required_argument, NULL, 'n' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *config = NULL, *user = NULL;
        int64_t now = (int64_t) time(NULL);
        _cleanup_erase_free_ char *secret = NULL;
        _cleanup_token_ ephem_token *t = NULL;
        const ephem_rule *rule = NULL;
        ephem_config *c = NULL;
        ephem_verdict v = { 0 };
        ephem_reason reason;
        char clean[256];
        int opt, r;

        while ((opt = getopt_long(argc, argv, "c:u:n:h", options, NULL)) >= 0)
                switch (opt) {
                case 'c':
                        config = optarg;
                        break;
                case 'u':
                        user = optarg;
                        break;
                case 'n': {
                        uint64_t n;
                        if (parse_u64(optarg, &n) < 0 || n > INT64_MAX) {
                                fprintf(stderr, "--now: expected a Unix time\n");
                                return EXIT_USAGE;
                        }
                        now = (int64_t) n;
                        break;
                }
                case 'h':
                        printf("ephemctl policy test --user NAME [--config FILE] [--now UNIXTIME] TOKEN-SOURCE\n");
                        return 0;
                default:
                        return EXIT_USAGE;
                }
        if (!user || optind != argc - 1) {
                fprintf(stderr,
                        "usage: ephemctl policy test --user NAME [--config FILE] [--now UNIXTIME] TOKEN-SOURCE\n");
                return EXIT_USAGE;
        }
        r = ctl_load_config(config, &c);
        if (r != 0)
                return r;
        r = ctl_read_secret(argv[optind], TOKEN_MAX_LENGTH_LIMIT + 16, &secret);
        if (r != 0) {
                config_free(c);
                return r;
        }

        printf("policy test for user '%s' with %s (nothing is recorded: no jti is burnt)\n",
               sanitize_for_log(user, clean, sizeof(clean)), c->path);
        reason = token_verify(c, secret, strlen(secret), now, &t, &v);
        if (reason != EPHEM_OK) {
                char fp[TOKEN_FP_LEN + 1];
                if (token_fingerprint(secret, strlen(secret), fp) < 0)
                        printf("token (no fingerprint: SHA-256 failed)\n");
                else
                        printf("token %s\n", fp);
                printf("decision: DENY\n  reason: %s: %s%s%s\n", reason_id(reason), reason_text(reason),
                       v.detail[0] ? " — " : "", v.detail);
                config_free(c);
                return EXIT_DENIED;
        }
        printf("token %s: signature %s by issuer %s (%s), key %s\n", t->fingerprint, jws_alg_to_string(t->alg),
               t->issuer->name, sanitize_for_log(t->iss, clean, sizeof(clean)),
               t->key->kid ? t->key->kid : t->key->thumbprint);
        printf("  sub  %s\n", sanitize_for_log(t->sub, clean, sizeof(clean)));
        if (t->jti)
                printf("  jti  %s\n", sanitize_for_log(t->jti, clean, sizeof(clean)));
        else
                printf("  jti  (none: single use is keyed by %s)\n", t->replay_id);
        if (t->has_iat)
                print_time("iat", t->iat, now);
        else
                printf("  iat  (none: the lifetime counts from now)\n");
        print_time("exp", t->exp, now);
        printf("rules:\n");
        reason = policy_decide(c, t, user, &rule, &v, print_trace, NULL);
        if (reason != EPHEM_OK) {
                printf("decision: DENY\n  reason: %s: %s%s%s\n", reason_id(reason), reason_text(reason),
                       v.detail[0] ? " — " : "", v.detail);
                config_free(c);
                return EXIT_DENIED;
        }
        /* What login checks beyond the rules: time left, proof of possession. */
        {
                const char *jkt = NULL;
                ephem_reason more = EPHEM_OK;
                if (t->exp <= now) {
                        more = EPHEM_R_EXPIRED;
                        (void) snprintf(v.detail, sizeof(v.detail),
                                        "within the leeway, but no time left for a session");
                } else
                        more = dpop_token_binding(t, &jkt, &v);
                if (more == EPHEM_OK && !jkt && (t->issuer->dpop_required || rule->dpop_required)) {
                        more = EPHEM_R_DPOP_REQUIRED;
                        (void) snprintf(v.detail, sizeof(v.detail), "the token is not bound to a key");
                }
                if (more != EPHEM_OK) {
                        printf("decision: DENY\n  reason: %s: %s%s%s\n", reason_id(more), reason_text(more),
                               v.detail[0] ? " — " : "", v.detail);
                        config_free(c);
                        return EXIT_DENIED;
                }
                if (jkt)
                        printf("proof of possession: the token is bound to key %s; the login must prove it (DPoP)\n",
                               jkt);
        }
        printf("decision: ALLOW by rule %s\n", rule->name);
        printf("  uid %u, groups:", (unsigned) userconf_uid(&c->users, user));
        for (char **g = rule->groups; g && *g; g++)
                printf(" %s", *g);
        printf("%s\n", rule->groups ? "" : " (none)");
        if (rule->max_session)
                printf("  max session %" PRIu64 " s\n", rule->max_session);
        if (rule->command) {
                char line[256];
                printf("  forced command: %s\n", sanitize_for_log(rule->command, line, sizeof(line)));
        } else {
                char **allow = NULL;
                if (login_allowance(t, rule, &allow) == 0 && allow) {
                        printf("  allowed commands only:\n");
                        for (char **a = allow; *a; a++) {
                                char line[256];
                                printf("    %s\n", sanitize_for_log(*a, line, sizeof(line)));
                        }
                }
                strv_free(allow);
        }
        config_free(c);
        return 0;
}
