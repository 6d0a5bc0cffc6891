/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pam_ephem: log in with a short-lived token from a credential broker.
 *
 *   auth      asks for the token, verifies it offline, checks policy for PAM_USER,
 *             burns its jti, and hands a login record on to account and session
 *   account   refuses once the token has expired
 *
 * Names that are not transient names ([users] names) are not ours: PAM_IGNORE.
 * Every other failure denies, with the most specific PAM code and an audit event.
 */
#include <errno.h>
#include <pwd.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "ephem/audit.h"
#include "ephem/config.h"
#include "ephem/login.h"
#include "ephem/macro.h"
#include "ephem/policy.h"
#include "ephem/replay.h"
#include "ephem/token.h"
#include "prompt.h"

#define DATA_CONFIG "ephem.config"

typedef struct pam_ctx {
        pam_handle_t *pamh;
        ephem_config *config;
        const char *user;
        const char *service;
        const char *rhost;
} pam_ctx;

static void config_cleanup(pam_handle_t *pamh _unused_, void *data, int error_status _unused_) {
        config_free(data);
}

/* Loads the configuration once per PAM handle. Returns a PAM code. */
static int ctx_config(pam_ctx *ctx, int argc, const char **argv) {
        const void *cached = NULL;
        conf_error err = { 0 };
        ephem_config *c;
        int r;

        if (pam_get_data(ctx->pamh, DATA_CONFIG, &cached) == PAM_SUCCESS && cached) {
                ctx->config = (ephem_config *) cached;
                return PAM_SUCCESS;
        }
        r = config_load(config_path_from_args(argc, argv), argc, argv, &c, &err);
        if (r < 0) {
                audit_record a = { .event = AUDIT_CONFIG_ERROR, .reason = EPHEM_R_CONFIG, .identifier = "pam_ephem",
                                   .detail = err.message, .uid = -1 };
                if (err.line)
                        pam_syslog(ctx->pamh, LOG_ERR, "configuration, line %u: %s", err.line, err.message);
                else
                        pam_syslog(ctx->pamh, LOG_ERR, "configuration: %s", err.message);
                audit_emit(&a);
                return r == -ENOMEM ? PAM_BUF_ERR : PAM_AUTHINFO_UNAVAIL;
        }
        if (pam_set_data(ctx->pamh, DATA_CONFIG, c, config_cleanup) != PAM_SUCCESS) {
                config_free(c);
                return PAM_BUF_ERR;
        }
        ctx->config = c;
        return PAM_SUCCESS;
}

static void ctx_items(pam_ctx *ctx) {
        const void *item = NULL;

        if (pam_get_item(ctx->pamh, PAM_SERVICE, &item) == PAM_SUCCESS)
                ctx->service = item;
        item = NULL;
        if (pam_get_item(ctx->pamh, PAM_RHOST, &item) == PAM_SUCCESS)
                ctx->rhost = item;
}

/* Whether the user is ours. Returns PAM_SUCCESS (ours), PAM_IGNORE (not ours),
 * PAM_USER_UNKNOWN (a name nobody can have), or pam_get_user()'s error. */
