/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libnss_ephem.so.2: transient users for every process on the host.
 *
 * Loaded into every process that resolves a user, so: libc only, no logging, no
 * writes, no NSS recursion, thread-safe, every fd O_CLOEXEC, errno preserved,
 * glibc's ERANGE protocol, NOTFOUND/UNAVAIL rather than a crash or a hang.
 *
 * passwd/group by name: the record under <state>/users, else — for a name matching
 * the configured transient-name patterns — the deterministic entry that pam_ephem
 * will record (sshd resolves the name before authentication and keeps the answer).
 * By UID/GID and enumeration: records only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ephem/macro.h"
#include "ephem/userconf.h"
#include "ephem/userdb.h"

#define NSS_FN(name) _public_ enum nss_status _nss_ephem_##name

/* glibc declares none of these: the prototypes are the module's contract with nss/. */
NSS_FN(getpwnam_r)(const char *name, struct passwd *pwd, char *buf, size_t buflen, int *errnop);
NSS_FN(getpwuid_r)(uid_t uid, struct passwd *pwd, char *buf, size_t buflen, int *errnop);
NSS_FN(setpwent)(int stayopen);
NSS_FN(endpwent)(void);
NSS_FN(getpwent_r)(struct passwd *pwd, char *buf, size_t buflen, int *errnop);
NSS_FN(getgrnam_r)(const char *name, struct group *gr, char *buf, size_t buflen, int *errnop);
NSS_FN(getgrgid_r)(gid_t gid, struct group *gr, char *buf, size_t buflen, int *errnop);
NSS_FN(setgrent)(int stayopen);
NSS_FN(endgrent)(void);
NSS_FN(getgrent_r)(struct group *gr, char *buf, size_t buflen, int *errnop);
NSS_FN(initgroups_dyn)
(const char *user, gid_t group, long int *start, long int *size, gid_t **groupsp, long int limit, int *errnop);

/* Saves errno on entry and puts it back on every return. */
static inline void restore_errno(const int *saved) {
        errno = *saved;
}
#define PROTECT_ERRNO _cleanup_(restore_errno) _unused_ const int saved_errno_ = errno

/*
 * The same for the entry points that report through errnop. glibc passes &errno as
 * errnop and reads the reason for a status from errno (ERANGE: "call again with a
 * larger buffer"), so the reason must be written after errno is put back, or the
 * restore would erase it. The body keeps writing *errnop: it lands in the guard.
 */
typedef struct errno_guard {
        int saved;
        int *errnop;
        int report; /* 0: nothing to report */
} errno_guard;

static inline void errno_guard_done(errno_guard *g) {
        errno = g->saved;
        if (g->report != 0)
                *g->errnop = g->report;
}
#define PROTECT_ERRNO_REPORT(errnop)                                                   \
        _cleanup_(errno_guard_done) errno_guard errno_guard_ = { errno, (errnop), 0 }; \
        (errnop) = &errno_guard_.report

/* ---- configuration snapshot, shared by threads, reloaded when the file changes ---- */

typedef struct snapshot {
        userconf users;
        struct stat st;
        unsigned refs;
        unsigned long generation; /* never reused, unlike the address */
} snapshot;

static unsigned long snapshot_generation;

static pthread_mutex_t snapshot_lock = PTHREAD_MUTEX_INITIALIZER;
static snapshot *current;

static void snapshot_unref_locked(snapshot *s) {
        if (s && --s->refs == 0) {
                userconf_done(&s->users);
                free(s);
        }
}

static const char *config_path(void) {
        const char *e = secure_getenv("EPHEM_CONFIG");
        return e && *e == '/' ? e : EPHEM_CONFIG_PATH;
}

/* Unchanged since it was read: same file, content, owner and mode. A chmod or chown
 * changes only the ctime, and must end the trust in the copy as surely as a rewrite. */
static bool same_file(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
               a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec &&
               a->st_mode == b->st_mode && a->st_uid == b->st_uid;
}

