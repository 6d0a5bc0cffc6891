/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/policy.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ephem/breakglass.h"
#include "ephem/json.h"
#include "ephem/login.h"
#include "ephem/macro.h"
#include "ephem/strutil.h"

static void tracef(policy_trace_fn trace, void *userdata, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void tracef(policy_trace_fn trace, void *userdata, const char *fmt, ...) {
        char line[512];
        va_list ap;

        if (!trace)
                return;
        va_start(ap, fmt);
        (void) vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        trace(userdata, line);
}

static bool scalar_matches(const json_t *v, char *const *patterns) {
        char buf[32];
        const char *s;

        if (json_is_string(v)) {
                s = json_string_value(v);
                if (strlen(s) != json_string_length(v))
                        return false; /* an embedded NUL would hide the rest from fnmatch */
        } else if (json_is_integer(v)) {
                (void) snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                s = buf;
        } else if (json_is_boolean(v))
                s = json_is_true(v) ? "true" : "false";
        else
                return false;
        for (char *const *p = patterns; *p; p++)
                if (fnmatch(*p, s, 0) == 0)
                        return true;
        return false;
}

bool policy_claim_matches(const json_t *value, char *const *patterns) {
        json_t *e;
        size_t i;

        if (!json_is_array(value))
                return scalar_matches(value, patterns);
        json_array_foreach(value, i, e)
                if (scalar_matches(e, patterns))
                        return true;
        return false;
}

/* Expands ${claim} in a login template into a glob. The substituted value must be
 * made of user-name characters, so it can add no wildcard. Returns false (with why)
 * when the template cannot apply to this token. */
static bool expand_login(const ephem_token *t, const char *tmpl, char *out, size_t size, const char **why) {
        size_t n = 0;

        for (const char *p = tmpl; *p;) {
                const char *piece;
                size_t len;

                if (p[0] == '$' && p[1] == '{') {
                        const char *end = strchr(p + 2, '}');
                        char name[160];

                        len = (size_t) (end - p - 2);
                        if (len >= sizeof(name))
                                return false;
                        memcpy(name, p + 2, len);
                        name[len] = '\0';
                        piece = token_claim_string(t, name);
                        /* An empty value names nobody: tokens lacking the attribute
                         * must not share one login namespace ("ci--*"). */
                        if (!piece || !*piece) {
                                *why = "a substituted claim is missing, empty or not a string";
                                return false;
                        }
                        len = strlen(piece);
                        for (size_t i = 0; i < len; i++)
                                if (!((piece[i] >= 'a' && piece[i] <= 'z') || (piece[i] >= '0' && piece[i] <= '9') ||
                                      piece[i] == '_' || piece[i] == '-')) {
                                        *why = "a substituted claim holds characters not allowed in user names";
                                        return false;
                                }
                        p = end + 1;
                } else {
                        piece = p;
                        len = 1;
                        p++;
                }
                if (n + len >= size) {
                        *why = "the expanded name is too long";
                        return false;
                }
                memcpy(out + n, piece, len);
                n += len;
        }
        out[n] = '\0';
        return true;
}

static bool rule_names_issuer(const ephem_rule *rule, const ephem_issuer *issuer) {
        for (char **i = rule->issuers; *i; i++)
                if (streq(*i, issuer->name))
                        return true;
        return false;
}

static bool rule_matches(const ephem_rule *rule, const ephem_token *t, const char *user, policy_trace_fn trace,
                         void *userdata) {
        if (!rule_names_issuer(rule, t->issuer)) {
                tracef(trace, userdata, "rule %s: skipped, not for issuer %s", rule->name, t->issuer->name);
                return false;
        }
        {
                /* Delegation: how deep, and who acts now. */
                int depth = token_act_depth(t);
                if (depth < 0 || (unsigned) depth > rule->max_delegation) {
                        tracef(trace, userdata, "rule %s: skipped, delegation depth %d exceeds its max_delegation %u",
                               rule->name, depth, rule->max_delegation);
                        return false;
                }
                if (rule->actors && depth > 0 &&
                    !policy_claim_matches(json_object_get(json_object_get(t->claims, "act"), "sub"), rule->actors)) {
                        tracef(trace, userdata, "rule %s: skipped, the current actor matches none of its actors",
                               rule->name);
                        return false;
                }
        }
        for (size_t i = 0; i < rule->n_matches; i++) {
                const claim_match *m = &rule->matches[i];
                json_t *v = json_lookup_path(t->claims, m->claim);

                if (!v) {
                        tracef(trace, userdata, "rule %s: skipped, the token has no claim '%s'", rule->name, m->claim);
                        return false;
                }
                if (!policy_claim_matches(v, m->patterns)) {
                        tracef(trace, userdata, "rule %s: skipped, claim '%s' matches none of its patterns", rule->name,
                               m->claim);
                        return false;
                }
        }
        if (rule->commands_claim) {
                /* The token must name the commands it may run (within the rule's). */
                char **allow = NULL;
                int k = login_allowance(t, rule, &allow);
                strv_free(allow);
                if (k < 0) {
                        tracef(trace, userdata, "rule %s: skipped, claim '%s' lists no command the rule allows",
                               rule->name, rule->commands_claim);
                        return false;
                }
        }
        for (char **l = rule->logins; *l; l++) {
                char pattern[160];
                const char *why = NULL;

                if (!expand_login(t, *l, pattern, sizeof(pattern), &why)) {
                        tracef(trace, userdata, "rule %s: login pattern '%s' does not apply: %s", rule->name, *l,
                               why ? why : "invalid");
                        continue;
                }
                if (fnmatch(pattern, user, FNM_PATHNAME | FNM_PERIOD) == 0) {
                        tracef(trace, userdata, "rule %s: matches, login pattern '%s' allows '%s'", rule->name, *l,
                               user);
                        return true;
                }
        }
        tracef(trace, userdata, "rule %s: claims match, but no login pattern allows '%s'", rule->name, user);
        return false;
}

ephem_reason policy_decide(const ephem_config *c, const ephem_token *t, const char *user, const ephem_rule **ret_rule,
                           ephem_verdict *v, policy_trace_fn trace, void *userdata) {
        v->detail[0] = '\0';
        if (!user_name_valid(user)) {
                tracef(trace, userdata, "'%s' is not a valid user name ([a-z_][a-z0-9_-]*, at most %u bytes)",
                       user ? user : "", USER_NAME_MAX);
                v->reason = EPHEM_R_USER_INVALID;
                return v->reason;
        }
        /* An offline emergency token may also name a [breakglass] account. */
        if (!userconf_is_transient(&c->users, user) &&
            !(t->issuer && t->issuer->breakglass && breakglass_account(c, user))) {
                tracef(trace, userdata, "'%s' is not a transient user name ([users] names)", user);
                v->reason = EPHEM_R_USER_NOT_ALLOWED;
                (void) snprintf(v->detail, sizeof(v->detail), "not a transient user name");
                return v->reason;
        }
        for (size_t i = 0; i < c->n_rules; i++)
                if (rule_matches(&c->rules[i], t, user, trace, userdata)) {
                        *ret_rule = &c->rules[i];
                        v->reason = EPHEM_OK;
                        return EPHEM_OK;
                }
        tracef(trace, userdata, "no rule allows '%s': denied", user);
        v->reason = EPHEM_R_USER_NOT_ALLOWED;
        return v->reason;
}
