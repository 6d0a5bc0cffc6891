/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Break-glass: offline one-time emergency codes, for when the broker is down.
 *
 * A code looks like "07-K3M9QD-7TXW2P-HB4R8N-ZJ6C1V": a number (which code of the
 * account it is, so that one attempt costs one hash) and 24 characters of
 * Crockford base32 (120 bits). The host keeps only scrypt hashes (N=2^15, r=8,
 * p=1, 16-byte salt, 32-byte key), one root-only file per code:
 *
 *   <codes_dir>/<account>/<NN>        salt and hash of an unused code
 *   <codes_dir>/<account>/used/<NN>   the same, moved there on use (the burn)
 *
 * A code is burned by rename(2) into used/ — atomic, so of many concurrent
 * attempts with one code exactly one wins — and the directories are fsync'ed
 * before success is reported: a crash in between leaves the code burned and the
 * login refused (fail closed). Wrong attempts are rate-limited per account with
 * exponential backoff (1 s, 2 s, ... up to 5 min), never a permanent lockout.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ephem/config.h"
#include "ephem/reason.h"

#define BREAKGLASS_CODE_CHARS 24u
#define BREAKGLASS_MAX_CODES 999u
#define BREAKGLASS_SCRYPT_N 32768u
#define BREAKGLASS_SCRYPT_R 8u
#define BREAKGLASS_SCRYPT_P 1u
#define BREAKGLASS_BACKOFF_MAX 300u

/* Whether `user` is one of the configured emergency accounts. */
bool breakglass_account(const ephem_config *c, const char *user);

/* Whether an answer has the shape of a code ("NN-" then code characters); the
 * caller then takes the break-glass path instead of the token path. */
bool breakglass_looks_like_code(const char *answer);

/*
 * Checks `code` for `account` and burns it. Returns EPHEM_OK with *ret_number, or
 * EPHEM_R_CODE_INVALID (malformed, wrong, or no such code), EPHEM_R_CODE_USED,
 * EPHEM_R_RATE_LIMITED, EPHEM_R_BREAKGLASS_STORE (the code files are unsafe or
 * unreadable: every code is refused), EPHEM_R_INTERNAL; detail says more.
 */
ephem_reason breakglass_use(const ephem_config *c, const char *account, const char *code, unsigned *ret_number,
                            char *detail, size_t detail_size);

/* Generates `count` codes for `account`, writes their hashes and returns the codes
 * (an array of strings to wipe and free, see breakglass_codes_free()) and their
 * numbers. 0 or -errno (detail says why). */
int breakglass_generate(const ephem_config *c, const char *account, unsigned count, char ***ret_codes,
                        unsigned **ret_numbers, char *detail, size_t detail_size);
void breakglass_codes_free(char **codes);

typedef struct breakglass_entry {
        unsigned number;
        bool used;
        int64_t created;
        int64_t used_at;
        char used_from[64];
} breakglass_entry;

/* The codes of an account (unused and used), sorted by number. 0 or -errno. */
int breakglass_list(const ephem_config *c, const char *account, breakglass_entry **ret, size_t *ret_n);

/* Withdraws unused codes: one number, or all (number 0). Their files are deleted (a
 * marker in revoked/ makes a login with one refused as revoked); their numbers stay
 * taken (breakglass_generate() never issues a number twice). Returns how many, or
 * -errno when any code could not be withdrawn (it may still be valid). */
int breakglass_revoke(const ephem_config *c, const char *account, unsigned number);

/* Records where a burned code was used from (the audit trail has it too). */
void breakglass_note_use(const ephem_config *c, const char *account, unsigned number, const char *rhost, int64_t now);
