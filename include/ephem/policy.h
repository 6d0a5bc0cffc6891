/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which verified token may log in under which name. Nothing is allowed unless a
 * rule allows it: the first rule (in file order) whose issuer and claim conditions
 * match the token and one of whose login patterns matches the name decides.
 */
#pragma once

#include "ephem/config.h"
#include "ephem/token.h"

/* Receives one line of explanation per step (for "ephemctl policy test"). */
typedef void (*policy_trace_fn)(void *userdata, const char *line);

/*
 * Decides whether token t may log in as `user`. Returns EPHEM_OK and the allowing
 * rule in *ret_rule, or EPHEM_R_USER_INVALID (not a safe user name),
 * EPHEM_R_USER_NOT_ALLOWED (not a transient name, or no rule allows it), with v
 * filled. `trace` may be NULL.
 */
ephem_reason policy_decide(const ephem_config *c, const ephem_token *t, const char *user, const ephem_rule **ret_rule,
                           ephem_verdict *v, policy_trace_fn trace, void *userdata);

/* Whether a claim value (string, integer, boolean, or an array of those: any element)
 * matches one of the glob patterns. */
bool policy_claim_matches(const json_t *value, char *const *patterns);
