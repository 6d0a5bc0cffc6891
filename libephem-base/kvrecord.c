/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/kvrecord.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ephem/macro.h"
#include "ephem/strutil.h"

static bool key_valid(const char *k, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
                        return false;
        return true;
}

/* Unescapes in place. A %00 would cut the value short, so it is refused. */
static int unescape(char *v) {
        char *w = v;

        for (char *r = v; *r; r++) {
                if (*r == '%') {
                        int hi = hex_digit_value(r[1]), lo = hi >= 0 ? hex_digit_value(r[2]) : -1;
                        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                                return -EBADMSG;
                        *w++ = (char) (hi << 4 | lo);
                        r += 2;
                } else
                        *w++ = *r;
        }
        *w = '\0';
        return 0;
}

int kv_parse(char *buf, size_t len, kv_field_fn fn, void *userdata) {
        char *p = buf, *end = buf + len;

        while (p < end) {
                char *nl = memchr(p, '\n', (size_t) (end - p));
                char *eq;
                int r;

                if (!nl)
                        return -EBADMSG;
                *nl = '\0';
                eq = strchr(p, '=');
                if (!eq || !key_valid(p, (size_t) (eq - p)))
                        return -EBADMSG;
                *eq = '\0';
                if (unescape(eq + 1) < 0)
                        return -EBADMSG;
                r = fn(p, eq + 1, userdata);
                if (r < 0)
                        return r;
                p = nl + 1;
        }
        return 0;
}

int kv_read_at(int dirfd, const char *name, char *buf, size_t size, size_t *ret_len) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        size_t n = 0;

        if (size < 2)
                return -EINVAL;
        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || st.st_size < 0 || (size_t) st.st_size >= size)
                return -EBADMSG;
        if (st.st_uid != 0 && st.st_uid != geteuid())
                return -EPERM;
        for (;;) {
                ssize_t k = read(fd, buf + n, size - 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n >= size - 1) {
                        /* Full: anything more means the record outgrew its bound. */
                        char extra;
                        if (read(fd, &extra, 1) != 0)
                                return -EBADMSG;
                        break;
                }
        }
        buf[n] = '\0';
        if (memchr(buf, '\0', n))
                return -EBADMSG;
        *ret_len = n;
        return 0;
}
