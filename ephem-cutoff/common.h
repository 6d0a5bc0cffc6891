/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What both halves of the cut-off helper share. ephem-cutoff (watch.c) is what
 * pam_ephem starts for a session: small (libc only), it arms itself and waits.
 * When something happens it execs ephem-cutoff-act (act.c), which loads the
 * configuration and the whole library, decides, and ends or warns the session.
 */
#pragma once

#include <stdint.h>

/* The fd open_session waits on for the helper's 'R' (pam_ephem/cutoff-helper.c). */
#define CUTOFF_READY_ENV "EPHEM_CUTOFF_READY_FD"
/* Set by ephem-cutoff for ephem-cutoff-act: why it was woken ("warn"). */
#define CUTOFF_WOKEN_ENV "EPHEM_CUTOFF_WOKEN"
#define CUTOFF_ACT_NAME "ephem-cutoff-act"

/* A timerfd firing at `when` (CLOCK_REALTIME, absolute), cancelled when the clock
 * is set. The fd, or -errno. */
int arm_timer(int64_t when);

/* Tells open_session the helper is armed: one byte on the fd named in
 * CUTOFF_READY_ENV, which is then closed and the variable removed. Run by hand
 * (no such variable) there is nobody to tell. */
void tell_ready(void);
