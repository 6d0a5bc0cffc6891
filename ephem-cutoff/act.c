/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ephem-cutoff-act SESSION_ID -- [pam_ephem module arguments]
 *
 * The half of the cut-off helper that acts (common.h): exec'd by ephem-cutoff when
 * something happened, or at once where logind manages sessions or inotify is not
 * available. Loads the configuration and the session record, then handles, and
 * from then on waits for, the first of:
 *   - the warning time: a line on the session's terminals, state=warning in its
 *     status file;
 *   - the deadline (CLOCK_REALTIME, re-armed when the clock is set): cut-off;
 *   - a revocation entry for one of the session's items (inotify on the revocation
 *     directory, no polling): cut-off within milliseconds;
 *   - the end of the session: the leader (sshd's monitor) exits, whether
 *     close_session ran or the monitor was killed; leftovers are ended.
 * Then it ends every process of the session, removes the session record and its
 * cgroup, removes the user when no live session or valid token remains, and exits.
 * It holds no secret: the session record carries a token fingerprint, no token.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <systemd/sd-login.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "ephem/audit.h"
#include "ephem/config.h"
#include "ephem/kvrecord.h"
#include "ephem/login.h"
#include "ephem/macro.h"
#include "ephem/revocation.h"
#include "ephem/session.h"
#include "ephem/state.h"
#include "ephem/store.h"
#include "ephem/strutil.h"
#include "ephem/userdb.h"

#define KILL_TIMEOUT_MS 5000u

typedef enum ending {
        END_DEADLINE,
        END_REVOKED,
        END_CLOSED,
} ending;

/* The cgroup.procs file of the session: ephem's cgroup, or (logind) the scope the
 * leader is in, from /proc/<leader>/cgroup. */
static int session_procs_path(const session_record *s, char *buf, size_t size) {
        char root[256], line[512], path[64];
        FILE *f;
        int r = -ENOENT;

        if (s->cgroup[0]) {
                (void) snprintf(buf, size, "%s/cgroup.procs", s->cgroup);
                return 0;
        }
        if (cgroup_v2_root(root, sizeof(root)) < 0)
                return -ENOENT;
        (void) snprintf(path, sizeof(path), "/proc/%d/cgroup", (int) s->leader);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "0::/", 4) == 0) {
                        line[strcspn(line, "\n")] = '\0';
                        if ((size_t) snprintf(buf, size, "%s%s/cgroup.procs", root, line + 3) < size)
                                r = 0;
                        break;
                }
        fclose(f);
        return r;
}

/* Writes the message to every terminal a process of the session has open on
 * stdin/stdout/stderr, when the terminal belongs to the session's user. */