/* Returns a referenced snapshot, or NULL when there is no usable configuration. */
static snapshot *snapshot_get(void) {
        const char *path = config_path();
        struct stat st;
        snapshot *s = NULL;

        /* lstat(): a symlink is never the file last read (which is opened O_NOFOLLOW). */
        if (lstat(path, &st) < 0)
                return NULL;
        pthread_mutex_lock(&snapshot_lock);
        if (current && same_file(&current->st, &st)) {
                current->refs++;
                s = current;
                goto done;
        }
        s = calloc(1, sizeof(*s));
        if (!s)
                goto done;
        {
                conf_error err = { 0 };
                if (userconf_load(path, &s->users, &err) < 0) {
                        userconf_done(&s->users);
                        free(s);
                        s = NULL;
                        goto done;
                }
        }
        s->st = st;
        s->refs = 2; /* one for `current`, one for the caller */
        s->generation = ++snapshot_generation;
        snapshot_unref_locked(current);
        current = s;
done:
        pthread_mutex_unlock(&snapshot_lock);
        return s;
}

static void snapshot_put(snapshot *s) {
        if (!s)
                return;
        pthread_mutex_lock(&snapshot_lock);
        snapshot_unref_locked(s);
        pthread_mutex_unlock(&snapshot_lock);
}

static void snapshot_putp(snapshot **s) {
        snapshot_put(*s);
}
#define _cleanup_snapshot_ _cleanup_(snapshot_putp)

