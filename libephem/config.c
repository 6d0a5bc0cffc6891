/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ephem/macro.h"
#include "ephem/safefile.h"
#include "ephem/sshcert.h"
#include "ephem/strutil.h"

#define DEFAULT_LEEWAY 30u
#define DEFAULT_MAX_LIFETIME (15u * 60u)
#define DEFAULT_MAX_TOKEN_LENGTH 8192u
#define DEFAULT_FAIL_DELAY_MS 2000u
#define MAX_LEEWAY 300u
#define MAX_LIFETIME_LIMIT (24u * 3600u)
#define MAX_FAIL_DELAY_MS 10000u
#define CLAIM_NAME_MAX 128u

struct parse_state {
        ephem_config *c;
};

static void issuer_done(ephem_issuer *i) {
        free(i->name);
        free(i->iss);
        free(i->keys_path);
        keyset_done(&i->keys);
}

static void rule_done(ephem_rule *r) {
        free(r->name);
        strv_free(r->issuers);
        for (size_t i = 0; i < r->n_matches; i++) {
                free(r->matches[i].claim);
                strv_free(r->matches[i].patterns);
        }
        free(r->matches);
        strv_free(r->logins);
        strv_free(r->groups);
        strv_free(r->actors);
        free(r->command);
        strv_free(r->allow_commands);
        free(r->commands_claim);
}

static void ca_done(ephem_ca *ca) {
        free(ca->name);
        free(ca->key_line);
        strv_free(ca->principals);
        strv_free(ca->groups);
}

void config_free(ephem_config *c) {
        if (!c)
                return;
        free(c->path);
        free(c->revocation_dir);
        strv_free(c->breakglass_accounts);
        free(c->breakglass_dir);
        free(c->cutoff_helper);
        strv_free(c->audiences);
        userconf_done(&c->users);
        for (size_t i = 0; i < c->n_issuers; i++)
                issuer_done(&c->issuers[i]);
        free(c->issuers);
        for (size_t i = 0; i < c->n_rules; i++)
                rule_done(&c->rules[i]);
        free(c->rules);
        for (size_t i = 0; i < c->n_cas; i++)
                ca_done(&c->cas[i]);
        free(c->cas);
        free(c);
}

static int set_once_string(char **field, const char *key, const char *value, unsigned line, conf_error *err) {
        if (*field) {
                conf_error_set(err, line, "'%s' is set twice", key);
                return -EINVAL;
        }
        if (!*value) {
                conf_error_set(err, line, "'%s' needs a value", key);
                return -EINVAL;
        }
        *field = strdup(value);
        return *field ? 0 : -ENOMEM;
}

static int set_list(char ***field, const char *key, const char *value, unsigned line, conf_error *err) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        if (*field) {
                conf_error_set(err, line, "'%s' is set twice", key);
                return -EINVAL;
        }
        r = strv_split_words(value, CONFIG_MAX_LIST, &l);
        if (r == -E2BIG) {
                conf_error_set(err, line, "'%s': more than %u values", key, CONFIG_MAX_LIST);
                return -EINVAL;
        }
        if (r < 0)
                return r;
        if (!l[0]) {
                conf_error_set(err, line, "'%s' needs at least one value", key);
                return -EINVAL;
        }
        *field = TAKE_PTR(l);
        return 0;
}

static int set_duration(uint64_t *field, const char *key, const char *value, uint64_t max, unsigned line,
                        conf_error *err) {
        uint64_t v;

        if (parse_duration(value, &v) < 0 || v > max) {
                conf_error_set(err, line, "'%s': expected a duration up to %llu s (e.g. 30s, 15m)", key,
                               (unsigned long long) max);
                return -EINVAL;
        }
        *field = v;
        return 0;
}

