/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Facts about processes and the host, from /proc and /run: libc only. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The start time of a process (field 22 of /proc/<pid>/stat, in clock ticks since
 * boot), against PID reuse; 0 when it cannot be read. */
uint64_t process_start_time(pid_t pid);

/* Whether systemd is the init system (/run/systemd/system exists), as sd_booted()
 * decides: then logind manages sessions. */
bool host_runs_systemd(void);
