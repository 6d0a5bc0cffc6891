/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Starts the cut-off helper for a session: `helper SESSION_ID [module args...]`,
 * with posix_spawn() (vfork-like: cheap even from a large process), in a session of
 * its own, with no fd of the caller but /dev/null on 0-2 and a pipe on 3, default
 * signal dispositions, an empty signal mask and a minimal environment; the helper
 * forks once and its first process exits (waited for here), so that it is not the
 * caller's child. It carries no secret: only the session id and the
 * module arguments (paths and settings). Returns 0 and the pipe's read end (for
 * spawn_wait_ready()), or a negative errno.
 */
int spawn_cutoff_helper(const char *helper, const char *session_id, int argc, const char **argv, int *ret_ready_fd);

/*
 * Waits until the helper says it is armed (its deadline timer set, the revocation
 * watch in place: a byte on fd 3) and closes fd. 0, or a negative errno: the exec's
 * own failure, -ECHILD when the helper exited before arming itself (a configuration
 * it cannot load, a session record gone), -ETIMEDOUT after 10 s. The session must
 * then be refused: nothing would cut it off.
 */
int spawn_wait_ready(int fd);