static int host_set(ephem_config *c, const char *key, const char *value, unsigned line, conf_error *err) {
        if (streq(key, "audience")) {
                strv_free(c->audiences);
                c->audiences = NULL;
                return set_list(&c->audiences, key, value, line, err);
        }
        if (streq(key, "leeway"))
                return set_duration(&c->leeway, key, value, MAX_LEEWAY, line, err);
        if (streq(key, "max_token_lifetime")) {
                int r = set_duration(&c->max_token_lifetime, key, value, MAX_LIFETIME_LIMIT, line, err);
                if (r == 0 && c->max_token_lifetime == 0) {
                        conf_error_set(err, line, "max_token_lifetime must be positive");
                        return -EINVAL;
                }
                return r;
        }
        if (streq(key, "max_token_length")) {
                uint64_t v;
                if (parse_u64(value, &v) < 0 || v < 512 || v > TOKEN_MAX_LENGTH_LIMIT) {
                        conf_error_set(err, line, "max_token_length: expected 512 to %u bytes", TOKEN_MAX_LENGTH_LIMIT);
                        return -EINVAL;
                }
                c->max_token_length = v;
                return 0;
        }
        if (streq(key, "fail_delay")) {
                uint64_t v;
                /* Milliseconds: "fail_delay = 0" turns it off (tests, benchmarks). */
                if (parse_u64(value, &v) < 0 || v > MAX_FAIL_DELAY_MS) {
                        conf_error_set(err, line, "fail_delay: expected 0 to %u milliseconds", MAX_FAIL_DELAY_MS);
                        return -EINVAL;
                }
                c->fail_delay_ms = v;
                return 0;
        }
        if (streq(key, "revocation_dir") || streq(key, "cutoff_helper")) {
                char **field = streq(key, "revocation_dir") ? &c->revocation_dir : &c->cutoff_helper;
                char *v;
                if (value[0] != '/' || strlen(value) > 200) {
                        conf_error_set(err, line, "%s: expected an absolute path", key);
                        return -EINVAL;
                }
                v = strdup(value);
                if (!v)
                        return -ENOMEM;
                free(*field);
                *field = v;
                return 0;
        }
        if (streq(key, "warn_before"))
                return set_duration(&c->warn_before, key, value, 3600, line, err);
        if (streq(key, "state_dir")) {
                int r = userconf_set_state_dir(&c->users, value, line, err);
                if (r == 0)
                        c->state_dir = c->users.state_dir;
                return r;
        }
        conf_error_set(err, line, "unknown key '%s' in [host]", key);
        return -EINVAL;
}

static ephem_issuer *issuer_get(ephem_config *c, const char *name, unsigned line, conf_error *err) {
        ephem_issuer *ni;

        for (size_t i = 0; i < c->n_issuers; i++)
                if (streq(c->issuers[i].name, name))
                        return &c->issuers[i];
        if (c->n_issuers >= CONFIG_MAX_ISSUERS) {
                conf_error_set(err, line, "more than %u issuers", CONFIG_MAX_ISSUERS);
                return NULL;
        }
        ni = realloc(c->issuers, (c->n_issuers + 1) * sizeof(*ni));
        if (!ni) {
                conf_error_set(err, line, "out of memory");
                return NULL;
        }
        c->issuers = ni;
        ni = &c->issuers[c->n_issuers];
        *ni = (ephem_issuer){ .name = strdup(name), .algorithms = JWS_ALG_ALL, .line = line };
        if (!ni->name) {
                conf_error_set(err, line, "out of memory");
                return NULL;
        }
        c->n_issuers++;
        return ni;
}

