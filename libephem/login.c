/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/login.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ephem/json.h"
#include "ephem/kvrecord.h"
#include "ephem/macro.h"
#include "ephem/state.h"
#include "ephem/strutil.h"

void login_record_done(login_record *r) {
        free(r->issuer);
        free(r->iss);
        free(r->sub);
        free(r->jti);
        free(r->rule);
        free(r->act_chain);
        free(r->command);
        strv_free(r->allow);
        strv_free(r->groups);
        *r = (login_record){ 0 };
}

bool login_id_valid(const char *id) {
        return string_is_lower_hex(id, LOGIN_ID_LEN);
}

static int dup_field(char **field, const char *value) {
        *field = strdup(strempty(value));
        return *field ? 0 : -ENOMEM;
}

/* The token's list of command lines (commands_claim): an array of strings, or one
 * string. -EPERM when the claim is missing or not such a list. */
static int claim_commands(const ephem_token *t, const char *claim, char ***ret) {
        const json_t *v = json_lookup_path(t->claims, claim);
        char **l = NULL;
        size_t i;
        json_t *e;

        if (json_is_string(v))
                return strv_extend(ret, json_string_value(v)) < 0 ? -ENOMEM : 0;
        if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > RULE_ALLOW_COMMANDS_MAX)
                return -EPERM;
        json_array_foreach(v, i, e) {
                if (!json_is_string(e) || strv_extend(&l, json_string_value(e)) < 0) {
                        strv_free(l);
                        return json_is_string(e) ? -ENOMEM : -EPERM;
                }
        }
        *ret = l;
        return 0;
}

int login_allowance(const ephem_token *t, const ephem_rule *rule, char ***ret) {
        char **claimed = NULL, **l = NULL;
        size_t total = 0;
        int k;

        *ret = NULL;
        if (!rule->allow_commands && !rule->commands_claim)
                return 0;
        if (rule->commands_claim) {
                k = claim_commands(t, rule->commands_claim, &claimed);
                if (k < 0)
                        return k;
        }
        /* The token can only narrow what the rule allows. */
        for (char **c = claimed ? claimed : rule->allow_commands; c && *c; c++) {
                bool allowed = !claimed || !rule->allow_commands;
                for (char **a = rule->allow_commands; !allowed && *a; a++)
                        allowed = streq(*a, *c);
                if (!allowed)
                        continue;
                total += strlen(*c) + 1;
                if (!**c || total > RULE_ALLOW_TEXT_MAX || string_has_control(*c)) {
                        strv_free(claimed);
                        strv_free(l);
                        return -EPERM;
                }
                if (strv_extend(&l, *c) < 0) {
                        strv_free(claimed);
                        strv_free(l);
                        return -ENOMEM;
                }
        }
        strv_free(claimed);
        if (!l)
                return -EPERM; /* nothing left: no session could run anything */
        *ret = l;
        return 0;
}

int login_record_from_token(login_record *ret, const ephem_token *t, const ephem_rule *rule, const char *user,
                            int64_t now) {
        login_record r = { 0 };
        int k;

        if (strlen(user) > USER_NAME_MAX)
                return -EINVAL;
        strcpy(r.user, user);
        memcpy(r.fingerprint, t->fingerprint, sizeof(r.fingerprint));
        r.exp = t->exp;
        r.iat = t->iat;
        r.auth_time = now;
        r.max_session = rule ? rule->max_session : 0;
        if (dup_field(&r.issuer, t->issuer ? t->issuer->name : "") < 0 || dup_field(&r.iss, t->iss) < 0 ||
            dup_field(&r.sub, t->sub) < 0 || dup_field(&r.jti, t->replay_id[0] ? t->replay_id : t->jti) < 0 ||
            dup_field(&r.rule, rule ? rule->name : "") < 0)
                goto oom;
        for (char **g = rule ? rule->groups : NULL; g && *g; g++)
                if (strv_extend(&r.groups, *g) < 0)
                        goto oom;
        if (token_act_depth(t) > 0 && token_act_chain(t, &r.act_chain) < 0)
                goto oom;
        if (rule && rule->command && !(r.command = strdup(rule->command)))
                goto oom;
        if (rule) {
                k = login_allowance(t, rule, &r.allow);
                if (k < 0) {
                        login_record_done(&r);
                        return k;
                }
        }
        *ret = r;
        return 0;
oom:
        login_record_done(&r);
        return -ENOMEM;
}

