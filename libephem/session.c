/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/session.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-login.h>
#include <time.h>
#include <unistd.h>

#include "ephem/kvrecord.h"
#include "ephem/macro.h"
#include "ephem/revocation.h"
#include "ephem/state.h"
#include "ephem/strutil.h"

void session_record_done(session_record *r) {
        free(r->issuer);
        free(r->iss);
        free(r->sub);
        free(r->jti);
        free(r->rule);
        free(r->service);
        free(r->rhost);
        free(r->command);
        strv_free(r->allow);
        *r = (session_record){ 0 };
}

bool session_id_valid(const char *id) {
        return string_is_lower_hex(id, SESSION_ID_LEN);
}

int session_save(const ephem_config *c, const session_record *r) {
        char names[_REVOKE_KIND_MAX][REVOCATION_NAME_LEN + 1];
        _cleanup_close_ int dfd = -1;
        kv_writer w = { 0 };
        int k;

        if (!session_id_valid(r->id))
                return -EINVAL;
        k = revocation_names_for(r->iss, r->sub, r->jti, r->user, r->fingerprint, names);
        if (k < 0)
                return k;
        dfd = state_open_subdir(c->state_dir, "sessions", 0700);
        if (dfd < 0)
                return dfd;
        kvw_add(&w, "user", r->user);
        kvw_addf(&w, "uid", "%u", (unsigned) r->uid);
        kvw_addf(&w, "leader", "%d", (int) r->leader);
        kvw_addf(&w, "leader_start", "%" PRIu64, r->leader_start);
        kvw_addf(&w, "start", "%" PRId64, r->start);
        kvw_addf(&w, "deadline", "%" PRId64, r->deadline);
        kvw_addf(&w, "warn_at", "%" PRId64, r->warn_at);
        kvw_add(&w, "deadline_reason", r->deadline_reason);
        kvw_add(&w, "fingerprint", r->fingerprint);
        kvw_add(&w, "issuer", r->issuer);
        kvw_add(&w, "iss", r->iss);
        kvw_add(&w, "sub", r->sub);
        kvw_add(&w, "jti", r->jti);
        kvw_add(&w, "rule", r->rule);
        kvw_add(&w, "service", r->service);
        kvw_add(&w, "rhost", r->rhost);
        kvw_add(&w, "cgroup", r->cgroup);
        kvw_add(&w, "logind", r->logind);
        kvw_add(&w, "breakglass", r->breakglass ? "1" : "0");
        /* For ephem-cutoff, which watches the revocation directory without the
         * configuration or a hash function (ephem-cutoff/watch.c). */
        kvw_add(&w, "revocation_dir", c->revocation_dir);
        for (int i = 0; i < _REVOKE_KIND_MAX; i++)
                if (names[i][0])
                        kvw_add(&w, "revoke", names[i]);
        if (r->command)
                kvw_add(&w, "command", r->command);
        for (char **a = r->allow; a && *a; a++)
                kvw_add(&w, "allow", *a);
        k = kvw_commit_at(&w, dfd, r->id, 0600);
        kvw_done(&w);
        return k;
}

void session_status_write(const ephem_config *c, const session_record *s, const char *state) {
        _cleanup_close_ int dfd = state_open_subdir(c->state_dir, "status", 0755);
        kv_writer w = { 0 };

        if (dfd < 0)
                return;
        kvw_add(&w, "session", s->id);
        kvw_add(&w, "user", s->user);
        kvw_add(&w, "state", state);
        kvw_addf(&w, "deadline", "%" PRId64, s->deadline);
        kvw_add(&w, "reason", s->deadline_reason);
        kvw_addf(&w, "leader", "%d", (int) s->leader);
        if (s->command)
                kvw_add(&w, "command", s->command);
        for (char **a = s->allow; a && *a; a++)
                kvw_add(&w, "allow", *a);
        (void) kvw_commit_at(&w, dfd, s->id, 0644);
        kvw_done(&w);
}

