/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/procutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ephem/macro.h"

uint64_t process_start_time(pid_t pid) {
        char path[64], buf[1024];
        _cleanup_close_ int fd = -1;
        ssize_t n;
        char *p;
        unsigned long long start = 0;

        (void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        /* The command name may hold spaces and parentheses: skip to the last ')'. */
        p = strrchr(buf, ')');
        if (!p)
                return 0;
        /* After ") " come fields 3..; the start time is field 22. */
        /* The kernel writes these fields; a mismatch is caught by the count. */
        /* NOLINTNEXTLINE(cert-err34-c) */
        if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &start) !=
            1)
                return 0;
        return (uint64_t) start;
}

bool host_runs_systemd(void) {
        struct stat st;

        return lstat("/run/systemd/system/", &st) == 0 && S_ISDIR(st.st_mode);
}