static int issuer_set(ephem_config *c, const char *name, const char *key, const char *value, unsigned line,
                      conf_error *err) {
        ephem_issuer *i;

        if (!*name) {
                conf_error_set(err, line, "[issuer] needs a name: [issuer NAME]");
                return -EINVAL;
        }
        i = issuer_get(c, name, line, err);
        if (!i)
                return -EINVAL;
        if (streq(key, "iss"))
                return set_once_string(&i->iss, key, value, line, err);
        if (streq(key, "keys")) {
                if (value[0] != '/') {
                        conf_error_set(err, line, "keys: expected an absolute path");
                        return -EINVAL;
                }
                return set_once_string(&i->keys_path, key, value, line, err);
        }
        if (streq(key, "algorithms")) {
                _cleanup_strv_free_ char **l = NULL;
                int r = strv_split_words(value, CONFIG_MAX_LIST, &l);
                if (r == -ENOMEM)
                        return r;
                i->algorithms = 0;
                for (char **a = r == 0 ? l : NULL; a && *a; a++) {
                        jws_alg alg = jws_alg_from_string(*a);
                        if (alg == JWS_ALG_INVALID) {
                                conf_error_set(err, line,
                                               "algorithms: '%s' is not one of ES256 ES384 RS256 PS256 EdDSA", *a);
                                return -EINVAL;
                        }
                        i->algorithms |= 1u << alg;
                }
                if (i->algorithms == 0) {
                        conf_error_set(err, line, "algorithms: needs at least one algorithm");
                        return -EINVAL;
                }
                return 0;
        }
        if (streq(key, "max_token_lifetime")) {
                int r = set_duration(&i->max_token_lifetime, key, value, MAX_LIFETIME_LIMIT, line, err);
                if (r == 0 && i->max_token_lifetime == 0) {
                        conf_error_set(err, line, "max_token_lifetime must be positive");
                        return -EINVAL;
                }
                return r;
        }
        if (streq(key, "dpop")) {
                if (!streq(value, "required") && !streq(value, "optional")) {
                        conf_error_set(err, line, "dpop: required or optional");
                        return -EINVAL;
                }
                i->dpop_required = streq(value, "required");
                return 0;
        }
        if (streq(key, "optional_claims")) {
                _cleanup_strv_free_ char **l = NULL;
                int r = strv_split_words(value, CONFIG_MAX_LIST, &l);
                if (r < 0)
                        return r == -ENOMEM ? r : -EINVAL;
                for (char **w = l; *w; w++) {
                        if (streq(*w, "jti"))
                                i->jti_optional = true;
                        else if (streq(*w, "iat"))
                                i->iat_optional = true;
                        else {
                                conf_error_set(err, line, "optional_claims: '%s' cannot be optional (only jti and iat)",
                                               *w);
                                return -EINVAL;
                        }
                }
                return 0;
        }
        if (streq(key, "breakglass")) {
                if (parse_bool(value, &i->breakglass) < 0) {
                        conf_error_set(err, line, "breakglass: expected yes or no");
                        return -EINVAL;
                }
                return 0;
        }
        conf_error_set(err, line, "unknown key '%s' in [issuer %s]", key, name);
        return -EINVAL;
}

static ephem_rule *rule_get(ephem_config *c, const char *name, unsigned line, conf_error *err) {
        ephem_rule *nr;

        for (size_t i = 0; i < c->n_rules; i++)
                if (streq(c->rules[i].name, name))
                        return &c->rules[i];
        if (c->n_rules >= CONFIG_MAX_RULES) {
                conf_error_set(err, line, "more than %u rules", CONFIG_MAX_RULES);
                return NULL;
        }
        nr = realloc(c->rules, (c->n_rules + 1) * sizeof(*nr));
        if (!nr) {
                conf_error_set(err, line, "out of memory");
                return NULL;
        }
        c->rules = nr;
        nr = &c->rules[c->n_rules];
        *nr = (ephem_rule){ .name = strdup(name), .line = line };
        if (!nr->name) {
                conf_error_set(err, line, "out of memory");
                return NULL;
        }
        c->n_rules++;
        return nr;
}

static bool claim_name_valid(const char *s, size_t len) {
        if (len == 0 || len > CLAIM_NAME_MAX || s[0] == '/' || s[len - 1] == '/')
                return false;
        for (size_t i = 0; i < len; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
                      strchr("_.-/", s[i])))
                        return false;
        return true;
}

/* A login pattern: user-name characters, '*', '?', and ${claim} substitutions. */
static bool login_template_valid(const char *t) {
        for (const char *p = t; *p;) {
                if (p[0] == '$' && p[1] == '{') {
                        const char *end = strchr(p + 2, '}');
                        if (!end || !claim_name_valid(p + 2, (size_t) (end - p - 2)))
                                return false;
                        p = end + 1;
                        continue;
                }
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("_-*?", *p)))
                        return false;
                p++;
        }
        return *t != '\0';
}

