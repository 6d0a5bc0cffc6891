/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The record format of the state store under /run/ephem: small files of
 * "key=value" lines, values percent-escaped (%XX for bytes below 0x20, 0x7f and
 * '%'), so a record is always one line per field whatever a claim holds.
 * Reading is libc only (linked by the NSS module) and allocates nothing.
 */
#pragma once

#include <stddef.h>
#include <sys/stat.h>

#define KV_RECORD_MAX 8192u

/* Called per line; return 0 to go on or a negative errno to stop. */
typedef int (*kv_field_fn)(const char *key, const char *value, void *userdata);

/*
 * Parses buf (len bytes, NUL-terminated, modified in place: values are unescaped).
 * Every line must be "key=value" with key [a-z0-9_]+ and a newline at its end.
 * Returns 0, -EBADMSG for a malformed record, or the callback's error.
 */
int kv_parse(char *buf, size_t len, kv_field_fn fn, void *userdata);

/*
 * Reads the record `name` in the directory dirfd into buf (size bytes, room for the
 * terminator): O_NOFOLLOW|O_CLOEXEC, a regular file owned by root (or the effective
 * user), at most size-1 bytes. Returns 0 and *ret_len, -ENOENT, -EBADMSG (not a
 * regular file, too large, NUL byte), -EPERM (owner), -errno.
 */
int kv_read_at(int dirfd, const char *name, char *buf, size_t size, size_t *ret_len);
