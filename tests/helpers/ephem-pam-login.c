/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ephem-pam-login CONFDIR SERVICE USER [account]
 *
 * Runs pam_authenticate() (and pam_acct_mgmt() with "account") for USER through the
 * service file CONFDIR/SERVICE (pam_start_confdir(): no /etc/pam.d involved),
 * answering the module's prompt with standard input (the whole of it, one trailing
 * newline removed; no size limit of its own). Prints
 *
 *   auth: PAM_...
 *   account: PAM_...        (with "account", after a successful auth)
 *   reason: ID              (the reason of the module's last refusal, if any)
 *
 * and exits 0 when every step succeeded, 1 when one was refused, 2 on a usage or
 * system error. For the Python tests (token catalogue, interop).
 */
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ephem/macro.h"
#include "pamutil.h"

static char *read_stdin(void) {
        size_t cap = 64 * 1024, len = 0;
        char *buf = malloc(cap);

        if (!buf)
                return NULL;
        for (;;) {
                size_t k;
                if (len + 1 >= cap) {
                        char *nb = realloc(buf, cap * 2);
                        if (!nb) {
                                free(buf);
                                return NULL;
                        }
                        buf = nb;
                        cap *= 2;
                }
                k = fread(buf + len, 1, cap - len - 1, stdin);
                if (k == 0)
                        break;
                len += k;
        }
        if (len > 0 && buf[len - 1] == '\n')
                len--;
        buf[len] = '\0';
        return buf;
}

int main(int argc, char **argv) {
        _cleanup_free_ char *token = NULL;
        const char *answers[2] = { NULL, NULL };
        pam_script script = { .answers = answers };
        struct pam_conv conv = { .conv = pam_script_conv, .appdata_ptr = &script };
        pam_handle_t *pamh = NULL;
        bool account;
        int r, result = 0;

        if (argc < 4 || argc > 5 || (argc == 5 && !streq(argv[4], "account"))) {
                fprintf(stderr, "usage: %s CONFDIR SERVICE USER [account] < TOKEN\n", argv[0]);
                return 2;
        }
        account = argc == 5;
        token = read_stdin();
        if (!token) {
                fprintf(stderr, "out of memory\n");
                return 2;
        }
        answers[0] = token;

        r = pam_start_confdir(argv[2], argv[3], &conv, argv[1], &pamh);
        if (r != PAM_SUCCESS) {
                fprintf(stderr, "pam_start_confdir: %s\n", pam_code_name(r));
                return 2;
        }
        r = pam_authenticate(pamh, 0);
        printf("auth: %s\n", pam_code_name(r));
        if (r != PAM_SUCCESS)
                result = 1;
        else if (account) {
                r = pam_acct_mgmt(pamh, 0);
                printf("account: %s\n", pam_code_name(r));
                if (r != PAM_SUCCESS)
                        result = 1;
        }
        if (*pam_log_reason())
                printf("reason: %s\n", pam_log_reason());
        fflush(stdout);
        (void) pam_end(pamh, r);
        explicit_bzero(token, strlen(token));
        return result;
}
