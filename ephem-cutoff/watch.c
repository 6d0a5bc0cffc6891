/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ephem-cutoff SESSION_ID -- [pam_ephem module arguments]
 *
 * Started by pam_ephem's open_session (posix_spawn, pam_ephem/cutoff-helper.c), one
 * per session, detached from sshd. This half of the helper is small on purpose: it
 * links libc and libephem-base only, so that starting it costs a session little and
 * waiting costs the host little (common.h). It reads where the session's state is
 * from the configuration's [users] and [host] state_dir (as the NSS module does),
 * and what to watch from the session record: the leader's PID and start time, the
 * deadline and warning time, the revocation directory and the entry names of the
 * session's items (written by pam_ephem, which has the hash function).
 *
 * Once its watches are set (a timer for the deadline, one for the warning, inotify
 * on the revocation directory, a pidfd for the leader), it tells open_session it is
 * armed. When one fires, it runs ephem-cutoff-act as its child, with the same
 * arguments and the session record as read here (close_session removes the file as
 * the session ends, and what is left of the session must still be ended); that
 * decides with the whole configuration, acts, and after a warning waits on in our
 * place. Unless it exits 0, having ended the session, this process ends the session
 * itself (cgroup.kill, the leader) rather than let it run on.
 *
 * Where logind manages sessions, or a watch cannot be set, or something is due
 * already, it execs ephem-cutoff-act before telling open_session anything: that
 * arms itself and does it all, as one process.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "ephem/kvrecord.h"
#include "ephem/macro.h"
#include "ephem/procutil.h"
#include "ephem/revocation.h"
#include "ephem/session.h"
#include "ephem/state.h"
#include "ephem/strutil.h"
#include "ephem/userconf.h"

typedef struct watch {
        pid_t leader;
        uint64_t leader_start;
        int64_t deadline, warn_at;
        char cgroup[SESSION_CGROUP_MAX];
        char revocation_dir[PATH_MAX];
        char names[_REVOKE_KIND_MAX][REVOCATION_NAME_LEN + 1];
        size_t n_names;
} watch;

/* How long past the deadline ephem-cutoff-act may run before we end the session
 * ourselves: its kill waits 5 s for the processes to go, then it cleans up. */
#define ACT_GRACE_S 30

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U /* Linux 6.3; glibc 2.36 predates it */
#endif

static const char *session_id;
static char act_path[PATH_MAX];
static char **act_argv;
/* The record as read at the start, for ephem-cutoff-act. */
static char record[KV_RECORD_MAX];
static size_t record_len;

/* A line for the journal (its native protocol: one datagram of KEY=value lines, as
 * sd_journal_send() writes it, without linking libsystemd), or syslog where there
 * is no journald. Control characters in the message become '?'. */
static void log_line(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool send_bounded(const char *path, const char *data, size_t len) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
                return false;
        strcpy(sa.sun_path, path);
        /* A log daemon that does not keep up delays us a second at most. */
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &(struct timeval){ .tv_sec = 1 }, sizeof(struct timeval));
        return sendto(fd, data, len, MSG_NOSIGNAL, (const struct sockaddr *) &sa, sizeof(sa)) == (ssize_t) len;
}

