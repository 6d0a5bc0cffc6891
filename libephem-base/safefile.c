/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ephem/macro.h"

static int check_owner_and_mode(const struct stat *st) {
        uid_t euid = geteuid();

        if (st->st_uid != 0 && st->st_uid != euid)
                return -EPERM;
        if (st->st_mode & (S_IWGRP | S_IWOTH))
                return -EPERM;
        return 0;
}

int safe_read_file(const char *path, size_t max_size, char **ret, size_t *ret_size, struct stat *ret_st) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t n = 0;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        r = check_owner_and_mode(&st);
        if (r < 0)
                return r;
        if ((size_t) st.st_size > max_size)
                return -EFBIG;

        /* Read up to max_size+1 bytes: the file may grow between fstat() and read(). */
        buf = malloc(max_size + 2);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + n, max_size + 1 - n);
                if (k < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > max_size)
                        return -EFBIG;
        }
        buf[n] = '\0';
        if (memchr(buf, '\0', n))
                return -EBADMSG;

        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = n;
        if (ret_st)
                *ret_st = st;
        return 0;
}

const char *safe_read_strerror(int r) {
        switch (r) {
        case -ENOENT:
                return "file does not exist";
        case -ELOOP:
                return "file is a symbolic link";
        case -EBADFD:
                return "not a regular file";
        case -EPERM:
                return "file must be owned by root and not writable by group or others";
        case -EFBIG:
                return "file is too large";
        case -EBADMSG:
                return "file contains a NUL byte";
        case -EACCES:
                return "permission denied";
        case -ENOMEM:
                return "out of memory";
        default:
                return "cannot read file";
        }
}