static int rule_set(ephem_config *c, const char *name, const char *key, const char *value, unsigned line,
                    conf_error *err) {
        ephem_rule *rule;
        int r;

        if (!*name) {
                conf_error_set(err, line, "[rule] needs a name: [rule NAME]");
                return -EINVAL;
        }
        rule = rule_get(c, name, line, err);
        if (!rule)
                return -EINVAL;
        if (streq(key, "issuer"))
                return set_list(&rule->issuers, key, value, line, err);
        if (streq(key, "logins")) {
                r = set_list(&rule->logins, key, value, line, err);
                if (r < 0)
                        return r;
                for (char **t = rule->logins; *t; t++)
                        if (!login_template_valid(*t)) {
                                conf_error_set(err, line,
                                               "logins: '%s' is not a login pattern ([a-z0-9_-], * ?, ${claim})", *t);
                                return -EINVAL;
                        }
                return 0;
        }
        if (streq(key, "groups")) {
                r = set_list(&rule->groups, key, value, line, err);
                if (r < 0)
                        return r;
                for (char **g = rule->groups; *g; g++)
                        if (!user_name_valid(*g)) {
                                conf_error_set(err, line, "groups: '%s' is not a valid group name", *g);
                                return -EINVAL;
                        }
                return 0;
        }
        if (streq(key, "max_session"))
                return set_duration(&rule->max_session, key, value, 7u * 86400u, line, err);
        if (streq(key, "max_delegation")) {
                uint32_t v;
                if (parse_u32(value, &v) < 0 || v > DELEGATION_MAX_DEPTH) {
                        conf_error_set(err, line, "max_delegation: 0 to %u", DELEGATION_MAX_DEPTH);
                        return -EINVAL;
                }
                rule->max_delegation = v;
                return 0;
        }
        if (streq(key, "actors"))
                return set_list(&rule->actors, key, value, line, err);
        if (streq(key, "command") || streq(key, "allow_command")) {
                if (string_has_control(value)) {
                        conf_error_set(err, line, "%s: no control characters", key);
                        return -EINVAL;
                }
                if (streq(key, "command"))
                        return set_once_string(&rule->command, key, value, line, err);
                /* One command line per allow_command; repeated for several. */
                {
                        size_t total = strlen(value);
                        for (char **a = rule->allow_commands; a && *a; a++)
                                total += strlen(*a) + 1;
                        if (strv_length(rule->allow_commands) >= RULE_ALLOW_COMMANDS_MAX ||
                            total > RULE_ALLOW_TEXT_MAX || !*value) {
                                conf_error_set(err, line,
                                               "allow_command: a command line; at most %u per rule, %u bytes "
                                               "together",
                                               RULE_ALLOW_COMMANDS_MAX, RULE_ALLOW_TEXT_MAX);
                                return -EINVAL;
                        }
                }
                return strv_extend(&rule->allow_commands, value) < 0 ? -ENOMEM : 0;
        }
        if (streq(key, "commands_claim")) {
                if (!*value || strlen(value) > 255) {
                        conf_error_set(err, line, "commands_claim: a claim name");
                        return -EINVAL;
                }
                return set_once_string(&rule->commands_claim, key, value, line, err);
        }
        if (streq(key, "dpop")) {
                if (!streq(value, "required") && !streq(value, "optional")) {
                        conf_error_set(err, line, "dpop: required or optional");
                        return -EINVAL;
                }
                rule->dpop_required = streq(value, "required");
                return 0;
        }
        if (strncmp(key, "claim.", 6) == 0) {
                const char *claim = key + 6;
                claim_match *nm;
                _cleanup_strv_free_ char **patterns = NULL;

                if (!claim_name_valid(claim, strlen(claim))) {
                        conf_error_set(err, line, "'%s': invalid claim name", key);
                        return -EINVAL;
                }
                /* Only the top-level claims and the current actor decide access: prior
                 * actors (act/act/...) and may_act grant nothing. */
                if (strncmp(claim, "may_act", 7) == 0 || strncmp(claim, "act/act", 7) == 0) {
                        conf_error_set(err, line, "'%s': prior actors and may_act cannot decide access", key);
                        return -EINVAL;
                }
                for (size_t i = 0; i < rule->n_matches; i++)
                        if (streq(rule->matches[i].claim, claim)) {
                                conf_error_set(err, line, "'%s' is set twice", key);
                                return -EINVAL;
                        }
                r = set_list(&patterns, key, value, line, err);
                if (r < 0)
                        return r;
                nm = realloc(rule->matches, (rule->n_matches + 1) * sizeof(*nm));
                if (!nm)
                        return -ENOMEM;
                rule->matches = nm;
                nm[rule->n_matches].claim = strdup(claim);
                if (!nm[rule->n_matches].claim)
                        return -ENOMEM;
                nm[rule->n_matches].patterns = TAKE_PTR(patterns);
                rule->n_matches++;
                return 0;
        }
        conf_error_set(err, line, "unknown key '%s' in [rule %s]", key, name);
        return -EINVAL;
}