static void warn_terminals(const session_record *s, const char *msg) {
        char procs[SESSION_CGROUP_MAX + 64], line[32];
        FILE *f;

        if (session_procs_path(s, procs, sizeof(procs)) < 0)
                return;
        f = fopen(procs, "re");
        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                int pid = atoi(line); /* NOLINT(cert-err34-c): the kernel's list; 0 (garbage) is skipped */
                for (int fdn = 0; fdn <= 2 && pid > 0; fdn++) {
                        char link[64], target[PATH_MAX];
                        _cleanup_close_ int tty = -1;
                        struct stat st;
                        ssize_t n;

                        (void) snprintf(link, sizeof(link), "/proc/%d/fd/%d", pid, fdn);
                        n = readlink(link, target, sizeof(target) - 1);
                        if (n <= 0)
                                continue;
                        target[n] = '\0';
                        if (strncmp(target, "/dev/pts/", 9) != 0 && strncmp(target, "/dev/tty", 8) != 0)
                                continue;
                        tty = open(target, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
                        if (tty < 0 || fstat(tty, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_uid != s->uid)
                                continue;
                        (void) !write(tty, msg, strlen(msg));
                        break;
                }
        }
        fclose(f);
}

static void audit_end(const session_record *s, audit_event e, const char *detail, int64_t revoked_at) {
        audit_record a = {
                .event = e,
                .identifier = "ephem-cutoff",
                .user = s->user,
                .uid = (int64_t) s->uid,
                .session_id = s->id,
                .deadline = s->deadline,
                .fingerprint = s->fingerprint,
                .iss = s->iss,
                .sub = s->sub,
                .jti = s->jti,
                .issuer = s->issuer,
                .rule = s->rule,
                .service = s->service,
                .rhost = s->rhost,
                .detail = detail,
                .revoked_at = revoked_at,
        };
        audit_emit(&a);
}

/* Ends the session and cleans up after it: 0, or -errno when processes of the
 * session survived the kill (the exit status then says so, and ephem-cutoff, our
 * parent once it is armed, tries its own last resort). */
static int finish(const ephem_config *c, session_record *s, ending why, const char *detail, int64_t revoked_at) {
        int64_t now;
        user_record u;
        int k;

        session_status_write(c, s, why == END_CLOSED ? "closed" : why == END_DEADLINE ? "cut_off" : "revoked");
        k = session_kill(c, s, KILL_TIMEOUT_MS);
        /* After the kill: the event's time is when the session was over. */
        if (why == END_DEADLINE)
                audit_end(s, AUDIT_SESSION_CUTOFF, s->deadline_reason, 0);
        else if (why == END_REVOKED)
                audit_end(s, AUDIT_SESSION_REVOKED, detail, revoked_at);
        if (k < 0) {
                audit_record a = { .event = AUDIT_SESSION_CUTOFF,
                                   .identifier = "ephem-cutoff",
                                   .user = s->user,
                                   .uid = (int64_t) s->uid,
                                   .session_id = s->id,
                                   .reason = EPHEM_R_INTERNAL,
                                   .detail = "processes of the session survived the kill" };
                audit_emit(&a);
        }
        if (s->cgroup[0])
                (void) rmdir(s->cgroup);
        (void) session_remove(c, s->id);
        session_status_remove(c, s->id);

        /* The user goes with its last session: its tokens were single-use, so nothing
         * can log in as it again — unless a login of it is between auth and session. */
        now = (int64_t) time(NULL);
        if (userdb_get_by_name(&c->users, s->user, &u) == 0 && session_user_live(c, s->user, s->id) == 0 &&
            !login_pending_for_user(c->state_dir, s->user, now, (int64_t) c->leeway)) {
                if (store_user_remove(c, s->user, now) == 0) {
                        audit_record a = { .event = AUDIT_USER_REMOVED,
                                           .identifier = "ephem-cutoff",
                                           .user = s->user,
                                           .uid = (int64_t) u.uid,
                                           .session_id = s->id,
                                           .detail = why == END_REVOKED ? "revoked" : "session ended" };
                        audit_emit(&a);
                }
        }
        (void) store_gc(c, now, 0, NULL);
        return k < 0 ? k : 0;
}

/* The session record: ephem-cutoff's copy, read when it armed itself, where it
 * handed one over (close_session removes the record as the session ends, and what
 * is left of it must still be ended); else the state directory's. */
static int load_session(const ephem_config *c, const char *id, session_record *ret) {
        const char *e = secure_getenv(CUTOFF_RECORD_ENV);
        _cleanup_close_ int fd = -1;
        char buf[KV_RECORD_MAX + 1];
        uint32_t u;
        size_t len = 0;

        if (!e)
                return session_load(c, id, ret);
        if (parse_u32(e, &u) < 0 || u < 3 || u > INT_MAX)
                return -EBADF;
        fd = (int) u;
        /* As kv_read_at(): at most KV_RECORD_MAX - 1 bytes. */
        while (len < KV_RECORD_MAX) {
                ssize_t n = read(fd, buf + len, KV_RECORD_MAX - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (len >= KV_RECORD_MAX)
                return -EBADMSG;
        buf[len] = '\0';
        return session_parse(id, buf, len, ret);
}

static void warn_session(const ephem_config *c, const session_record *s, int64_t now) {
        char msg[256];

        (void) snprintf(msg, sizeof(msg), "\r\n*** ephem: this session ends in %" PRId64 " s (%s) ***\r\n",
                        s->deadline - now > 0 ? s->deadline - now : 0, s->deadline_reason);
        session_status_write(c, s, "warning");
        warn_terminals(s, msg);
}

/* Whether one of the names the inotify buffer reports is one of ours. */
static bool event_matches(const char *buf, ssize_t len, char names[][REVOCATION_NAME_LEN + 1], size_t n_names) {
        for (const char *p = buf; p < buf + len;) {
                const struct inotify_event *ev = (const struct inotify_event *) (const void *) p;
                if (ev->len > 0) {
                        for (size_t i = 0; i < n_names; i++)
                                if (names[i][0] && streq(ev->name, names[i]))
                                        return true;
                }
                p += sizeof(struct inotify_event) + ev->len;
        }
        return false;
}

static bool learn_logind_session(const ephem_config *c, session_record *s) {
        char *id = NULL;

        if (s->logind[0] || !session_use_logind())
                return false;
        if (sd_pid_get_session(s->leader, &id) < 0 || !id)
                return false;
        if (strlen(id) < sizeof(s->logind)) {
                strcpy(s->logind, id);
                (void) session_save(c, s);
        }
        free(id);
        return s->logind[0] != '\0';
}

int main(int argc, char **argv) {
        _cleanup_(session_record_done) session_record s = { 0 };
        char names[_REVOKE_KIND_MAX][REVOCATION_NAME_LEN + 1];
        ephem_config *c = NULL;
        conf_error err = { 0 };
        _cleanup_close_ int rev_ino = -1, t_warn = -1, t_dead = -1, pidfd = -1;
        const char *woken;
        bool woken_for_warning, handed_over;
        int margc, k;
        const char **margv;
        char detail[192];
        revocation_entry rev;
        struct stat rev_st;
        bool warn_due = false;
        int64_t now;

        if (argc < 3 || !session_id_valid(argv[1]) || !streq(argv[2], "--")) {
                fprintf(stderr, "usage: " CUTOFF_ACT_NAME " SESSION_ID -- [module arguments]\n");
                return 2;
        }
        margc = argc - 3;
        margv = (const char **) argv + 3;
        woken = secure_getenv(CUTOFF_WOKEN_ENV);
        woken_for_warning = woken && streq(woken, "warn");
        handed_over = secure_getenv(CUTOFF_RECORD_ENV) != NULL;
        /* open_session starts ephem-cutoff, which forks away from sshd; started by the
         * module itself, this program would make the login wait for the session. */
        if (!woken && secure_getenv(CUTOFF_READY_ENV)) {
                audit_record a = { .event = AUDIT_CONFIG_ERROR,
                                   .identifier = "ephem-cutoff",
                                   .reason = EPHEM_R_CONFIG,
                                   .detail = "cutoff_helper names " CUTOFF_ACT_NAME ", not ephem-cutoff",
                                   .uid = -1 };
                audit_emit(&a);
                return 1;
        }
        k = config_load(config_path_from_args(margc, margv), margc, margv, &c, &err);
        if (k < 0) {
                audit_record a = { .event = AUDIT_CONFIG_ERROR,
                                   .identifier = "ephem-cutoff",
                                   .reason = EPHEM_R_CONFIG,
                                   .detail = err.message,
                                   .uid = -1 };
                audit_emit(&a);
                return CUTOFF_EXIT_CANNOT_ACT;
        }
        k = load_session(c, argv[1], &s);
        if (k < 0) {
                config_free(c);
                /* Before arming: the session was refused after all (open_session removed
                 * the record). Woken with a record of our own that does not parse: the
                 * session cannot be handled here, and ephem-cutoff ends it. */
                return handed_over ? CUTOFF_EXIT_CANNOT_ACT : 1;
        }

        if (revocation_names_for(s.iss, s.sub, s.jti, s.user, s.fingerprint, names) < 0)
                goto fail_closed;
        {
                _cleanup_close_ int dfd = revocation_dir_open(c);
                if (dfd < 0 || fstat(dfd, &rev_st) < 0)
                        goto fail_closed;
        }
        /* One inotify instance per session; beyond fs.inotify.max_user_instances
         * (128 by default) watch the directory's mtime four times a second instead. */
        rev_ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (rev_ino >= 0 &&
            inotify_add_watch(rev_ino, c->revocation_dir, IN_MOVED_TO | IN_CREATE | IN_CLOSE_WRITE) < 0) {
                close(rev_ino);
                rev_ino = -1;
        }
        pidfd = (int) pidfd_open(s.leader, 0);
        if (pidfd < 0 || process_start_time(s.leader) != s.leader_start) {
                /* The leader is gone already: the session ended before we got here. */
                k = finish(c, &s, END_CLOSED, NULL, 0);
                config_free(c);
                return k < 0 ? 1 : 0;
        }
        t_dead = arm_timer(s.deadline);
        if (t_dead < 0)
                goto fail_closed;
        now = (int64_t) time(NULL);
        if (s.warn_at > now)
                t_warn = arm_timer(s.warn_at);
        else if (woken_for_warning && s.warn_at > 0 && s.deadline > now)
                warn_due = true; /* ephem-cutoff woke us for it: warn below, once armed */

        /* Closes the window between the login's revocation check and our watch. */
        if (revocation_check_entry(c, s.iss, s.sub, s.jti, s.user, s.fingerprint, now, detail, sizeof(detail), &rev)) {
                k = finish(c, &s, END_REVOKED, detail, rev.added_us);
                config_free(c);
                return k < 0 ? 1 : 0;
        }

        /* Armed: open_session waits for this before letting the session start. */
        tell_ready();
        if (warn_due)
                warn_session(c, &s, now);

        for (;;) {
                struct pollfd p[4] = {
                        { .fd = t_dead, .events = POLLIN },
                        { .fd = rev_ino, .events = POLLIN },
                        { .fd = pidfd, .events = POLLIN },
                        { .fd = t_warn, .events = POLLIN },
                };
                char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
                uint64_t ticks;
                ssize_t n;
                /* Until logind has registered the session, look again every second;
                 * without inotify, look at the revocation directory 4 times a second. */
                int timeout = rev_ino < 0 ? 250 : session_use_logind() && !s.logind[0] ? 1000 : -1;

                if (poll(p, t_warn >= 0 ? 4 : 3, timeout) < 0) {
                        if (errno == EINTR)
                                continue;
                        goto fail_closed;
                }
                (void) learn_logind_session(c, &s);
                now = (int64_t) time(NULL);

                if (p[0].revents) {
                        /* An expiry is the deadline (time() reads a coarse clock and may
                         * still show the second before). ECANCELED: the clock was set;
                         * re-arm against the new time, which fires at once if it is past. */
                        n = read(t_dead, &ticks, sizeof(ticks));
                        if (n == (ssize_t) sizeof(ticks)) {
                                k = finish(c, &s, END_DEADLINE, NULL, 0);
                                break;
                        }
                        if (n < 0 && errno == ECANCELED) {
                                close(t_dead);
                                t_dead = arm_timer(s.deadline);
                                if (t_dead < 0)
                                        goto fail_closed;
                        }
                }
                if (rev_ino < 0) {
                        struct stat st;
                        if (stat(c->revocation_dir, &st) == 0 && (st.st_mtim.tv_sec != rev_st.st_mtim.tv_sec ||
                                                                  st.st_mtim.tv_nsec != rev_st.st_mtim.tv_nsec)) {
                                rev_st = st;
                                if (revocation_check_entry(c, s.iss, s.sub, s.jti, s.user, s.fingerprint, now, detail,
                                                           sizeof(detail), &rev)) {
                                        k = finish(c, &s, END_REVOKED, detail, rev.added_us);
                                        break;
                                }
                        }
                }
                if (p[1].revents) {
                        n = read(rev_ino, buf, sizeof(buf));
                        /* An overflowed queue may have hidden our entry: check directly. */
                        if ((n > 0 && event_matches(buf, n, names, _REVOKE_KIND_MAX)) || n < 0 ||
                            (n > 0 && ((const struct inotify_event *) (const void *) buf)->mask & IN_Q_OVERFLOW)) {
                                if (revocation_check_entry(c, s.iss, s.sub, s.jti, s.user, s.fingerprint, now, detail,
                                                           sizeof(detail), &rev)) {
                                        k = finish(c, &s, END_REVOKED, detail, rev.added_us);
                                        break;
                                }
                        }
                }
                if (p[2].revents) {
                        /* The leader (sshd's monitor) has exited: the session is over,
                         * whether close_session ran or the monitor was killed. */
                        k = finish(c, &s, END_CLOSED, NULL, 0);
                        break;
                }
                if (t_warn >= 0 && p[3].revents) {
                        if (read(t_warn, &ticks, sizeof(ticks)) < 0 && errno == ECANCELED) {
                                /* The clock was set: warn at the right time, not now. */
                                close(t_warn);
                                t_warn = s.warn_at > now ? arm_timer(s.warn_at) : -1;
                                if (t_warn >= 0 || s.warn_at > now)
                                        continue;
                        }
                        if (t_warn >= 0) /* -1 when re-arming after a clock change found it due */
                                close(t_warn);
                        t_warn = -1;
                        warn_session(c, &s, now);
                }
        }
        config_free(c);
        return k < 0 ? 1 : 0;

fail_closed:
        /* Without a way to watch the session, it cannot be allowed to go on. */
        (void) finish(c, &s, END_REVOKED, "the cut-off helper could not arm itself", 0);
        config_free(c);
        return 1;
}
