/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a successful `auth` hands on to `account` and `session`. sshd runs auth (and
 * account) in a forked child when it uses keyboard-interactive, so pam_set_data()
 * is gone by session time: the record lives in <state>/logins/<id> (root only), and
 * only its random id travels, in the PAM environment (EPHEM_LOGIN_ID).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "ephem/token.h"
#include "ephem/userconf.h"

#define LOGIN_ID_LEN 32u
#define LOGIN_ENV "EPHEM_LOGIN_ID"

typedef struct login_record {
        char id[LOGIN_ID_LEN + 1];
        char user[USER_NAME_MAX + 1];
        char fingerprint[TOKEN_FP_LEN + 1];
        char *issuer; /* section name */
        char *iss, *sub, *jti, *rule;
        char *act_chain; /* JSON array of actors, current first; NULL: not delegated */
        char *command;   /* the rule's forced command; NULL: none */
        char **allow;    /* the command lines the session may run; NULL: not restricted */
        char **groups;
        int64_t exp, iat, auth_time;
        uint64_t max_session; /* the rule's, 0: none */
        bool breakglass;      /* an emergency login: code or emergency issuer */
} login_record;

void login_record_done(login_record *r);

/* The command lines a login may run (*ret NULL: not restricted): the rule's
 * allow_command lines, narrowed by the token's commands_claim when the rule names
 * one. -EPERM when the rule needs the claim and the token has no usable one, or when
 * nothing is left; -ENOMEM. */
int login_allowance(const ephem_token *t, const ephem_rule *rule, char ***ret);

/* Fills a record from a verified token, the login name and the allowing rule.
 * -EPERM: see login_allowance(). */
int login_record_from_token(login_record *ret, const ephem_token *t, const ephem_rule *rule, const char *user,
                            int64_t now);

/* Gives the record a fresh random id and writes it. 0 or negative errno. */
int login_record_save(const char *state_dir, login_record *r);

/* Reads the record `id` (hex, LOGIN_ID_LEN). -ENOENT, -EBADMSG, -EINVAL, -errno. */
int login_record_load(const char *state_dir, const char *id, login_record *ret);

int login_record_remove(const char *state_dir, const char *id);

/* Whether an accepted login of `user` is still waiting for its session (a record
 * whose token has not expired at `now`). */
bool login_pending_for_user(const char *state_dir, const char *user, int64_t now, int64_t leeway);

/* True when id is LOGIN_ID_LEN lowercase hex digits. */
bool login_id_valid(const char *id);
