/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ephem/kvrecord.h"
#include "ephem/macro.h"

static int check_dir(int fd) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH)))
                return -EPERM;
        return 0;
}

static int open_dir_at(int parent, const char *name, mode_t mode) {
        _cleanup_close_ int fd = -1;
        int r;

        fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
                if (mkdirat(parent, name, mode) < 0 && errno != EEXIST)
                        return negative_errno();
                fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0)
                return negative_errno();
        r = check_dir(fd);
        if (r < 0)
                return r;
        return TAKE_FD(fd);
}

int state_open_subdir(const char *state_dir, const char *sub, mode_t mode) {
        _cleanup_close_ int top = -1;

        if (state_dir[0] != '/')
                return -EINVAL;
        top = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (top < 0 && errno == ENOENT) {
                if (mkdir(state_dir, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                top = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (top < 0)
                return negative_errno();
        {
                int r = check_dir(top);
                if (r < 0)
                        return r;
        }
        if (!sub)
                return TAKE_FD(top);
        return open_dir_at(top, sub, mode);
}

int dir_fd_is_empty(int dfd) {
        char buf[1024] __attribute__((aligned(__alignof__(struct dirent64))));

        for (;;) {
                ssize_t n = getdents64(dfd, buf, sizeof(buf));

                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        return 1;
                for (ssize_t off = 0; off < n;) {
                        const struct dirent64 *de = (const struct dirent64 *) (const void *) (buf + off);

                        if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                                return 0;
                        off += de->d_reclen;
                }
        }
}

DIR *dir_open_at(int dfd) {
        int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d;

        if (fd < 0)
                return NULL;
        d = fdopendir(fd);
        if (!d) {
                int e = errno;
                close(fd);
                errno = e;
        }
        return d;
}

static void kvw_append(kv_writer *w, const char *s, size_t n) {
        if (w->error)
                return;
        if (w->len + n + 1 > KV_RECORD_MAX) {
                w->error = -E2BIG;
                return;
        }
        if (w->len + n + 1 > w->cap) {
                size_t cap = w->cap ? w->cap * 2 : 512;
                char *nb;
                while (cap < w->len + n + 1)
                        cap *= 2;
                nb = realloc(w->buf, cap);
                if (!nb) {
                        w->error = -ENOMEM;
                        return;
                }
                w->buf = nb;
                w->cap = cap;
        }
        memcpy(w->buf + w->len, s, n);
        w->len += n;
        w->buf[w->len] = '\0';
}

void kvw_add(kv_writer *w, const char *key, const char *value) {
        static const char hex[] = "0123456789ABCDEF";

        kvw_append(w, key, strlen(key));
        kvw_append(w, "=", 1);
        for (const unsigned char *p = (const unsigned char *) strempty(value); *p; p++) {
                if (*p < 0x20 || *p == 0x7f || *p == '%') {
                        char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
                        kvw_append(w, e, 3);
                } else
                        kvw_append(w, (const char *) p, 1);
        }
        kvw_append(w, "\n", 1);
}

void kvw_addf(kv_writer *w, const char *key, const char *fmt, ...) {
        char buf[1024];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= sizeof(buf)) {
                if (!w->error)
                        w->error = -E2BIG;
                return;
        }
        kvw_add(w, key, buf);
}

void kvw_done(kv_writer *w) {
        free(w->buf);
        *w = (kv_writer){ 0 };
}

int kvw_commit_at(kv_writer *w, int dirfd, const char *name, mode_t mode) {
        char tmp[96];
        _cleanup_close_ int fd = -1;
        size_t off = 0;
        int r;

        if (w->error)
                return w->error;
        if (strlen(name) > 64)
                return -ENAMETOOLONG;
        (void) snprintf(tmp, sizeof(tmp), ".#%s.", name);
        r = random_hex(tmp + strlen(tmp), 6);
        if (r < 0)
                return r;
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return negative_errno();
        while (off < w->len) {
                ssize_t k = write(fd, w->buf + off, w->len - off);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        goto fail;
                }
                off += (size_t) k;
        }
        /* The umask must not narrow a world-readable record; owner-only modes it
         * cannot change. */
        if (((mode & 077) && fchmod(fd, mode) < 0) || renameat(dirfd, tmp, dirfd, name) < 0) {
                r = negative_errno();
                goto fail;
        }
        return 0;
fail:
        (void) unlinkat(dirfd, tmp, 0);
        return r;
}

int random_hex(char *buf, size_t nbytes) {
        static const char hex[] = "0123456789abcdef";
        uint8_t raw[64];
        size_t got = 0;

        if (nbytes > sizeof(raw))
                return -EINVAL;
        while (got < nbytes) {
                ssize_t k = getrandom(raw + got, nbytes - got, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                got += (size_t) k;
        }
        for (size_t i = 0; i < nbytes; i++) {
                buf[2 * i] = hex[raw[i] >> 4];
                buf[2 * i + 1] = hex[raw[i] & 15];
        }
        buf[2 * nbytes] = '\0';
        explicit_bzero(raw, sizeof(raw));
        return 0;
}

char *sanitize_for_log(const char *src, char *dst, size_t size) {
        size_t n = 0;

        if (size == 0)
                return dst;
        for (const unsigned char *p = (const unsigned char *) strempty(src); *p && n + 1 < size; p++)
                dst[n++] = (*p < 0x20 || *p == 0x7f) ? '?' : (char) *p;
        dst[n] = '\0';
        if (src && strlen(src) > n && size > 4)
                memcpy(dst + size - 4, "...", 4);
        return dst;
}
