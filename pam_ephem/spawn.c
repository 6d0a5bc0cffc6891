/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ephem/macro.h"

#define HELPER_ARGS_MAX 32

static void child_exec(int err_fd, const char *helper, const char *session_id, int argc, const char **argv) {
        const char *args[HELPER_ARGS_MAX + 4];
        char *const envp[] = { (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
        struct sigaction sa = { .sa_handler = SIG_DFL };
        sigset_t all;
        int fd, n = 0, e;

        /* A session of its own: the user's terminal signals never reach it. */
        (void) setsid();
        for (int sig = 1; sig < NSIG; sig++)
                (void) sigaction(sig, &sa, NULL);
        sigemptyset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);

        fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
                goto fail;
        /* Everything else sshd had open stays behind, except the error pipe (CLOEXEC). */
        if (err_fd > 3)
                (void) close_range(3, (unsigned) err_fd - 1, 0);
        (void) close_range((unsigned) err_fd + 1, ~0U, 0);

        args[n++] = helper;
        args[n++] = session_id;
        args[n++] = "--";
        for (int i = 0; i < argc && i < HELPER_ARGS_MAX; i++)
                args[n++] = argv[i];
        args[n] = NULL;
        (void) execve(helper, (char *const *) args, envp);
fail:
        e = errno;
        (void) !write(err_fd, &e, sizeof(e));
        _exit(127);
}

int spawn_cutoff_helper(const char *helper, const char *session_id, int argc, const char **argv) {
        int pipefd[2], status, e = 0;
        pid_t child;
        ssize_t n;

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
        /* EOF without data: the grandchild exec'd (the pipe closed on exec). */
        do
                n = read(pipefd[0], &e, sizeof(e));
        while (n < 0 && errno == EINTR);
        close(pipefd[0]);
        if (n == (ssize_t) sizeof(e))
                return -(e ? e : EIO);
        if (n != 0)
                return -EIO;
        return 0;
}
