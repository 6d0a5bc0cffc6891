/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ephem.conf: the host's settings, trusted issuers and the rules that map tokens to
 * login names. Documented in ephem.conf(5). Read as: built-in defaults, then the
 * file, then module arguments (which use the same "key=value" syntax and apply to
 * the [host] section), so ephemctl and the PAM module read it identically.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ephem/conffile.h"
#include "ephem/keys.h"
#include "ephem/userconf.h"

#ifndef EPHEM_CONFIG_PATH
#define EPHEM_CONFIG_PATH "/etc/ephem/ephem.conf"
#endif

#ifndef EPHEM_REVOCATION_DIR
#define EPHEM_REVOCATION_DIR "/var/lib/ephem/revoked"
#endif
#ifndef EPHEM_BREAKGLASS_DIR
#define EPHEM_BREAKGLASS_DIR "/var/lib/ephem/breakglass"
#endif
#ifndef EPHEM_LIBEXECDIR
#define EPHEM_LIBEXECDIR "/usr/libexec/ephem"
#endif

#define CONFIG_MAX_ISSUERS 64u
#define DELEGATION_MAX_DEPTH 8u /* act nesting ephem parses at all */
#define CONFIG_MAX_RULES 256u
#define CONFIG_MAX_LIST 64u           /* words in one list value */
#define TOKEN_MAX_LENGTH_LIMIT 65536u /* the highest max_token_length one may configure */

typedef struct ephem_issuer {
        char *name; /* the section's argument: [issuer NAME] */
        char *iss;  /* the exact "iss" value */
        char *keys_path;
        unsigned algorithms;         /* bit set of 1 << jws_alg */
        uint64_t max_token_lifetime; /* 0: the host's */
        bool breakglass;
        bool dpop_required; /* dpop = required: only key-bound tokens, with a proof */
        bool jti_optional;  /* optional_claims = jti: single use keyed by the token's hash instead */
        bool iat_optional;  /* optional_claims = iat: the lifetime counts from now instead */
        unsigned line;

        /* Loaded on first use: most logins need one issuer's keys only. */
        bool keys_loaded;
        int keys_error; /* negative errno when loading failed */
        char keys_error_text[CONF_ERROR_MAX];
        keyset keys;
} ephem_issuer;

typedef struct claim_match {
        char *claim;     /* a claim name, or a path "a/b" into nested objects */
        char **patterns; /* the value must glob-match one of these */
} claim_match;

typedef struct ephem_rule {
        char *name;
        char **issuers; /* issuer section names */
        claim_match *matches;
        size_t n_matches;
        char **logins;           /* patterns, with ${claim} substitution */
        char **groups;           /* supplementary host groups */
        uint64_t max_session;    /* 0: not limited by the rule */
        unsigned max_delegation; /* act chain depth allowed (0: no delegated tokens) */
        char **actors;           /* patterns the current actor (act.sub) must match; NULL: any */
        bool dpop_required;
        char *command;         /* forced command (ephem-shell runs it instead of what was asked) */
        char **allow_commands; /* the only command lines a session may run (ephem-shell checks each) */
        char *commands_claim;  /* a token claim that lists command lines: narrows allow_commands */
        unsigned line;
} ephem_rule;

/* At most this many allowed command lines per rule and per session, and this many
 * bytes of them together (they travel in the login, session and status records). */
#define RULE_ALLOW_COMMANDS_MAX 32u
#define RULE_ALLOW_TEXT_MAX 4096u

/* A CA of OpenSSH user certificates that may log in transient users ([ca NAME]). */
typedef struct ephem_ca {
        char *name;
        char fingerprint[64];  /* SHA256:..., from "key" or "fingerprint" */
        char *key_line;        /* the public key, when given as "key" (needed for a KRL) */
        char **principals;     /* the login names it may issue for */
        uint64_t max_validity; /* certificates valid longer are refused */
        char **groups;
        uint64_t max_session;
        unsigned line;
} ephem_ca;

typedef struct ephem_config {
        char *path;
        char **audiences;
        uint64_t leeway;
        uint64_t max_token_lifetime;
        uint64_t max_token_length;
        uint64_t fail_delay_ms;
        const char *state_dir; /* == users.state_dir, which the NSS module reads too */
        char *revocation_dir;  /* persistent: a revoked token must stay revoked across a reboot */
        char *cutoff_helper;
        uint64_t warn_before; /* seconds of warning before a cut-off */
        bool debug;
        userconf users;
        char **breakglass_accounts;  /* [breakglass] accounts: who may use codes */
        char *breakglass_dir;        /* [breakglass] codes */
        uint64_t breakglass_session; /* [breakglass] session: limit for codes and emergency tokens */
        ephem_issuer *issuers;
        size_t n_issuers;
        ephem_rule *rules;
        size_t n_rules;
        ephem_ca *cas;
        size_t n_cas;
} ephem_config;

/*
 * Loads the configuration from `path` (NULL: EPHEM_CONFIG_PATH), then applies
 * `argv` (module arguments; "config=" and "debug" are understood, any other
 * "key=value" sets a [host] key). Checks the result as a whole. Key files are not
 * read here (see issuer_keys()).
 * Returns 0 and *ret, or a negative errno with err set (the file's line if any).
 */
int config_load(const char *path, int argc, const char **argv, ephem_config **ret, conf_error *err);
void config_free(ephem_config *c);

/* The path a module argument list selects: the value of "config=", else NULL. */
const char *config_path_from_args(int argc, const char **argv);

/* The [ca] section for a CA fingerprint (SHA256:...), or NULL. */
const ephem_ca *config_find_ca(const ephem_config *c, const char *fingerprint);

const ephem_issuer *config_find_issuer_by_iss(const ephem_config *c, const char *iss);
const ephem_issuer *config_find_issuer(const ephem_config *c, const char *name);

/* The issuer's keys, loaded on first call. Returns 0 and *ret, or the load error
 * (message in issuer->keys_error_text). */
int issuer_keys(ephem_issuer *issuer, const keyset **ret);

/* The token lifetime limit for this issuer (its own, else the host's). */
uint64_t issuer_max_lifetime(const ephem_config *c, const ephem_issuer *i);
