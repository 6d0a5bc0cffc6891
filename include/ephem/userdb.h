/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The transient-user records under <state>/users, read side. libc only and
 * allocation-free: linked by the NSS module.
 *
 *   <state>/users/by-name/<name>   the record (0644, root)
 *   <state>/users/by-uid/<uid>     a hard link to the same record
 *
 * A record holds no secret: name, uid, gid (= uid, the user-private group), gecos,
 * home, shell, supplementary gids, created, expires.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ephem/userconf.h"

#define USER_GROUPS_MAX 32u

typedef struct user_record {
        char name[USER_NAME_MAX + 1];
        uid_t uid;
        gid_t gid;
        char gecos[USER_PATH_MAX];
        char home[USER_PATH_MAX];
        char shell[USER_PATH_MAX];
        gid_t groups[USER_GROUPS_MAX];
        size_t n_groups;
        int64_t created, expires;
        bool synthesized; /* not on record: the pre-authentication entry */
} user_record;

/*
 * Parses a record (buf is modified). Refuses, with -EBADMSG, anything a hostile or
 * damaged file could hold that a caller must not see: a missing or invalid name,
 * UID or GID 0 or outside the configured range, gid != uid, a group 0, fields with
 * ':' or control characters, relative paths, unknown versions.
 */
int userdb_parse(const userconf *u, char *buf, size_t len, user_record *ret);

/* Reads the record of `name` / `uid`. 0, -ENOENT, -EBADMSG, -EPERM, -errno. */
int userdb_get_by_name(const userconf *u, const char *name, user_record *ret);
int userdb_get_by_uid(const userconf *u, uid_t uid, user_record *ret);

/* The entry every transient name has before authentication: what NSS answers for a
 * name matching the patterns that is not on record, and what auth then records.
 * -EINVAL when the name is not transient. */
int userdb_synthesize(const userconf *u, const char *name, user_record *ret);

/* Formats the record's path into buf: by-name/<name> or by-uid/<uid>. */
int userdb_path_by_name(const userconf *u, const char *name, char *buf, size_t size);
int userdb_path_by_uid(const userconf *u, uid_t uid, char *buf, size_t size);
