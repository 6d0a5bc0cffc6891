/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ephem/macro.h"

#define HELPER_ARGS_MAX 32
/* How long open_session waits for the helper to arm itself (it loads the
 * configuration and the session record: milliseconds, unless the host is in trouble). */
#define HELPER_READY_TIMEOUT_MS 10000
/* The helper's end of the pipe: fd 3, named in its environment. */
#define HELPER_READY_FD 3

/* The pipe reaches the helper as fd 3 (EPHEM_CUTOFF_READY_FD=3). An exec failure
 * writes its errno (an int) there; the helper writes one byte, 'R', once it is armed
 * (ephem-cutoff.c); a helper that dies first closes it without a byte. */
static void child_exec(int ready_fd, const char *helper, const char *session_id, int argc, const char **argv) {
        const char *args[HELPER_ARGS_MAX + 4];
        char *const envp[] = { (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *) "EPHEM_CUTOFF_READY_FD=3",
                               NULL };
        struct sigaction sa = { .sa_handler = SIG_DFL };
        sigset_t all;
        int fd, n = 0, e;

        /* A session of its own: the user's terminal signals never reach it. */
        (void) setsid();
        for (int sig = 1; sig < NSIG; sig++)
                (void) sigaction(sig, &sa, NULL);
        sigemptyset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);

        /* Out of the way of 0-2, which become /dev/null (sshd may have closed some). */
        if (ready_fd < HELPER_READY_FD) {
                int moved = fcntl(ready_fd, F_DUPFD_CLOEXEC, HELPER_READY_FD);
                if (moved < 0)
                        _exit(127);
                ready_fd = moved;
        }
        fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
                goto fail;
        /* The pipe to fd 3 (dup2 clears CLOEXEC; dup3 to itself would not), and
         * everything else sshd had open stays behind. */
        if (ready_fd != HELPER_READY_FD) {
                if (dup2(ready_fd, HELPER_READY_FD) < 0)
                        goto fail;
                ready_fd = HELPER_READY_FD;
        } else if (fcntl(ready_fd, F_SETFD, 0) < 0)
                goto fail;
        (void) close_range(HELPER_READY_FD + 1, ~0U, 0);

        args[n++] = helper;
        args[n++] = session_id;
        args[n++] = "--";
        for (int i = 0; i < argc && i < HELPER_ARGS_MAX; i++)
                args[n++] = argv[i];
        args[n] = NULL;
        (void) execve(helper, (char *const *) args, envp);
fail:
        e = errno;
        (void) !write(ready_fd, &e, sizeof(e));
        _exit(127);
}

int spawn_cutoff_helper(const char *helper, const char *session_id, int argc, const char **argv, int *ret_ready_fd) {
        int pipefd[2], status, e = 0;
        pid_t child;

        if (argc > HELPER_ARGS_MAX)
                return -E2BIG;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return negative_errno();
        child = fork();
        if (child < 0) {
                e = errno;
                close(pipefd[0]);
                close(pipefd[1]);
                return -e;
        }
        if (child == 0) {
                pid_t grandchild;
                close(pipefd[0]);
                grandchild = fork();
                if (grandchild < 0) {
                        e = errno;
                        (void) !write(pipefd[1], &e, sizeof(e));
                        _exit(1);
                }
                if (grandchild == 0)
                        child_exec(pipefd[1], helper, session_id, argc, argv);
                _exit(0);
        }
        close(pipefd[1]);
        while (waitpid(child, &status, 0) < 0 && errno == EINTR)
                ;
        *ret_ready_fd = pipefd[0];
        return 0;
}

int spawn_wait_ready(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        uint8_t buf[sizeof(int)];
        size_t got = 0;
        ssize_t n = 0;
        int k, e;

        /* 'R': armed. An int: the exec's errno. Nothing (EOF): the helper exited
         * before arming itself, and the session would have no cut-off. */
        for (;;) {
                k = poll(&p, 1, HELPER_READY_TIMEOUT_MS);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        e = k == 0 ? ETIMEDOUT : errno;
                        close(fd);
                        return -e;
                }
                n = read(fd, buf + got, sizeof(buf) - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t) n;
                if ((got == 1 && buf[0] == 'R') || got == sizeof(buf))
                        break;
        }
        e = n < 0 ? errno : 0;
        close(fd);
        if (got == 1 && buf[0] == 'R')
                return 0;
        if (got == sizeof(int)) {
                memcpy(&e, buf, sizeof(e));
                return -(e > 0 ? e : EIO);
        }
        return e > 0 ? -e : -ECHILD;
}
