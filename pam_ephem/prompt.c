/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "prompt.h"

#include <security/pam_ext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ephem/macro.h"

#define PARTS_MAX 80u /* 80 parts of 1000 bytes hold the largest configurable token */

static ephem_reason ask(pam_handle_t *pamh, const char *prompt, char **ret) {
        char *resp = NULL;

        if (pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp, "%s", prompt) != PAM_SUCCESS || !resp) {
                erase_and_free(resp);
                return EPHEM_R_CONV;
        }
        *ret = resp;
        return EPHEM_OK;
}

/* Parses "multipart:N:" and returns N, or 0 when the prefix is absent, -1 when invalid. */
static int parse_announcement(const char *a, const char **ret_rest) {
        const char *p;
        unsigned n = 0;

        if (strncmp(a, MULTIPART_PREFIX, strlen(MULTIPART_PREFIX)) != 0)
                return 0;
        p = a + strlen(MULTIPART_PREFIX);
        if (*p < '1' || *p > '9')
                return -1;
        for (; *p >= '0' && *p <= '9'; p++) {
                n = n * 10 + (unsigned) (*p - '0');
                if (n > PARTS_MAX)
                        return -1;
        }
        if (*p != ':' || n < 2)
                return -1;
        *ret_rest = p + 1;
        return (int) n;
}

static ephem_reason append(char *buf, size_t *len, size_t max_len, const char *part) {
        size_t n = strlen(part);

        if (n == 0)
                return EPHEM_R_PARTS_INVALID;
        if (n >= OPENSSH_ANSWER_LIMIT)
                return EPHEM_R_TOKEN_TRUNCATED;
        if (*len + n > max_len)
                return EPHEM_R_TOKEN_TOO_LONG;
        memcpy(buf + *len, part, n);
        *len += n;
        buf[*len] = '\0';
        return EPHEM_OK;
}

ephem_reason prompt_token(pam_handle_t *pamh, size_t max_len, char **ret, int *ret_maybe_truncated) {
        _cleanup_erase_free_ char *first = NULL;
        char *buf = NULL;
        const char *rest;
        size_t len = 0;
        ephem_reason r;
        int parts;

        *ret_maybe_truncated = 0;
        r = ask(pamh, PROMPT_TOKEN, &first);
        if (r != EPHEM_OK)
                return r;
        if (!*first)
                return EPHEM_R_TOKEN_EMPTY;

        parts = parse_announcement(first, &rest);
        if (parts < 0)
                return EPHEM_R_PARTS_INVALID;
        if (parts == 0) {
                size_t n = strlen(first);
                if (n > max_len)
                        return EPHEM_R_TOKEN_TOO_LONG;
                *ret_maybe_truncated = n == OPENSSH_ANSWER_LIMIT;
                *ret = TAKE_PTR(first);
                return EPHEM_OK;
        }
        if ((size_t) parts > max_len / 64 + 1)
                return EPHEM_R_TOKEN_TOO_LONG;

        buf = malloc(max_len + 1);
        if (!buf)
                return EPHEM_R_INTERNAL;
        buf[0] = '\0';
        r = append(buf, &len, max_len, rest);
        for (int i = 2; r == EPHEM_OK && i <= parts; i++) {
                char prompt[64];
                _cleanup_erase_free_ char *part = NULL;

                (void) snprintf(prompt, sizeof(prompt), PROMPT_PART_FMT, (unsigned) i, (unsigned) parts);
                r = ask(pamh, prompt, &part);
                if (r == EPHEM_OK)
                        r = append(buf, &len, max_len, part);
        }
        if (r != EPHEM_OK) {
                explicit_bzero(buf, max_len + 1);
                free(buf);
                return r;
        }
        *ret = buf;
        return EPHEM_OK;
}