static void log_line(int priority, const char *fmt, ...) {
        char msg[512], dgram[800], stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        va_list ap;
        int n;

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        for (char *p = msg; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = '?';
        n = snprintf(dgram, sizeof(dgram),
                     "PRIORITY=%d\nSYSLOG_IDENTIFIER=ephem-cutoff\nSYSLOG_FACILITY=10\n"
                     "EPHEM_SESSION_ID=%s\nMESSAGE=%s\n",
                     priority, session_id, msg);
        if (n > 0 && (size_t) n < sizeof(dgram) && send_bounded("/run/systemd/journal/socket", dgram, (size_t) n))
                return;
        /* syslog(3) would wait for /dev/log as long as it takes. */
        if (!localtime_r(&now, &tm) || strftime(stamp, sizeof(stamp), "%b %e %T", &tm) == 0)
                stamp[0] = '\0';
        n = snprintf(dgram, sizeof(dgram), "<%d>%s ephem-cutoff[%d]: %s", LOG_AUTHPRIV | priority, stamp,
                     (int) getpid(), msg);
        if (n > 0 && (size_t) n < sizeof(dgram))
                (void) send_bounded("/dev/log", dgram, (size_t) n);
}

static int copy_path(char *dst, size_t size, const char *v) {
        if (v[0] != '/' || strlen(v) >= size)
                return -EBADMSG;
        strcpy(dst, v);
        return 0;
}

/* The fields this half needs; the rest of the record is ephem-cutoff-act's. */
static int on_field(const char *key, const char *v, void *userdata) {
        watch *w = userdata;
        uint32_t u32;

        if (streq(key, "leader")) {
                if (parse_u32(v, &u32) < 0 || u32 <= 1 || u32 > INT32_MAX)
                        return -EBADMSG;
                w->leader = (pid_t) u32;
                return 0;
        }
        if (streq(key, "leader_start"))
                return parse_u64(v, &w->leader_start) < 0 ? -EBADMSG : 0;
        if (streq(key, "deadline"))
                return parse_i64_nonneg(v, &w->deadline) < 0 ? -EBADMSG : 0;
        if (streq(key, "warn_at"))
                return parse_i64_nonneg(v, &w->warn_at) < 0 ? -EBADMSG : 0;
        if (streq(key, "cgroup")) {
                /* As session_load(): a cgroup outside ephem's own subtree is refused. */
                if (v[0] && !strstr(v, "/ephem/"))
                        return -EBADMSG;
                return v[0] ? copy_path(w->cgroup, sizeof(w->cgroup), v) : 0;
        }
        if (streq(key, "revocation_dir"))
                return copy_path(w->revocation_dir, sizeof(w->revocation_dir), v);
        if (streq(key, "revoke")) {
                if (w->n_names >= _REVOKE_KIND_MAX || !string_is_lower_hex(v, REVOCATION_NAME_LEN))
                        return -EBADMSG;
                strcpy(w->names[w->n_names++], v);
                return 0;
        }
        return 0;
}

/* The state directory as the PAM module sees it: the file's, or a module argument's. */
static int load_state_dir(int argc, char **argv, userconf *u) {
        const char *path = EPHEM_CONFIG_PATH;
        conf_error err = { 0 };
        int r;

        for (int i = 0; i < argc; i++)
                if (strncmp(argv[i], "config=", 7) == 0) {
                        path = argv[i] + 7;
                        break;
                }
        r = userconf_load(path, u, &err);
        for (int i = 0; r >= 0 && i < argc; i++)
                if (strncmp(argv[i], "state_dir=", 10) == 0)
                        r = userconf_set_state_dir(u, argv[i] + 10, 0, &err);
        if (r < 0)
                log_line(LOG_ERR, "session %s: configuration: %s", session_id, err.message);
        return r;
}

static int load_watch(const char *state_dir, watch *w) {
        _cleanup_close_ int dfd = -1;
        char buf[KV_RECORD_MAX];
        int r;

        dfd = state_open_subdir(state_dir, "sessions", 0700);
        if (dfd < 0)
                return dfd;
        r = kv_read_at(dfd, session_id, record, sizeof(record), &record_len);
        if (r < 0)
                return r;
        memcpy(buf, record, record_len + 1);
        *w = (watch){ .leader = 0 };
        r = kv_parse(buf, record_len, on_field, w);
        if (r < 0)
                return r;
        /* A record without these was written by a module that predates this helper:
         * ephem-cutoff-act reads it all. Every login has a user name, so at least one
         * entry name. */
        return w->leader > 1 && w->leader_start && w->deadline && w->revocation_dir[0] && w->n_names > 0 ? 0 : -ENODATA;
}

static int act_path_init(void) {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        char *slash;

        if (n <= 0)
                return -errno;
        if ((size_t) n >= sizeof(self) - 1)
                return -ENAMETOOLONG;
        self[n] = '\0';
        slash = strrchr(self, '/');
        if (!slash)
                return -EINVAL;
        *slash = '\0';
        /* Installed side by side (libexecdir; ephem-cutoff/ in a build tree): the two
         * halves of one version. */
        if ((size_t) snprintf(act_path, sizeof(act_path), "%s/" CUTOFF_ACT_NAME, self) >= sizeof(act_path))
                return -ENAMETOOLONG;
        return 0;
}

/* The last resort, where ephem-cutoff-act could not end the session: everything in
 * its cgroup, and its leader (for sshd, the connection). Then the alert. */
static _Noreturn void end_session(const watch *w, int pidfd, const char *why) {
        if (w->cgroup[0]) {
                char path[SESSION_CGROUP_MAX + 16];
                _cleanup_close_ int fd = -1;

                (void) snprintf(path, sizeof(path), "%s/cgroup.kill", w->cgroup);
                fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd >= 0)
                        (void) !write(fd, "1", 1);
        }
        if (pidfd >= 0)
                (void) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
        log_line(LOG_ALERT, "session %s: %s %s: ended the session here", session_id, act_path, why);
        _exit(1);
}

/* Before arming: ephem-cutoff-act takes over this process, arms itself and tells
 * open_session, or exits and the session is refused. */
static _Noreturn void act_instead(void) {
        (void) setenv(CUTOFF_WOKEN_ENV, "start", 1);
        (void) execv(act_path, act_argv);
        log_line(LOG_ERR, "session %s: cannot run %s: %s", session_id, act_path, strerror(errno));
        _exit(1);
}

