/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pamutil.h"

#include <security/pam_ext.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ephem/macro.h"
#include "testutil.h"

static char log_buf[64 * 1024];
static size_t log_len;

void pam_log_reset(void) {
        log_len = 0;
        log_buf[0] = '\0';
}

const char *pam_log_text(void) {
        return log_buf;
}

const char *pam_log_reason(void) {
        static char reason[64];
        const char *p = log_buf, *last = NULL;

        while ((p = strstr(p, "denied "))) {
                last = p;
                p++;
        }
        reason[0] = '\0';
        if (last) {
                const char *colon = strstr(last, ": "), *end;
                if (colon) {
                        colon += 2;
                        end = colon + strcspn(colon, " \n");
                        if ((size_t) (end - colon) < sizeof(reason)) {
                                memcpy(reason, colon, (size_t) (end - colon));
                                reason[end - colon] = '\0';
                        }
                }
        }
        return reason;
}

/* These two replace libpam's for every module loaded into this program: they must be
 * exported (the project builds with -fvisibility=hidden). */
_public_ void pam_vsyslog(const pam_handle_t *pamh _unused_, int priority, const char *fmt, va_list args) {
        int k;

        if (log_len + 2 >= sizeof(log_buf))
                return;
        k = snprintf(log_buf + log_len, sizeof(log_buf) - log_len, "<%d> ", priority);
        if (k > 0)
                log_len = log_len + (size_t) k < sizeof(log_buf) ? log_len + (size_t) k : sizeof(log_buf) - 1;
        k = vsnprintf(log_buf + log_len, sizeof(log_buf) - log_len, fmt, args);
        if (k > 0)
                log_len = log_len + (size_t) k < sizeof(log_buf) - 1 ? log_len + (size_t) k : sizeof(log_buf) - 2;
        log_buf[log_len++] = '\n';
        log_buf[log_len] = '\0';
}

_public_ void pam_syslog(const pam_handle_t *pamh, int priority, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        pam_vsyslog(pamh, priority, fmt, ap);
        va_end(ap);
}

int pam_script_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *userdata) {
        pam_script *s = userdata;
        struct pam_response *r;

        if (n <= 0 || n > PAM_MAX_NUM_MSG)
                return PAM_CONV_ERR;
        r = calloc((size_t) n, sizeof(*r));
        if (!r)
                return PAM_BUF_ERR;
        for (int i = 0; i < n; i++) {
                const char *answer;

                if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF && msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
                        continue; /* informational messages need no answer */
                if (s->n_prompts < PAM_SCRIPT_MAX_PROMPTS)
                        (void) snprintf(s->prompts[s->n_prompts], sizeof(s->prompts[0]), "%s", msg[i]->msg);
                s->n_prompts++;
                answer = s->answers ? s->answers[s->next] : NULL;
                if (!answer || (s->fail_at && s->n_prompts == s->fail_at))
                        goto fail;
                s->next++;
                r[i].resp = strdup(answer);
                if (!r[i].resp)
                        goto fail;
        }
        *resp = r;
        return PAM_SUCCESS;
fail:
        for (int i = 0; i < n; i++)
                free(r[i].resp);
        free(r);
        return PAM_CONV_ERR;
}

const char *pam_code_name(int code) {
#define NAME(c) \
        case c: \
                return #c
        switch (code) {
                NAME(PAM_SUCCESS);
                NAME(PAM_OPEN_ERR);
                NAME(PAM_SYMBOL_ERR);
                NAME(PAM_SERVICE_ERR);
                NAME(PAM_SYSTEM_ERR);
                NAME(PAM_BUF_ERR);
                NAME(PAM_PERM_DENIED);
                NAME(PAM_AUTH_ERR);
                NAME(PAM_CRED_INSUFFICIENT);
                NAME(PAM_AUTHINFO_UNAVAIL);
                NAME(PAM_USER_UNKNOWN);
                NAME(PAM_MAXTRIES);
                NAME(PAM_NEW_AUTHTOK_REQD);
                NAME(PAM_ACCT_EXPIRED);
                NAME(PAM_SESSION_ERR);
                NAME(PAM_CRED_UNAVAIL);
                NAME(PAM_CRED_EXPIRED);
                NAME(PAM_CRED_ERR);
                NAME(PAM_NO_MODULE_DATA);
                NAME(PAM_CONV_ERR);
                NAME(PAM_AUTHTOK_ERR);
                NAME(PAM_AUTHTOK_RECOVERY_ERR);
                NAME(PAM_AUTHTOK_LOCK_BUSY);
                NAME(PAM_AUTHTOK_DISABLE_AGING);
                NAME(PAM_TRY_AGAIN);
                NAME(PAM_IGNORE);
                NAME(PAM_ABORT);
                NAME(PAM_AUTHTOK_EXPIRED);
                NAME(PAM_MODULE_UNKNOWN);
                NAME(PAM_BAD_ITEM);
                NAME(PAM_CONV_AGAIN);
                NAME(PAM_INCOMPLETE);
        default:
                return "PAM_(unknown)";
        }
#undef NAME
}

void pam_write_service(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *path = test_strdup_printf("%s/%s", dir, name);
        test_write_file(path, text, 0644);
}
