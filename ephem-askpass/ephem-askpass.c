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
 *   "ephem dpop proof for HTU nonce NONCE: "
 *                              a DPoP proof (see dpop.h) for a token bound to the
 *                              agent's key, signed with the private key in the file
 *                              $EPHEM_DPOP_KEY (PEM, mode 0600, EC or Ed25519)
 * and refuses anything else (host-key questions, other modules' password prompts)
 * with exit status 1 and no output. The token comes from $EPHEM_TOKEN or the file
 * $EPHEM_TOKEN_FILE and goes to standard output only. Links OpenSSL and jansson
 * (through the core's signer) for the proof; nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ephem/dpop.h"
#include "ephem/json.h"
#include "ephem/keys.h"
#include "ephem/state.h"

#define PART_SIZE 1000u  /* below OpenSSH's 1023-byte answer limit */
#define TOKEN_MAX 65536u /* pam_ephem's highest configurable max_token_length */
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

#define PROMPT_PROOF (-2)

/* Characters a server's htu may hold: printable, no blanks, no quotes or backslashes
 * (they go into JSON through jansson, but there is no reason to accept them). */
static bool htu_valid(const char *s) {
        if (strncmp(s, "ssh://", 6) != 0 || strlen(s) > 400)
                return false;
        for (; *s; s++)
                if (*s <= 0x20 || *s >= 0x7f || *s == '"' || *s == '\\')
                        return false;
        return true;
}

static bool nonce_valid(const char *s) {
        if (strlen(s) != DPOP_NONCE_LEN)
                return false;
        for (; *s; s++)
                if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
                      *s == '_'))
                        return false;
        return true;
}

/* "ephem dpop proof for HTU nonce NONCE: " → htu and nonce. */
static bool parse_proof_prompt(const char *prompt, char *htu, size_t htu_size, char *nonce, size_t nonce_size) {
        const char *p = prompt, *sp, *end;
        static const char lead[] = "ephem dpop proof for ", mid[] = " nonce ";
        size_t n;

        if (strncmp(p, lead, sizeof(lead) - 1) != 0)
                return false;
        p += sizeof(lead) - 1;
        sp = strstr(p, mid);
        end = p + strlen(p);
        if (!sp || end - p < 2 || strcmp(end - 2, ": ") != 0)
                return false;
        n = (size_t) (sp - p);
        if (n >= htu_size)
                return false;
        memcpy(htu, p, n);
        htu[n] = '\0';
        p = sp + sizeof(mid) - 1;
        n = (size_t) (end - 2 - p);
        if (n >= nonce_size)
                return false;
        memcpy(nonce, p, n);
        nonce[n] = '\0';
        return htu_valid(htu) && nonce_valid(nonce);
}

/* Builds and prints the proof. Returns 0 or 1. */
static int answer_proof(const char *token, size_t len, const char *htu, const char *nonce) {
        const char *key_path = getenv("EPHEM_DPOP_KEY");
        char ath[DPOP_ATH_LEN + 1], jti[33];
        EVP_PKEY *key = NULL;
        conf_error err = { 0 };
        json_t *header = NULL, *claims = NULL, *jwk = NULL;
        key_type kt;
        jws_alg alg;
        char *proof = NULL;
        int r = 1;

        if (!key_path || !*key_path || private_key_load_file(key_path, &key, &err) < 0)
                return 1;
        alg = key_default_alg(key);
        if (alg == JWS_ALG_INVALID || key_public_jwk(key, &kt, &jwk) < 0 || dpop_ath(token, len, ath) < 0 ||
            random_hex(jti, 16) < 0)
                goto done;
        if (kt == KEY_RSA) {
                /* An RSA public key alone fills most of an answer: the proof would pass
                 * OpenSSH's 1023-byte limit and be cut. */
                fprintf(stderr, "ephem-askpass: an RSA key makes DPoP proofs too long for ssh; use EC or Ed25519\n");
                goto done;
        }
        header = json_pack("{s:s, s:s, s:O}", "typ", "dpop+jwt", "alg", jws_alg_to_string(alg), "jwk", jwk);
        claims = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "htm", DPOP_HTM, "htu", htu, "iat",
                           (json_int_t) time(NULL), "jti", jti, "ath", ath, "nonce", nonce);
        if (!header || !claims || jws_compact_sign(key, alg, header, claims, &proof) < 0)
                goto done;
        r = printf("%s\n", proof) < 0 || fflush(stdout) != 0;
done:
        free(proof);
        json_decref(header);
        json_decref(claims);
        json_decref(jwk);
        EVP_PKEY_free(key);
        return r;
}

/* A part number as the module writes it: 1 to 3 decimal digits, no sign, no
 * leading zero, at most PARTS_MAX. The prompt comes from the server: sscanf("%u")
 * would take " +4294967297" as 1. */
static const char *parse_part_number(const char *p, unsigned *ret) {
        unsigned v = 0;
        size_t n = 0;

        if (*p == '0')
                return NULL;
        while (p[n] >= '0' && p[n] <= '9' && n < 3)
                v = v * 10 + (unsigned) (p[n++] - '0');
        if (n == 0 || (p[n] >= '0' && p[n] <= '9') || v > PARTS_MAX)
                return NULL;
        *ret = v;
        return p + n;
}

/* 0 for the first prompt, I for "part I/N", -1 for anything else. */
static int parse_prompt(const char *prompt, unsigned *ret_total) {
        static const char part[] = "ephem token part ";
        unsigned i = 0, n = 0;
        const char *p;

        if (strcmp(prompt, "ephem token: ") == 0 || strcmp(prompt, "ephem token:") == 0)
                return 0;
        if (strncmp(prompt, part, sizeof(part) - 1) != 0)
                return -1;
        p = parse_part_number(prompt + sizeof(part) - 1, &i);
        if (!p || *p++ != '/')
                return -1;
        p = parse_part_number(p, &n);
        if (!p || (strcmp(p, ": ") != 0 && strcmp(p, ":") != 0) || i < 2 || i > n)
                return -1;
        *ret_total = n;
        return (int) i;
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
        char htu[512], nonce[64];
        char *token = NULL;
        size_t len = 0, alloc = 0, parts;
        unsigned total = 0;
        int which, r = 1;

        if (argc != 2)
                return 1;
        prompt = strip_prefix(argv[1]);
        which = parse_prompt(prompt, &total);
        if (which < 0 && parse_proof_prompt(prompt, htu, sizeof(htu), nonce, sizeof(nonce)))
                which = PROMPT_PROOF;
        if (which == -1)
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
        if (which == PROMPT_PROOF)
                r = answer_proof(token, len, htu, nonce);
        else if (which == 0) {
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
