/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pam_bench_timed.so: a PAM module for the benchmarks that loads another module and
 * times each of its calls, inside the real sshd. tests/e2e/bench-sessions.sh puts it
 * in place of pam_ephem.so in the sshd stack:
 *
 *   auth ... /path/pam_bench_timed.so so=/path/pam_ephem.so log=/path/times [module args]
 *
 * Each call of the wrapped module appends one line to the log (O_APPEND: auth and
 * account run in sshd's forked child, the session in its monitor):
 *
 *   <stage> <wall us> <conversation us>
 *
 * where stage is auth, account, open_session or close_session (setcred is
 * forwarded, not timed), and the conversation time is what the module spent waiting for the
 * client's answers (the application's pam_conv, wrapped for the call): wall minus
 * conversation is the module's own work. Not installed; test and benchmark use only.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <security/pam_modules.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 64
/* The project builds with hidden symbols by default. */
#define EXPORT __attribute__((visibility("default")))

typedef int (*sm_fn)(pam_handle_t *, int, int, const char **);

typedef struct conv_timer {
        struct pam_conv app;
        double spent_us;
} conv_timer;

static double now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static int timed_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data) {
        conv_timer *t = data;
        double a = now_us();
        int r = t->app.conv(n, msg, resp, t->app.appdata_ptr);

        t->spent_us += now_us() - a;
        return r;
}

static int forward(const char *symbol, const char *stage, pam_handle_t *pamh, int flags, int argc, const char **argv) {
        const char *so = NULL, *log = NULL, *args[MAX_ARGS];
        const void *item = NULL;
        conv_timer timer = { 0 };
        struct pam_conv wrapped = { .conv = timed_conv, .appdata_ptr = &timer };
        bool have_conv;
        void *module;
        sm_fn fn;
        double a, wall;
        int n = 0, r;

        for (int i = 0; i < argc; i++) {
                if (strncmp(argv[i], "so=", 3) == 0)
                        so = argv[i] + 3;
                else if (strncmp(argv[i], "log=", 4) == 0)
                        log = argv[i] + 4;
                else if (n < MAX_ARGS)
                        args[n++] = argv[i];
        }
        if (!so)
                return PAM_SERVICE_ERR;
        /* The wrapped module stays loaded for the life of the process, as libpam
         * keeps the modules of a stack loaded. */
        module = dlopen(so, RTLD_NOW | RTLD_LOCAL);
        fn = module ? (sm_fn) dlsym(module, symbol) : NULL;
        if (!fn)
                return PAM_SERVICE_ERR;

        /* libpam keeps a copy of the conversation: save it before replacing it. */
        have_conv = pam_get_item(pamh, PAM_CONV, &item) == PAM_SUCCESS && item;
        if (have_conv) {
                timer.app = *(const struct pam_conv *) item;
                (void) pam_set_item(pamh, PAM_CONV, &wrapped);
        }
        a = now_us();
        r = fn(pamh, flags, n, args);
        wall = now_us() - a;
        if (have_conv)
                (void) pam_set_item(pamh, PAM_CONV, &timer.app);

        if (log && stage) {
                int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
                if (fd >= 0) {
                        char line[128];
                        int len = snprintf(line, sizeof(line), "%s %.1f %.1f\n", stage, wall, timer.spent_us);
                        if (len > 0)
                                (void) !write(fd, line, (size_t) len);
                        close(fd);
                }
        }
        return r;
}

EXPORT PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return forward("pam_sm_authenticate", "auth", pamh, flags, argc, argv);
}

EXPORT PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return forward("pam_sm_setcred", NULL, pamh, flags, argc, argv);
}

EXPORT PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return forward("pam_sm_acct_mgmt", "account", pamh, flags, argc, argv);
}

EXPORT PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return forward("pam_sm_open_session", "open_session", pamh, flags, argc, argv);
}

EXPORT PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return forward("pam_sm_close_session", "close_session", pamh, flags, argc, argv);
}
