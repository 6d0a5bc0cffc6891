/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Live sessions and how they end. A session record (<state>/sessions/<id>, root
 * only) says who, until when, and where its processes are: a cgroup-v2 group of
 * ephem's own (hosts without systemd-logind), or a logind session. The cut-off
 * helper (ephem-cutoff, exec'd from open_session) waits for the deadline, a
 * revocation or the end of the session, then ends every process and cleans up;
 * nothing depends on pam_close_session, which never runs when sshd's monitor is
 * killed.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ephem/config.h"
#include "ephem/procutil.h"
#include "ephem/token.h"
#include "ephem/userconf.h"

#define SESSION_ID_LEN 16u
#define SESSION_CGROUP_MAX 256u

typedef struct session_record {
        char id[SESSION_ID_LEN + 1];
        char user[USER_NAME_MAX + 1];
        uid_t uid;
        pid_t leader;          /* the process that opened the session (sshd's monitor) */
        uint64_t leader_start; /* its start time, against PID reuse */
        int64_t start, deadline, warn_at;
        char deadline_reason[24]; /* token_expiry, max_session, breakglass */
        char fingerprint[TOKEN_FP_LEN + 1];
        char *issuer, *iss, *sub, *jti, *rule, *service, *rhost;
        char cgroup[SESSION_CGROUP_MAX]; /* absolute path, "" when none */
        char logind[64];                 /* logind session id, "" when none */
        bool breakglass;
        char *command; /* forced command for ephem-shell; NULL: none */
        char **allow;  /* the only command lines ephem-shell runs; NULL: not restricted */
} session_record;

void session_record_done(session_record *r);
int session_save(const ephem_config *c, const session_record *r);
int session_load(const ephem_config *c, const char *id, session_record *ret);
/* The parsing half of session_load(), for a record read elsewhere (ephem-cutoff
 * hands ephem-cutoff-act the one it read at the start). buf is modified. */
int session_parse(const char *id, char *buf, size_t len, session_record *ret);
int session_remove(const ephem_config *c, const char *id);
bool session_id_valid(const char *id);

/* The session's status file, <state>/status/<id> (0644, no secret), which the
 * session can read through $EPHEM_STATUS_FILE: session, user, state (active,
 * warning, cut_off, revoked, closed), deadline, reason, leader (the PID of sshd's
 * monitor: ephem-shell finds its session by its ancestors), and the forced
 * command if the rule has one. */
void session_status_write(const ephem_config *c, const session_record *s, const char *state);
void session_status_remove(const ephem_config *c, const char *id);
/* The state field of the session's status file into buf. 0, -ENOENT, -EBADMSG, -errno. */
int session_status_state(const ephem_config *c, const char *id, char *buf, size_t size);

/* All session records. 0 and an array (session_list_free()), or -errno. */
int session_list(const ephem_config *c, session_record **ret, size_t *ret_n);
void session_list_free(session_record *l, size_t n);

/* Whether a process of the session still runs: its cgroup is populated, or its
 * leader (same PID and start time) is alive. */
bool session_alive(const session_record *r);

/* Number of live sessions of `user` but `except_id` (NULL: all; 0: none), or -errno. */
int session_user_live(const ephem_config *c, const char *user, const char *except_id);

/* Removes records of sessions whose processes are all gone (and their cgroups). */
int session_gc(const ephem_config *c, int64_t now, unsigned *ret_removed);

/*
 * Ends every process of the session: TerminateSession/KillSession through logind
 * for a logind session; cgroup.kill for an ephem cgroup; as the last resort, every
 * process of the user's UID (only when it has no other live session) or of the
 * leader's session id. Waits up to `timeout_ms` for them to be gone.
 * Returns 0 when nothing of the session runs any more, -ETIME when something
 * still does, -errno.
 */
int session_kill(const ephem_config *c, const session_record *r, unsigned timeout_ms);

/* ---- cgroup v2 ---- */

/* The mount point of a writable cgroup-v2 hierarchy that supports cgroup.kill, or
 * -ENOENT. Where systemd runs as PID 1 the caller must not use it (systemd owns
 * the tree): see session_use_logind(). */
int cgroup_v2_root(char *buf, size_t size);

/* Creates <root>/ephem/<id> and returns its path. 0 or -errno. */
int cgroup_session_create(const char *id, char *ret_path, size_t size);

/* Moves pid into the cgroup. 0 or -errno. */
int cgroup_enter(const char *path, pid_t pid);

/* 1 when the cgroup has processes, 0 when empty, -errno (e.g. gone). */
int cgroup_populated(const char *path);

/* Whether systemd is PID 1, so that logind manages sessions. */
bool session_use_logind(void);
