/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ephem/audit.h"
#include "ephem/kvrecord.h"
#include "ephem/login.h"
#include "ephem/macro.h"
#include "ephem/replay.h"
#include "ephem/session.h"
#include "ephem/state.h"
#include "ephem/strutil.h"

typedef struct store_dirs {
        int users, by_name, by_uid, lock;
} store_dirs;

static void store_dirs_close(store_dirs *d) {
        closep(&d->users);
        closep(&d->by_name);
        closep(&d->by_uid);
        closep(&d->lock); /* releases the flock */
}

/* Opens the store's directories and takes the writers' lock. */
static int store_open_locked(const ephem_config *c, store_dirs *ret) {
        store_dirs d = { -1, -1, -1, -1 };
        int r;

        d.users = state_open_subdir(c->state_dir, "users", 0755);
        if (d.users < 0)
                return d.users;
        d.lock = openat(d.users, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (d.lock < 0 || flock(d.lock, LOCK_EX) < 0) {
                r = negative_errno();
                goto fail;
        }
        r = 0;
        for (int i = 0; i < 2 && r == 0; i++) {
                const char *name = i == 0 ? "by-name" : "by-uid";
                int *fd = i == 0 ? &d.by_name : &d.by_uid;
                *fd = openat(d.users, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (*fd >= 0 || errno != ENOENT)
                        r = *fd >= 0 ? 0 : negative_errno();
                else if (mkdirat(d.users, name, 0755) < 0 && errno != EEXIST)
                        r = negative_errno();
                else if ((*fd = openat(d.users, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                        r = negative_errno();
        }
        if (r < 0)
                goto fail;
        *ret = d;
        return 0;
fail:
        store_dirs_close(&d);
        return r;
}

static int read_at(const ephem_config *c, int dirfd, const char *name, user_record *ret) {
        char buf[4096];
        size_t len;
        int r = kv_read_at(dirfd, name, buf, sizeof(buf), &len);
        if (r < 0)
                return r;
        return userdb_parse(&c->users, buf, len, ret);
}

/* ---- quarantine: <quarantine_dir>/<uid> holds the name and the end of quarantine ---- */

static int quarantine_open(const ephem_config *c, bool create) {
        const char *path = c->users.quarantine_dir;
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0 && errno == ENOENT && create) {
                /* Create missing parents (e.g. /var/lib/ephem) root-only. */
                char buf[USER_PATH_MAX];
                if (strlen(path) >= sizeof(buf))
                        return -ENAMETOOLONG;
                strcpy(buf, path);
                for (char *p = buf + 1; *p; p++)
                        if (*p == '/') {
                                *p = '\0';
                                (void) mkdir(buf, 0755);
                                *p = '/';
                        }
                if (mkdir(path, 0700) < 0 && errno != EEXIST)
                        return negative_errno();
                fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        return fd < 0 ? negative_errno() : fd;
}

struct quarantine_entry {
        char name[USER_NAME_MAX + 1];
        int64_t until;
        bool has_until;
};

static int on_quarantine_field(const char *key, const char *value, void *userdata) {
        struct quarantine_entry *q = userdata;
        uint64_t v;

        /* A damaged name or end of quarantine must not read as "none" or "over":
         * the record then refuses (the UID stays taken). */
        if (streq(key, "name")) {
                if (!user_name_valid(value))
                        return -EBADMSG;
                strcpy(q->name, value);
        } else if (streq(key, "until")) {
                if (parse_u64(value, &v) < 0 || v > INT64_MAX)
                        return -EBADMSG;
                q->until = (int64_t) v;
                q->has_until = true;
        }
        return 0;
}

static int quarantine_read(int dfd, uid_t uid, struct quarantine_entry *ret) {
        char name[16], buf[512];
        size_t len;
        int r;

        (void) snprintf(name, sizeof(name), "%u", (unsigned) uid);
        *ret = (struct quarantine_entry){ 0 };
        r = kv_read_at(dfd, name, buf, sizeof(buf), &len);
        if (r < 0)
                return r;
        r = kv_parse(buf, len, on_quarantine_field, ret);
        if (r < 0 || !ret->name[0] || !ret->has_until)
                return -EBADMSG;
        return 0;
}

bool store_uid_quarantined(const ephem_config *c, uid_t uid, const char *name, int64_t now, char *detail,
                           size_t detail_size) {
        _cleanup_close_ int dfd = quarantine_open(c, false);
        struct quarantine_entry q;
        int r;

        if (dfd == -ENOENT)
                return false; /* no UID was ever quarantined */
        if (dfd < 0) {
                /* Unknown is taken: a directory that cannot be opened now (EMFILE,
                 * ENOMEM, EACCES) must not free every UID it holds. */
                (void) snprintf(detail, detail_size, "the quarantine directory cannot be read: %s", strerror(-dfd));
                return true;
        }
        r = quarantine_read(dfd, uid, &q);
        if (r == -ENOENT)
                return false;
        if (r < 0) {
                /* Damaged: treat the UID as taken. */
                (void) snprintf(detail, detail_size, "UID %u has an unreadable quarantine record", (unsigned) uid);
                return true;
        }
        if (streq(q.name, name) || q.until <= now)
                return false;
        (void) snprintf(detail, detail_size, "UID %u is quarantined for former user %s until %" PRId64, (unsigned) uid,
                        q.name, q.until);
        return true;
}

static int quarantine_put(const ephem_config *c, const user_record *r, int64_t now) {
        _cleanup_close_ int dfd = -1;
        kv_writer w = { 0 };
        char name[16];
        int k;

        if (c->users.quarantine == 0)
                return 0;
        dfd = quarantine_open(c, true);
        if (dfd < 0)
                return dfd;
        (void) snprintf(name, sizeof(name), "%u", (unsigned) r->uid);
        kvw_add(&w, "name", r->name);
        kvw_addf(&w, "removed", "%" PRId64, now);
        kvw_addf(&w, "until", "%" PRId64, now + (int64_t) c->users.quarantine);
        k = kvw_commit_at(&w, dfd, name, 0600);
        kvw_done(&w);
        return k;
}

/* ---- records ---- */

static int write_record(const ephem_config *c, const store_dirs *d, const user_record *r) {
        char tmp[USER_NAME_MAX + 16], tmp_uid[USER_NAME_MAX + 16], uidname[16];
        kv_writer w = { 0 };
        int k;

        kvw_add(&w, "v", "1");
        kvw_add(&w, "name", r->name);
        kvw_addf(&w, "uid", "%u", (unsigned) r->uid);
        kvw_addf(&w, "gid", "%u", (unsigned) r->gid);
        kvw_add(&w, "gecos", r->gecos);
        kvw_add(&w, "home", r->home);
        kvw_add(&w, "shell", r->shell);
        for (size_t i = 0; i < r->n_groups; i++)
                kvw_addf(&w, "group", "%u", (unsigned) r->groups[i]);
        kvw_addf(&w, "created", "%" PRId64, r->created);
        kvw_addf(&w, "expires", "%" PRId64, r->expires);

        /* One inode, two names: write it whole, link it, then rename both into place. */
        (void) snprintf(tmp, sizeof(tmp), ".new-%s", r->name);
        (void) snprintf(tmp_uid, sizeof(tmp_uid), ".new-uid-%s", r->name);
        (void) snprintf(uidname, sizeof(uidname), "%u", (unsigned) r->uid);
        k = kvw_commit_at(&w, d->users, tmp, 0644);
        kvw_done(&w);
        if (k < 0)
                return k;
        (void) unlinkat(d->users, tmp_uid, 0);
        if (linkat(d->users, tmp, d->users, tmp_uid, 0) < 0 || renameat(d->users, tmp_uid, d->by_uid, uidname) < 0 ||
            renameat(d->users, tmp, d->by_name, r->name) < 0) {
                k = negative_errno();
                (void) unlinkat(d->users, tmp, 0);
                (void) unlinkat(d->users, tmp_uid, 0);
                return k;
        }
        (void) c;
        return 0;
}

int store_user_put(const ephem_config *c, const char *name, const gid_t *groups, size_t n_groups, int64_t expires,
                   int64_t now, bool *ret_created, char *detail, size_t detail_size) {
        _cleanup_(store_dirs_close) store_dirs d = { -1, -1, -1, -1 };
        user_record r, old;
        char uidname[16];
        int k;

        if (n_groups > USER_GROUPS_MAX)
                return -E2BIG;
        k = userdb_synthesize(&c->users, name, &r);
        if (k < 0)
                return k;
        k = store_open_locked(c, &d);
        if (k < 0)
                return k;

        (void) snprintf(uidname, sizeof(uidname), "%u", (unsigned) r.uid);
        k = read_at(c, d.by_uid, uidname, &old);
        if (k == 0 && !streq(old.name, name)) {
                (void) snprintf(detail, detail_size, "UID %u is held by transient user %s", (unsigned) r.uid, old.name);
                return -EADDRINUSE;
        }
        if (k < 0 && k != -ENOENT) {
                (void) snprintf(detail, detail_size, "the record of UID %u is unreadable", (unsigned) r.uid);
                return -EADDRINUSE;
        }
        if (store_uid_quarantined(c, r.uid, name, now, detail, detail_size))
                return -EADDRINUSE;

        r.created = now;
        r.expires = expires;
        k = read_at(c, d.by_name, name, &old);
        *ret_created = k != 0;
        if (k == 0) {
                r.created = old.created;
                if (old.expires > r.expires)
                        r.expires = old.expires;
        }
        if (n_groups > 0)
                memcpy(r.groups, groups, n_groups * sizeof(gid_t));
        r.n_groups = n_groups;
        r.synthesized = false;
        return write_record(c, &d, &r);
}

static int remove_locked(const ephem_config *c, const store_dirs *d, const user_record *r, int64_t now) {
        char uidname[16];
        user_record cur;
        int k;

        k = quarantine_put(c, r, now);
        if (k < 0)
                return k;
        (void) snprintf(uidname, sizeof(uidname), "%u", (unsigned) r->uid);
        /* Only our own by-uid link: never another user's. */
        if (read_at(c, d->by_uid, uidname, &cur) == 0 && streq(cur.name, r->name))
                (void) unlinkat(d->by_uid, uidname, 0);
        if (unlinkat(d->by_name, r->name, 0) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

int store_user_remove(const ephem_config *c, const char *name, int64_t now) {
        _cleanup_(store_dirs_close) store_dirs d = { -1, -1, -1, -1 };
        user_record r;
        int k;

        k = store_open_locked(c, &d);
        if (k < 0)
                return k;
        k = read_at(c, d.by_name, name, &r);
        if (k < 0)
                return k;
        k = remove_locked(c, &d, &r, now);
        if (k < 0)
                return k;
        k = store_home_remove(c, &r);
        return k == -ENOENT ? 0 : k;
}

int store_user_list(const ephem_config *c, user_record **ret, size_t *ret_n) {
        _cleanup_close_ int users = -1;
        user_record *list = NULL;
        size_t n = 0;
        struct dirent *de;
        DIR *dir;
        int fd;

        users = state_open_subdir(c->state_dir, "users", 0755);
        if (users < 0)
                return users;
        fd = openat(users, "by-name", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno != ENOENT)
                        return negative_errno();
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        dir = dir_open_at(fd);
        close(fd);
        if (!dir)
                return negative_errno();
        while ((de = readdir(dir))) {
                user_record r, *nl;
                if (!user_name_valid(de->d_name) || read_at(c, dirfd(dir), de->d_name, &r) < 0 ||
                    !streq(r.name, de->d_name))
                        continue;
                nl = realloc(list, (n + 1) * sizeof(*nl));
                if (!nl) {
                        free(list);
                        closedir(dir);
                        return -ENOMEM;
                }
                list = nl;
                list[n++] = r;
        }
        closedir(dir);
        *ret = list;
        *ret_n = n;
        return 0;
}

/* ---- homes ---- */

static int open_home_base(const ephem_config *c, bool create) {
        const char *base = c->users.home_base;
        int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat st;

        if (fd < 0 && errno == ENOENT && create) {
                if (mkdir(base, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (fd < 0)
                return negative_errno();
        /* Users must not be able to swap their home for a link elsewhere. */
        if (fstat(fd, &st) < 0 || (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
                close(fd);
                return -EPERM;
        }
        return fd;
}

#define SKEL_MAX_DEPTH 8

static int copy_tree(int src_dir, int dst_dir, uid_t uid, gid_t gid, unsigned depth) {
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (depth > SKEL_MAX_DEPTH)
                return 0;
        d = dir_open_at(src_dir);
        if (!d)
                return negative_errno();
        while ((de = readdir(d)) && r == 0) {
                struct stat st;
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(src_dir, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int s = -1, t = -1;
                        if (mkdirat(dst_dir, de->d_name, st.st_mode & 0755) < 0 && errno != EEXIST)
                                continue;
                        s = openat(src_dir, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        t = openat(dst_dir, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (s < 0 || t < 0 || fchown(t, uid, gid) < 0)
                                continue;
                        r = copy_tree(s, t, uid, gid, depth + 1);
                } else if (S_ISREG(st.st_mode) && st.st_size <= 1024 * 1024) {
                        _cleanup_close_ int s = -1, t = -1;
                        char buf[8192];
                        ssize_t k;
                        s = openat(src_dir, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                        t = openat(dst_dir, de->d_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                   st.st_mode & 0755);
                        if (s < 0 || t < 0)
                                continue;
                        while ((k = read(s, buf, sizeof(buf))) > 0)
                                if (write(t, buf, (size_t) k) != k)
                                        break;
                        /* A file the user cannot own does not stay in their home. */
                        if (fchown(t, uid, gid) < 0)
                                (void) unlinkat(dst_dir, de->d_name, 0);
                }
        }
        closedir(d);
        return r;
}

int store_home_create(const ephem_config *c, const user_record *r) {
        _cleanup_close_ int base = -1, home = -1;
        const char *leaf = strrchr(r->home, '/') + 1;
        struct stat st;
        bool created = false;

        base = open_home_base(c, true);
        if (base < 0)
                return base;
        if (mkdirat(base, leaf, 0700) == 0)
                created = true;
        else if (errno != EEXIST)
                return negative_errno();
        home = openat(base, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (home < 0)
                return negative_errno();
        if (fstat(home, &st) < 0)
                return negative_errno();
        if (created) {
                if (fchown(home, r->uid, r->gid) < 0 || fchmod(home, 0700) < 0)
                        return negative_errno();
                if (c->users.skel) {
                        _cleanup_close_ int skel = open(c->users.skel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (skel >= 0)
                                (void) copy_tree(skel, home, r->uid, r->gid, 0);
                }
        } else if (st.st_uid != r->uid)
                return -EPERM;
        return 0;
}

/* Removes everything below dirfd; stays on device `dev`, follows no symlink. */
static int remove_tree(int dirfd, dev_t dev, unsigned depth) {
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (depth > 256)
                return -ELOOP;
        d = dir_open_at(dirfd);
        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                struct stat st;
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sub = -1;
                        if (st.st_dev != dev) {
                                r = -EXDEV; /* a mount inside a home: leave it alone */
                                continue;
                        }
                        sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0)
                                continue;
                        (void) remove_tree(sub, dev, depth + 1);
                        if (unlinkat(dirfd, de->d_name, AT_REMOVEDIR) < 0 && r == 0)
                                r = negative_errno();
                } else if (unlinkat(dirfd, de->d_name, 0) < 0 && r == 0)
                        r = negative_errno();
        }
        closedir(d);
        return r;
}

int store_home_remove(const ephem_config *c, const user_record *r) {
        _cleanup_close_ int base = -1, home = -1;
        const char *leaf = strrchr(r->home, '/') + 1;
        char expected[USER_PATH_MAX];
        struct stat st;
        int k;

        /* Only the home ephem made: <home_base>/<name>. */
        if (userconf_home(&c->users, r->name, expected, sizeof(expected)) < 0 || !streq(expected, r->home))
                return -EINVAL;
        base = open_home_base(c, false);
        if (base < 0)
                return base;
        home = openat(base, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (home < 0)
                return negative_errno();
        if (fstat(home, &st) < 0)
                return negative_errno();
        if (st.st_uid != r->uid)
                return -EPERM;
        k = remove_tree(home, st.st_dev, 0);
        if (unlinkat(base, leaf, AT_REMOVEDIR) < 0)
                return negative_errno();
        return k == -EXDEV ? 0 : k;
}

/* ---- the sweep ---- */

static void gc_quarantine(const ephem_config *c, int64_t now, gc_stats *st) {
        _cleanup_close_ int dfd = quarantine_open(c, false);
        struct dirent *de;
        DIR *d;

        if (dfd < 0)
                return;
        d = dir_open_at(dfd);
        if (!d)
                return;
        while ((de = readdir(d))) {
                struct quarantine_entry q;
                uint32_t uid;
                if (parse_u32(de->d_name, &uid) < 0)
                        continue;
                if (quarantine_read(dfd, uid, &q) < 0)
                        /* Kept (fail closed: the UID stays taken), but said. */
                        st->quarantine_unreadable++;
                else if (q.until <= now)
                        (void) unlinkat(dfd, de->d_name, 0);
        }
        closedir(d);
}

static void gc_logins(const ephem_config *c, int64_t now, gc_stats *st) {
        _cleanup_close_ int dfd = state_open_subdir(c->state_dir, "logins", 0700);
        struct dirent *de;
        DIR *d;

        if (dfd < 0)
                return;
        d = dir_open_at(dfd);
        if (!d)
                return;
        while ((de = readdir(d))) {
                login_record rec;
                if (!login_id_valid(de->d_name))
                        continue;
                if (login_record_load(c->state_dir, de->d_name, &rec) < 0) {
                        struct stat s;
                        /* Unreadable and old: remove. */
                        if (fstatat(dfd, de->d_name, &s, AT_SYMLINK_NOFOLLOW) == 0 && s.st_mtim.tv_sec + 86400 < now)
                                (void) unlinkat(dfd, de->d_name, 0);
                        continue;
                }
                if (rec.exp + (int64_t) c->leeway < now && unlinkat(dfd, de->d_name, 0) == 0)
                        st->logins_removed++;
                login_record_done(&rec);
        }
        closedir(d);
}

int store_gc(const ephem_config *c, int64_t now, store_gc_flags flags, gc_stats *ret) {
        gc_stats st = { 0 };
        _cleanup_free_ user_record *users = NULL;
        size_t n = 0;
        int k;

        k = session_gc(c, now, &st.sessions_removed);
        if (k < 0 && k != -ENOENT)
                return k;
        k = store_user_list(c, &users, &n);
        if (k < 0)
                return k;
        for (size_t i = 0; i < n; i++) {
                const user_record *r = &users[i];
                if (r->expires + (int64_t) c->leeway >= now || session_user_live(c, r->name, NULL) != 0 ||
                    login_pending_for_user(c->state_dir, r->name, now, (int64_t) c->leeway))
                        continue;
                if (store_user_remove(c, r->name, now) == 0) {
                        audit_record a = { .event = AUDIT_USER_REMOVED,
                                           .identifier = "ephem",
                                           .user = r->name,
                                           .uid = (int64_t) r->uid,
                                           .detail = "expired without a live session" };
                        audit_emit(&a);
                        st.users_removed++;
                }
        }
        gc_logins(c, now, &st);
        if (flags & STORE_GC_REPLAY)
                st.replay_removed = replay_gc(c->state_dir, now);
        gc_quarantine(c, now, &st);
        if (ret)
                *ret = st;
        return 0;
}
