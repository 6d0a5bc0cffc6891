/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The writing side of the transient-user store (see userdb.h for the layout).
 * Writers serialise on <state>/users/.lock; readers (NSS) never lock: every record
 * appears by rename(2), whole or not at all.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ephem/config.h"
#include "ephem/userdb.h"

/*
 * Records `name` (UID derived from the name) with the given supplementary groups,
 * valid at least until `expires`. An existing record of the same user keeps its
 * creation time and the later expiry. Refuses with -EADDRINUSE (detail says why)
 * when the UID is held by another name or quarantined for one.
 * Returns 0 (*ret_created: whether the user is new), -EADDRINUSE, -errno.
 */
int store_user_put(const ephem_config *c, const char *name, const gid_t *groups, size_t n_groups, int64_t expires,
                   int64_t now, bool *ret_created, char *detail, size_t detail_size);

/*
 * Removes the user: its UID goes into quarantine for [users] quarantine (no other
 * name gets it while files it owned may remain), the record goes, then its home.
 * Returns 0, -ENOENT, -errno.
 */
int store_user_remove(const ephem_config *c, const char *name, int64_t now);

/* All records (unsorted). Returns 0 and an array to free(), or -errno. */
int store_user_list(const ephem_config *c, user_record **ret, size_t *ret_n);

/* Creates the user's home (0700, owned by the user; from [users] skel if set). An
 * existing home must be a directory owned by the user. 0 or -errno (-EPERM: a home
 * that is not the user's). */
int store_home_create(const ephem_config *c, const user_record *r);

/* Removes the home recursively without following symlinks or leaving the file
 * system; only when it is a directory owned by the user. 0, -ENOENT, -errno. */
int store_home_remove(const ephem_config *c, const user_record *r);

/* Whether the UID is quarantined for a name other than `name` at `now`; the holder
 * and end of quarantine go to detail. */
bool store_uid_quarantined(const ephem_config *c, uid_t uid, const char *name, int64_t now, char *detail,
                           size_t detail_size);

typedef struct gc_stats {
        unsigned users_removed;
        unsigned logins_removed;
        unsigned sessions_removed;
        int replay_removed;
        unsigned quarantine_unreadable; /* damaged quarantine records: their UIDs stay taken */
} gc_stats;

/* What store_gc() sweeps besides users, login records, sessions and quarantines. */
typedef enum store_gc_flags {
        STORE_GC_REPLAY = 1 << 0, /* the whole replay cache: linear in live jtis */
} store_gc_flags;

/*
 * The sweep: removes users whose tokens have expired and who have no live session,
 * stale login records, sessions whose processes are gone, ended quarantines and,
 * with STORE_GC_REPLAY, expired replay entries. Called by "ephemctl gc" (all of it)
 * and by each cut-off helper when its session ends (not the replay cache: its shards
 * also sweep themselves as logins register, and a million live jtis take seconds).
 * Emits user_removed audit events.
 */
int store_gc(const ephem_config *c, int64_t now, store_gc_flags flags, gc_stats *ret);
