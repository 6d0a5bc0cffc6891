/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pam_ephem: log in with a short-lived token from a credential broker.
 *
 *   auth      asks for the token, verifies it offline, checks policy for PAM_USER,
 *             burns its jti, and hands a login record on to account and session
 *   account   refuses once the token has expired or has been revoked
 *   session   records the transient user's session, creates its home, exports
 *             EPHEM_* variables and arms the cut-off: a cgroup of ephem's own (or
 *             logind's RuntimeMaxSec=) and an exec'd helper that ends every process
 *             of the session at the deadline or on revocation
 *
 * Names that are not transient names ([users] names) are not ours: PAM_IGNORE.
 * Every other failure denies, with the most specific PAM code and an audit event.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "ephem/audit.h"
#include "ephem/breakglass.h"
#include "ephem/config.h"
#include "ephem/dpop.h"
#include "ephem/login.h"
#include "ephem/macro.h"
#include "ephem/policy.h"
#include "ephem/replay.h"
#include "ephem/revocation.h"
#include "ephem/session.h"
#include "ephem/sshcert.h"
#include "ephem/state.h"
#include "ephem/store.h"
#include "ephem/token.h"
#include "prompt.h"
#include "cutoff-helper.h"

#define DATA_CONFIG "ephem.config"

typedef struct pam_ctx {
        pam_handle_t *pamh;
        ephem_config *config;
        const char *user;
        const char *service;
        const char *rhost;
        bool transient; /* the name matches [users] names */
        bool emergency; /* the name is a [breakglass] account (local or transient) */
} pam_ctx;

static void config_cleanup(pam_handle_t *pamh _unused_, void *data, int error_status _unused_) {
        config_free(data);
}

/*
 * The configuration cannot be used. Whether this login is ephem's business at all
 * is still decided, from [users] alone (the NSS module's view), so that a broken
 * ephem.conf does not lock local accounts out: names that are not transient get
 * PAM_IGNORE; transient names, or no way to tell, are denied.
 */
static int config_unusable(pam_ctx *ctx, int argc, const char **argv) {
        const char *path = config_path_from_args(argc, argv);
        const char *user = NULL;
        conf_error err = { 0 };
        userconf u;
        bool ours;
        int r;

        r = userconf_load(path ? path : EPHEM_CONFIG_PATH, &u, &err);
        if (r == -ENOENT) {
                /* Not configured: no name is transient (NSS resolves none either). */
                userconf_done(&u);
                return PAM_IGNORE;
        }
        if (r < 0 || pam_get_user(ctx->pamh, &user, NULL) != PAM_SUCCESS || !user) {
                userconf_done(&u);
                return PAM_AUTHINFO_UNAVAIL;
        }
        ours = userconf_is_transient(&u, user);
        userconf_done(&u);
        return ours ? PAM_AUTHINFO_UNAVAIL : PAM_IGNORE;
}

/* Loads the configuration once per PAM handle. Returns a PAM code (PAM_IGNORE when
 * the configuration is unusable and the user is not a transient name). */
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
                audit_record a = { .event = AUDIT_CONFIG_ERROR,
                                   .reason = EPHEM_R_CONFIG,
                                   .identifier = "pam_ephem",
                                   .detail = err.message,
                                   .uid = -1 };
                if (err.line)
                        pam_syslog(ctx->pamh, LOG_ERR, "configuration, line %u: %s", err.line, err.message);
                else
                        pam_syslog(ctx->pamh, LOG_ERR, "configuration: %s", err.message);
                audit_emit(&a);
                return r == -ENOMEM ? PAM_BUF_ERR : config_unusable(ctx, argc, argv);
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
        ctx->transient = userconf_is_transient(&ctx->config->users, ctx->user);
        ctx->emergency = breakglass_account(ctx->config, ctx->user);
        if (ctx->transient || ctx->emergency)
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
        a->jti = t->replay_id[0] ? t->replay_id : t->jti; /* what the session and revocation use */
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
        {
                user_record rec;
                r = userdb_get_by_uid(u, uid, &rec);
                if (r == 0 && !streq(rec.name, ctx->user)) {
                        (void) snprintf(detail, size, "UID %u is held by transient user %s", (unsigned) uid, rec.name);
                        return EPHEM_R_USER_COLLISION;
                }
                if (r < 0 && r != -ENOENT) {
                        (void) snprintf(detail, size, "the record of UID %u is unreadable", (unsigned) uid);
                        return EPHEM_R_STATE;
                }
        }
        if (store_uid_quarantined(ctx->config, uid, ctx->user, (int64_t) time(NULL), detail, size))
                return EPHEM_R_USER_COLLISION;
        return EPHEM_OK;
}

/* The rule's supplementary groups as GIDs of existing host groups. A group that does
 * not exist (or is root's) grants nothing; ephemctl policy check reports it. */
static size_t resolve_groups(char *const *groups, gid_t *gids, size_t max) {
        size_t n = 0;

        for (char *const *g = groups; g && *g && n < max; g++) {
                struct group gr, *res = NULL;
                char buf[4096];

                if (getgrnam_r(*g, &gr, buf, sizeof(buf), &res) != 0 || !res || res->gr_gid == 0)
                        continue;
                gids[n++] = res->gr_gid;
        }
        return n;
}