void session_status_remove(const ephem_config *c, const char *id) {
        _cleanup_close_ int dfd = state_open_subdir(c->state_dir, "status", 0755);

        if (dfd >= 0 && session_id_valid(id))
                (void) unlinkat(dfd, id, 0);
}

typedef struct status_state {
        char *buf;
        size_t size;
} status_state;

static int on_status_field(const char *key, const char *v, void *userdata) {
        status_state *st = userdata;

        if (!streq(key, "state"))
                return 0;
        if (strlen(v) >= st->size)
                return -EBADMSG;
        strcpy(st->buf, v);
        return 0;
}

int session_status_state(const ephem_config *c, const char *id, char *buf, size_t size) {
        _cleanup_close_ int dfd = -1;
        char rec[1024];
        status_state st = { buf, size };
        size_t len;
        int k;

        if (!session_id_valid(id) || size == 0)
                return -EINVAL;
        dfd = state_open_subdir(c->state_dir, "status", 0755);
        if (dfd < 0)
                return dfd;
        k = kv_read_at(dfd, id, rec, sizeof(rec), &len);
        if (k < 0)
                return k;
        buf[0] = '\0';
        k = kv_parse(rec, len, on_status_field, &st);
        if (k == 0 && !buf[0])
                k = -EBADMSG;
        return k;
}

static int set_str(char **field, const char *v) {
        free(*field);
        *field = strdup(v);
        return *field ? 0 : -ENOMEM;
}

static int copy_bounded(char *dst, size_t size, const char *v) {
        if (strlen(v) >= size)
                return -EBADMSG;
        strcpy(dst, v);
        return 0;
}

static int on_field(const char *key, const char *v, void *userdata) {
        session_record *r = userdata;
        uint32_t u32;
        uint64_t u64;

        if (streq(key, "user"))
                return user_name_valid(v) ? copy_bounded(r->user, sizeof(r->user), v) : -EBADMSG;
        if (streq(key, "uid")) {
                if (parse_u32(v, &u32) < 0)
                        return -EBADMSG;
                r->uid = u32;
                return 0;
        }
        if (streq(key, "leader")) {
                if (parse_u32(v, &u32) < 0 || u32 > INT32_MAX)
                        return -EBADMSG;
                r->leader = (pid_t) u32;
                return 0;
        }
        if (streq(key, "leader_start")) {
                if (parse_u64(v, &u64) < 0)
                        return -EBADMSG;
                r->leader_start = u64;
                return 0;
        }
        if (streq(key, "start"))
                return parse_i64_nonneg(v, &r->start) < 0 ? -EBADMSG : 0;
        if (streq(key, "deadline"))
                return parse_i64_nonneg(v, &r->deadline) < 0 ? -EBADMSG : 0;
        if (streq(key, "warn_at"))
                return parse_i64_nonneg(v, &r->warn_at) < 0 ? -EBADMSG : 0;
        if (streq(key, "deadline_reason"))
                return copy_bounded(r->deadline_reason, sizeof(r->deadline_reason), v);
        if (streq(key, "fingerprint"))
                return copy_bounded(r->fingerprint, sizeof(r->fingerprint), v);
        if (streq(key, "cgroup"))
                return copy_bounded(r->cgroup, sizeof(r->cgroup), v);
        if (streq(key, "logind"))
                return copy_bounded(r->logind, sizeof(r->logind), v);
        if (streq(key, "breakglass")) {
                r->breakglass = streq(v, "1");
                return 0;
        }
        if (streq(key, "issuer"))
                return set_str(&r->issuer, v);
        if (streq(key, "iss"))
                return set_str(&r->iss, v);
        if (streq(key, "sub"))
                return set_str(&r->sub, v);
        if (streq(key, "jti"))
                return set_str(&r->jti, v);
        if (streq(key, "rule"))
                return set_str(&r->rule, v);
        if (streq(key, "service"))
                return set_str(&r->service, v);
        if (streq(key, "rhost"))
                return set_str(&r->rhost, v);
        if (streq(key, "command"))
                return set_str(&r->command, v);
        if (streq(key, "allow"))
                return strv_length(r->allow) >= RULE_ALLOW_COMMANDS_MAX ? -EBADMSG : strv_extend(&r->allow, v);
        return 0;
}

