/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/userdb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "ephem/kvrecord.h"
#include "ephem/macro.h"
#include "ephem/strutil.h"

int userdb_path_by_name(const userconf *u, const char *name, char *buf, size_t size) {
        int n;

        if (!user_name_valid(name))
                return -EINVAL;
        n = snprintf(buf, size, "%s/users/by-name/%s", u->state_dir, name);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int userdb_path_by_uid(const userconf *u, uid_t uid, char *buf, size_t size) {
        int n = snprintf(buf, size, "%s/users/by-uid/%u", u->state_dir, (unsigned) uid);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

static bool field_valid(const char *s, bool path) {
        if (path && s[0] != '/')
                return false;
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == ':' || *s == 0x7f)
                        return false;
        return true;
}

static int copy_field(char *dst, size_t size, const char *value, bool path) {
        if (strlen(value) >= size || !field_valid(value, path))
                return -EBADMSG;
        strcpy(dst, value);
        return 0;
}

static int parse_time(const char *value, int64_t *ret) {
        return parse_i64_nonneg(value, ret) < 0 ? -EBADMSG : 0;
}

struct parse_ctx {
        user_record *r;
        unsigned seen;
};

enum {
        SEEN_V = 1 << 0,
        SEEN_NAME = 1 << 1,
        SEEN_UID = 1 << 2,
        SEEN_GID = 1 << 3,
        SEEN_HOME = 1 << 4,
        SEEN_SHELL = 1 << 5,
};

static int on_field(const char *key, const char *value, void *userdata) {
        struct parse_ctx *p = userdata;
        user_record *r = p->r;
        uint32_t v;

        if (streq(key, "v")) {
                if (!streq(value, "1"))
                        return -EBADMSG;
                p->seen |= SEEN_V;
                return 0;
        }
        if (streq(key, "name")) {
                if (!user_name_valid(value))
                        return -EBADMSG;
                strcpy(r->name, value);
                p->seen |= SEEN_NAME;
                return 0;
        }
        if (streq(key, "uid") || streq(key, "gid") || streq(key, "group")) {
                if (parse_u32(value, &v) < 0 || v == 0 || v == UINT32_MAX)
                        return -EBADMSG;
                if (streq(key, "uid")) {
                        r->uid = v;
                        p->seen |= SEEN_UID;
                } else if (streq(key, "gid")) {
                        r->gid = v;
                        p->seen |= SEEN_GID;
                } else {
                        if (r->n_groups >= USER_GROUPS_MAX)
                                return -EBADMSG;
                        r->groups[r->n_groups++] = v;
                }
                return 0;
        }
        if (streq(key, "gecos"))
                return copy_field(r->gecos, sizeof(r->gecos), value, false);
        if (streq(key, "home")) {
                p->seen |= SEEN_HOME;
                return copy_field(r->home, sizeof(r->home), value, true);
        }
        if (streq(key, "shell")) {
                p->seen |= SEEN_SHELL;
                return copy_field(r->shell, sizeof(r->shell), value, true);
        }
        if (streq(key, "created"))
                return parse_time(value, &r->created);
        if (streq(key, "expires"))
                return parse_time(value, &r->expires);
        return 0; /* fields of a later version of the same format */
}

int userdb_parse(const userconf *u, char *buf, size_t len, user_record *ret) {
        user_record r = { 0 };
        struct parse_ctx p = { .r = &r };
        int k;

        k = kv_parse(buf, len, on_field, &p);
        if (k < 0)
                return -EBADMSG;
        if ((p.seen & (SEEN_V | SEEN_NAME | SEEN_UID | SEEN_GID | SEEN_HOME | SEEN_SHELL)) !=
            (SEEN_V | SEEN_NAME | SEEN_UID | SEEN_GID | SEEN_HOME | SEEN_SHELL))
                return -EBADMSG;
        if (r.gid != r.uid || r.uid < u->uid_min || r.uid > u->uid_max)
                return -EBADMSG;
        *ret = r;
        return 0;
}

static int read_record(const userconf *u, const char *path, user_record *ret) {
        char buf[4096];
        size_t len;
        int k;

        k = kv_read_at(AT_FDCWD, path, buf, sizeof(buf), &len);
        if (k < 0)
                return k;
        return userdb_parse(u, buf, len, ret);
}

int userdb_get_by_name(const userconf *u, const char *name, user_record *ret) {
        char path[USER_PATH_MAX + 64];
        user_record r;
        int k;

        k = userdb_path_by_name(u, name, path, sizeof(path));
        if (k < 0)
                return k == -EINVAL ? -ENOENT : k;
        k = read_record(u, path, &r);
        if (k < 0)
                return k;
        if (!streq(r.name, name)) /* the file is named after its record */
                return -EBADMSG;
        *ret = r;
        return 0;
}

int userdb_get_by_uid(const userconf *u, uid_t uid, user_record *ret) {
        char path[USER_PATH_MAX + 64];
        user_record r;
        int k;

        if (uid < u->uid_min || uid > u->uid_max)
                return -ENOENT;
        k = userdb_path_by_uid(u, uid, path, sizeof(path));
        if (k < 0)
                return k;
        k = read_record(u, path, &r);
        if (k < 0)
                return k;
        if (r.uid != uid)
                return -EBADMSG;
        *ret = r;
        return 0;
}

int userdb_synthesize(const userconf *u, const char *name, user_record *ret) {
        user_record r = { .synthesized = true };

        if (!userconf_is_transient(u, name))
                return -EINVAL;
        strcpy(r.name, name);
        r.uid = r.gid = userconf_uid(u, name);
        if (userconf_home(u, name, r.home, sizeof(r.home)) < 0 || strlen(u->shell) >= sizeof(r.shell) ||
            strlen(u->gecos) >= sizeof(r.gecos))
                return -EINVAL;
        strcpy(r.shell, u->shell);
        strcpy(r.gecos, u->gecos);
        *ret = r;
        return 0;
}