static int ctx_user(pam_ctx *ctx) {
        int r = pam_get_user(ctx->pamh, &ctx->user, NULL);

        if (r != PAM_SUCCESS)
                return r;
        if (!ctx->user || !*ctx->user)
                return PAM_USER_UNKNOWN;
        if (userconf_is_transient(&ctx->config->users, ctx->user))
                return PAM_SUCCESS;
        /* Control characters or absurd length: not a name of any account. */
        if (strlen(ctx->user) > 256)
                return PAM_USER_UNKNOWN;
        for (const char *p = ctx->user; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return PAM_USER_UNKNOWN;
        return PAM_IGNORE;
}

static void audit_base(const pam_ctx *ctx, audit_record *a, audit_event e) {
        *a = (audit_record){
                .event = e,
                .identifier = "pam_ephem",
                .service = ctx->service,
                .rhost = ctx->rhost,
                .user = ctx->user,
                .uid = -1,
        };
}

static void audit_token(audit_record *a, const ephem_token *t) {
        if (!t)
                return;
        a->fingerprint = t->fingerprint;
        a->iss = t->iss;
        a->sub = t->sub;
        a->jti = t->jti;
        a->issuer = t->issuer ? t->issuer->name : NULL;
        a->exp = t->has_exp ? t->exp : 0;
        a->iat = t->has_iat ? t->iat : 0;
        a->agent_type = token_claim_string(t, "agent_type");
        a->agent_owner = token_claim_string(t, "owner");
        a->agent_purpose = token_claim_string(t, "purpose");
        a->risk_tier = token_claim_string(t, "risk_tier");
        a->intent = token_claim_string(t, "intent");
}

static int deny(const pam_ctx *ctx, audit_event e, const ephem_token *t, const char *fp, ephem_reason reason,
                const char *detail, int code) {
        audit_record a;

        audit_base(ctx, &a, e);
        audit_token(&a, t);
        if (!t)
                a.fingerprint = fp;
        a.reason = reason;
        a.detail = detail;
        audit_emit(&a);
        if (ctx->config && ctx->config->debug)
                pam_syslog(ctx->pamh, LOG_DEBUG, "denied %s: %s (%s)", ctx->user ? ctx->user : "?", reason_id(reason),
                           strempty(detail));
        return code;
}

static int reason_to_pam(ephem_reason r) {
        switch (r) {
        case EPHEM_OK:
                return PAM_SUCCESS;
        case EPHEM_R_CONV:
                return PAM_CONV_ERR;
        case EPHEM_R_TOKEN_EMPTY:
                return PAM_CRED_INSUFFICIENT;
        case EPHEM_R_CONFIG:
        case EPHEM_R_STATE:
                return PAM_AUTHINFO_UNAVAIL;
        case EPHEM_R_INTERNAL:
                return PAM_SYSTEM_ERR;
        case EPHEM_R_USER_INVALID:
                return PAM_USER_UNKNOWN;
        default:
                return PAM_AUTH_ERR;
        }
}

/*
 * The name must not belong to an account that is not ours, and the UID it gets must
 * not belong to another name. Where the NSS module is installed, getpwnam() answers
 * with the entry sshd already holds: it must be exactly the one we compute.
 */
static ephem_reason check_identity(const pam_ctx *ctx, char *detail, size_t size) {
        const userconf *u = &ctx->config->users;
        uid_t uid = userconf_uid(u, ctx->user);
        char home[USER_PATH_MAX];
        struct passwd pw, *res = NULL;
        char buf[4096];
        int r;

        if (userconf_home(u, ctx->user, home, sizeof(home)) < 0)
                return EPHEM_R_CONFIG;
        r = getpwnam_r(ctx->user, &pw, buf, sizeof(buf), &res);
        if (r != 0 && r != ENOENT && r != ESRCH)
                return EPHEM_R_INTERNAL;
        if (res && (res->pw_uid != uid || res->pw_gid != uid || !streq(res->pw_dir, home) ||
                    !streq(res->pw_shell, u->shell))) {
                (void) snprintf(detail, size, "the name resolves to UID %u, not the transient UID %u",
                                (unsigned) res->pw_uid, (unsigned) uid);
                return res->pw_uid != uid ? EPHEM_R_USER_LOCAL : EPHEM_R_USER_COLLISION;
        }
        res = NULL;
        r = getpwuid_r(uid, &pw, buf, sizeof(buf), &res);
        if (r != 0 && r != ENOENT && r != ESRCH)
                return EPHEM_R_INTERNAL;
        if (res && !streq(res->pw_name, ctx->user)) {
                (void) snprintf(detail, size, "UID %u belongs to another user", (unsigned) uid);
                return EPHEM_R_USER_COLLISION;
        }
        return EPHEM_OK;
}

static int authenticate(pam_ctx *ctx) {
        ephem_config *c = ctx->config;
        _cleanup_erase_free_ char *secret = NULL;
        _cleanup_token_ ephem_token *t = NULL;
        _cleanup_(login_record_done) login_record rec = { 0 };
        const ephem_rule *rule = NULL;
        ephem_verdict v = { 0 };
        char fp[TOKEN_FP_LEN + 1] = "";
        char detail[192] = "", env[sizeof(LOGIN_ENV) + LOGIN_ID_LEN + 2];
        int64_t now = (int64_t) time(NULL);
        int maybe_truncated = 0, k;
        ephem_reason r;
        audit_record a;

        r = prompt_token(ctx->pamh, (size_t) c->max_token_length, &secret, &maybe_truncated);
        if (r != EPHEM_OK)
                return deny(ctx, AUDIT_AUTH_DENIED, NULL, NULL, r, NULL, reason_to_pam(r));
        token_fingerprint(secret, strlen(secret), fp);

        r = token_verify(c, secret, strlen(secret), now, &t, &v);
        /* The token is no longer needed in clear: everything below uses the parsed claims. */
        explicit_bzero(secret, strlen(secret));
        if (r != EPHEM_OK) {
                if (maybe_truncated) {
                        (void) snprintf(detail, sizeof(detail), "then: %s", reason_id(r));
                        return deny(ctx, AUDIT_AUTH_DENIED, NULL, fp, EPHEM_R_TOKEN_TRUNCATED, detail, PAM_AUTH_ERR);
                }
                return deny(ctx, AUDIT_AUTH_DENIED, NULL, fp, r, v.detail, reason_to_pam(r));
        }

        r = policy_decide(c, t, ctx->user, &rule, &v, NULL, NULL);
        if (r != EPHEM_OK)
                return deny(ctx, AUDIT_AUTH_DENIED, t, NULL, r, v.detail, reason_to_pam(r));

        r = check_identity(ctx, detail, sizeof(detail));
        if (r != EPHEM_OK)
                return deny(ctx, AUDIT_AUTH_DENIED, t, NULL, r, detail, reason_to_pam(r));

        /* Last: a token that failed any other check keeps its jti. */
        k = replay_register(c->state_dir, t->iss, t->jti, t->exp + (int64_t) c->leeway, now);
        if (k == -EEXIST)
                return deny(ctx, AUDIT_AUTH_DENIED, t, NULL, EPHEM_R_REPLAY, NULL, PAM_AUTH_ERR);
        if (k < 0) {
                (void) snprintf(detail, sizeof(detail), "replay cache: %s", strerror(-k));
                return deny(ctx, AUDIT_AUTH_DENIED, t, NULL, EPHEM_R_STATE, detail, PAM_AUTHINFO_UNAVAIL);
        }

        k = login_record_from_token(&rec, t, rule, ctx->user, now);
        if (k == 0)
                k = login_record_save(c->state_dir, &rec);
        if (k < 0) {
                (void) snprintf(detail, sizeof(detail), "login record: %s", strerror(-k));
                return deny(ctx, AUDIT_AUTH_DENIED, t, NULL, EPHEM_R_STATE, detail,
                            k == -ENOMEM ? PAM_BUF_ERR : PAM_AUTHINFO_UNAVAIL);
        }
        (void) snprintf(env, sizeof(env), "%s=%s", LOGIN_ENV, rec.id);
        if (pam_putenv(ctx->pamh, env) != PAM_SUCCESS) {
                (void) login_record_remove(c->state_dir, rec.id);
                return deny(ctx, AUDIT_AUTH_DENIED, t, NULL, EPHEM_R_INTERNAL, "pam_putenv", PAM_BUF_ERR);
        }

        audit_base(ctx, &a, AUDIT_AUTH_OK);
        audit_token(&a, t);
        a.rule = rule->name;
        a.uid = (int64_t) userconf_uid(&c->users, ctx->user);
        audit_emit(&a);
        return PAM_SUCCESS;
}

_public_ PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags _unused_, int argc, const char **argv) {
        pam_ctx ctx = { .pamh = pamh };
        int r;

        ctx_items(&ctx);
        r = ctx_config(&ctx, argc, argv);
        if (r != PAM_SUCCESS)
                return r;
        if (ctx.config->fail_delay_ms)
                (void) pam_fail_delay(pamh, (unsigned) ctx.config->fail_delay_ms * 1000u);
        r = ctx_user(&ctx);
        if (r == PAM_IGNORE)
                return r;
        if (r != PAM_SUCCESS)
                return deny(&ctx, AUDIT_AUTH_DENIED, NULL, NULL, EPHEM_R_USER_INVALID, NULL, r);
        return authenticate(&ctx);
}