int session_load(const ephem_config *c, const char *id, session_record *ret) {
        _cleanup_close_ int dfd = -1;
        char buf[KV_RECORD_MAX];
        size_t len;
        int k;

        if (!session_id_valid(id))
                return -EINVAL;
        dfd = state_open_subdir(c->state_dir, "sessions", 0700);
        if (dfd < 0)
                return dfd;
        k = kv_read_at(dfd, id, buf, sizeof(buf), &len);
        if (k < 0)
                return k;
        return session_parse(id, buf, len, ret);
}

int session_parse(const char *id, char *buf, size_t len, session_record *ret) {
        session_record r = { 0 };
        int k;

        if (!session_id_valid(id))
                return -EINVAL;
        k = kv_parse(buf, len, on_field, &r);
        if (k == 0 && (!r.user[0] || r.uid == 0 || r.deadline == 0))
                k = -EBADMSG;
        /* A cgroup outside ephem's own subtree would let a damaged record kill anything. */
        if (k == 0 && r.cgroup[0] && !strstr(r.cgroup, "/ephem/"))
                k = -EBADMSG;
        if (k < 0) {
                session_record_done(&r);
                return k;
        }
        memcpy(r.id, id, SESSION_ID_LEN + 1);
        *ret = r;
        return 0;
}

int session_remove(const ephem_config *c, const char *id) {
        _cleanup_close_ int dfd = -1;

        if (!session_id_valid(id))
                return -EINVAL;
        dfd = state_open_subdir(c->state_dir, "sessions", 0700);
        if (dfd < 0)
                return dfd;
        return unlinkat(dfd, id, 0) < 0 ? negative_errno() : 0;
}

void session_list_free(session_record *l, size_t n) {
        for (size_t i = 0; i < n; i++)
                session_record_done(&l[i]);
        free(l);
}

int session_list(const ephem_config *c, session_record **ret, size_t *ret_n) {
        _cleanup_close_ int dfd = -1;
        session_record *list = NULL;
        size_t n = 0;
        struct dirent *de;
        DIR *d;

        dfd = state_open_subdir(c->state_dir, "sessions", 0700);
        if (dfd < 0)
                return dfd;
        d = dir_open_at(dfd);
        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                session_record r, *nl;
                if (!session_id_valid(de->d_name) || session_load(c, de->d_name, &r) < 0)
                        continue;
                nl = realloc(list, (n + 1) * sizeof(*nl));
                if (!nl) {
                        session_record_done(&r);
                        session_list_free(list, n);
                        closedir(d);
                        return -ENOMEM;
                }
                list = nl;
                list[n++] = r;
        }
        closedir(d);
        *ret = list;
        *ret_n = n;
        return 0;
}

static bool leader_alive(const session_record *r) {
        if (r->leader <= 1)
                return false;
        return process_start_time(r->leader) == r->leader_start && r->leader_start != 0;
}

bool session_alive(const session_record *r) {
        if (r->cgroup[0] && cgroup_populated(r->cgroup) == 1)
                return true;
        if (r->logind[0]) {
                _cleanup_free_ char *state = NULL;
                if (sd_session_get_state(r->logind, &state) >= 0 && !streq(state, "closing"))
                        return true;
        }
        return leader_alive(r);
}

int session_user_live(const ephem_config *c, const char *user, const char *except_id) {
        session_record *l = NULL;
        size_t n = 0;
        int k, live = 0;

        k = session_list(c, &l, &n);
        if (k < 0)
                return k == -ENOENT ? 0 : k;
        for (size_t i = 0; i < n; i++)
                if (streq(l[i].user, user) && !(except_id && streq(l[i].id, except_id)) && session_alive(&l[i]))
                        live++;
        session_list_free(l, n);
        return live;
}