/* A fired or cancelled timer: true when it is due; a clock change re-arms it. */
static bool timer_due(int *fd, int64_t when) {
        uint64_t ticks;

        if (read(*fd, &ticks, sizeof(ticks)) == (ssize_t) sizeof(ticks))
                return true;
        if (errno != ECANCELED)
                return false;
        close(*fd);
        *fd = arm_timer(when); /* fires at once when the new time is past it */
        return *fd < 0;
}

/* A failure of ours at the warning time costs the session its warning; at any other
 * event, the session. */
static void give_up(const watch *w, int pidfd, bool warning, const char *reason) {
        if (!warning)
                end_session(w, pidfd, reason);
        log_line(LOG_WARNING, "session %s: %s %s: no warning before the cut-off", session_id, act_path, reason);
}

/* The record as read at the start, in a sealed-to-exec memfd at offset 0. */
static int record_memfd(void) {
        int fd = memfd_create("ephem-session", MFD_CLOEXEC | MFD_NOEXEC_SEAL);

        if (fd < 0 && errno == EINVAL) /* before Linux 6.3 */
                fd = memfd_create("ephem-session", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, record, record_len) != (ssize_t) record_len || lseek(fd, 0, SEEK_SET) < 0) {
                close(fd);
                return -EIO;
        }
        return fd;
}

/* Waits for the child, and past the deadline by ACT_GRACE_S at most (a child that
 * hangs). Returns its wait status, or -1 when it had to be killed. */
static int wait_child(pid_t pid, int64_t deadline) {
        _cleanup_close_ int child = (int) pidfd_open(pid, 0), late = arm_timer(deadline + ACT_GRACE_S);
        int status;

        while (child >= 0 && late >= 0) {
                struct pollfd p[2] = { { .fd = child, .events = POLLIN }, { .fd = late, .events = POLLIN } };

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[0].revents)
                        break;
                if (p[1].revents && timer_due(&late, deadline + ACT_GRACE_S)) {
                        (void) syscall(SYS_pidfd_send_signal, child, SIGKILL, NULL, 0);
                        (void) waitpid(pid, &status, 0);
                        return -1;
                }
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -1;
        return status;
}

/*
 * After arming: ephem-cutoff-act runs as our child, with the record as read at the
 * start on fd 3 and, on fd 4, where it says once it has armed itself and taken
 * over. It exits 0 once the session is over and cleaned up; anything else, and the
 * session is ended here. The exception is the warning time, where a child that
 * could not take over costs the session its warning only, and we watch on: the
 * only return.
 */
static void act(const watch *w, int pidfd, const char *why) {
        bool warning = streq(why, "warn"), took_over;
        _cleanup_close_ int mfd = record_memfd(), took_r = -1;
        int pipefd[2], status;
        char reason[80], c = 0;
        pid_t pid;

        if (mfd < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
                give_up(w, pidfd, warning, "could not be given the session record");
                return;
        }
        took_r = pipefd[0];
        pid = fork();
        if (pid < 0) {
                close(pipefd[1]);
                give_up(w, pidfd, warning, "could not be started");
                return;
        }
        if (pid == 0) {
                /* Above 4 first, so that neither lands on the other's target. */
                int rec = fcntl(mfd, F_DUPFD_CLOEXEC, 5), tell = fcntl(pipefd[1], F_DUPFD_CLOEXEC, 5);

                if (rec < 0 || tell < 0 || dup2(rec, 3) < 0 || dup2(tell, 4) < 0 ||
                    setenv(CUTOFF_RECORD_ENV, "3", 1) < 0 || setenv(CUTOFF_READY_ENV, "4", 1) < 0 ||
                    setenv(CUTOFF_WOKEN_ENV, why, 1) < 0)
                        _exit(126);
                (void) execv(act_path, act_argv);
                _exit(127);
        }
        close(pipefd[1]);
        status = wait_child(pid, w->deadline);
        took_over = read(took_r, &c, 1) == 1 && c == 'R';
        if (status == 0)
                _exit(0);
        if (status < 0)
                (void) snprintf(reason, sizeof(reason), "was still running %d s after the deadline", ACT_GRACE_S);
        else if (WIFEXITED(status))
                (void) snprintf(reason, sizeof(reason), "exited with status %d", WEXITSTATUS(status));
        else
                (void) snprintf(reason, sizeof(reason), "was killed by signal %d", WTERMSIG(status));
        give_up(w, pidfd, warning && !took_over && status >= 0, reason);
}

/* Root's alone: owned by root (or us), not writable by group or others. */
static bool dir_is_roots(int fd) {
        struct stat st;

        return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_uid == 0 || st.st_uid == geteuid()) &&
               (st.st_mode & 0022) == 0;
}