static int breakglass_set(ephem_config *c, const char *key, const char *value, unsigned line, conf_error *err) {
        if (streq(key, "accounts")) {
                int r = set_list(&c->breakglass_accounts, key, value, line, err);
                if (r < 0)
                        return r;
                for (char **p = c->breakglass_accounts; *p; p++)
                        if (!login_template_valid(*p) || strchr(*p, '$')) {
                                conf_error_set(err, line, "accounts: '%s' is not a user-name pattern", *p);
                                return -EINVAL;
                        }
                return 0;
        }
        if (streq(key, "codes")) {
                char *v;
                if (value[0] != '/' || strlen(value) > 200) {
                        conf_error_set(err, line, "codes: expected an absolute path");
                        return -EINVAL;
                }
                v = strdup(value);
                if (!v)
                        return -ENOMEM;
                free(c->breakglass_dir);
                c->breakglass_dir = v;
                return 0;
        }
        if (streq(key, "session")) {
                int r = set_duration(&c->breakglass_session, key, value, 24u * 3600u, line, err);
                if (r == 0 && c->breakglass_session == 0) {
                        conf_error_set(err, line, "session must be positive");
                        return -EINVAL;
                }
                return r;
        }
        conf_error_set(err, line, "unknown key '%s' in [breakglass]", key);
        return -EINVAL;
}