int login_record_save(const char *state_dir, login_record *r) {
        _cleanup_close_ int dfd = -1;
        kv_writer w = { 0 };
        int k;

        k = random_hex(r->id, LOGIN_ID_LEN / 2);
        if (k < 0)
                return k;
        dfd = state_open_subdir(state_dir, "logins", 0700);
        if (dfd < 0)
                return dfd;
        kvw_add(&w, "user", r->user);
        kvw_add(&w, "fingerprint", r->fingerprint);
        kvw_add(&w, "issuer", r->issuer);
        kvw_add(&w, "iss", r->iss);
        kvw_add(&w, "sub", r->sub);
        kvw_add(&w, "jti", r->jti);
        kvw_add(&w, "rule", r->rule);
        kvw_addf(&w, "exp", "%" PRId64, r->exp);
        kvw_addf(&w, "iat", "%" PRId64, r->iat);
        kvw_addf(&w, "auth_time", "%" PRId64, r->auth_time);
        kvw_addf(&w, "max_session", "%" PRIu64, r->max_session);
        kvw_add(&w, "breakglass", r->breakglass ? "1" : "0");
        if (r->act_chain)
                kvw_add(&w, "act_chain", r->act_chain);
        if (r->command)
                kvw_add(&w, "command", r->command);
        for (char **a = r->allow; a && *a; a++)
                kvw_add(&w, "allow", *a);
        for (char **g = r->groups; g && *g; g++)
                kvw_add(&w, "group", *g);
        k = kvw_commit_at(&w, dfd, r->id, 0600);
        kvw_done(&w);
        return k;
}

static int on_field(const char *key, const char *value, void *userdata) {
        login_record *r = userdata;

        if (streq(key, "user")) {
                if (strlen(value) > USER_NAME_MAX)
                        return -EBADMSG;
                strcpy(r->user, value);
                return 0;
        }
        if (streq(key, "fingerprint")) {
                if (strlen(value) != TOKEN_FP_LEN)
                        return -EBADMSG;
                strcpy(r->fingerprint, value);
                return 0;
        }
        if (streq(key, "issuer"))
                return r->issuer ? -EBADMSG : dup_field(&r->issuer, value);
        if (streq(key, "iss"))
                return r->iss ? -EBADMSG : dup_field(&r->iss, value);
        if (streq(key, "sub"))
                return r->sub ? -EBADMSG : dup_field(&r->sub, value);
        if (streq(key, "jti"))
                return r->jti ? -EBADMSG : dup_field(&r->jti, value);
        if (streq(key, "rule"))
                return r->rule ? -EBADMSG : dup_field(&r->rule, value);
        if (streq(key, "group"))
                return strv_extend(&r->groups, value);
        if (streq(key, "breakglass")) {
                r->breakglass = streq(value, "1");
                return 0;
        }
        if (streq(key, "act_chain"))
                return r->act_chain ? -EBADMSG : dup_field(&r->act_chain, value);
        if (streq(key, "command"))
                return r->command ? -EBADMSG : dup_field(&r->command, value);
        if (streq(key, "allow"))
                return strv_length(r->allow) >= RULE_ALLOW_COMMANDS_MAX ? -EBADMSG : strv_extend(&r->allow, value);
        if (streq(key, "exp"))
                return parse_i64_nonneg(value, &r->exp) < 0 ? -EBADMSG : 0;
        if (streq(key, "iat"))
                return parse_i64_nonneg(value, &r->iat) < 0 ? -EBADMSG : 0;
        if (streq(key, "auth_time"))
                return parse_i64_nonneg(value, &r->auth_time) < 0 ? -EBADMSG : 0;
        if (streq(key, "max_session"))
                return parse_u64(value, &r->max_session) < 0 ? -EBADMSG : 0;
        return 0; /* fields of newer versions */
}

int login_record_load(const char *state_dir, const char *id, login_record *ret) {
        _cleanup_close_ int dfd = -1;
        char buf[KV_RECORD_MAX];
        login_record r = { 0 };
        size_t len;
        int k;

        if (!login_id_valid(id))
                return -EINVAL;
        dfd = state_open_subdir(state_dir, "logins", 0700);
        if (dfd < 0)
                return dfd;
        k = kv_read_at(dfd, id, buf, sizeof(buf), &len);
        if (k < 0)
                return k;
        k = kv_parse(buf, len, on_field, &r);
        if (k == 0 && (!r.user[0] || !r.iss || !r.jti || r.exp == 0))
                k = -EBADMSG;
        if (k < 0) {
                login_record_done(&r);
                return k;
        }
        memcpy(r.id, id, LOGIN_ID_LEN + 1);
        *ret = r;
        return 0;
}

int login_record_remove(const char *state_dir, const char *id) {
        _cleanup_close_ int dfd = -1;

        if (!login_id_valid(id))
                return -EINVAL;
        dfd = state_open_subdir(state_dir, "logins", 0700);
        if (dfd < 0)
                return dfd;
        if (unlinkat(dfd, id, 0) < 0)
                return negative_errno();
        return 0;
}

bool login_pending_for_user(const char *state_dir, const char *user, int64_t now, int64_t leeway) {
        _cleanup_close_ int dfd = state_open_subdir(state_dir, "logins", 0700);
        struct dirent *de;
        bool pending = false;
        DIR *d;

        if (dfd < 0)
                return dfd != -ENOENT; /* unknown: assume a login is in flight */
        d = dir_open_at(dfd);
        if (!d)
                return true;
        while (!pending && (de = readdir(d))) {
                login_record r;
                if (!login_id_valid(de->d_name) || login_record_load(state_dir, de->d_name, &r) < 0)
                        continue;
                pending = streq(r.user, user) && r.exp + leeway >= now;
                login_record_done(&r);
        }
        closedir(d);
        return pending;
}