_public_ PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags _unused_, int argc, const char **argv) {
        pam_ctx ctx = { .pamh = pamh };
        int r;

        r = ctx_config(&ctx, argc, argv);
        if (r != PAM_SUCCESS)
                return r;
        r = ctx_user(&ctx);
        /* Transient users have no credentials beyond the session ephem opens. */
        return r == PAM_SUCCESS ? PAM_SUCCESS : r;
}

_public_ PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags _unused_, int argc, const char **argv) {
        pam_ctx ctx = { .pamh = pamh };
        _cleanup_(login_record_done) login_record rec = { 0 };
        int64_t now = (int64_t) time(NULL);
        const char *id;
        int r;

        ctx_items(&ctx);
        r = ctx_config(&ctx, argc, argv);
        if (r != PAM_SUCCESS)
                return r;
        r = ctx_user(&ctx);
        if (r == PAM_IGNORE)
                return r;
        if (r != PAM_SUCCESS)
                return deny(&ctx, AUDIT_ACCOUNT_DENIED, NULL, NULL, EPHEM_R_USER_INVALID, NULL, r);

        id = pam_getenv(pamh, LOGIN_ENV);
        if (!id)
                return deny(&ctx, AUDIT_ACCOUNT_DENIED, NULL, NULL, EPHEM_R_USER_NOT_ALLOWED,
                            "no ephem token was accepted in this PAM transaction", PAM_PERM_DENIED);
        r = login_record_load(ctx.config->state_dir, id, &rec);
        if (r < 0)
                return deny(&ctx, AUDIT_ACCOUNT_DENIED, NULL, NULL, EPHEM_R_STATE, "login record unreadable",
                            PAM_PERM_DENIED);
        if (!streq(rec.user, ctx.user))
                return deny(&ctx, AUDIT_ACCOUNT_DENIED, NULL, rec.fingerprint, EPHEM_R_USER_NOT_ALLOWED,
                            "the accepted token was for another user", PAM_PERM_DENIED);
        if (now > rec.exp + (int64_t) ctx.config->leeway)
                return deny(&ctx, AUDIT_ACCOUNT_DENIED, NULL, rec.fingerprint, EPHEM_R_EXPIRED, NULL,
                            PAM_ACCT_EXPIRED);
        return PAM_SUCCESS;
}