static int ca_set(ephem_config *c, const char *name, const char *key, const char *value, unsigned line,
                  conf_error *err) {
        ephem_ca *ca = NULL, *n;
        int r;

        if (!*name) {
                conf_error_set(err, line, "[ca] needs a name: [ca NAME]");
                return -EINVAL;
        }
        for (size_t i = 0; i < c->n_cas; i++)
                if (streq(c->cas[i].name, name))
                        ca = &c->cas[i];
        if (!ca) {
                if (c->n_cas >= CONFIG_MAX_ISSUERS) {
                        conf_error_set(err, line, "more than %u CAs", CONFIG_MAX_ISSUERS);
                        return -EINVAL;
                }
                n = realloc(c->cas, (c->n_cas + 1) * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                c->cas = n;
                ca = &c->cas[c->n_cas];
                *ca = (ephem_ca){ .name = strdup(name), .line = line };
                if (!ca->name)
                        return -ENOMEM;
                c->n_cas++;
        }
        if (streq(key, "key") || streq(key, "fingerprint")) {
                if (ca->fingerprint[0]) {
                        conf_error_set(err, line, "[ca %s] key/fingerprint is set twice", name);
                        return -EINVAL;
                }
                if (sshcert_key_fingerprint(value, ca->fingerprint) < 0) {
                        conf_error_set(err, line, "[ca %s] %s: expected a public key line or SHA256:... fingerprint",
                                       name, key);
                        return -EINVAL;
                }
                if (streq(key, "key") && !(ca->key_line = strdup(value)))
                        return -ENOMEM;
                return 0;
        }
        if (streq(key, "principals")) {
                r = set_list(&ca->principals, key, value, line, err);
                if (r < 0)
                        return r;
                for (char **p = ca->principals; *p; p++)
                        if (!login_template_valid(*p) || strchr(*p, '$')) {
                                conf_error_set(err, line, "principals: '%s' is not a user-name pattern", *p);
                                return -EINVAL;
                        }
                return 0;
        }
        if (streq(key, "max_validity")) {
                r = set_duration(&ca->max_validity, key, value, MAX_LIFETIME_LIMIT, line, err);
                if (r == 0 && ca->max_validity == 0) {
                        conf_error_set(err, line, "max_validity must be positive");
                        return -EINVAL;
                }
                return r;
        }
        if (streq(key, "groups")) {
                r = set_list(&ca->groups, key, value, line, err);
                for (char **g = r == 0 ? ca->groups : NULL; g && *g; g++)
                        if (!user_name_valid(*g)) {
                                conf_error_set(err, line, "groups: '%s' is not a valid group name", *g);
                                return -EINVAL;
                        }
                return r;
        }
        if (streq(key, "max_session"))
                return set_duration(&ca->max_session, key, value, 7u * 86400u, line, err);
        conf_error_set(err, line, "unknown key '%s' in [ca %s]", key, name);
        return -EINVAL;
}

static int on_assignment(const char *section, const char *arg, const char *key, const char *value, unsigned line,
                         void *userdata, conf_error *err) {
        struct parse_state *s = userdata;

        if (streq(section, "breakglass")) {
                if (*arg) {
                        conf_error_set(err, line, "[breakglass] takes no argument");
                        return -EINVAL;
                }
                return breakglass_set(s->c, key, value, line, err);
        }
        if (streq(section, "host") || streq(section, "users")) {
                if (*arg) {
                        conf_error_set(err, line, "[%s] takes no argument", section);
                        return -EINVAL;
                }
                if (streq(section, "users"))
                        return userconf_set(&s->c->users, key, value, line, err);
                return host_set(s->c, key, value, line, err);
        }
        if (streq(section, "issuer"))
                return issuer_set(s->c, arg, key, value, line, err);
        if (streq(section, "rule"))
                return rule_set(s->c, arg, key, value, line, err);
        if (streq(section, "ca"))
                return ca_set(s->c, arg, key, value, line, err);
        if (!*section)
                conf_error_set(err, line, "'%s' outside of any section", key);
        else
                conf_error_set(err, line, "unknown section [%s]", section);
        return -EINVAL;
}

static int verify_whole(ephem_config *c, conf_error *err) {
        int r = userconf_verify(&c->users, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_issuers; i++) {
                ephem_issuer *is = &c->issuers[i];
                if (!is->iss || !is->keys_path) {
                        conf_error_set(err, is->line, "[issuer %s] needs 'iss' and 'keys'", is->name);
                        return -EINVAL;
                }
                for (size_t j = 0; j < i; j++)
                        if (streq(c->issuers[j].iss, is->iss)) {
                                conf_error_set(err, is->line, "[issuer %s] repeats the iss of [issuer %s]", is->name,
                                               c->issuers[j].name);
                                return -EINVAL;
                        }
        }
        for (size_t i = 0; i < c->n_cas; i++) {
                if (!c->cas[i].fingerprint[0] || !c->cas[i].principals || !c->cas[i].max_validity) {
                        conf_error_set(err, c->cas[i].line,
                                       "[ca %s] needs key (or fingerprint), principals and max_validity",
                                       c->cas[i].name);
                        return -EINVAL;
                }
                for (size_t j = 0; j < i; j++)
                        if (streq(c->cas[j].fingerprint, c->cas[i].fingerprint)) {
                                conf_error_set(err, c->cas[i].line, "[ca %s] repeats the key of [ca %s]",
                                               c->cas[i].name, c->cas[j].name);
                                return -EINVAL;
                        }
        }
        if (c->n_issuers > 0 && !c->audiences) {
                conf_error_set(err, 0, "[host] audience is not set: no token could be accepted");
                return -EINVAL;
        }
        for (size_t i = 0; i < c->n_rules; i++) {
                ephem_rule *rule = &c->rules[i];
                if (!rule->issuers || !rule->logins) {
                        conf_error_set(err, rule->line, "[rule %s] needs 'issuer' and 'logins'", rule->name);
                        return -EINVAL;
                }
                if (rule->command && (rule->allow_commands || rule->commands_claim)) {
                        conf_error_set(err, rule->line,
                                       "[rule %s]: 'command' forces one command; it cannot be combined with "
                                       "'allow_command' or 'commands_claim'",
                                       rule->name);
                        return -EINVAL;
                }
                for (char **n = rule->issuers; *n; n++)
                        if (!config_find_issuer(c, *n)) {
                                conf_error_set(err, rule->line, "[rule %s] names issuer '%s', which is not defined",
                                               rule->name, *n);
                                return -EINVAL;
                        }
        }
        return 0;
}

const char *config_path_from_args(int argc, const char **argv) {
        for (int i = 0; i < argc; i++)
                if (strncmp(argv[i], "config=", 7) == 0)
                        return argv[i] + 7;
        return NULL;
}

static int apply_args(ephem_config *c, int argc, const char **argv, conf_error *err) {
        for (int i = 0; i < argc; i++) {
                char buf[CONF_MAX_LINE + 1], *key, *value;
                int r;

                if (strncmp(argv[i], "config=", 7) == 0)
                        continue;
                if (streq(argv[i], "debug")) {
                        c->debug = true;
                        continue;
                }
                if (strlen(argv[i]) > CONF_MAX_LINE) {
                        conf_error_set(err, 0, "module argument too long");
                        return -EINVAL;
                }
                strcpy(buf, argv[i]);
                if (conf_split_assignment(buf, &key, &value) < 0) {
                        conf_error_set(err, 0, "module argument '%s' is not key=value", argv[i]);
                        return -EINVAL;
                }
                r = host_set(c, key, value, 0, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int config_load(const char *path, int argc, const char **argv, ephem_config **ret, conf_error *err) {
        ephem_config *c;
        _cleanup_free_ char *text = NULL;
        struct parse_state s;
        int r;

        if (!path)
                path = EPHEM_CONFIG_PATH;
        c = calloc(1, sizeof(*c));
        if (!c) {
                conf_error_set(err, 0, "out of memory");
                return -ENOMEM;
        }
        c->leeway = DEFAULT_LEEWAY;
        c->max_token_lifetime = DEFAULT_MAX_LIFETIME;
        c->max_token_length = DEFAULT_MAX_TOKEN_LENGTH;
        c->fail_delay_ms = DEFAULT_FAIL_DELAY_MS;
        c->path = strdup(path);
        c->revocation_dir = strdup(EPHEM_REVOCATION_DIR);
        c->cutoff_helper = strdup(EPHEM_LIBEXECDIR "/ephem-cutoff");
        c->warn_before = 60;
        c->breakglass_dir = strdup(EPHEM_BREAKGLASS_DIR);
        c->breakglass_session = 30u * 60u;
        r = userconf_init(&c->users);
        c->state_dir = c->users.state_dir;
        if (!c->path || !c->revocation_dir || !c->cutoff_helper || !c->breakglass_dir || r < 0) {
                r = -ENOMEM;
                conf_error_set(err, 0, "out of memory");
                goto fail;
        }

        r = safe_read_file(path, SAFEFILE_MAX_SIZE, &text, NULL, NULL);
        if (r < 0) {
                conf_error_set(err, 0, "%s: %s", path, safe_read_strerror(r));
                goto fail;
        }
        s.c = c;
        r = conf_parse(text, on_assignment, &s, err);
        if (r < 0)
                goto fail;
        r = apply_args(c, argc, argv, err);
        if (r < 0)
                goto fail;
        r = verify_whole(c, err);
        if (r < 0)
                goto fail;
        *ret = c;
        return 0;
fail:
        if (r == -ENOMEM && !err->message[0])
                conf_error_set(err, 0, "out of memory");
        config_free(c);
        return r;
}

const ephem_ca *config_find_ca(const ephem_config *c, const char *fingerprint) {
        for (size_t i = 0; i < c->n_cas; i++)
                if (streq(c->cas[i].fingerprint, fingerprint))
                        return &c->cas[i];
        return NULL;
}

const ephem_issuer *config_find_issuer_by_iss(const ephem_config *c, const char *iss) {
        for (size_t i = 0; i < c->n_issuers; i++)
                if (streq(c->issuers[i].iss, iss))
                        return &c->issuers[i];
        return NULL;
}

const ephem_issuer *config_find_issuer(const ephem_config *c, const char *name) {
        for (size_t i = 0; i < c->n_issuers; i++)
                if (streq(c->issuers[i].name, name))
                        return &c->issuers[i];
        return NULL;
}

int issuer_keys(ephem_issuer *i, const keyset **ret) {
        if (!i->keys_loaded) {
                conf_error err = { 0 };
                i->keys_error = keyset_load_file(i->keys_path, &i->keys, &err);
                memcpy(i->keys_error_text, err.message, sizeof(i->keys_error_text));
                i->keys_loaded = true;
        }
        if (i->keys_error < 0)
                return i->keys_error;
        *ret = &i->keys;
        return 0;
}

uint64_t issuer_max_lifetime(const ephem_config *c, const ephem_issuer *i) {
        /* The issuer's own limit is the more specific one, in either direction:
         * Kubernetes projected tokens cannot be shorter than 10 minutes. */
        return i->max_token_lifetime ? i->max_token_lifetime : c->max_token_lifetime;
}
