/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: prompt_token() (pam_ephem/prompt.c, unchanged), the multi-part
 * token protocol of prompt.h, through a real PAM handle (pam_start_confdir() with an
 * empty service) whose conversation answers from the input. The first byte picks
 * max_len (512, 1023, 8192 or 65536: the configurable range and OpenSSH's answer
 * limit); the rest, split at newlines, are the client's answers in order. An answer
 * "\x01" is a conversation that succeeds without a response, "\x02" one that fails;
 * after the last answer the conversation fails.
 *
 * Checked (prompt.h): the first prompt is "ephem token: " and part i of N is asked
 * as "ephem token part i/N: "; an accepted token is at most max_len bytes and is the
 * single answer (flagged maybe-truncated exactly when it is 1023 bytes long) or the
 * announced parts joined in order; a refusal is one of the documented reasons and
 * hands out nothing.
 *
 * In the -oom variant (fuzz.h), a token accepted under an injected failure is the
 * one accepted without it.
 */
#include <security/pam_appl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../pam_ephem/prompt.h"
#include "ephem/macro.h"
#include "fuzz.h"

#define ANSWERS_MAX 128

typedef struct script {
        const char *answers[ANSWERS_MAX];
        size_t n, next;
        char prompts[ANSWERS_MAX][64];
        size_t n_prompts;
} script;

static script *current;

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *userdata) {
        script *s = current;
        struct pam_response *r;
        const char *a;

        (void) userdata;
        if (n != 1 || msg[0]->msg_style != PAM_PROMPT_ECHO_OFF)
                violated("the module sent %d messages of style %d", n, n > 0 ? msg[0]->msg_style : -1);
        if (s->n_prompts < ANSWERS_MAX)
                (void) snprintf(s->prompts[s->n_prompts], sizeof(s->prompts[0]), "%s", msg[0]->msg);
        s->n_prompts++;
        if (s->next >= s->n)
                return PAM_CONV_ERR;
        a = s->answers[s->next++];
        if (streq(a, "\x02"))
                return PAM_CONV_ERR;
        r = calloc(1, sizeof(*r));
        if (!r)
                return PAM_BUF_ERR;
        if (!streq(a, "\x01")) {
                r->resp = strdup(a);
                if (!r->resp) {
                        free(r);
                        return PAM_BUF_ERR;
                }
        }
        *resp = r;
        return PAM_SUCCESS;
}

static pam_handle_t *pamh;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        static const struct pam_conv c = { conv, NULL };
        _cleanup_free_ char *confdir = NULL, *service = NULL;

        (void) argc;
        (void) argv;
        fuzz_init();
        confdir = fuzz_path("pam.d");
        service = fuzz_path("pam.d/fuzz-prompt");
        fuzz_mkdir(confdir, 0755);
        fuzz_write_file(service, "", 0, 0644);
        if (pam_start_confdir("fuzz-prompt", "agent-1", &c, confdir, &pamh) != PAM_SUCCESS)
                fuzz_die("pam_start_confdir failed");
        return 0;
}

typedef struct outcome {
        ephem_reason reason;
        char *token;
} outcome;

