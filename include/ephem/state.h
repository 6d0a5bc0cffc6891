/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The writing side of the state store under /run/ephem (tmpfs: a reboot forgets
 * every transient user). Everything is written atomically (temporary file, then
 * rename) and opened relative to directory fds without following symlinks.
 *
 *   <state>/            0755 root
 *   <state>/users/      0755 records of transient users (no secrets; read by NSS)
 *   <state>/replay/     0700 single-use jti markers, 256 shards
 *   <state>/logins/     0700 what auth hands on to account and session
 *   <state>/sessions/   0700 live sessions
 */
#pragma once

#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Opens (creating when missing) `sub` below state_dir, returning an O_DIRECTORY fd.
 * The state directory and `sub` must be owned by root (or the effective user) and
 * not writable by group or others; a missing state_dir is created 0755.
 * Returns the fd, or -EPERM (ownership/mode), -ENOTDIR, -errno.
 */
int state_open_subdir(const char *state_dir, const char *sub, mode_t mode);

/* A directory stream on the directory dfd refers to, with a descriptor of its own
 * (dfd stays open and usable). NULL with errno set. closedir() it. */
DIR *dir_open_at(int dfd);

/* 1 when the directory holds nothing but "." and "..", 0 when it holds an entry,
 * -errno. Reads from dfd's own offset (a fresh descriptor: its start). */
int dir_fd_is_empty(int dfd);

/* A record being built: "key=value" lines with escaped values. */
typedef struct kv_writer {
        char *buf;
        size_t len, cap;
        int error; /* first error; kvw_commit_at() reports it */
} kv_writer;

void kvw_add(kv_writer *w, const char *key, const char *value);
void kvw_addf(kv_writer *w, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void kvw_done(kv_writer *w);

/* Writes the record atomically as `name` in dirfd with `mode` (temporary file, then
 * renameat). Returns 0 or a negative errno. */
int kvw_commit_at(kv_writer *w, int dirfd, const char *name, mode_t mode);

/* n random bytes as 2n lowercase hex digits plus NUL. 0 or -errno. */
int random_hex(char *buf, size_t nbytes);

/* Copies src into dst (size bytes) for a log line: control characters become '?',
 * and it is cut (with "...") at size-1 bytes. Returns dst. */
char *sanitize_for_log(const char *src, char *dst, size_t size);
