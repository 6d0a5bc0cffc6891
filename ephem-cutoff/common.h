/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What both halves of the cut-off helper share. ephem-cutoff (watch.c) is what
 * pam_ephem starts for a session: small (libc only), it arms itself and waits.
 * When something happens it runs ephem-cutoff-act (act.c) as its child, which loads
 * the configuration and the whole library, decides, and ends or warns the session;
 * if that fails, ephem-cutoff ends the session itself.
 */
#pragma once

#include <stdint.h>

/* The fd open_session waits on for the helper's 'R' (pam_ephem/cutoff-helper.c). */
#define CUTOFF_READY_ENV "EPHEM_CUTOFF_READY_FD"
/* Set by ephem-cutoff for ephem-cutoff-act: why it runs ("start": before ephem-cutoff
 * was armed, in its place; "event", "warn": after, as its child). */
#define CUTOFF_WOKEN_ENV "EPHEM_CUTOFF_WOKEN"
/* After arming: the fd of the session record as ephem-cutoff read it. */
#define CUTOFF_RECORD_ENV "EPHEM_CUTOFF_RECORD_FD"
#define CUTOFF_ACT_NAME "ephem-cutoff-act"
/* ephem-cutoff-act could not load the configuration or the record: the session is
 * ephem-cutoff's to end. (Any exit but 0 is; this one says why.) */
#define CUTOFF_EXIT_CANNOT_ACT 3

/* A timerfd firing at `when` (CLOCK_REALTIME, absolute), cancelled when the clock
 * is set. The fd, or -errno. */
int arm_timer(int64_t when);

/* Tells open_session the helper is armed: one byte on the fd named in
 * CUTOFF_READY_ENV, which is then closed and the variable removed. Run by hand
 * (no such variable) there is nobody to tell. */
void tell_ready(void);
