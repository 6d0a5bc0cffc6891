/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "common.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ephem/macro.h"
#include "ephem/strutil.h"

int arm_timer(int64_t when) {
        struct itimerspec its = { .it_value = { .tv_sec = (time_t) when } };
        int fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);

        if (fd < 0)
                return -errno;
        /* CANCEL_ON_SET: a clock change wakes us, and we re-check against the new time. */
        if (timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0) {
                int e = errno;
                close(fd);
                return -e;
        }
        return fd;
}

void tell_ready(void) {
        const char *e = secure_getenv(CUTOFF_READY_ENV);
        uint32_t fd;

        if (!e)
                return;
        if (parse_u32(e, &fd) == 0 && fd >= 3 && fd <= INT_MAX) {
                (void) !write((int) fd, "R", 1);
                (void) close((int) fd);
        }
        (void) unsetenv(CUTOFF_READY_ENV);
}
