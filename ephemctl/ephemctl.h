/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ephem/config.h"

/* Exit codes: 0 success / allowed, 1 refused / problems found, 2 usage or system error. */
#define EXIT_DENIED 1
#define EXIT_USAGE 2

typedef struct command {
        const char *name;
        const char *sub; /* second word, or NULL */
        int (*run)(int argc, char **argv);
        const char *usage;
} command;

/* The configuration path from --config, $EPHEM_CONFIG (when not setuid), or the default. */
const char *ctl_config_path(const char *opt);

/* Loads the configuration, printing the error. Returns 0 or EXIT_USAGE. */
int ctl_load_config(const char *opt, ephem_config **ret);

/*
 * Reads a secret (token, code) named by `arg`: "-" for stdin, "env:NAME" for an
 * environment variable, otherwise a file path. Trailing whitespace is stripped.
 * Something that looks like a token itself is refused: argv is readable by every
 * user through /proc. Returns 0 and a string to erase_and_free(), or EXIT_USAGE.
 */
int ctl_read_secret(const char *arg, size_t max, char **ret);

int cmd_policy_check(int argc, char **argv);
int cmd_policy_test(int argc, char **argv);
int cmd_token_inspect(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_mint(int argc, char **argv);
int cmd_users(int argc, char **argv);
int cmd_sessions(int argc, char **argv);
int cmd_revoke(int argc, char **argv);
int cmd_revocations_apply(int argc, char **argv);
int cmd_revocations_list(int argc, char **argv);
int cmd_revocations_krl(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_breakglass_generate(int argc, char **argv);
int cmd_breakglass_list(int argc, char **argv);
int cmd_breakglass_revoke(int argc, char **argv);

void ctl_print_json(FILE *f, const void *json);
