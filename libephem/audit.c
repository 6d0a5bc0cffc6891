/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "ephem/macro.h"
#include "ephem/state.h"

#define FIELD_MAX 256u

static const struct {
        const char *name;
        const char *id;
        int priority;
} events[_AUDIT_EVENT_MAX] = {
        [AUDIT_AUTH_OK] = { "auth_ok", "a20491bf118d4920bb1d90d6a9793c9e", LOG_NOTICE },
        [AUDIT_AUTH_DENIED] = { "auth_denied", "9b11bde9ab4e433f9348734fad9af860", LOG_WARNING },
        [AUDIT_ACCOUNT_DENIED] = { "account_denied", "7dd74b4f78644363a32ed4e628b67f57", LOG_WARNING },
        [AUDIT_SESSION_OPEN] = { "session_open", "65b2f7e5b7cb435ca0acf1b83fd78883", LOG_INFO },
        [AUDIT_SESSION_CUTOFF] = { "session_cutoff", "49e4fe7ba8bf40a5ab696dc1a8370705", LOG_NOTICE },
        [AUDIT_SESSION_REVOKED] = { "session_revoked", "b44affde3e604f339c660bf8eb14c20c", LOG_WARNING },
        [AUDIT_SESSION_CLOSE] = { "session_close", "ddac9eefc05547f59a063095f0e1beec", LOG_INFO },
        [AUDIT_BREAKGLASS_USED] = { "breakglass_used", "fb8a9cf302224e20b5accb59df1fee0a", LOG_ALERT },
        [AUDIT_USER_CREATED] = { "user_created", "86cbf80b19b84cdca92a171039350d3e", LOG_INFO },
        [AUDIT_USER_REMOVED] = { "user_removed", "fa0e36c3755f430cb61e153e4e5b377a", LOG_INFO },
        [AUDIT_REVOCATION_APPLIED] = { "revocation_applied", "f772c510f975442cb42427c3bcd61c90", LOG_NOTICE },
        [AUDIT_CONFIG_ERROR] = { "config_error", "c8c86864f82f4a4d879d6c5c1adaf26d", LOG_ERR },
        [AUDIT_SESSION_DENIED] = { "session_denied", "2ce13c2d5308441cb07d46dde3a03b86", LOG_WARNING },
        [AUDIT_BREAKGLASS_GENERATED] = { "breakglass_generated", "4e1b3d0120514cac8cb136c51d70ce01", LOG_WARNING },
};

static int forced_backend = -1;

void audit_force_backend(int backend) {
        forced_backend = backend;
}

const char *audit_event_name(audit_event e) {
        return (unsigned) e < _AUDIT_EVENT_MAX ? events[e].name : "unknown";
}

const char *audit_event_message_id(audit_event e) {
        return (unsigned) e < _AUDIT_EVENT_MAX ? events[e].id : "00000000000000000000000000000000";
}

typedef struct fields {
        char buf[32][FIELD_MAX + 32];
        struct iovec iov[32];
        size_t n;
        char line[2048]; /* the syslog form: key=value pairs */
        size_t line_len;
} fields;

static void add(fields *f, const char *key, const char *value) {
        char clean[FIELD_MAX];
        int k;

        if (!value || !*value || f->n >= ELEMENTSOF(f->buf))
                return;
        sanitize_for_log(value, clean, sizeof(clean));
        k = snprintf(f->buf[f->n], sizeof(f->buf[f->n]), "%s=%s", key, clean);
        if (k < 0)
                return;
        f->iov[f->n] = (struct iovec){ .iov_base = f->buf[f->n], .iov_len = strlen(f->buf[f->n]) };
        f->n++;
        /* Syslog: lowercase keys without the EPHEM_ prefix, values quoted. */
        if (strncmp(key, "EPHEM_", 6) == 0 && f->line_len < sizeof(f->line)) {
                char lower[64];
                size_t i;
                for (i = 0; key[6 + i] && i + 1 < sizeof(lower); i++)
                        lower[i] = (char) (key[6 + i] >= 'A' && key[6 + i] <= 'Z' ? key[6 + i] + 32 : key[6 + i]);
                lower[i] = '\0';
                /* Quoted, with " and \ escaped: a value cannot close its quotes and
                 * forge the fields after it (a git ref in a CI token's sub may hold ") */
                {
                        char quoted[2 * FIELD_MAX];
                        size_t q = 0;
                        for (const char *p = clean; *p && q + 2 < sizeof(quoted); p++) {
                                if (*p == '"' || *p == '\\')
                                        quoted[q++] = '\\';
                                quoted[q++] = *p;
                        }
                        quoted[q] = '\0';
                        k = snprintf(f->line + f->line_len, sizeof(f->line) - f->line_len, " %s=\"%s\"", lower, quoted);
                }
                if (k > 0)
                        f->line_len += (size_t) k;
                if (f->line_len >= sizeof(f->line))
                        f->line_len = sizeof(f->line) - 1;
        }
}