/* Whether the store exists at all: distinguishes "no such user" from "no store". */
static bool store_present(const userconf *u, const char *sub) {
        char path[USER_PATH_MAX + 32];
        struct stat st;

        if ((size_t) snprintf(path, sizeof(path), "%s/users/%s", u->state_dir, sub) >= sizeof(path))
                return false;
        return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- filling glibc's structures in the caller's buffer ---- */

typedef struct bufalloc {
        char *buf;
        size_t left;
} bufalloc;

static char *buf_strdup(bufalloc *b, const char *s) {
        size_t n = strlen(s) + 1;
        char *p;

        if (n > b->left)
                return NULL;
        p = b->buf;
        memcpy(p, s, n);
        b->buf += n;
        b->left -= n;
        return p;
}

static size_t passwd_size(const user_record *r) {
        return strlen(r->name) + 1 + 2 + strlen(r->gecos) + 1 + strlen(r->home) + 1 + strlen(r->shell) + 1;
}

static enum nss_status fill_passwd(const user_record *r, struct passwd *pwd, char *buf, size_t buflen, int *errnop) {
        bufalloc b = { buf, buflen };

        /* The whole size first: nothing is written unless everything fits. */
        if (!buf || buflen < passwd_size(r)) {
                *errnop = ERANGE;
                return NSS_STATUS_TRYAGAIN;
        }
        pwd->pw_name = buf_strdup(&b, r->name);
        pwd->pw_passwd = buf_strdup(&b, "*"); /* no password; pam_unix's account stage accepts it */
        pwd->pw_uid = r->uid;
        pwd->pw_gid = r->gid;
        pwd->pw_gecos = buf_strdup(&b, r->gecos);
        pwd->pw_dir = buf_strdup(&b, r->home);
        pwd->pw_shell = buf_strdup(&b, r->shell);
        return NSS_STATUS_SUCCESS;
}

static size_t group_size(const user_record *r, size_t *ret_pad, const char *buf) {
        size_t pad = (alignof(char *) - ((uintptr_t) buf % alignof(char *))) % alignof(char *);
        *ret_pad = pad;
        return pad + sizeof(char *) + strlen(r->name) + 1 + 2;
}

/* The user-private group: name and GID of the user, no members (it is their primary group). */
static enum nss_status fill_group(const user_record *r, struct group *gr, char *buf, size_t buflen, int *errnop) {
        size_t pad;
        bufalloc b;

        if (!buf || buflen < group_size(r, &pad, buf)) {
                *errnop = ERANGE;
                return NSS_STATUS_TRYAGAIN;
        }
        gr->gr_mem = (char **) (void *) (buf + pad);
        gr->gr_mem[0] = NULL;
        b = (bufalloc){ buf + pad + sizeof(char *), buflen - pad - sizeof(char *) };
        gr->gr_name = buf_strdup(&b, r->name);
        gr->gr_passwd = buf_strdup(&b, "*");
        gr->gr_gid = r->gid;
        return NSS_STATUS_SUCCESS;
}

/* ---- records ---- */

/*
 * pam_ephem records only what userdb_synthesize() gives a transient name: a name
 * matching the patterns, with the UID derived from it. A record saying anything else
 * (a by-uid link naming "root", or another user with this UID) is damaged or
 * planted, and refused like any other damaged record: -EBADMSG.
 */
static int record_check(const userconf *u, int k, const user_record *r) {
        if (k == 0 && (!userconf_is_transient(u, r->name) || r->uid != userconf_uid(u, r->name)))
                return -EBADMSG;
        return k;
}

/*
 * A few parsed records, so that a repeated lookup costs one lstat() instead of
 * open, fstat, read and close. Records are only ever replaced by rename(2), so a
 * record whose inode, size and times are unchanged has unchanged contents; an
 * entry also belongs to the configuration it was checked against.
 */
#define RECORD_CACHE_SIZE 16

typedef struct cached_record {
        bool used;
        unsigned long generation;
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtim, ctim;
        unsigned long last_use;
        user_record r;
} cached_record;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cached_record cache[RECORD_CACHE_SIZE];
static unsigned long cache_clock;

static bool cache_matches(const cached_record *e, unsigned long generation, const struct stat *st) {
        return e->used && e->generation == generation && e->dev == st->st_dev && e->ino == st->st_ino &&
               e->size == st->st_size && e->mtim.tv_sec == st->st_mtim.tv_sec &&
               e->mtim.tv_nsec == st->st_mtim.tv_nsec && e->ctim.tv_sec == st->st_ctim.tv_sec &&
               e->ctim.tv_nsec == st->st_ctim.tv_nsec;
}

static bool cache_get(unsigned long generation, const struct stat *st, user_record *ret) {
        bool hit = false;

        pthread_mutex_lock(&cache_lock);
        for (size_t i = 0; i < RECORD_CACHE_SIZE; i++)
                if (cache_matches(&cache[i], generation, st)) {
                        cache[i].last_use = ++cache_clock;
                        *ret = cache[i].r;
                        hit = true;
                        break;
                }
        pthread_mutex_unlock(&cache_lock);
        return hit;
}

static void cache_put(unsigned long generation, const struct stat *st, const user_record *r) {
        cached_record *victim = &cache[0];

        pthread_mutex_lock(&cache_lock);
        for (size_t i = 0; i < RECORD_CACHE_SIZE; i++) {
                if (!cache[i].used) {
                        victim = &cache[i];
                        break;
                }
                if (cache[i].last_use < victim->last_use)
                        victim = &cache[i];
        }
        *victim = (cached_record){
                .used = true,
                .generation = generation,
                .dev = st->st_dev,
                .ino = st->st_ino,
                .size = st->st_size,
                .mtim = st->st_mtim,
                .ctim = st->st_ctim,
                .last_use = ++cache_clock,
                .r = *r,
        };
        pthread_mutex_unlock(&cache_lock);
}

/* The record at path: from the cache when the file is unchanged, else read and
 * checked (and then cached). */
static int record_at(const snapshot *snap, const char *path,
                     int (*read_fn)(const snapshot *, user_record *, const void *), const void *key, user_record *ret) {
        struct stat st;
        int k;

        if (lstat(path, &st) < 0)
                return negative_errno();
        /* Anything but a root-owned regular file goes to the reader, which refuses it. */
        if (S_ISREG(st.st_mode) && (st.st_uid == 0 || st.st_uid == geteuid()) && cache_get(snap->generation, &st, ret))
                return 0;
        k = read_fn(snap, ret, key);
        if (k == 0)
                cache_put(snap->generation, &st, ret);
        return k;
}

static int read_by_name(const snapshot *snap, user_record *ret, const void *key) {
        return record_check(&snap->users, userdb_get_by_name(&snap->users, key, ret), ret);
}

static int read_by_uid(const snapshot *snap, user_record *ret, const void *key) {
        return record_check(&snap->users, userdb_get_by_uid(&snap->users, *(const uid_t *) key, ret), ret);
}

static int record_by_name(const snapshot *snap, const char *name, user_record *ret) {
        char path[USER_PATH_MAX + 64];
        int k = userdb_path_by_name(&snap->users, name, path, sizeof(path));

        if (k < 0)
                return k == -EINVAL ? -ENOENT : k;
        return record_at(snap, path, read_by_name, name, ret);
}

static int record_by_uid(const snapshot *snap, uid_t uid, user_record *ret) {
        char path[USER_PATH_MAX + 64];
        int k;

        if (uid < snap->users.uid_min || uid > snap->users.uid_max)
                return -ENOENT;
        k = userdb_path_by_uid(&snap->users, uid, path, sizeof(path));
        if (k < 0)
                return k;
        return record_at(snap, path, read_by_uid, &uid, ret);
}

/* ---- lookups ---- */

/* By name: the record, else the pre-authentication entry for a transient name. */
static enum nss_status lookup_name(const snapshot *snap, const char *name, user_record *ret, int *errnop) {
        const userconf *u = &snap->users;
        int k;

        if (!user_name_valid(name)) {
                *errnop = ENOENT;
                return NSS_STATUS_NOTFOUND;
        }
        k = record_by_name(snap, name, ret);
        if (k == 0)
                return NSS_STATUS_SUCCESS;
        if (k != -ENOENT) {
                /* A damaged or foreign record: do not guess. */
                *errnop = EIO;
                return NSS_STATUS_UNAVAIL;
        }
        if (userdb_synthesize(u, name, ret) == 0)
                return NSS_STATUS_SUCCESS;
        *errnop = ENOENT;
        return NSS_STATUS_NOTFOUND;
}

static enum nss_status lookup_uid(const snapshot *snap, uid_t uid, user_record *ret, int *errnop) {
        const userconf *u = &snap->users;
        int k;

        if (uid < u->uid_min || uid > u->uid_max) {
                *errnop = ENOENT;
                return NSS_STATUS_NOTFOUND;
        }
        k = record_by_uid(snap, uid, ret);
        if (k == 0)
                return NSS_STATUS_SUCCESS;
        if (k == -ENOENT && store_present(u, "by-uid")) {
                *errnop = ENOENT;
                return NSS_STATUS_NOTFOUND;
        }
        *errnop = k == -ENOENT ? ENOENT : EIO;
        return NSS_STATUS_UNAVAIL;
}

NSS_FN(getpwnam_r)(const char *name, struct passwd *pwd, char *buf, size_t buflen, int *errnop) {
        PROTECT_ERRNO_REPORT(errnop);
        _cleanup_snapshot_ snapshot *s = snapshot_get();
        user_record r;
        enum nss_status st;

        if (!s) {
                *errnop = ENOENT;
                return NSS_STATUS_UNAVAIL;
        }
        st = lookup_name(s, name, &r, errnop);
        if (st != NSS_STATUS_SUCCESS)
                return st;
        return fill_passwd(&r, pwd, buf, buflen, errnop);
}

NSS_FN(getpwuid_r)(uid_t uid, struct passwd *pwd, char *buf, size_t buflen, int *errnop) {
        PROTECT_ERRNO_REPORT(errnop);
        _cleanup_snapshot_ snapshot *s = snapshot_get();
        user_record r;
        enum nss_status st;

        if (!s) {
                *errnop = ENOENT;
                return NSS_STATUS_UNAVAIL;
        }
        st = lookup_uid(s, uid, &r, errnop);
        if (st != NSS_STATUS_SUCCESS)
                return st;
        return fill_passwd(&r, pwd, buf, buflen, errnop);
}

NSS_FN(getgrnam_r)(const char *name, struct group *gr, char *buf, size_t buflen, int *errnop) {
        PROTECT_ERRNO_REPORT(errnop);
        _cleanup_snapshot_ snapshot *s = snapshot_get();
        user_record r;
        enum nss_status st;

        if (!s) {
                *errnop = ENOENT;
                return NSS_STATUS_UNAVAIL;
        }
        st = lookup_name(s, name, &r, errnop);
        if (st != NSS_STATUS_SUCCESS)
                return st;
        return fill_group(&r, gr, buf, buflen, errnop);
}

NSS_FN(getgrgid_r)(gid_t gid, struct group *gr, char *buf, size_t buflen, int *errnop) {
        PROTECT_ERRNO_REPORT(errnop);
        _cleanup_snapshot_ snapshot *s = snapshot_get();
        user_record r;
        enum nss_status st;

        if (!s) {
                *errnop = ENOENT;
                return NSS_STATUS_UNAVAIL;
        }
        st = lookup_uid(s, (uid_t) gid, &r, errnop);
        if (st != NSS_STATUS_SUCCESS)
                return st;
        return fill_group(&r, gr, buf, buflen, errnop);
}

NSS_FN(initgroups_dyn)
(const char *user, gid_t group, long int *start, long int *size, gid_t **groupsp, long int limit, int *errnop) {
        PROTECT_ERRNO_REPORT(errnop);
        _cleanup_snapshot_ snapshot *s = snapshot_get();
        user_record r;
        bool added = false;
        int k;

        if (!s) {
                *errnop = ENOENT;
                return NSS_STATUS_UNAVAIL;
        }
        if (!user_name_valid(user)) {
                *errnop = ENOENT;
                return NSS_STATUS_NOTFOUND;
        }
        k = record_by_name(s, user, &r);
        if (k < 0) {
                *errnop = k == -ENOENT ? ENOENT : EIO;
                return k == -ENOENT ? NSS_STATUS_NOTFOUND : NSS_STATUS_UNAVAIL;
        }
        for (size_t i = 0; i < r.n_groups; i++) {
                gid_t g = r.groups[i];
                bool present = g == group;

                for (long j = 0; !present && j < *start; j++)
                        present = (*groupsp)[j] == g;
                if (present)
                        continue;
                if (limit > 0 && *start >= limit)
                        break;
                if (*start >= *size) {
                        long n = *size > 0 ? *size * 2 : 8;
                        gid_t *ng;
                        if (limit > 0 && n > limit)
                                n = limit;
                        ng = realloc(*groupsp, (size_t) n * sizeof(gid_t));
                        if (!ng) {
                                *errnop = ENOMEM;
                                return NSS_STATUS_TRYAGAIN;
                        }
                        *groupsp = ng;
                        *size = n;
                }
                (*groupsp)[(*start)++] = g;
                added = true;
        }
        if (!added) {
                *errnop = ENOENT;
                return NSS_STATUS_NOTFOUND;
        }
        return NSS_STATUS_SUCCESS;
}

/* ---- enumeration: records only; glibc serialises set/get/end per database ---- */

typedef struct enumeration {
        pthread_mutex_t lock;
        DIR *dir;
        snapshot *snap;
} enumeration;

static enumeration pw_enum = { .lock = PTHREAD_MUTEX_INITIALIZER };
static enumeration gr_enum = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void enum_close_locked(enumeration *e) {
        if (e->dir)
                closedir(e->dir);
        e->dir = NULL;
        snapshot_put(e->snap);
        e->snap = NULL;
}

static enum nss_status enum_open(enumeration *e) {
        char path[USER_PATH_MAX + 32];
        enum nss_status st = NSS_STATUS_UNAVAIL;
        int fd;

        pthread_mutex_lock(&e->lock);
        enum_close_locked(e);
        e->snap = snapshot_get();
        if (!e->snap)
                goto done;
        if ((size_t) snprintf(path, sizeof(path), "%s/users/by-name", e->snap->users.state_dir) >= sizeof(path))
                goto done;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                goto done;
        e->dir = fdopendir(fd);
        if (!e->dir) {
                close(fd);
                goto done;
        }
        st = NSS_STATUS_SUCCESS;
done:
        if (st != NSS_STATUS_SUCCESS)
                enum_close_locked(e);
        pthread_mutex_unlock(&e->lock);
        return st;
}

static enum nss_status enum_close(enumeration *e) {
        pthread_mutex_lock(&e->lock);
        enum_close_locked(e);
        pthread_mutex_unlock(&e->lock);
        return NSS_STATUS_SUCCESS;
}

typedef enum nss_status (*fill_fn)(const user_record *r, void *result, char *buf, size_t buflen, int *errnop);

static enum nss_status enum_next(enumeration *e, fill_fn fill, void *result, char *buf, size_t buflen, int *errnop) {
        enum nss_status st = NSS_STATUS_NOTFOUND;
        struct dirent *de;

        pthread_mutex_lock(&e->lock);
        if (!e->dir) {
                /* getpwent() without setpwent(): start now, as glibc's files module does. */
                pthread_mutex_unlock(&e->lock);
                if (enum_open(e) != NSS_STATUS_SUCCESS) {
                        *errnop = ENOENT;
                        return NSS_STATUS_UNAVAIL;
                }
                pthread_mutex_lock(&e->lock);
                if (!e->dir)
                        goto done;
        }
        for (;;) {
                long pos = telldir(e->dir);
                user_record r;

                errno = 0;
                de = readdir(e->dir);
                if (!de)
                        break;
                if (!user_name_valid(de->d_name) || record_by_name(e->snap, de->d_name, &r) < 0)
                        continue; /* temporary files, damaged or vanished records */
                st = fill(&r, result, buf, buflen, errnop);
                if (st == NSS_STATUS_TRYAGAIN)
                        seekdir(e->dir, pos); /* the caller retries this entry with a larger buffer */
                goto done;
        }
        *errnop = ENOENT;
done:
        pthread_mutex_unlock(&e->lock);
        return st;
}

static enum nss_status fill_passwd_v(const user_record *r, void *result, char *buf, size_t buflen, int *errnop) {
        return fill_passwd(r, result, buf, buflen, errnop);
}

static enum nss_status fill_group_v(const user_record *r, void *result, char *buf, size_t buflen, int *errnop) {
        return fill_group(r, result, buf, buflen, errnop);
}

NSS_FN(setpwent)(int stayopen _unused_) {
        PROTECT_ERRNO;
        return enum_open(&pw_enum);
}

NSS_FN(endpwent)(void) {
        PROTECT_ERRNO;
        return enum_close(&pw_enum);
}

NSS_FN(getpwent_r)(struct passwd *pwd, char *buf, size_t buflen, int *errnop) {
        PROTECT_ERRNO_REPORT(errnop);
        return enum_next(&pw_enum, fill_passwd_v, pwd, buf, buflen, errnop);
}

NSS_FN(setgrent)(int stayopen _unused_) {
        PROTECT_ERRNO;
        return enum_open(&gr_enum);
}

NSS_FN(endgrent)(void) {
        PROTECT_ERRNO;
        return enum_close(&gr_enum);
}

NSS_FN(getgrent_r)(struct group *gr, char *buf, size_t buflen, int *errnop) {
        PROTECT_ERRNO_REPORT(errnop);
        return enum_next(&gr_enum, fill_group_v, gr, buf, buflen, errnop);
}