int session_gc(const ephem_config *c, int64_t now _unused_, unsigned *ret_removed) {
        session_record *l = NULL;
        size_t n = 0;
        unsigned removed = 0;
        int k;

        k = session_list(c, &l, &n);
        if (k < 0)
                return k;
        for (size_t i = 0; i < n; i++) {
                if (session_alive(&l[i]))
                        continue;
                /* A cgroup that cannot go yet (a read-only mount, EBUSY) keeps its
                 * record, so that a later sweep removes both. */
                if (l[i].cgroup[0] && rmdir(l[i].cgroup) < 0 && errno != ENOENT)
                        continue;
                if (session_remove(c, l[i].id) == 0)
                        removed++;
        }
        session_list_free(l, n);
        if (ret_removed)
                *ret_removed = removed;
        return 0;
}

/* ---- cgroup v2 ---- */

int cgroup_v2_root(char *buf, size_t size) {
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[1024];
        int r = -ENOENT;

        if (!f)
                return negative_errno();
        while (fgets(line, sizeof(line), f)) {
                /* "id parent maj:min root mountpoint opts ... - fstype source superopts" */
                char mnt[512], fstype[64];
                const char *sep = strstr(line, " - ");
                if (!sep || sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1 || sscanf(sep + 3, "%63s", fstype) != 1)
                        continue;
                if (!streq(fstype, "cgroup2") || strlen(mnt) >= size)
                        continue;
                if (access(mnt, W_OK) < 0)
                        continue;
                strcpy(buf, mnt);
                r = 0;
                break;
        }
        fclose(f);
        return r;
}

static int write_file(const char *path, const char *text) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        size_t n = strlen(text);

        if (fd < 0)
                return negative_errno();
        if (write(fd, text, n) != (ssize_t) n)
                return negative_errno();
        return 0;
}

