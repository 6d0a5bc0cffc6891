/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the NSS tests share: a host directory (ephem.conf and a record store) written
 * with libc alone, records in the store's on-disk format (valid ones exactly as
 * libephem/store.c writes them, and damaged ones byte for byte), and the module's
 * entry points resolved with dlopen(). libc and libephem-base only, so the thread test
 * builds the very same code under ThreadSanitizer. Fixture failures abort with a
 * message: they must never look like a verdict on the module.
 */
#pragma once

#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ephem/userconf.h"

/* Not a value any code under test would produce by accident. */
#define NSS_TEST_ERRNO_SENTINEL 4242

void nss_test_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
char *nss_test_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void nss_test_write(const char *path, const void *data, size_t len, mode_t mode);
void nss_test_rmrf(const char *path);

/*
 * A host: <dir>/ephem.conf naming the transient users agent-* and ci-* (default UID
 * range), [host] state_dir = <dir>/state with users/by-name and users/by-uid.
 * `users_extra` is appended to [users] verbatim. EPHEM_CONFIG is pointed at it.
 */
typedef struct nss_host {
        char *dir;
        char *config_path;
        char *state_dir;
        char *by_name;  /* <state_dir>/users/by-name */
        char *by_uid;   /* <state_dir>/users/by-uid */
        userconf users; /* the configuration as the module reads it */
} nss_host;

nss_host *nss_host_new(const char *users_extra);
void nss_host_free(nss_host *h);
/* Replaces ephem.conf by rename(2) (a new inode: the module must reload it), and
 * h->users with what it says. */
void nss_host_configure(nss_host *h, const char *users_extra);
/* The same, leaving h->users alone (for a writer racing readers of h->users). */
void nss_host_write_config(const nss_host *h, const char *users_extra);
/* Points EPHEM_CONFIG at this host. */
void nss_host_select(const nss_host *h);

/* The record text libephem/store.c writes for `name` (UID derived from the name). */
char *nss_record_text(const nss_host *h, const char *name, const gid_t *groups, size_t n_groups);
/* Records `name` the way the store does (file, hard link, renames). Returns its UID. */
uid_t nss_host_add_user(nss_host *h, const char *name, const gid_t *groups, size_t n_groups);
/* Removes the record and its UID link, as the store does (by-uid first). */
void nss_host_remove_user(nss_host *h, const char *name);
/* by-name/<file> holding exactly these bytes (0644, owned by the caller); with
 * link_uid != 0 also hard-linked as by-uid/<link_uid>. */
void nss_host_put_raw(nss_host *h, const char *file, const void *data, size_t len, uid_t link_uid);

/* The module's entry points, resolved with dlopen(RTLD_NOW). */
typedef struct nss_module {
        void *handle;
        enum nss_status (*getpwnam_r)(const char *, struct passwd *, char *, size_t, int *);
        enum nss_status (*getpwuid_r)(uid_t, struct passwd *, char *, size_t, int *);
        enum nss_status (*setpwent)(int);
        enum nss_status (*getpwent_r)(struct passwd *, char *, size_t, int *);
        enum nss_status (*endpwent)(void);
        enum nss_status (*getgrnam_r)(const char *, struct group *, char *, size_t, int *);
        enum nss_status (*getgrgid_r)(gid_t, struct group *, char *, size_t, int *);
        enum nss_status (*setgrent)(int);
        enum nss_status (*getgrent_r)(struct group *, char *, size_t, int *);
        enum nss_status (*endgrent)(void);
        enum nss_status (*initgroups_dyn)(const char *, gid_t, long int *, long int *, gid_t **, long int, int *);
} nss_module;

void nss_module_open(const char *path, nss_module *ret);
void nss_module_close(nss_module *m);

const char *nss_status_name(enum nss_status s);

/* The number of open file descriptors of this process (/proc/self/fd). */
int nss_count_fds(void);
