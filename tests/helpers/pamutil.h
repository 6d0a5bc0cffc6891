/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Driving PAM stacks from tests.
 *
 * Log capture: this file defines pam_syslog() and pam_vsyslog(). A program linked
 * with it and built with export_dynamic (meson) resolves a module's calls to these
 * before libpam's (or pam_wrapper's), so a test reads what the module logged.
 * pam_ephem, given the "debug" argument, logs every refusal as
 * "denied USER: REASON (DETAIL)" with the stable reason identifier.
 */
#pragma once

#include <security/pam_appl.h>
#include <stdbool.h>
#include <stddef.h>

void pam_log_reset(void);
const char *pam_log_text(void);
/* The reason identifier of the last "denied" line, or "" when there is none. */
const char *pam_log_reason(void);

/* A conversation answering PAM_PROMPT_ECHO_OFF prompts with scripted answers, in
 * order, and recording every prompt it was shown. */
#define PAM_SCRIPT_MAX_PROMPTS 16
typedef struct pam_script {
        const char *const *answers; /* NULL-terminated; a prompt beyond them fails */
        size_t next;
        size_t fail_at; /* 1-based prompt number at which the conversation fails; 0: never */
        char prompts[PAM_SCRIPT_MAX_PROMPTS][128];
        size_t n_prompts;
} pam_script;

int pam_script_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *userdata);

/* "PAM_SUCCESS", "PAM_AUTH_ERR", ... */
const char *pam_code_name(int code);

/* Writes the service file dir/name (a PAM configuration directory for
 * pam_start_confdir(), or pam_wrapper's PAM_WRAPPER_RUNTIME_DIR). */
void pam_write_service(const char *dir, const char *name, const char *text);
