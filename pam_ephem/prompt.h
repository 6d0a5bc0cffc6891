/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading the token through the PAM conversation. The OpenSSH client cuts every
 * keyboard-interactive answer at 1023 bytes, so a longer token comes in parts:
 *
 *   prompt "ephem token: "            answer: the token, or "multipart:N:" + part 1
 *   prompt "ephem token part 2/N: "   answer: part 2
 *   ...
 *
 * ephem-askpass(1) answers these prompts; the texts are a contract with it.
 */
#pragma once

#include <security/pam_modules.h>
#include <stddef.h>

#include "ephem/reason.h"

#define PROMPT_TOKEN "ephem token: "
#define PROMPT_PART_FMT "ephem token part %u/%u: "
#define MULTIPART_PREFIX "multipart:"
#define OPENSSH_ANSWER_LIMIT 1023u /* what the OpenSSH client leaves of a longer answer */

/*
 * Asks for the token (in as many parts as announced) and returns it in *ret
 * (erase_and_free() it). A single answer of exactly OPENSSH_ANSWER_LIMIT bytes sets
 * *ret_maybe_truncated: the caller reports a truncation if the token then fails.
 * Returns EPHEM_OK, EPHEM_R_CONV, EPHEM_R_TOKEN_EMPTY, EPHEM_R_TOKEN_TOO_LONG,
 * EPHEM_R_TOKEN_TRUNCATED (a part hit the limit), EPHEM_R_PARTS_INVALID,
 * EPHEM_R_INTERNAL.
 */
ephem_reason prompt_token(pam_handle_t *pamh, size_t max_len, char **ret, int *ret_maybe_truncated);