static void addnum(fields *f, const char *key, int64_t v) {
        char b[32];
        (void) snprintf(b, sizeof(b), "%" PRId64, v);
        add(f, key, b);
}

static void build_message(const audit_record *r, char *msg, size_t size) {
        const char *user = r->user ? r->user : "?";

        switch (r->event) {
        case AUDIT_AUTH_OK:
                (void) snprintf(msg, size, "accepted token %s for %s (issuer %s, rule %s)", strempty(r->fingerprint),
                                user, strempty(r->issuer), strempty(r->rule));
                break;
        case AUDIT_AUTH_DENIED:
        case AUDIT_ACCOUNT_DENIED:
        case AUDIT_SESSION_DENIED:
                (void) snprintf(msg, size, "%s %s: %s%s%s",
                                r->event == AUDIT_AUTH_DENIED      ? "refused login for"
                                : r->event == AUDIT_ACCOUNT_DENIED ? "refused account for"
                                                                   : "refused session for",
                                user, reason_text(r->reason), r->detail && *r->detail ? " — " : "",
                                strempty(r->detail));
                break;
        case AUDIT_SESSION_OPEN:
                (void) snprintf(msg, size, "session %s opened for %s", strempty(r->session_id), user);
                break;
        case AUDIT_SESSION_CUTOFF:
                (void) snprintf(msg, size, "session %s of %s cut off at its deadline", strempty(r->session_id), user);
                break;
        case AUDIT_SESSION_REVOKED:
                (void) snprintf(msg, size, "session %s of %s ended: revoked", strempty(r->session_id), user);
                break;
        case AUDIT_SESSION_CLOSE:
                (void) snprintf(msg, size, "session %s of %s closed", strempty(r->session_id), user);
                break;
        case AUDIT_BREAKGLASS_USED:
                (void) snprintf(msg, size, "BREAK-GLASS login for %s", user);
                break;
        case AUDIT_USER_CREATED:
                (void) snprintf(msg, size, "transient user %s created", user);
                break;
        case AUDIT_USER_REMOVED:
                (void) snprintf(msg, size, "transient user %s removed", user);
                break;
        case AUDIT_REVOCATION_APPLIED:
                (void) snprintf(msg, size, "%" PRId64 " revocation(s) recorded: %s", r->extra_num,
                                r->detail ? r->detail : "revocation list");
                break;
        case AUDIT_BREAKGLASS_GENERATED:
                (void) snprintf(msg, size, "%" PRId64 " break-glass codes generated for %s", r->extra_num, user);
                break;
        case AUDIT_CONFIG_ERROR:
                (void) snprintf(msg, size, "configuration error: %s", strempty(r->detail));
                break;
        default:
                (void) snprintf(msg, size, "ephem event");
        }
}

/* Once per process: sshd runs each login in a process of its own, and a daemon's
 * journald does not come and go under it. */
static int journald_running(void) {
        static int present = -1;

        if (forced_backend >= 0)
                return forced_backend;
        if (present < 0)
                present = access("/run/systemd/journal/socket", F_OK) == 0;
        return present;
}

