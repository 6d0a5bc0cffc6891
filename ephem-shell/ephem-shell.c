/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ephem-shell: the login shell of transient users when rules may force a command
 * ([users] shell = /usr/libexec/ephem/ephem-shell, [rule] command = ...).
 *
 * sshd runs the user's shell for every session: `shell -c COMMAND` for a command,
 * `-shell` for an interactive login, `shell -c /usr/lib/openssh/sftp-server` for a
 * subsystem. ephem-shell finds its session — the status file whose leader (sshd's
 * monitor) is one of its ancestors; the process tree cannot be faked by the user —
 * and then:
 *   - a forced command: runs it with /bin/sh -c, whatever was asked, and puts what
 *     was asked into SSH_ORIGINAL_COMMAND (OpenSSH's ForceCommand semantics);
 *   - allowed commands ([rule] allow_command, narrowed by the token's
 *     commands_claim): runs what was asked with /bin/sh -c only when it is exactly
 *     one of them; refuses anything else, an interactive shell and a subsystem
 *     (sftp) that is not listed;
 *   - no forced command: runs [users] login_shell with the same arguments.
 * No session found, or a configuration it cannot read: it refuses (exit 1).
 *
 * It runs as the user, so it trusts nothing of the user's: not the environment
 * (the configuration path is compiled in), only root-owned files. libc only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ephem/kvrecord.h"
#include "ephem/macro.h"
#include "ephem/strutil.h"
#include "ephem/userconf.h"
#include "ephem/userdb.h"

#define ANCESTORS_MAX 8

static pid_t parent_of(pid_t pid) {
        char path[64], buf[1024];
        _cleanup_close_ int fd = -1;
        ssize_t n;
        const char *p;
        int ppid;

        (void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return -1;
        buf[n] = '\0';
        p = strrchr(buf, ')');
        if (!p || sscanf(p + 2, "%*c %d", &ppid) != 1) /* NOLINT(cert-err34-c): the kernel's field, counted */
                return -1;
        return (pid_t) ppid;
}

typedef struct status {
        char user[USER_NAME_MAX + 1];
        pid_t leader;
        char state[32];
        char command[CONF_MAX_LINE + 1];
        bool has_command;
        char allow[KV_RECORD_MAX]; /* the allowed command lines, each ended by '\n' */
        size_t allow_len;
        bool has_allow;
} status;

static int on_field(const char *key, const char *value, void *userdata) {
        status *s = userdata;
        uint32_t v;

        if (streq(key, "user") && strlen(value) < sizeof(s->user))
                strcpy(s->user, value);
        else if (streq(key, "leader") && parse_u32(value, &v) == 0)
                s->leader = (pid_t) v;
        else if (streq(key, "state") && strlen(value) < sizeof(s->state))
                strcpy(s->state, value);
        else if (streq(key, "command") && strlen(value) < sizeof(s->command)) {
                strcpy(s->command, value);
                s->has_command = true;
        } else if (streq(key, "allow")) {
                size_t n = strlen(value);
                /* Root wrote it without control characters; a newline cannot occur. */
                if (n == 0 || s->allow_len + n + 1 >= sizeof(s->allow))
                        return -EBADMSG;
                memcpy(s->allow + s->allow_len, value, n);
                s->allow[s->allow_len + n] = '\n';
                s->allow_len += n + 1;
                s->allow[s->allow_len] = '\0';
                s->has_allow = true;
        }
        return 0;
}

/* Whether `asked` is exactly one of the allowed command lines. */
static bool allowed(const status *s, const char *asked) {
        size_t n = strlen(asked);

        for (const char *p = s->allow; *p;) {
                const char *nl = strchr(p, '\n');
                if (!nl)
                        break;
                if ((size_t) (nl - p) == n && memcmp(p, asked, n) == 0)
                        return true;
                p = nl + 1;
        }
        return false;
}

/* The status file of the session one of our ancestors leads, for user `user`. */
static int find_session(const userconf *u, const char *user, status *ret) {
        char dir[USER_PATH_MAX + 16];
        pid_t ancestors[ANCESTORS_MAX];
        int n = 0, fd;
        struct dirent *de;
        DIR *d;

        for (pid_t p = getppid(); p > 1 && n < ANCESTORS_MAX; p = parent_of(p))
                ancestors[n++] = p;
        (void) snprintf(dir, sizeof(dir), "%s/status", u->state_dir);
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno(); /* never 0: the caller would read *ret */
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -ENOMEM;
        }
        while ((de = readdir(d))) {
                char buf[KV_RECORD_MAX];
                size_t len;
                status s = { 0 };

                if (de->d_name[0] == '.' || kv_read_at(dirfd(d), de->d_name, buf, sizeof(buf), &len) < 0)
                        continue;
                /* kv_read_at() accepts root's files (or ours): only root writes here. */
                /* "warning": the cut-off is near (ephem-cutoff warned); the session still runs. */
                if (kv_parse(buf, len, on_field, &s) < 0 || !streq(s.user, user) ||
                    !(streq(s.state, "active") || streq(s.state, "warning")))
                        continue;
                for (int i = 0; i < n; i++)
                        if (s.leader == ancestors[i]) {
                                *ret = s;
                                closedir(d);
                                return 0;
                        }
        }
        closedir(d);
        return -ENOENT;
}

int main(int argc, char **argv) {
        conf_error err = { 0 };
        userconf u;
        status s;
        const char *user = NULL;
        char self[USER_NAME_MAX + 2];
        int r;

        /* Who we are: the record of our (kernel-given) UID names us. */
        if (userconf_load(EPHEM_CONFIG_PATH, &u, &err) < 0) {
                fprintf(stderr, "ephem-shell: cannot read the ephem configuration\n");
                return 1;
        }
        {
                user_record rec;
                if (userdb_get_by_uid(&u, getuid(), &rec) == 0 && strlen(rec.name) < sizeof(self)) {
                        strcpy(self, rec.name);
                        user = self;
                }
        }
        if (!user || !user_name_valid(user)) {
                fprintf(stderr, "ephem-shell: not a transient user of ephem\n");
                return 1;
        }
        r = find_session(&u, user, &s);
        if (r < 0) {
                fprintf(stderr, "ephem-shell: no ephem session of %s leads to this shell\n", user);
                return 1;
        }
        if (s.has_command) {
                /* Whatever was asked, the rule's command runs; the request is its input. */
                if (argc == 3 && streq(argv[1], "-c"))
                        (void) setenv("SSH_ORIGINAL_COMMAND", argv[2], 1);
                else
                        (void) unsetenv("SSH_ORIGINAL_COMMAND");
                execl("/bin/sh", "sh", "-c", s.command, (char *) NULL);
                fprintf(stderr, "ephem-shell: /bin/sh: %s\n", strerror(errno));
                return 1;
        }
        if (s.has_allow) {
                /* Only what the session allows, exactly as listed; no shell of its own. */
                if (argc != 3 || !streq(argv[1], "-c")) {
                        fprintf(stderr, "ephem-shell: this session may only run its allowed commands, not a shell\n");
                        return 1;
                }
                if (!allowed(&s, argv[2])) {
                        fprintf(stderr, "ephem-shell: this session may not run that command\n");
                        return 1;
                }
                execl("/bin/sh", "sh", "-c", argv[2], (char *) NULL);
                fprintf(stderr, "ephem-shell: /bin/sh: %s\n", strerror(errno));
                return 1;
        }
        {
                const char *shell = u.login_shell, *base = strrchr(shell, '/');
                char arg0[USER_PATH_MAX + 2];

                base = base ? base + 1 : shell;
                /* A login shell keeps its leading '-'. */
                (void) snprintf(arg0, sizeof(arg0), "%s%s", argv[0] && argv[0][0] == '-' ? "-" : "", base);
                argv[0] = arg0;
                execv(shell, argv);
                fprintf(stderr, "ephem-shell: %s: %s\n", shell, strerror(errno));
        }
        return 1;
}
