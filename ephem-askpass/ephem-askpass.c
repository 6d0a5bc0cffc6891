/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ephem-askpass: an SSH_ASKPASS program that answers pam_ephem's prompts.
 *
 *   EPHEM_TOKEN=... SSH_ASKPASS=ephem-askpass SSH_ASKPASS_REQUIRE=force ssh agent-7@host job
 *
 * ssh runs it once per prompt with the prompt text as its argument (OpenSSH 8.4+
 * prefixes "(user@host) "). It answers only pam_ephem's prompts:
 *   "ephem token: "            the token, or "multipart:N:" + part 1 when the token
 *                              is longer than one answer may be (OpenSSH cuts at 1023)
 *   "ephem token part I/N: "   part I
 * and refuses anything else (host-key questions, other modules' password prompts)
 * with exit status 1 and no output. The token comes from $EPHEM_TOKEN or the file
 * $EPHEM_TOKEN_FILE and goes to standard output only. libc only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PART_SIZE 1000u   /* below OpenSSH's 1023-byte answer limit */
#define TOKEN_MAX 65536u  /* pam_ephem's highest configurable max_token_length */
#define PARTS_MAX 80u

static void wipe(char *s, size_t n) {
        if (s)
                explicit_bzero(s, n);
}

/* Skips OpenSSH's "(user@host) " prefix. */
static const char *strip_prefix(const char *p) {
        if (p[0] == '(') {
                const char *end = strstr(p, ") ");
                if (end && !memchr(p, '\n', (size_t) (end - p)))
                        return end + 2;
        }
        return p;
}

/* 0 for the first prompt, I for "part I/N", -1 for anything else. */
static int parse_prompt(const char *prompt, unsigned *ret_total) {
        unsigned i = 0, n = 0;
        int used = 0;

        if (strcmp(prompt, "ephem token: ") == 0 || strcmp(prompt, "ephem token:") == 0)
                return 0;
        if (sscanf(prompt, "ephem token part %u/%u: %n", &i, &n, &used) == 2 && used > 0 &&
            prompt[used] == '\0' && i >= 2 && i <= n && n <= PARTS_MAX) {
                *ret_total = n;
                return (int) i;
        }
        return -1;
}

static char *read_token_file(const char *path, size_t *ret_len) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        struct stat st;
        char *buf;
        size_t len = 0;

        if (fd < 0)
                return NULL;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t) TOKEN_MAX + 2) {
                close(fd);
                return NULL;
        }
        buf = malloc(TOKEN_MAX + 3);
        if (!buf) {
                close(fd);
                return NULL;
        }
        for (;;) {
                ssize_t k = read(fd, buf + len, TOKEN_MAX + 2 - len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                len += (size_t) k;
        }
        close(fd);
        buf[len] = '\0';
        *ret_len = len;
        return buf;
}

int main(int argc, char **argv) {
        const char *env = getenv("EPHEM_TOKEN"), *file = getenv("EPHEM_TOKEN_FILE"), *prompt;
        char *token = NULL;
        size_t len = 0, alloc = 0, parts;
        unsigned total = 0;
        int which, r = 1;

        if (argc != 2)
                return 1;
        prompt = strip_prefix(argv[1]);
        which = parse_prompt(prompt, &total);
        if (which < 0)
                return 1; /* not pam_ephem's prompt: answer nothing */

        if (env && *env) {
                len = strlen(env);
                token = strdup(env);
                alloc = len;
        } else if (file && *file) {
                token = read_token_file(file, &len);
                alloc = TOKEN_MAX + 3;
        }
        if (!token)
                return 1;
        while (len > 0 && (token[len - 1] == '\n' || token[len - 1] == '\r' || token[len - 1] == ' '))
                token[--len] = '\0';
        if (len == 0 || len > TOKEN_MAX)
                goto done;

        parts = (len + PART_SIZE - 1) / PART_SIZE;
        if (which == 0) {
                if (parts == 1)
                        r = printf("%s\n", token) < 0;
                else
                        r = printf("multipart:%zu:%.*s\n", parts, (int) PART_SIZE, token) < 0;
        } else {
                size_t off = (size_t) (which - 1) * PART_SIZE;
                /* The server's count must be ours: a different one is not our conversation. */
                if (total != parts || off >= len)
                        goto done;
                r = printf("%.*s\n", (int) (len - off < PART_SIZE ? len - off : PART_SIZE), token + off) < 0;
        }
        if (fflush(stdout) != 0)
                r = 1;
done:
        wipe(token, alloc > len ? alloc : len);
        free(token);
        return r;
}
