/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Small helpers used across ephem. libc only: linked by the NSS module.
 */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _public_ __attribute__((visibility("default")))
#define _pure_ __attribute__((pure))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_result_ __attribute__((warn_unused_result))
#define _likely_(x) (__builtin_expect(!!(x), 1))
#define _unlikely_(x) (__builtin_expect(!!(x), 0))

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                (void) close(*fd);
                errno = saved;
        }
}
#define _cleanup_close_ _cleanup_(closep)

/* Frees a NUL-terminated secret after wiping it. */
static inline void erase_and_free(char *s) {
        if (!s)
                return;
        explicit_bzero(s, strlen(s));
        free(s);
}
static inline void erase_and_freep(char **s) {
        erase_and_free(*s);
}
#define _cleanup_erase_free_ _cleanup_(erase_and_freep)

/* Returns the pointer and sets the variable to NULL: hands ownership on. */
#define TAKE_PTR(p)                       \
        ({                                \
                __typeof__(p) _tp_ = (p); \
                (p) = NULL;               \
                _tp_;                     \
        })

#define TAKE_FD(fd)               \
        ({                        \
                int _tfd_ = (fd); \
                (fd) = -1;        \
                _tfd_;            \
        })

/* Always < 0 (-EIO when errno is not a plausible error number): callers return it as
 * a failure and must never see 0. (The last test also tells static analyzers so.) */
static inline int negative_errno(void) {
        int e = errno, r = e > 0 && e < 4096 ? -e : -EIO;
        return r < 0 ? r : -EIO;
}

static inline int streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static inline const char *strempty(const char *s) {
        return s ? s : "";
}