/*
 * Proof of possession: a token bound to a key (cnf.jkt) is accepted only with a
 * fresh proof signed by that key (see dpop.h); an issuer or rule with dpop =
 * required accepts bound tokens only.
 */
static ephem_reason check_possession(pam_ctx *ctx, const ephem_token *t, const ephem_rule *rule, const char *ath,
                                     ephem_verdict *v) {
        char htu[512], nonce[DPOP_NONCE_LEN + 1], prompt[600];
        _cleanup_erase_free_ char *proof = NULL;
        const char *jkt = NULL;
        dpop_expect e;
        ephem_reason r;

        r = dpop_token_binding(t, &jkt, v);
        if (r != EPHEM_OK)
                return r;
        if (!jkt) {
                if (t->issuer->dpop_required || rule->dpop_required) {
                        v->reason = EPHEM_R_DPOP_REQUIRED;
                        (void) snprintf(v->detail, sizeof(v->detail), "the token is not bound to a key");
                        return v->reason;
                }
                return EPHEM_OK;
        }
        if (dpop_htu(ctx->config, t, ctx->user, htu, sizeof(htu)) < 0 || dpop_nonce(nonce) < 0)
                return EPHEM_R_INTERNAL;
        (void) snprintf(prompt, sizeof(prompt), DPOP_PROMPT_FMT, htu, nonce);
        if (pam_prompt(ctx->pamh, PAM_PROMPT_ECHO_OFF, &proof, "%s", prompt) != PAM_SUCCESS || !proof) {
                v->reason = EPHEM_R_DPOP_INVALID;
                (void) snprintf(v->detail, sizeof(v->detail), "no proof was given");
                return v->reason;
        }
        if (strlen(proof) == OPENSSH_ANSWER_LIMIT) {
                v->reason = EPHEM_R_DPOP_INVALID;
                (void) snprintf(
                        v->detail, sizeof(v->detail),
                        "the proof is 1023 bytes, the OpenSSH client's limit: probably cut off (use an EC or Ed25519 key)");
                return v->reason;
        }
        e = (dpop_expect){ .htu = htu, .nonce = nonce, .ath = ath, .jkt = jkt, .now = (int64_t) time(NULL) };
        return dpop_verify(ctx->config, proof, strlen(proof), &e, v);
}

/* The break-glass path: a one-time code instead of a token. */
static int authenticate_code(pam_ctx *ctx, const char *code) {
        ephem_config *c = ctx->config;
        _cleanup_(login_record_done) login_record rec = { 0 };
        char detail[256] = "", env[sizeof(LOGIN_ENV) + LOGIN_ID_LEN + 2], jti[64], sub[32];
        int64_t now = (int64_t) time(NULL);
        unsigned number = 0;
        bool created = false;
        ephem_reason r;
        audit_record a;
        int k;

        if (!ctx->transient) {
                struct passwd pw, *res = NULL;
                char buf[4096];
                if (getpwnam_r(ctx->user, &pw, buf, sizeof(buf), &res) != 0 || !res || res->pw_uid == 0)
                        return deny(ctx, AUDIT_AUTH_DENIED, NULL, NULL, EPHEM_R_USER_INVALID,
                                    "an emergency account must be a local account other than root", PAM_USER_UNKNOWN);
        }
        /* A collision would waste the code after its burn: check first. */
        if (ctx->transient) {
                r = check_identity(ctx, detail, sizeof(detail));
                if (r != EPHEM_OK)
                        return deny(ctx, AUDIT_AUTH_DENIED, NULL, NULL, r, detail, reason_to_pam(r));
        }
        r = breakglass_use(c, ctx->user, code, &number, detail, sizeof(detail));
        if (r != EPHEM_OK)
                return deny(ctx, AUDIT_AUTH_DENIED, NULL, NULL, r, detail,
                            r == EPHEM_R_BREAKGLASS_STORE || r == EPHEM_R_STATE ? PAM_AUTHINFO_UNAVAIL
                                                                                : reason_to_pam(r));
        /* Burned and durable: from here on, a failure wastes the code (fail closed). */
        breakglass_note_use(c, ctx->user, number, ctx->rhost, now);

        (void) snprintf(jti, sizeof(jti), "breakglass:%s:%u", ctx->user, number);
        (void) snprintf(sub, sizeof(sub), "code %u", number);
        if (ctx->transient) {
                k = store_user_put(c, ctx->user, NULL, 0, now + (int64_t) c->breakglass_session, now, &created, detail,
                                   sizeof(detail));
                if (k < 0)
                        return deny(ctx, AUDIT_AUTH_DENIED, NULL, NULL,
                                    k == -EADDRINUSE ? EPHEM_R_USER_COLLISION : EPHEM_R_STATE, detail,
                                    k == -EADDRINUSE ? PAM_AUTH_ERR : PAM_AUTHINFO_UNAVAIL);
        }
        strcpy(rec.user, ctx->user);
        if (token_fingerprint(jti, strlen(jti), rec.fingerprint) < 0)
                return deny(ctx, AUDIT_AUTH_DENIED, NULL, NULL, EPHEM_R_INTERNAL, "sha256", PAM_BUF_ERR);
        if (created) {
                audit_base(ctx, &a, AUDIT_USER_CREATED);
                a.uid = (int64_t) userconf_uid(&c->users, ctx->user);
                a.sub = sub;
                a.jti = jti;
                a.fingerprint = rec.fingerprint;
                a.issuer = "breakglass";
                audit_emit(&a);
        }
        rec.exp = now + (int64_t) c->breakglass_session;
        rec.iat = now;
        rec.auth_time = now;
        rec.max_session = c->breakglass_session;
        rec.breakglass = true;
        if (!(rec.issuer = strdup("breakglass")) || !(rec.iss = strdup("breakglass-code")) ||
            !(rec.sub = strdup(sub)) || !(rec.jti = strdup(jti)) || !(rec.rule = strdup("breakglass")))
                return PAM_BUF_ERR;
        k = login_record_save(c->state_dir, &rec);
        if (k < 0)
                return deny(ctx, AUDIT_AUTH_DENIED, NULL, NULL, EPHEM_R_STATE, "login record", PAM_AUTHINFO_UNAVAIL);
        (void) snprintf(env, sizeof(env), "%s=%s", LOGIN_ENV, rec.id);
        if (pam_putenv(ctx->pamh, env) != PAM_SUCCESS) {
                (void) login_record_remove(c->state_dir, rec.id);
                return PAM_BUF_ERR;
        }

        audit_base(ctx, &a, AUDIT_BREAKGLASS_USED);
        a.sub = sub;
        a.jti = jti;
        a.fingerprint = rec.fingerprint;
        a.issuer = "breakglass";
        a.exp = rec.exp;
        a.uid = ctx->transient ? (int64_t) userconf_uid(&c->users, ctx->user) : -1;
        a.detail = "one-time emergency code";
        audit_emit(&a);
        return PAM_SUCCESS;
}