void audit_emit(const audit_record *r) {
        fields f = { 0 }, *fp = &f; /* about 9 KiB of stack */
        char msg[512], clean_msg[512];
        int prio;

        if ((unsigned) r->event >= _AUDIT_EVENT_MAX)
                return;
        prio = events[r->event].priority;

        build_message(r, msg, sizeof(msg));
        sanitize_for_log(msg, clean_msg, sizeof(clean_msg));

        add(fp, "MESSAGE_ID", events[r->event].id);
        add(fp, "EPHEM_EVENT", events[r->event].name);
        if (r->event == AUDIT_AUTH_DENIED || r->event == AUDIT_ACCOUNT_DENIED || r->event == AUDIT_SESSION_DENIED ||
            r->reason != EPHEM_OK)
                add(fp, "EPHEM_REASON", reason_id(r->reason));
        add(fp, "EPHEM_DETAIL", r->detail);
        add(fp, "EPHEM_USER", r->user);
        if (r->uid >= 0)
                addnum(fp, "EPHEM_UID", r->uid);
        add(fp, "EPHEM_SERVICE", r->service);
        add(fp, "EPHEM_RHOST", r->rhost);
        add(fp, "EPHEM_ISSUER", r->issuer);
        add(fp, "EPHEM_ISS", r->iss);
        add(fp, "EPHEM_SUB", r->sub);
        add(fp, "EPHEM_JTI", r->jti);
        add(fp, "EPHEM_RULE", r->rule);
        add(fp, "EPHEM_TOKEN_FP", r->fingerprint);
        add(fp, "EPHEM_SESSION_ID", r->session_id);
        add(fp, "EPHEM_ACT_CHAIN", r->act_chain);
        add(fp, "EPHEM_CUTOFF", r->cutoff);
        add(fp, "EPHEM_INTENT", r->intent);
        add(fp, "EPHEM_AGENT_TYPE", r->agent_type);
        add(fp, "EPHEM_AGENT_OWNER", r->agent_owner);
        add(fp, "EPHEM_AGENT_PURPOSE", r->agent_purpose);
        add(fp, "EPHEM_RISK_TIER", r->risk_tier);
        add(fp, "EPHEM_CERT_KEY_ID", r->cert_key_id);
        add(fp, "EPHEM_CERT_SERIAL", r->cert_serial);
        add(fp, "EPHEM_CA_FP", r->ca_fingerprint);
        if (r->exp)
                addnum(fp, "EPHEM_EXP", r->exp);
        if (r->iat)
                addnum(fp, "EPHEM_IAT", r->iat);
        if (r->deadline)
                addnum(fp, "EPHEM_DEADLINE", r->deadline);
        if (r->extra_num)
                addnum(fp, "EPHEM_COUNT", r->extra_num);
        if (r->revoked_at)
                addnum(fp, "EPHEM_REVOKED_AT_USEC", r->revoked_at);

        if (journald_running()) {
                char prio_field[16], ident[64], message[600];
                struct iovec iov[ELEMENTSOF(fp->iov) + 3];
                size_t n = fp->n;

                memcpy(iov, fp->iov, n * sizeof(struct iovec));
                (void) snprintf(prio_field, sizeof(prio_field), "PRIORITY=%d", prio);
                (void) snprintf(ident, sizeof(ident), "SYSLOG_IDENTIFIER=%s", r->identifier ? r->identifier : "ephem");
                (void) snprintf(message, sizeof(message), "MESSAGE=%s", clean_msg);
                iov[n++] = (struct iovec){ .iov_base = prio_field, .iov_len = strlen(prio_field) };
                iov[n++] = (struct iovec){ .iov_base = ident, .iov_len = strlen(ident) };
                iov[n++] = (struct iovec){ .iov_base = message, .iov_len = strlen(message) };
                /* journald refusing the entry (socket buffer full, journald restarting)
                 * must not lose an audit event: syslog has it then. */
                if (sd_journal_sendv(iov, (int) n) >= 0)
                        return;
        }
        syslog(LOG_AUTHPRIV | prio, "%s: %s;%s", r->identifier ? r->identifier : "ephem", clean_msg, fp->line);
}
