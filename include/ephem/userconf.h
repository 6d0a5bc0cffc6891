/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The [users] section: which login names are transient, and the passwd entry every
 * such name gets. The NSS module answers sshd's pre-authentication getpwnam() from
 * this alone, and pam_ephem records exactly the same entry, so both must compute it
 * with the same code: this file. libc only: linked by the NSS module.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ephem/conffile.h"

#define USER_NAME_MAX 32u /* utmp's ut_user */
#define USER_PATTERNS_MAX 64u
#define USER_PATH_MAX 256u

/* systemd's UIDS-GIDS.md leaves 0x70000000..0x7ffdffff unused; it sits above the
 * container range (524288..1879048191) and below the foreign range (0x7ffe0000..). */
#define USER_DEFAULT_UID_MIN 1879048192u
#define USER_DEFAULT_UID_MAX 2147352575u

typedef struct userconf {
        char **patterns; /* globs naming transient users; none: no transient users */
        uint32_t uid_min, uid_max;
        char *home_base;
        char *shell;
        char *login_shell; /* when shell is ephem-shell: the shell it runs if no command is forced */
        char *gecos;
        uint64_t quarantine;  /* seconds a removed user's UID stays reserved to its name */
        char *quarantine_dir; /* persistent: files of a removed user may outlive a reboot */
        char *skel;           /* NULL: homes start empty */
        char *state_dir;      /* [host] state_dir: where the records live */
} userconf;

int userconf_init(userconf *u); /* defaults; -ENOMEM */
void userconf_done(userconf *u);

/* Applies one "key = value" of the [users] section. -EINVAL (err set) on an unknown
 * key or a bad value. */
int userconf_set(userconf *u, const char *key, const char *value, unsigned line, conf_error *err);

/* [host] state_dir, which both views need. */
int userconf_set_state_dir(userconf *u, const char *value, unsigned line, conf_error *err);

/* Checks the section as a whole (range sane, paths absolute). -EINVAL with err set. */
int userconf_verify(const userconf *u, conf_error *err);

#ifndef EPHEM_STATE_DIR
#define EPHEM_STATE_DIR "/run/ephem"
#endif
#ifndef EPHEM_QUARANTINE_DIR
#define EPHEM_QUARANTINE_DIR "/var/lib/ephem/quarantine"
#endif
#define USER_DEFAULT_QUARANTINE (30u * 86400u)

/* Reads only the [users] section and [host] state_dir of the configuration file at
 * `path`, ignoring everything else (the NSS module's view). The file is opened with safe_read_file().
 * Returns 0, or a negative errno with err set; u is initialised either way. */
int userconf_load(const char *path, userconf *u, conf_error *err);

/* [a-z_][a-z0-9_-]*, at most USER_NAME_MAX bytes, not ending in '-'. */
bool user_name_valid(const char *name);

/* True when `name` is valid and matches one of the transient-name patterns. */
bool userconf_is_transient(const userconf *u, const char *name);

/* The UID (and user-private GID) a transient name gets: a stable hash of the name
 * into [uid_min, uid_max], the same on every host with the same range. */
uid_t userconf_uid(const userconf *u, const char *name);

/* Writes "<home_base>/<name>" into buf. -ENAMETOOLONG if it does not fit. */
int userconf_home(const userconf *u, const char *name, char *buf, size_t size);