static int authenticate(pam_ctx *ctx) {
        ephem_config *c = ctx->config;
        _cleanup_erase_free_ char *secret = NULL;
        _cleanup_token_ ephem_token *t = NULL;
        _cleanup_(login_record_done) login_record rec = { 0 };
        const ephem_rule *rule = NULL;
        ephem_verdict v = { 0 };
        char fp[TOKEN_FP_LEN + 1] = "";
        char detail[192] = "", env[sizeof(LOGIN_ENV) + LOGIN_ID_LEN + 2], ath[DPOP_ATH_LEN + 1];
        int64_t now = (int64_t) time(NULL);
        int maybe_truncated = 0, k;
        ephem_reason r;
        audit_record a;

        r = prompt_token(ctx->pamh, (size_t) c->max_token_length, &secret, &maybe_truncated);
        if (r != EPHEM_OK)
                return deny(ctx, AUDIT_AUTH_DENIED, NULL, NULL, r, NULL, reason_to_pam(r));
        if (ctx->emergency && breakglass_looks_like_code(secret))
                return authenticate_code(ctx, secret);
        if (token_fingerprint(secret, strlen(secret), fp) < 0 || dpop_ath(secret, strlen(secret), ath) < 0)
                return deny(ctx, AUDIT_AUTH_DENIED, NULL, fp, EPHEM_R_INTERNAL, "sha256", PAM_SYSTEM_ERR);

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

        /* Within the leeway after exp the token still verifies, but a session would
         * end as it starts: refuse now rather than at session open. */
        if (t->exp <= now)
                return deny(ctx, AUDIT_AUTH_DENIED, t, NULL, EPHEM_R_EXPIRED, "no time left for a session",
                            PAM_AUTH_ERR);

        r = policy_decide(c, t, ctx->user, &rule, &v, NULL, NULL);
        if (r != EPHEM_OK)
                return deny(ctx, AUDIT_AUTH_DENIED, t, NULL, r, v.detail, reason_to_pam(r));

        r = check_possession(ctx, t, rule, ath, &v);
        if (r != EPHEM_OK)
                return deny(ctx, AUDIT_AUTH_DENIED, t, NULL, r, v.detail, reason_to_pam(r));

        if (ctx->transient) {
                r = check_identity(ctx, detail, sizeof(detail));
                if (r != EPHEM_OK)
                        return deny(ctx, AUDIT_AUTH_DENIED, t, NULL, r, detail, reason_to_pam(r));
        }

        if (revocation_check(c, t->iss, t->sub, t->replay_id, ctx->user, t->fingerprint, now, detail, sizeof(detail)))
                return deny(ctx, AUDIT_AUTH_DENIED, t, NULL, EPHEM_R_REVOKED, detail, PAM_AUTH_ERR);

        /* Last: a token that failed any other check keeps its jti. */
        k = replay_register(c->state_dir, t->iss, t->replay_id, t->exp + (int64_t) c->leeway, now);
        if (k == -EEXIST)
                return deny(ctx, AUDIT_AUTH_DENIED, t, NULL, EPHEM_R_REPLAY, NULL, PAM_AUTH_ERR);
        if (k < 0) {
                (void) snprintf(detail, sizeof(detail), "replay cache: %s", strerror(-k));
                return deny(ctx, AUDIT_AUTH_DENIED, t, NULL, EPHEM_R_STATE, detail, PAM_AUTHINFO_UNAVAIL);
        }

        if (ctx->transient) {
                gid_t gids[USER_GROUPS_MAX];
                size_t n = resolve_groups(rule->groups, gids, ELEMENTSOF(gids));
                bool created = false;

                k = store_user_put(c, ctx->user, gids, n, t->exp, now, &created, detail, sizeof(detail));
                if (k == -EADDRINUSE)
                        return deny(ctx, AUDIT_AUTH_DENIED, t, NULL, EPHEM_R_USER_COLLISION, detail, PAM_AUTH_ERR);
                if (k < 0) {
                        (void) snprintf(detail, sizeof(detail), "user record: %s", strerror(-k));
                        return deny(ctx, AUDIT_AUTH_DENIED, t, NULL, EPHEM_R_STATE, detail, PAM_AUTHINFO_UNAVAIL);
                }
                if (created) {
                        audit_base(ctx, &a, AUDIT_USER_CREATED);
                        audit_token(&a, t);
                        a.uid = (int64_t) userconf_uid(&c->users, ctx->user);
                        audit_emit(&a);
                }
        }

        k = login_record_from_token(&rec, t, rule, ctx->user, now);
        if (k == 0 && t->issuer->breakglass) {
                /* An offline emergency token: the limits and alerting of a code. */
                rec.breakglass = true;
                if (rec.max_session == 0 || rec.max_session > c->breakglass_session)
                        rec.max_session = c->breakglass_session;
        }
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

        audit_base(ctx, &a, t->issuer->breakglass ? AUDIT_BREAKGLASS_USED : AUDIT_AUTH_OK);
        audit_token(&a, t);
        a.rule = rule->name;
        a.act_chain = rec.act_chain;
        a.uid = ctx->transient ? (int64_t) userconf_uid(&c->users, ctx->user) : -1;
        if (t->issuer->breakglass)
                a.detail = "offline emergency token";
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
        r = ctx_user(&ctx);
        if (r == PAM_IGNORE)
                return r;
        /* A refusal costs the same whatever its cause; local accounts keep theirs. */
        if (ctx.config->fail_delay_ms)
                (void) pam_fail_delay(pamh, (unsigned) ctx.config->fail_delay_ms * 1000u);
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

/*
 * systemd starts a user's manager (user@UID.service, PAM service "systemd-user",
 * account and session stages only) when the user's first logind session opens. A
 * transient user may have one while on record with time left; its services end
 * with the user's last session (the cut-off helper calls TerminateUser). Without a
 * record (a lingering name at boot, a user already swept) it is refused.
 */
static int account_user_manager(const pam_ctx *ctx, int64_t now) {
        user_record u;
        int r;

        r = userdb_get_by_name(&ctx->config->users, ctx->user, &u);
        if (r == -ENOENT)
                return deny(ctx, AUDIT_ACCOUNT_DENIED, NULL, NULL, EPHEM_R_USER_NOT_ALLOWED,
                            "user manager for a transient user with no login on record", PAM_PERM_DENIED);
        if (r < 0)
                return deny(ctx, AUDIT_ACCOUNT_DENIED, NULL, NULL, EPHEM_R_STATE, "user record unreadable",
                            PAM_PERM_DENIED);
        if (now > u.expires)
                return deny(ctx, AUDIT_ACCOUNT_DENIED, NULL, NULL, EPHEM_R_EXPIRED,
                            "user manager for a transient user whose tokens have expired", PAM_ACCT_EXPIRED);
        if (ctx->config->debug)
                pam_syslog(ctx->pamh, LOG_DEBUG, "user manager of %s allowed until %" PRId64, ctx->user, u.expires);
        return PAM_SUCCESS;
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
        if (!id && !ctx.transient)
                return PAM_IGNORE; /* a local emergency account logging in some other way */
        if (!id && ctx.service && streq(ctx.service, "systemd-user"))
                return account_user_manager(&ctx, now);
        /* A public-key login with a certificate: sshd shows PAM the certificate only
         * at session time, where it is checked (and the session refused) — this
         * stage cannot decide it. Only sshd presents certificates: cron, atd, su and
         * the rest stay refused. */
        if (!id && ctx.config->n_cas > 0 && ctx.service && streq(ctx.service, "sshd"))
                return PAM_IGNORE;
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
                return deny(&ctx, AUDIT_ACCOUNT_DENIED, NULL, rec.fingerprint, EPHEM_R_EXPIRED, NULL, PAM_ACCT_EXPIRED);
        {
                char detail[192];
                if (revocation_check(ctx.config, rec.iss, rec.sub, rec.jti, rec.user, rec.fingerprint, now, detail,
                                     sizeof(detail)))
                        return deny(&ctx, AUDIT_ACCOUNT_DENIED, NULL, rec.fingerprint, EPHEM_R_REVOKED, detail,
                                    PAM_PERM_DENIED);
        }
        return PAM_SUCCESS;
}

/* ---- session ---- */

#define DATA_RUNTIME_MAX "systemd.runtime_max_sec"
#define ENV_SESSION_ID "EPHEM_SESSION_ID"
#define DATA_SESSION_ID "ephem.session_id"

static void free_data(pam_handle_t *pamh _unused_, void *data, int error_status _unused_) {
        free(data);
}

static int putenvf(pam_handle_t *pamh, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int putenvf(pam_handle_t *pamh, const char *name, const char *fmt, ...) {
        char value[512], entry[600];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(value, sizeof(value), fmt, ap);
        va_end(ap);
        (void) snprintf(entry, sizeof(entry), "%s=%s", name, value);
        return pam_putenv(pamh, entry);
}

static int session_fail(pam_ctx *ctx, const login_record *rec, ephem_reason reason, const char *detail) {
        audit_record a;

        audit_base(ctx, &a, AUDIT_SESSION_DENIED);
        a.reason = reason;
        a.detail = detail;
        if (rec) {
                a.fingerprint = rec->fingerprint;
                a.iss = rec->iss;
                a.sub = rec->sub;
                a.jti = rec->jti;
        }
        audit_emit(&a);
        pam_syslog(ctx->pamh, LOG_ERR, "session for %s refused: %s%s%s", ctx->user, reason_text(reason),
                   detail ? ": " : "", strempty(detail));
        return PAM_SESSION_ERR;
}

static ephem_reason cert_refuse(char *detail, size_t size, ephem_reason r, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static ephem_reason cert_refuse(char *detail, size_t size, ephem_reason r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        (void) vsnprintf(detail, size, fmt, ap);
        va_end(ap);
        return r;
}

/*
 * A login with an OpenSSH user certificate (sshd verified its signature against
 * TrustedUserCAKeys): ephem's policy for the CA, the user recorded as for a token,
 * and a login record in memory whose deadline is the certificate's valid_before.
 * Revocation keys: iss "ssh-ca:<CA fingerprint>", sub the key id, jti the serial.
 */
static ephem_reason certificate_login(pam_ctx *ctx, int64_t now, login_record *rec, sshcert *cert, char *detail,
                                      size_t size) {
        const ephem_config *c = ctx->config;
        const char *info = pam_getenv(ctx->pamh, "SSH_AUTH_INFO_0");
        const ephem_ca *ca;
        gid_t gids[USER_GROUPS_MAX];
        char iss[80], serial[24], rule[160];
        bool allowed = false, created = false;
        size_t n_gids;
        ephem_reason r;
        int k;

        k = info ? sshcert_from_auth_info(info, cert) : -ENOENT;
        if (k == -ENOENT)
                return cert_refuse(detail, size, EPHEM_R_USER_NOT_ALLOWED,
                                   "no ephem token or certificate was accepted");
        if (k < 0)
                return cert_refuse(detail, size, EPHEM_R_MALFORMED, "the accepted certificate cannot be parsed");
        if (cert->cert_type != 1)
                return cert_refuse(detail, size, EPHEM_R_CLAIM_TYPE, "not a user certificate");
        ca = config_find_ca(c, cert->ca_fingerprint);
        if (!ca)
                return cert_refuse(detail, size, EPHEM_R_ISSUER_UNKNOWN, "CA %s has no [ca] section",
                                   cert->ca_fingerprint);
        if (!sshcert_has_principal(cert, ctx->user))
                return cert_refuse(detail, size, EPHEM_R_USER_NOT_ALLOWED, "the certificate does not name %s",
                                   ctx->user);
        for (char **p = ca->principals; *p && !allowed; p++)
                allowed = fnmatch(*p, ctx->user, FNM_PATHNAME | FNM_PERIOD) == 0;
        if (!allowed || !ctx->transient)
                return cert_refuse(detail, size, EPHEM_R_USER_NOT_ALLOWED, "[ca %s] may not issue for %s", ca->name,
                                   ctx->user);
        if (cert->valid_before > (uint64_t) INT64_MAX || cert->valid_after >= cert->valid_before)
                return cert_refuse(detail, size, EPHEM_R_LIFETIME, "the certificate is valid forever");
        if ((uint64_t) now + c->leeway < cert->valid_after)
                return cert_refuse(detail, size, EPHEM_R_NOT_YET_VALID, NULL);
        if ((uint64_t) now >= cert->valid_before)
                return cert_refuse(detail, size, EPHEM_R_EXPIRED, NULL);
        if (cert->valid_before - cert->valid_after > ca->max_validity)
                return cert_refuse(detail, size, EPHEM_R_LIFETIME, "valid %llu s, [ca %s] allows %llu s",
                                   (unsigned long long) (cert->valid_before - cert->valid_after), ca->name,
                                   (unsigned long long) ca->max_validity);
        r = check_identity(ctx, detail, size);
        if (r != EPHEM_OK)
                return r;

        (void) snprintf(iss, sizeof(iss), "ssh-ca:%s", cert->ca_fingerprint);
        (void) snprintf(serial, sizeof(serial), "%llu", (unsigned long long) cert->serial);
        (void) snprintf(rule, sizeof(rule), "ca:%s", ca->name);
        if (revocation_check(c, iss, cert->key_id, serial, ctx->user, NULL, now, detail, size))
                return EPHEM_R_REVOKED;

        n_gids = resolve_groups(ca->groups, gids, ELEMENTSOF(gids));
        k = store_user_put(c, ctx->user, gids, n_gids, (int64_t) cert->valid_before, now, &created, detail, size);
        if (k == -EADDRINUSE)
                return EPHEM_R_USER_COLLISION;
        if (k < 0)
                return cert_refuse(detail, size, EPHEM_R_STATE, "user record: %s", strerror(-k));

        strcpy(rec->user, ctx->user);
        if (token_fingerprint(cert->cert_fingerprint, strlen(cert->cert_fingerprint), rec->fingerprint) < 0)
                return cert_refuse(detail, size, EPHEM_R_INTERNAL, "sha256 failed");
        rec->exp = (int64_t) cert->valid_before;
        rec->iat = (int64_t) cert->valid_after;
        rec->auth_time = now;
        rec->max_session = ca->max_session;
        if (!(rec->issuer = strdup(ca->name)) || !(rec->iss = strdup(iss)) || !(rec->sub = strdup(cert->key_id)) ||
            !(rec->jti = strdup(serial)) || !(rec->rule = strdup(rule)))
                return EPHEM_R_INTERNAL;
        {
                audit_record a;
                audit_base(ctx, &a, AUDIT_AUTH_OK);
                a.uid = (int64_t) userconf_uid(&c->users, ctx->user);
                a.issuer = ca->name;
                a.iss = iss;
                a.sub = cert->key_id;
                a.jti = serial;
                a.rule = rule;
                a.exp = rec->exp;
                a.iat = rec->iat;
                a.fingerprint = rec->fingerprint;
                a.cert_key_id = cert->key_id;
                a.cert_serial = serial;
                a.ca_fingerprint = cert->ca_fingerprint;
                a.detail = "OpenSSH certificate";
                if (created) {
                        audit_record u = a;
                        u.event = AUDIT_USER_CREATED;
                        u.detail = NULL;
                        audit_emit(&u);
                }
                audit_emit(&a);
        }
        return EPHEM_OK;
}

static int open_session(pam_ctx *ctx, int argc, const char **argv) {
        const ephem_config *c = ctx->config;
        _cleanup_(login_record_done) login_record rec = { 0 };
        _cleanup_(session_record_done) session_record s = { 0 };
        int64_t now = (int64_t) time(NULL);
        user_record user;
        char detail[512] = "", clean_iss[256], clean_sub[256], clean_chain[400];
        const char *id;
        audit_record a;
        int k, ready_fd = -1;

        id = pam_getenv(ctx->pamh, LOGIN_ENV);
        if (!id && !ctx->transient)
                return PAM_IGNORE; /* a local emergency account that did not log in through ephem */
        if (!id) {
                _cleanup_(sshcert_done) sshcert cert = { 0 };
                ephem_reason r = certificate_login(ctx, now, &rec, &cert, detail, sizeof(detail));
                if (r != EPHEM_OK)
                        return session_fail(ctx, rec.iss ? &rec : NULL, r, detail);
        } else {
                k = login_record_load(c->state_dir, id, &rec);
                if (k < 0)
                        return session_fail(ctx, NULL, EPHEM_R_STATE, "login record unreadable");
                if (!streq(rec.user, ctx->user))
                        return session_fail(ctx, &rec, EPHEM_R_USER_NOT_ALLOWED,
                                            "the accepted token was for another user");
        }
        if (revocation_check(c, rec.iss, rec.sub, rec.jti, rec.user, rec.fingerprint, now, detail, sizeof(detail)))
                return session_fail(ctx, &rec, EPHEM_R_REVOKED, detail);
        if (ctx->transient) {
                k = userdb_get_by_name(&c->users, ctx->user, &user);
                if (k < 0)
                        return session_fail(ctx, &rec, EPHEM_R_STATE, "the transient user has no record");
        } else {
                /* A local emergency account: its own passwd entry and home. */
                struct passwd pw, *res = NULL;
                char buf[4096];
                if (getpwnam_r(ctx->user, &pw, buf, sizeof(buf), &res) != 0 || !res || res->pw_uid == 0)
                        return session_fail(ctx, &rec, EPHEM_R_USER_INVALID, "no such local account (or root)");
                user = (user_record){ .uid = res->pw_uid, .gid = res->pw_gid };
        }

        /* The deadline: the earliest of token expiry and the rule's session limit. */
        memcpy(s.user, rec.user, sizeof(s.user));
        memcpy(s.fingerprint, rec.fingerprint, sizeof(s.fingerprint));
        s.uid = user.uid;
        s.start = now;
        s.deadline = rec.exp;
        strcpy(s.deadline_reason, "token_expiry");
        if (rec.max_session && now + (int64_t) rec.max_session < s.deadline) {
                s.deadline = now + (int64_t) rec.max_session;
                strcpy(s.deadline_reason, "max_session");
        }
        if (rec.breakglass) {
                /* The emergency limit, counted from the login (a code's validity is that
                 * limit: the session stage may start a second later), where it is what
                 * ends the session. */
                int64_t limit = (rec.auth_time > 0 && rec.auth_time <= now ? rec.auth_time : now) +
                                (int64_t) c->breakglass_session;

                s.breakglass = true;
                if (limit <= s.deadline) {
                        s.deadline = limit;
                        strcpy(s.deadline_reason, "breakglass");
                }
        }
        if (s.deadline <= now)
                return session_fail(ctx, &rec, EPHEM_R_EXPIRED, "the deadline has passed");
        if (rec.command || rec.allow) {
                /* Only ephem-shell enforces them: with any other shell the command would
                 * be a wish, not a limit. */
                const char *base = strrchr(c->users.shell, '/');
                if (!ctx->transient || !base || !streq(base + 1, "ephem-shell"))
                        return session_fail(ctx, &rec, EPHEM_R_CONFIG,
                                            rec.command
                                                    ? "the rule forces a command, but [users] shell is not ephem-shell"
                                                    : "the rule allows only some commands, but [users] shell is not "
                                                      "ephem-shell");
                if (rec.command && !(s.command = strdup(rec.command)))
                        return PAM_BUF_ERR;
                s.allow = TAKE_PTR(rec.allow);
        }
        s.warn_at = s.deadline - (int64_t) c->warn_before;
        s.leader = getpid();
        s.leader_start = process_start_time(s.leader);
        if (!(s.issuer = strdup(strempty(rec.issuer))) || !(s.iss = strdup(strempty(rec.iss))) ||
            !(s.sub = strdup(strempty(rec.sub))) || !(s.jti = strdup(rec.jti)) ||
            !(s.rule = strdup(strempty(rec.rule))) || !(s.service = strdup(strempty(ctx->service))) ||
            !(s.rhost = strdup(strempty(ctx->rhost))))
                return PAM_BUF_ERR;
        k = random_hex(s.id, SESSION_ID_LEN / 2);
        if (k < 0)
                return session_fail(ctx, &rec, EPHEM_R_INTERNAL, "no randomness");

        k = ctx->transient ? store_home_create(c, &user) : 0;
        if (k < 0) {
                (void) snprintf(detail, sizeof(detail), "home %s: %s", user.home, strerror(-k));
                return session_fail(ctx, &rec, EPHEM_R_STATE, detail);
        }

        if (session_use_logind()) {
                /* pam_systemd, later in the stack, makes this the scope's RuntimeMaxSec=. */
                char *v = NULL;
                if (asprintf(&v, "%" PRId64, s.deadline - now) < 0)
                        return PAM_BUF_ERR;
                if (pam_set_data(ctx->pamh, DATA_RUNTIME_MAX, v, free_data) != PAM_SUCCESS) {
                        free(v);
                        return PAM_BUF_ERR;
                }
        } else {
                k = cgroup_session_create(s.id, s.cgroup, sizeof(s.cgroup));
                if (k < 0) {
                        s.cgroup[0] = '\0';
                        pam_syslog(
                                ctx->pamh, LOG_WARNING,
                                "no writable cgroup v2 with cgroup.kill (%s): the cut-off falls back to the UID and session id",
                                strerror(-k));
                }
        }

        k = session_save(c, &s);
        if (k < 0) {
                if (s.cgroup[0])
                        (void) rmdir(s.cgroup);
                (void) snprintf(detail, sizeof(detail), "session record: %s", strerror(-k));
                return session_fail(ctx, &rec, EPHEM_R_STATE, detail);
        }
        /* The helper is started before this process enters the cgroup, so that the
         * cut-off does not kill the helper with the session, and waited for until it
         * is armed: before that, nothing would end the session. */
        k = spawn_cutoff_helper(c->cutoff_helper, s.id, argc, argv, &ready_fd);
        if (k == 0)
                k = spawn_wait_ready(ready_fd);
        if (k < 0) {
                (void) session_remove(c, s.id);
                if (s.cgroup[0])
                        (void) rmdir(s.cgroup);
                (void) snprintf(detail, sizeof(detail), "cut-off helper %s did not arm itself: %s", c->cutoff_helper,
                                strerror(-k));
                return session_fail(ctx, &rec, EPHEM_R_INTERNAL, detail);
        }
        if (s.cgroup[0]) {
                k = cgroup_enter(s.cgroup, s.leader);
                if (k < 0) {
                        /* Without the cgroup the session could outlive its deadline: refuse.
                         * The helper sees the record go and cleans up. */
                        (void) session_remove(c, s.id);
                        (void) snprintf(detail, sizeof(detail), "entering cgroup %s: %s", s.cgroup, strerror(-k));
                        return session_fail(ctx, &rec, EPHEM_R_INTERNAL, detail);
                }
        }

        session_status_write(c, &s, "active");
        if (putenvf(ctx->pamh, ENV_SESSION_ID, "%s", s.id) != PAM_SUCCESS ||
            putenvf(ctx->pamh, "EPHEM_EXPIRES_AT", "%" PRId64, s.deadline) != PAM_SUCCESS ||
            putenvf(ctx->pamh, "EPHEM_DEADLINE_REASON", "%s", s.deadline_reason) != PAM_SUCCESS ||
            putenvf(ctx->pamh, "EPHEM_STATUS_FILE", "%s/status/%s", c->state_dir, s.id) != PAM_SUCCESS ||
            putenvf(ctx->pamh, "EPHEM_ISS", "%s", sanitize_for_log(s.iss, clean_iss, sizeof(clean_iss))) !=
                    PAM_SUCCESS ||
            putenvf(ctx->pamh, "EPHEM_SUB", "%s", sanitize_for_log(s.sub, clean_sub, sizeof(clean_sub))) !=
                    PAM_SUCCESS ||
            (rec.act_chain &&
             putenvf(ctx->pamh, "EPHEM_ACT_CHAIN", "%s",
                     sanitize_for_log(rec.act_chain, clean_chain, sizeof(clean_chain))) != PAM_SUCCESS))
                return PAM_BUF_ERR;
        /* close_session runs in this process: it trusts this copy of the id, not the
         * PAM environment, which pam_env (user_readenv) lets the user's files change. */
        {
                char *copy = strdup(s.id);
                if (!copy || pam_set_data(ctx->pamh, DATA_SESSION_ID, copy, free_data) != PAM_SUCCESS) {
                        free(copy);
                        return PAM_BUF_ERR;
                }
        }
        /* The hand-off id is spent: it must not reach the user's environment. */
        (void) pam_putenv(ctx->pamh, LOGIN_ENV);
        if (rec.id[0])
                (void) login_record_remove(c->state_dir, rec.id);

        audit_base(ctx, &a, AUDIT_SESSION_OPEN);
        a.uid = (int64_t) user.uid;
        a.session_id = s.id;
        a.deadline = s.deadline;
        a.fingerprint = rec.fingerprint;
        a.iss = rec.iss;
        a.sub = rec.sub;
        a.jti = rec.jti;
        a.issuer = rec.issuer;
        a.rule = rec.rule;
        a.exp = rec.exp;
        a.iat = rec.iat;
        a.act_chain = rec.act_chain;
        a.detail = s.deadline_reason;
        a.cutoff = session_use_logind() ? "logind" : s.cgroup[0] ? "cgroup" : "uid";
        audit_emit(&a);
        return PAM_SUCCESS;
}

_public_ PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags _unused_, int argc, const char **argv) {
        pam_ctx ctx = { .pamh = pamh };
        int r;

        ctx_items(&ctx);
        r = ctx_config(&ctx, argc, argv);
        if (r != PAM_SUCCESS)
                return r == PAM_AUTHINFO_UNAVAIL ? PAM_SESSION_ERR : r;
        r = ctx_user(&ctx);
        if (r == PAM_IGNORE)
                return r;
        if (r != PAM_SUCCESS)
                return PAM_SESSION_ERR;
        return open_session(&ctx, argc, argv);
}

_public_ PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags _unused_, int argc, const char **argv) {
        pam_ctx ctx = { .pamh = pamh };
        _cleanup_(session_record_done) session_record s = { 0 };
        const char *id;
        audit_record a;
        int r;

        ctx_items(&ctx);
        r = ctx_config(&ctx, argc, argv);
        if (r != PAM_SUCCESS)
                return r == PAM_AUTHINFO_UNAVAIL ? PAM_SESSION_ERR : r;
        r = ctx_user(&ctx);
        if (r != PAM_SUCCESS)
                return r == PAM_IGNORE ? r : PAM_SESSION_ERR;
        {
                const void *data = NULL;
                id = pam_get_data(pamh, DATA_SESSION_ID, &data) == PAM_SUCCESS ? data : NULL;
        }
        if (!id)
                id = pam_getenv(pamh, ENV_SESSION_ID); /* open_session ran in another process */
        if (!id || session_load(ctx.config, id, &s) < 0)
                return PAM_SUCCESS; /* already ended (cut off, revoked) or never opened */
        if (!streq(s.user, ctx.user))
                return PAM_SESSION_ERR;
        /* The session is being cut off (its deadline has passed: systemd's
         * RuntimeMaxSec= may act before the helper wakes) or revoked, and sshd closes
         * it as the connection goes down: the helper ends it and its event says how. */
        {
                char state[16];
                if ((int64_t) time(NULL) >= s.deadline ||
                    (session_status_state(ctx.config, s.id, state, sizeof(state)) == 0 &&
                     (streq(state, "cut_off") || streq(state, "revoked"))))
                        return PAM_SUCCESS;
        }
        /* Removing the record tells the helper: it waits for this process to exit,
         * ends what is left of the session and removes the user when it is due. */
        (void) session_remove(ctx.config, s.id);
        session_status_write(ctx.config, &s, "closed");
        audit_base(&ctx, &a, AUDIT_SESSION_CLOSE);
        a.uid = (int64_t) s.uid;
        a.session_id = s.id;
        a.fingerprint = s.fingerprint;
        a.sub = s.sub;
        a.jti = s.jti;
        a.iss = s.iss;
        audit_emit(&a);
        return PAM_SUCCESS;
}