int cgroup_session_create(const char *id, char *ret_path, size_t size) {
        char root[256], parent[320];
        int n;

        if (cgroup_v2_root(root, sizeof(root)) < 0)
                return -ENOENT;
        (void) snprintf(parent, sizeof(parent), "%s/ephem", root);
        if (mkdir(parent, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        n = snprintf(ret_path, size, "%s/%s", parent, id);
        if (n < 0 || (size_t) n >= size)
                return -ENAMETOOLONG;
        if (mkdir(ret_path, 0755) < 0)
                return negative_errno();
        /* cgroup.kill exists from Linux 5.14: without it this is no cut-off at all. */
        {
                char kill_path[SESSION_CGROUP_MAX + 16];
                (void) snprintf(kill_path, sizeof(kill_path), "%s/cgroup.kill", ret_path);
                if (access(kill_path, W_OK) < 0) {
                        (void) rmdir(ret_path);
                        return -EOPNOTSUPP;
                }
        }
        return 0;
}

int cgroup_enter(const char *path, pid_t pid) {
        char procs[SESSION_CGROUP_MAX + 16], num[16];

        (void) snprintf(procs, sizeof(procs), "%s/cgroup.procs", path);
        (void) snprintf(num, sizeof(num), "%d", (int) pid);
        return write_file(procs, num);
}

int cgroup_populated(const char *path) {
        char events[SESSION_CGROUP_MAX + 16], buf[256];
        _cleanup_close_ int fd = -1;
        ssize_t n;
        const char *p;

        (void) snprintf(events, sizeof(events), "%s/cgroup.events", path);
        fd = open(events, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return -EIO;
        buf[n] = '\0';
        p = strstr(buf, "populated ");
        if (!p)
                return -EIO;
        return p[10] == '1' ? 1 : 0;
}

bool session_use_logind(void) {
        return host_runs_systemd();
}

/* ---- ending a session ---- */

static int logind_call(const char *method, const char *session_id, bool with_signal) {
        sd_bus *bus = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        if (with_signal)
                r = sd_bus_call_method(bus, "org.freedesktop.login1", "/org/freedesktop/login1",
                                       "org.freedesktop.login1.Manager", method, &error, NULL, "ssi", session_id, "all",
                                       SIGKILL);
        else
                r = sd_bus_call_method(bus, "org.freedesktop.login1", "/org/freedesktop/login1",
                                       "org.freedesktop.login1.Manager", method, &error, NULL, "s", session_id);
        sd_bus_error_free(&error);
        sd_bus_flush_close_unref(bus);
        return r;
}

static int logind_terminate_user(uid_t uid) {
        sd_bus *bus = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, "org.freedesktop.login1", "/org/freedesktop/login1",
                               "org.freedesktop.login1.Manager", "TerminateUser", &error, NULL, "u", (uint32_t) uid);
        sd_bus_error_free(&error);
        sd_bus_flush_close_unref(bus);
        return r;
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* SIGKILL every process for which match() holds, from /proc. Returns how many were signalled. */
static int kill_matching(bool (*match)(pid_t pid, const void *data), const void *data) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        int n = 0;

        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                uint32_t pid;
                if (parse_u32(de->d_name, &pid) < 0 || pid <= 1 || (pid_t) pid == getpid())
                        continue;
                if (match((pid_t) pid, data) && kill((pid_t) pid, SIGKILL) == 0)
                        n++;
        }
        closedir(d);
        return n;
}

static bool match_uid(pid_t pid, const void *data) {
        char path[64];
        struct stat st;

        (void) snprintf(path, sizeof(path), "/proc/%d", (int) pid);
        return stat(path, &st) == 0 && st.st_uid == *(const uid_t *) data;
}

static bool match_sid(pid_t pid, const void *data) {
        return getsid(pid) == *(const pid_t *) data;
}

int session_kill(const ephem_config *c, const session_record *r, unsigned timeout_ms) {
        unsigned waited = 0;

        if (r->logind[0]) {
                (void) logind_call("TerminateSession", r->logind, false);
                /* Processes that ignore SIGTERM: SIGKILL after a short grace. */
                while (waited < 2000 && session_alive(r)) {
                        sleep_ms(50);
                        waited += 50;
                }
                if (session_alive(r))
                        (void) logind_call("KillSession", r->logind, true);
                /* The user manager and `systemd-run --user` units live outside the
                 * session scope: the user's last session takes them along. */
                if (session_user_live(c, r->user, r->id) == 0 && userconf_is_transient(&c->users, r->user))
                        (void) logind_terminate_user(r->uid);
        } else if (r->cgroup[0] && cgroup_populated(r->cgroup) >= 0) {
                char path[SESSION_CGROUP_MAX + 16];
                (void) snprintf(path, sizeof(path), "%s/cgroup.kill", r->cgroup);
                if (write_file(path, "1") < 0)
                        return -EIO;
        } else {
                /* No cgroup: the UID when this is its only session, else the session id.
                 * Every process of the UID only for a transient user: a local emergency
                 * account may run other things. The others are counted without this
                 * session, whose record may be gone already (close_session). */
                int others = session_user_live(c, r->user, r->id);
                if (others == 0 && userconf_is_transient(&c->users, r->user))
                        (void) kill_matching(match_uid, &r->uid);
                if (leader_alive(r)) {
                        pid_t sid = getsid(r->leader);
                        if (sid > 1)
                                (void) kill_matching(match_sid, &sid);
                        (void) kill(r->leader, SIGKILL);
                }
        }
        for (;;) {
                bool alive = r->cgroup[0] ? cgroup_populated(r->cgroup) == 1 : session_alive(r);
                if (!alive)
                        return 0;
                if (waited >= timeout_ms)
                        return -ETIME;
                sleep_ms(10);
                waited += 10;
                if (r->cgroup[0] && waited % 500 == 0) {
                        char path[SESSION_CGROUP_MAX + 16];
                        (void) snprintf(path, sizeof(path), "%s/cgroup.kill", r->cgroup);
                        (void) write_file(path, "1");
                }
        }
}
