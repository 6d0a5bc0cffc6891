/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading configuration and key files the way a module running as root must.
 * libc only: linked by the NSS module.
 */
#pragma once

#include <stddef.h>
#include <sys/stat.h>

/* Default cap on configuration and key files. */
#define SAFEFILE_MAX_SIZE (256u * 1024u)

/*
 * Reads the whole file at `path` into a NUL-terminated buffer after checking that
 * it is a regular file (no symlink as the last component), owned by root (or by the
 * effective user when that is not root), not writable by group or others, and at
 * most `max_size` bytes. A file holding a NUL byte is refused.
 *
 * Returns 0 and sets *ret (free() it) and *ret_size; on failure returns
 *   -ENOENT   the file does not exist
 *   -ELOOP    the last component is a symlink
 *   -EBADFD   not a regular file
 *   -EPERM    wrong owner, or writable by group/others
 *   -EFBIG    larger than max_size
 *   -EBADMSG  contains a NUL byte
 *   -errno    any other open/read error
 * and leaves the outputs untouched. `ret_st` (optional) receives the file's stat.
 */
int safe_read_file(const char *path, size_t max_size, char **ret, size_t *ret_size, struct stat *ret_st);

/* A sentence for the errors above, for admin-facing messages. */
const char *safe_read_strerror(int r);