static void check(const script *s, size_t max_len, ephem_reason r, const char *token, int maybe_truncated) {
        static const ephem_reason documented[] = { EPHEM_R_CONV,           EPHEM_R_TOKEN_EMPTY,
                                                   EPHEM_R_TOKEN_TOO_LONG, EPHEM_R_TOKEN_TRUNCATED,
                                                   EPHEM_R_PARTS_INVALID,  EPHEM_R_INTERNAL };
        unsigned parts = 0;
        size_t len;
        char rest;

        if (s->n_prompts == 0 || !streq(s->prompts[0], PROMPT_TOKEN))
                violated("the first prompt is not \"%s\"", PROMPT_TOKEN);
        for (size_t i = 1; i < s->n_prompts && i < ANSWERS_MAX; i++) {
                char want[64];
                unsigned n = 0;

                if (sscanf(s->answers[0], MULTIPART_PREFIX "%u", &n) != 1)
                        violated("a second prompt without an announcement");
                (void) snprintf(want, sizeof(want), PROMPT_PART_FMT, (unsigned) i + 1, n);
                if (!streq(s->prompts[i], want))
                        violated("prompt %zu is \"%s\", expected \"%s\"", i + 1, s->prompts[i], want);
        }
        if (r != EPHEM_OK) {
                bool ok = false;
                for (size_t i = 0; i < ELEMENTSOF(documented); i++)
                        ok = ok || r == documented[i];
                if (!ok || token)
                        violated("refused with %s (or handed out a token)", reason_id(r));
                return;
        }
        if (!token)
                violated("accepted without a token");
        len = strlen(token);
        if (len == 0 || len > max_len)
                violated("accepted %zu bytes, at most %zu", len, max_len);
        if (sscanf(s->answers[0], MULTIPART_PREFIX "%u%c", &parts, &rest) == 2 && rest == ':' &&
            strncmp(s->answers[0], MULTIPART_PREFIX, strlen(MULTIPART_PREFIX)) == 0 && parts >= 2) {
                /* The parts joined: the rest of the first answer, then the answers to parts 2..N. */
                const char *p = token, *first = strchr(s->answers[0] + strlen(MULTIPART_PREFIX), ':') + 1;

                if (s->n_prompts != parts || maybe_truncated || strncmp(p, first, strlen(first)) != 0)
                        violated("a %u-part token after %zu prompts, or its first part differs", parts, s->n_prompts);
                p += strlen(first);
                for (unsigned i = 1; i < parts; i++) {
                        size_t n = strlen(s->answers[i]);
                        if (strncmp(p, s->answers[i], n) != 0)
                                violated("part %u differs", i + 1);
                        p += n;
                }
                if (*p)
                        violated("the token is longer than its parts");
                return;
        }
        if (s->n_prompts != 1 || !streq(token, s->answers[0]))
                violated("a single-answer token that is not the answer");
        if ((maybe_truncated != 0) != (len == OPENSSH_ANSWER_LIMIT))
                violated("maybe_truncated %d for %zu bytes", maybe_truncated, len);
}

static void run(script *s, size_t max_len, unsigned long fail_at, bool persistent, outcome *ret) {
        char *token = NULL;
        int maybe_truncated = -1;
        ephem_reason r;

        s->next = 0;
        s->n_prompts = 0;
        current = s;
        failinject_arm(fail_at, persistent);
        r = prompt_token(pamh, max_len, &token, &maybe_truncated);
        (void) failinject_disarm();
        if (!fail_at)
                check(s, max_len, r, r == EPHEM_OK ? token : NULL, maybe_truncated);
        if (r != EPHEM_OK && token)
                violated("refused with %s and handed out a token", reason_id(r));
        *ret = (outcome){ .reason = r, .token = r == EPHEM_OK ? token : NULL };
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const size_t max_lens[] = { 512, OPENSSH_ANSWER_LIMIT, 8192, TOKEN_MAX_LENGTH_LIMIT };
        _cleanup_free_ char *buf = NULL;
        unsigned long fail_at = 0;
        bool persistent = false;
        script s = { .n = 0 };
        size_t max_len;
        outcome ref, got;

        if (failinject_available())
                fuzz_failinject_from_input(&data, &size, &fail_at, &persistent);
        if (size < 1 || size > 2 * TOKEN_MAX_LENGTH_LIMIT || memchr(data, '\0', size))
                return 0;
        max_len = max_lens[data[0] % ELEMENTSOF(max_lens)];
        buf = fuzz_strndup(data + 1, size - 1);
        if (!buf)
                return 0;
        for (char *p = buf; s.n < ANSWERS_MAX;) {
                char *nl = strchr(p, '\n');
                s.answers[s.n++] = p;
                if (!nl)
                        break;
                *nl = '\0';
                p = nl + 1;
        }

        run(&s, max_len, 0, false, &ref);
        if (fail_at) {
                run(&s, max_len, fail_at, persistent, &got);
                if (got.reason == EPHEM_OK && (ref.reason != EPHEM_OK || !streq(got.token, ref.token)))
                        violated("accepted under an injected failure, %s without", reason_id(ref.reason));
                erase_and_free(got.token);
        }
        erase_and_free(ref.token);
        return 0;
}
