/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ephemctl: the administrator's tool for ephem. See ephemctl(8).
 */
#include "ephemctl.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ephem/macro.h"
#include "ephem/safefile.h"

static const command commands[] = {
        { "users", NULL, cmd_users, "users [--config FILE]" },
        { "sessions", NULL, cmd_sessions, "sessions [--config FILE]" },
        { "revoke", NULL, cmd_revoke,
          "revoke (--jti ID | --sub SUB) [--iss ISS] | --user NAME | --issuer ISS | --fingerprint FP |\n"
          "                 (--cert-serial N | --cert-key-id ID) --ca CA | --ca CA  [--until DURATION] [--config FILE]" },
        { "revocations", "apply", cmd_revocations_apply, "revocations apply [--config FILE] FILE|-" },
        { "revocations", "list", cmd_revocations_list, "revocations list [--config FILE]" },
        { "revocations", "krl", cmd_revocations_krl, "revocations krl --ca NAME --out FILE [--config FILE]" },
        { "gc", NULL, cmd_gc, "gc [--config FILE]" },
        { "report", NULL, cmd_report,
          "report [--since WHEN] [--until WHEN] [--directory DIR | --file EXPORT.json|-] [--json]" },
        { "breakglass", "generate", cmd_breakglass_generate,
          "breakglass generate --account NAME [--count N] [--config FILE]" },
        { "breakglass", "list", cmd_breakglass_list, "breakglass list --account NAME [--config FILE]" },
        { "breakglass", "revoke", cmd_breakglass_revoke,
          "breakglass revoke --account NAME (--number N | --all) [--config FILE]" },
        { "policy", "check", cmd_policy_check, "policy check [--config FILE] [--strict]" },
        { "policy", "test", cmd_policy_test, "policy test --user NAME [--config FILE] [--now UNIXTIME] TOKEN-SOURCE" },
        { "token", "inspect", cmd_token_inspect, "token inspect TOKEN-SOURCE" },
        { "keygen", NULL, cmd_keygen, "keygen [--type ec|ec384|ed25519|rsa] [--bits N] [--kid ID] --out PREFIX" },
        { "mint", NULL, cmd_mint,
          "mint --key FILE --iss ISS --aud AUD --sub SUB [--ttl SECONDS] [--kid ID] [--alg ALG]\n"
          "             [--jti ID] [--iat UNIXTIME] [--nbf UNIXTIME] [--claim NAME=STRING]...\n"
          "             [--claim-json NAME=JSON]... [--signer libjwt|openssl]" },
};

static void usage(FILE *f) {
        fprintf(f, "Usage:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                fprintf(f, "  ephemctl %s\n", commands[i].usage);
        fprintf(f, "\nTOKEN-SOURCE is a file, '-' for standard input, or env:NAME for an environment\n"
                   "variable. Tokens are never taken on the command line.\n");
}

const char *ctl_config_path(const char *opt) {
        const char *e;

        if (opt)
                return opt;
        e = secure_getenv("EPHEM_CONFIG");
        return e && *e ? e : EPHEM_CONFIG_PATH;
}

int ctl_load_config(const char *opt, ephem_config **ret) {
        conf_error err = { 0 };
        const char *path = ctl_config_path(opt);
        int r = config_load(path, 0, NULL, ret, &err);

        if (r < 0) {
                if (err.line)
                        fprintf(stderr, "%s:%u: %s\n", path, err.line, err.message);
                else
                        fprintf(stderr, "%s\n", err.message);
                return EXIT_USAGE;
        }
        return 0;
}

static bool looks_like_token(const char *s) {
        const char *d1 = strchr(s, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
        return d2 && strncmp(s, "eyJ", 3) == 0;
}

int ctl_read_secret(const char *arg, size_t max, char **ret) {
        char *buf = NULL;
        size_t len = 0;

        if (!arg) {
                fprintf(stderr, "missing token source ('-', env:NAME or a file)\n");
                return EXIT_USAGE;
        }
        if (looks_like_token(arg)) {
                fprintf(stderr, "refusing a token on the command line (other users can read it in /proc):\n"
                                "pass '-' and the token on standard input, env:NAME, or a file\n");
                return EXIT_USAGE;
        }
        if (strncmp(arg, "env:", 4) == 0) {
                const char *v = getenv(arg + 4);
                if (!v) {
                        fprintf(stderr, "environment variable %s is not set\n", arg + 4);
                        return EXIT_USAGE;
                }
                len = strlen(v);
                if (len > max) {
                        fprintf(stderr, "%s: longer than %zu bytes\n", arg, max);
                        return EXIT_USAGE;
                }
                buf = strdup(v);
                if (!buf)
                        return EXIT_USAGE;
        } else if (streq(arg, "-")) {
                size_t cap = max + 2;
                buf = malloc(cap);
                if (!buf)
                        return EXIT_USAGE;
                for (;;) {
                        size_t k = fread(buf + len, 1, cap - 1 - len, stdin);
                        len += k;
                        if (k == 0 || len >= cap - 1)
                                break;
                }
                buf[len] = '\0';
                /* At most max + 1 bytes were read: more than max means there was more. */
                if (len > max) {
                        erase_and_free(buf);
                        fprintf(stderr, "standard input: longer than %zu bytes\n", max);
                        return EXIT_USAGE;
                }
        } else {
                /* Secrets may belong to the invoking user: no root-ownership check here,
                 * only the size cap and no symlink games. */
                FILE *f = fopen(arg, "re");
                if (!f) {
                        fprintf(stderr, "%s: %s\n", arg, strerror(errno));
                        return EXIT_USAGE;
                }
                buf = malloc(max + 2);
                if (!buf) {
                        fclose(f);
                        return EXIT_USAGE;
                }
                len = fread(buf, 1, max + 1, f);
                fclose(f);
                buf[len] = '\0';
                if (len > max) {
                        erase_and_free(buf);
                        fprintf(stderr, "%s: longer than %zu bytes\n", arg, max);
                        return EXIT_USAGE;
                }
        }
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
                buf[--len] = '\0';
        *ret = buf;
        return 0;
}

void ctl_print_json(FILE *f, const void *json) {
        char *s = json_dumps(json, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s) {
                fprintf(f, "%s\n", s);
                free(s);
        }
}

int main(int argc, char **argv) {
        if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
                usage(argc < 2 ? stderr : stdout);
                return argc < 2 ? EXIT_USAGE : 0;
        }
        if (streq(argv[1], "--version")) {
                printf("ephemctl %s\n", EPHEM_VERSION);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                const command *c = &commands[i];
                if (!streq(argv[1], c->name))
                        continue;
                if (!c->sub)
                        return c->run(argc - 1, argv + 1);
                if (argc >= 3 && streq(argv[2], c->sub))
                        return c->run(argc - 2, argv + 2);
        }
        fprintf(stderr, "ephemctl: unknown command\n");
        usage(stderr);
        return EXIT_USAGE;
}
