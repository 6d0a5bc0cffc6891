/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cutoff-helper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ephem/macro.h"

#define HELPER_ARGS_MAX 32
/* How long open_session waits for the helper to arm itself (it reads the state
 * directory and the session record: milliseconds, unless the host is in trouble). */
#define HELPER_READY_TIMEOUT_MS 10000
/* The helper's end of the pipe: fd 3, named in its environment. */
#define HELPER_READY_FD 3

/*
 * posix_spawn(), which glibc implements with clone(CLONE_VM | CLONE_VFORK): no copy
 * of the caller's page tables, which for sshd's monitor made a fork cost
 * milliseconds (docs/performance.md). Everything the child needs is set up by the
 * spawn itself: a session of its own, default dispositions for every signal, an
 * empty mask, /dev/null on 0-2, the pipe on 3, nothing else open. The helper then
 * forks once and its first process exits (ephem-cutoff/watch.c), so that it is not the PAM
 * application's child; that exit is waited for here.
 */
int spawn_cutoff_helper(const char *helper, const char *session_id, int argc, const char **argv, int *ret_ready_fd) {
        const char *args[HELPER_ARGS_MAX + 4];
        char *const envp[] = { (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *) "EPHEM_CUTOFF_READY_FD=3",
                               NULL };
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t all, none;
        int pipefd[2], n = 0, r, status;
        pid_t pid;

        if (argc > HELPER_ARGS_MAX)
                return -E2BIG;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return negative_errno();
        /* The write end must not be one of the descriptors the child gets (0-3), or
         * the file actions would clobber it before duplicating it. */
        if (pipefd[1] <= HELPER_READY_FD) {
                int moved = fcntl(pipefd[1], F_DUPFD_CLOEXEC, HELPER_READY_FD + 1);
                r = moved < 0 ? negative_errno() : 0;
                close(pipefd[1]);
                if (r < 0) {
                        close(pipefd[0]);
                        return r;
                }
                pipefd[1] = moved;
        }

        args[n++] = helper;
        args[n++] = session_id;
        args[n++] = "--";
        for (int i = 0; i < argc; i++)
                args[n++] = argv[i];
        args[n] = NULL;

        sigfillset(&all);
        sigemptyset(&none);
        r = posix_spawn_file_actions_init(&fa);
        if (r != 0) {
                close(pipefd[0]);
                close(pipefd[1]);
                return -r;
        }
        r = posix_spawnattr_init(&attr);
        if (r != 0) {
                posix_spawn_file_actions_destroy(&fa);
                close(pipefd[0]);
                close(pipefd[1]);
                return -r;
        }
        if ((r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0)) == 0 &&
            (r = posix_spawn_file_actions_adddup2(&fa, 0, 1)) == 0 &&
            (r = posix_spawn_file_actions_adddup2(&fa, 0, 2)) == 0 &&
            (r = posix_spawn_file_actions_adddup2(&fa, pipefd[1], HELPER_READY_FD)) == 0 &&
            (r = posix_spawn_file_actions_addclosefrom_np(&fa, HELPER_READY_FD + 1)) == 0 &&
            (r = posix_spawnattr_setflags(&attr,
                                          POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)) == 0 &&
            (r = posix_spawnattr_setsigdefault(&attr, &all)) == 0 &&
            (r = posix_spawnattr_setsigmask(&attr, &none)) == 0)
                r = posix_spawn(&pid, helper, &fa, &attr, (char *const *) args, envp);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        close(pipefd[1]);
        if (r != 0) {
                /* The exec's own failure too (glibc reports it here). */
                close(pipefd[0]);
                return -r;
        }
        /* The helper's first process exits as soon as it has forked. */
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        *ret_ready_fd = pipefd[0];
        return 0;
}

int spawn_wait_ready(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        char c = 0;
        ssize_t n;
        int k, e;

        /* 'R': armed. Nothing (EOF): the helper exited before arming itself, and the
         * session would have no cut-off. */
        for (;;) {
                k = poll(&p, 1, HELPER_READY_TIMEOUT_MS);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        e = k == 0 ? ETIMEDOUT : errno;
                        close(fd);
                        return -e;
                }
                n = read(fd, &c, 1);
                if (n < 0 && errno == EINTR)
                        continue;
                break;
        }
        e = n < 0 ? errno : 0;
        close(fd);
        if (n == 1 && c == 'R')
                return 0;
        return e > 0 ? -e : -ECHILD;
}
