/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The wrappers behind failinject.h (pam-u2f's fuzz/wrap.c is the model). ld's --wrap
 * redirects every reference to SYMBOL in the linked objects (the static libephem,
 * libephem-base, the module's sources) to __wrap_SYMBOL, and __real_SYMBOL to the
 * real one; calls made inside shared libraries (libc, jansson, OpenSSL) are not
 * affected unless routed here (failinject_route_libraries()).
 *
 * meson adds -D_FILE_OFFSET_BITS=64, so the code's open() and openat() are open64()
 * and openat64(); _FORTIFY_SOURCE turns some into __open64_2(), __openat64_2() and
 * __read_chk(). All of them are wrapped.
 */
#include "failinject.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

struct __dirstream;

/* Exported: tests/failinject builds a PAM module with these wrappers inside and drives
 * them from the test program through dlsym(). */
#define FAILINJECT_API __attribute__((visibility("default")))

static bool armed, persistent, suspended;
static unsigned long calls, fail_at, injected;

FAILINJECT_API bool failinject_available(void) {
        return true;
}

FAILINJECT_API void failinject_arm(unsigned long n, bool p) {
        calls = 0;
        injected = 0;
        fail_at = n;
        persistent = p;
        armed = true;
}

FAILINJECT_API unsigned long failinject_disarm(void) {
        armed = false;
        return injected;
}

FAILINJECT_API unsigned long failinject_calls(void) {
        return calls;
}

static bool should_fail(int error) {
        if (!armed || suspended)
                return false;
        calls++;
        if (fail_at == 0 || calls < fail_at || (calls > fail_at && !persistent))
                return false;
        injected++;
        errno = error;
        return true;
}

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_open(const char *path, int flags, ...);
int __real_open64(const char *path, int flags, ...);
int __real___open64_2(const char *path, int flags);
int __real_openat(int dirfd, const char *path, int flags, ...);
int __real_openat64(int dirfd, const char *path, int flags, ...);
int __real___openat64_2(int dirfd, const char *path, int flags);
ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __real___read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __real_write(int fd, const void *buf, size_t n);
struct __dirstream *__real_fdopendir(int fd);

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int __wrap_open(const char *path, int flags, ...);
int __wrap_open64(const char *path, int flags, ...);
int __wrap___open64_2(const char *path, int flags);
int __wrap_openat(int dirfd, const char *path, int flags, ...);
int __wrap_openat64(int dirfd, const char *path, int flags, ...);
int __wrap___openat64_2(int dirfd, const char *path, int flags);
ssize_t __wrap_read(int fd, void *buf, size_t n);
ssize_t __wrap___read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
struct __dirstream *__wrap_fdopendir(int fd);

void *__wrap_malloc(size_t size) {
        return should_fail(ENOMEM) ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size) {
        return should_fail(ENOMEM) ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size) {
        return should_fail(ENOMEM) ? NULL : __real_realloc(p, size);
}

char *__wrap_strdup(const char *s) {
        return should_fail(ENOMEM) ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n) {
        return should_fail(ENOMEM) ? NULL : __real_strndup(s, n);
}

/* The mode argument exists when the flags create a file. */
static mode_t mode_arg(int flags, va_list ap) {
        return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t) va_arg(ap, int) : 0;
}

int __wrap_open(const char *path, int flags, ...) {
        va_list ap;
        mode_t mode;

        va_start(ap, flags);
        mode = mode_arg(flags, ap);
        va_end(ap);
        return should_fail(EMFILE) ? -1 : __real_open(path, flags, mode);
}

int __wrap_open64(const char *path, int flags, ...) {
        va_list ap;
        mode_t mode;

        va_start(ap, flags);
        mode = mode_arg(flags, ap);
        va_end(ap);
        return should_fail(EMFILE) ? -1 : __real_open64(path, flags, mode);
}

int __wrap___open64_2(const char *path, int flags) {
        return should_fail(EMFILE) ? -1 : __real___open64_2(path, flags);
}

int __wrap_openat(int dirfd, const char *path, int flags, ...) {
        va_list ap;
        mode_t mode;

        va_start(ap, flags);
        mode = mode_arg(flags, ap);
        va_end(ap);
        return should_fail(EMFILE) ? -1 : __real_openat(dirfd, path, flags, mode);
}

int __wrap_openat64(int dirfd, const char *path, int flags, ...) {
        va_list ap;
        mode_t mode;

        va_start(ap, flags);
        mode = mode_arg(flags, ap);
        va_end(ap);
        return should_fail(EMFILE) ? -1 : __real_openat64(dirfd, path, flags, mode);
}

int __wrap___openat64_2(int dirfd, const char *path, int flags) {
        return should_fail(EMFILE) ? -1 : __real___openat64_2(dirfd, path, flags);
}

ssize_t __wrap_read(int fd, void *buf, size_t n) {
        return should_fail(EIO) ? -1 : __real_read(fd, buf, n);
}

ssize_t __wrap___read_chk(int fd, void *buf, size_t n, size_t buflen) {
        return should_fail(EIO) ? -1 : __real___read_chk(fd, buf, n, buflen);
}

ssize_t __wrap_write(int fd, const void *buf, size_t n) {
        return should_fail(ENOSPC) ? -1 : __real_write(fd, buf, n);
}

struct __dirstream *__wrap_fdopendir(int fd) {
        return should_fail(ENOMEM) ? NULL : __real_fdopendir(fd);
}

/*
 * jansson's parser is left alone: jansson 2.14 ignores a failed allocation while its
 * lexer collects a string or number, and then either returns a document with a
 * character missing or fails an assert() and aborts (akheron/jansson#362, open; fixes
 * proposed in PRs #735 and #747). json.c defends against the first (it parses twice,
 * tests/unit/test-json.c shows it); nothing in ephem can prevent the second. So no
 * call fails while json_loadb() or json_loads() runs; everything else jansson does
 * (objects, arrays, dumps, pack) still can.
 */
json_t *__real_json_loadb(const char *buffer, size_t buflen, size_t flags, json_error_t *error);
json_t *__real_json_loads(const char *input, size_t flags, json_error_t *error);
json_t *__wrap_json_loadb(const char *buffer, size_t buflen, size_t flags, json_error_t *error);
json_t *__wrap_json_loads(const char *input, size_t flags, json_error_t *error);

json_t *__wrap_json_loadb(const char *buffer, size_t buflen, size_t flags, json_error_t *error) {
        bool was = suspended;
        json_t *j;

        suspended = true;
        j = __real_json_loadb(buffer, buflen, flags, error);
        suspended = was;
        return j;
}

json_t *__wrap_json_loads(const char *input, size_t flags, json_error_t *error) {
        bool was = suspended;
        json_t *j;

        suspended = true;
        j = __real_json_loads(input, flags, error);
        suspended = was;
        return j;
}

/* jansson and OpenSSL allocate inside their own shared objects: route them here.
 * (These calls of malloc() and realloc() are themselves wrapped.) */
static void *json_malloc(size_t size) {
        return malloc(size);
}

static void json_free(void *p) {
        free(p);
}

static void *crypto_malloc(size_t size, const char *file, int line) {
        (void) file;
        (void) line;
        return malloc(size);
}

static void *crypto_realloc(void *p, size_t size, const char *file, int line) {
        (void) file;
        (void) line;
        return realloc(p, size);
}

static void crypto_free(void *p, const char *file, int line) {
        (void) file;
        (void) line;
        free(p);
}

FAILINJECT_API bool failinject_route_libraries(void) {
        json_set_alloc_funcs(json_malloc, json_free);
        return CRYPTO_set_mem_functions(crypto_malloc, crypto_realloc, crypto_free) == 1;
}