/* Whether an entry with one of the session's names is in the directory now. */
static bool entry_present(int rev_fd, const watch *w) {
        for (size_t i = 0; i < w->n_names; i++)
                if (faccessat(rev_fd, w->names[i], F_OK, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
                        return true; /* present, or unknown: ephem-cutoff-act looks */
        return false;
}

/* Whether the inotify events name one of the session's entries (or may have lost one). */
static bool events_concern_us(int ino, int rev_fd, const watch *w) {
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n = read(ino, buf, sizeof(buf));

        if (n < 0)
                return errno != EAGAIN && errno != EINTR;
        for (const char *p = buf; p < buf + n;) {
                const struct inotify_event *ev = (const struct inotify_event *) (const void *) p;

                if (ev->mask & IN_Q_OVERFLOW)
                        return entry_present(rev_fd, w);
                /* The watch is gone (the directory was removed or unmounted): we are
                 * blind, and ephem-cutoff-act watches anew or ends the session. */
                if (ev->mask & (IN_IGNORED | IN_UNMOUNT))
                        return true;
                for (size_t i = 0; ev->len > 0 && i < w->n_names; i++)
                        if (streq(ev->name, w->names[i]))
                                return true;
                p += sizeof(struct inotify_event) + ev->len;
        }
        return false;
}

int main(int argc, char **argv) {
        _cleanup_close_ int ino = -1, rev_fd = -1, pidfd = -1, t_dead = -1, t_warn = -1;
        userconf u = { 0 };
        watch w = { 0 };
        int r;

        if (argc < 3 || !string_is_lower_hex(argv[1], SESSION_ID_LEN) || !streq(argv[2], "--")) {
                fprintf(stderr, "usage: ephem-cutoff SESSION_ID -- [module arguments]\n");
                return 2;
        }
        session_id = argv[1];
        /* Started by open_session: fork once and let the first process exit, which the
         * module waits for, so that the helper is not sshd's child. */
        if (secure_getenv(CUTOFF_READY_ENV)) {
                pid_t pid = fork();
                if (pid < 0)
                        return 1;
                if (pid > 0)
                        _exit(0);
        }
        if (act_path_init() < 0) {
                log_line(LOG_ERR, "session %s: cannot find " CUTOFF_ACT_NAME, session_id);
                return 1;
        }
        act_argv = argv;
        act_argv[0] = act_path;

        r = load_state_dir(argc - 3, argv + 3, &u);
        if (r >= 0)
                r = load_watch(u.state_dir, &w);
        userconf_done(&u);
        if (r == -ENOENT)
                return 1; /* the session was refused after all (open_session removed it) */
        if (r < 0 || host_runs_systemd())
                act_instead();

        rev_fd = open(w.revocation_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        /* A directory that is not root's alone is ephem-cutoff-act's to refuse;
         * beyond fs.inotify.max_user_instances it polls the directory instead. */
        if (rev_fd < 0 || !dir_is_roots(rev_fd) || ino < 0 ||
            inotify_add_watch(ino, w.revocation_dir, IN_MOVED_TO | IN_CREATE | IN_CLOSE_WRITE) < 0)
                act_instead();
        pidfd = (int) pidfd_open(w.leader, 0);
        t_dead = arm_timer(w.deadline);
        if (w.warn_at > (int64_t) time(NULL))
                t_warn = arm_timer(w.warn_at);
        /* Anything due already (the leader gone, the deadline past, an entry that
         * came between the login's check and our watch) is for ephem-cutoff-act. */
        if (pidfd < 0 || process_start_time(w.leader) != w.leader_start || t_dead < 0 ||
            w.deadline <= (int64_t) time(NULL) || entry_present(rev_fd, &w))
                act_instead();

        tell_ready();

        for (;;) {
                struct pollfd p[4] = {
                        { .fd = t_dead, .events = POLLIN },
                        { .fd = ino, .events = POLLIN },
                        { .fd = pidfd, .events = POLLIN },
                        { .fd = t_warn, .events = POLLIN },
                };

                if (poll(p, t_warn >= 0 ? 4 : 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        act(&w, pidfd, "event");
                }
                if (p[2].revents)
                        act(&w, pidfd, "event"); /* the leader exited: the session is over */
                if (p[0].revents && timer_due(&t_dead, w.deadline))
                        act(&w, pidfd, "event");
                if (p[1].revents && events_concern_us(ino, rev_fd, &w))
                        act(&w, pidfd, "event");
                if (t_warn >= 0 && p[3].revents && timer_due(&t_warn, w.warn_at)) {
                        close(t_warn);
                        t_warn = -1;
                        act(&w, pidfd, "warn");
                }
        }
}
