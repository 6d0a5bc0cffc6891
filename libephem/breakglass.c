/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/breakglass.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ephem/kvrecord.h"
#include "ephem/macro.h"
#include "ephem/state.h"
#include "ephem/strutil.h"

#define SALT_LEN 16u
#define HASH_LEN 32u
#define SCRYPT_MAXMEM (64u * 1024u * 1024u)

/* Crockford's base32: no I, L, O, U, so that codes read aloud survive. */
static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

bool breakglass_account(const ephem_config *c, const char *user) {
        if (!user_name_valid(user))
                return false;
        for (char **p = c->breakglass_accounts; p && *p; p++)
                if (fnmatch(*p, user, FNM_PATHNAME | FNM_PERIOD) == 0)
                        return true;
        return false;
}

/* "NN-" and 24 code characters (with optional '-' or ' ' between groups), any case;
 * O reads as 0, I and L as 1. Fills chars (NUL-terminated) and the number. */
static bool parse_code(const char *code, unsigned *ret_number, char chars[BREAKGLASS_CODE_CHARS + 1]) {
        const char *p = code;
        unsigned n = 0, k = 0;

        if (*p < '0' || *p > '9')
                return false;
        for (int digits = 0; *p >= '0' && *p <= '9'; p++) {
                if (++digits > 3)
                        return false;
                n = n * 10 + (unsigned) (*p - '0');
        }
        if (*p != '-' || n == 0 || n > BREAKGLASS_MAX_CODES)
                return false;
        for (p++; *p; p++) {
                char ch = *p;
                if (ch == '-' || ch == ' ')
                        continue;
                if (ch >= 'a' && ch <= 'z')
                        ch = (char) (ch - 'a' + 'A');
                if (ch == 'O')
                        ch = '0';
                else if (ch == 'I' || ch == 'L')
                        ch = '1';
                if (!strchr(alphabet, ch) || k >= BREAKGLASS_CODE_CHARS)
                        return false;
                chars[k++] = ch;
        }
        if (k != BREAKGLASS_CODE_CHARS)
                return false;
        chars[k] = '\0';
        *ret_number = n;
        return true;
}

bool breakglass_looks_like_code(const char *answer) {
        unsigned n;
        char chars[BREAKGLASS_CODE_CHARS + 1];
        bool ok = parse_code(answer, &n, chars);

        explicit_bzero(chars, sizeof(chars));
        return ok;
}

static int scrypt_hash(const char *chars, const uint8_t *salt, uint8_t out[HASH_LEN]) {
        if (EVP_PBE_scrypt(chars, strlen(chars), salt, SALT_LEN, BREAKGLASS_SCRYPT_N, BREAKGLASS_SCRYPT_R,
                           BREAKGLASS_SCRYPT_P, SCRYPT_MAXMEM, out, HASH_LEN) != 1)
                return -EIO;
        return 0;
}

static void hex_encode(const uint8_t *in, size_t n, char *out) {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = hex[in[i] >> 4];
                out[2 * i + 1] = hex[in[i] & 15];
        }
        out[2 * n] = '\0';
}

/* Exactly 2n hex digits (sscanf's %2x would also take " f", "+f" and "-1"). */
static bool hex_decode(const char *in, uint8_t *out, size_t n) {
        if (strlen(in) != 2 * n)
                return false;
        for (size_t i = 0; i < n; i++) {
                int hi = hex_digit_value(in[2 * i]), lo = hex_digit_value(in[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return false;
                out[i] = (uint8_t) (hi << 4 | lo);
        }
        return true;
}

/* A directory of the code store: root's (or the caller's), nobody else's at all. */
static int open_private_dir(int parent, const char *name, bool create) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && create) {
                if (mkdirat(parent, name, 0700) < 0 && errno != EEXIST)
                        return negative_errno();
                fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 077))
                return -EPERM;
        return TAKE_FD(fd);
}

static int open_store(const ephem_config *c, bool create) {
        const char *path = c->breakglass_dir;
        char parent[256];
        char *slash;
        _cleanup_close_ int pfd = -1;

        if (strlen(path) >= sizeof(parent) || path[0] != '/')
                return -EINVAL;
        strcpy(parent, path);
        slash = strrchr(parent, '/');
        if (slash == parent)
                strcpy(parent, "/");
        else
                *slash = '\0';
        if (create)
                for (char *p = parent + 1; *p; p++)
                        if (*p == '/') {
                                *p = '\0';
                                (void) mkdir(parent, 0755);
                                *p = '/';
                        }
        if (create)
                (void) mkdir(parent, 0755);
        pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0)
                return negative_errno();
        return open_private_dir(pfd, strrchr(path, '/') + 1, create);
}

typedef struct code_file {
        uint8_t salt[SALT_LEN];
        uint8_t hash[HASH_LEN];
        int64_t created, used_at;
        char used_from[64];
        bool have_salt, have_hash;
} code_file;

static int on_code_field(const char *key, const char *value, void *userdata) {
        code_file *f = userdata;
        uint64_t v;

        if (streq(key, "kdf"))
                return streq(value, "scrypt") ? 0 : -EBADMSG;
        if (streq(key, "n") || streq(key, "r") || streq(key, "p")) {
                unsigned want = streq(key, "n")   ? BREAKGLASS_SCRYPT_N
                                : streq(key, "r") ? BREAKGLASS_SCRYPT_R
                                                  : BREAKGLASS_SCRYPT_P;
                return parse_u64(value, &v) == 0 && v == want ? 0 : -EBADMSG;
        }
        if (streq(key, "salt")) {
                f->have_salt = hex_decode(value, f->salt, SALT_LEN);
                return f->have_salt ? 0 : -EBADMSG;
        }
        if (streq(key, "hash")) {
                f->have_hash = hex_decode(value, f->hash, HASH_LEN);
                return f->have_hash ? 0 : -EBADMSG;
        }
        if ((streq(key, "created") || streq(key, "used_at")) && parse_u64(value, &v) == 0 && v <= INT64_MAX)
                *(streq(key, "created") ? &f->created : &f->used_at) = (int64_t) v;
        if (streq(key, "used_from") && strlen(value) < sizeof(f->used_from))
                strcpy(f->used_from, value);
        return 0;
}

/* Reads a code file, which must be root's and private (0600). */
static int read_code(int dfd, const char *name, code_file *ret) {
        char buf[1024];
        size_t len;
        struct stat st;
        int r;

        *ret = (code_file){ 0 };
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 077))
                return -EPERM;
        r = kv_read_at(dfd, name, buf, sizeof(buf), &len);
        if (r < 0)
                return r;
        r = kv_parse(buf, len, on_code_field, ret);
        explicit_bzero(buf, sizeof(buf));
        return r;
}

/* ---- rate limiting: <state>/breakglass/<account>: failures, last ---- */

typedef struct failures {
        uint64_t count;
        int64_t last_ms; /* milliseconds: a 1 s backoff must not round to nothing */
} failures;

static int on_fail_field(const char *key, const char *value, void *userdata) {
        failures *f = userdata;
        uint64_t v;

        if (parse_u64(value, &v) < 0)
                return 0;
        if (streq(key, "failures"))
                f->count = v;
        else if (streq(key, "last_ms") && v <= INT64_MAX)
                f->last_ms = (int64_t) v;
        return 0;
}

/* Milliseconds to wait after `count` wrong codes: 1 s, 2 s, 4 s, ... at most 5 min. */
static int64_t backoff_ms(uint64_t count) {
        return 1000 * (count == 0 ? 0 : count > 9 ? BREAKGLASS_BACKOFF_MAX : (int64_t) (1u << (count - 1)));
}

static int64_t now_ms(void) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Opens the account's failure record under an exclusive lock; returns the lock fd. */
static int failures_lock(const ephem_config *c, const char *account, int *ret_dir, failures *ret) {
        _cleanup_close_ int dfd = state_open_subdir(c->state_dir, "breakglass", 0700);
        char lockname[USER_NAME_MAX + 8], buf[256];
        size_t len;
        int lfd;

        if (dfd < 0)
                return dfd;
        (void) snprintf(lockname, sizeof(lockname), "%s.lock", account);
        lfd = openat(dfd, lockname, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (lfd < 0)
                return negative_errno();
        if (flock(lfd, LOCK_EX) < 0) {
                close(lfd);
                return negative_errno();
        }
        *ret = (failures){ 0 };
        if (kv_read_at(dfd, account, buf, sizeof(buf), &len) == 0)
                (void) kv_parse(buf, len, on_fail_field, ret);
        *ret_dir = TAKE_FD(dfd);
        return lfd;
}

static void failures_store(int dfd, const char *account, const failures *f) {
        kv_writer w = { 0 };

        if (f->count == 0) {
                (void) unlinkat(dfd, account, 0);
                return;
        }
        kvw_addf(&w, "failures", "%" PRIu64, f->count);
        kvw_addf(&w, "last_ms", "%" PRId64, f->last_ms);
        (void) kvw_commit_at(&w, dfd, account, 0600);
        kvw_done(&w);
}

static ephem_reason fail(char *detail, size_t size, ephem_reason r, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static ephem_reason fail(char *detail, size_t size, ephem_reason r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        (void) vsnprintf(detail, size, fmt, ap);
        va_end(ap);
        return r;
}

/* Whether `name` exists in the subdirectory `sub` of dfd (used/, revoked/). */
static bool number_in_subdir(int dfd, const char *sub, const char *name) {
        _cleanup_close_ int d = openat(dfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;

        return d >= 0 && fstatat(d, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int on_issued_field(const char *key, const char *value, void *userdata) {
        uint32_t *n = userdata, v;

        if (!streq(key, "issued"))
                return 0;
        if (*n != UINT32_MAX || parse_u32(value, &v) < 0 || v > BREAKGLASS_MAX_CODES)
                return -EBADMSG; /* repeated or damaged */
        *n = v;
        return 0;
}

/* The highest code number ever issued for the account, from its "issued" record
 * (0: none yet). Numbers are never reused: a number printed on a sheet, used or
 * withdrawn, never names another code. A damaged record is an error (-EBADMSG). */
static int read_issued(int acct, unsigned *ret) {
        char buf[128];
        size_t len;
        uint32_t n = UINT32_MAX;
        int r;

        r = kv_read_at(acct, "issued", buf, sizeof(buf), &len);
        if (r == -ENOENT) {
                *ret = 0;
                return 0;
        }
        if (r < 0)
                return r;
        r = kv_parse(buf, len, on_issued_field, &n);
        if (r < 0 || n == UINT32_MAX)
                return -EBADMSG;
        *ret = n;
        return 0;
}

ephem_reason breakglass_use(const ephem_config *c, const char *account, const char *code, unsigned *ret_number,
                            char *detail, size_t detail_size) {
        _cleanup_close_ int store = -1, acct = -1, used = -1, fdir = -1, lock = -1;
        char chars[BREAKGLASS_CODE_CHARS + 1] = "", name[8];
        uint8_t hash[HASH_LEN];
        code_file f;
        failures fl = { 0 };
        int64_t now;
        unsigned number = 0;
        ephem_reason result;
        int r;

        detail[0] = '\0';
        if (!breakglass_account(c, account))
                return fail(detail, detail_size, EPHEM_R_CODE_INVALID, "not an emergency account");
        if (!parse_code(code, &number, chars))
                return fail(detail, detail_size, EPHEM_R_CODE_INVALID, "not a break-glass code");

        store = open_store(c, false);
        if (store == -ENOENT) {
                result = fail(detail, detail_size, EPHEM_R_CODE_INVALID, "no codes were generated");
                goto done;
        }
        if (store < 0) {
                result = fail(detail, detail_size, EPHEM_R_BREAKGLASS_STORE, "%s: %s", c->breakglass_dir,
                              store == -EPERM ? "must be a directory of root's with mode 0700" : strerror(-store));
                goto done;
        }
        acct = open_private_dir(store, account, false);
        if (acct == -ENOENT) {
                result = fail(detail, detail_size, EPHEM_R_CODE_INVALID, "no codes for this account");
                goto done;
        }
        if (acct < 0) {
                result = fail(detail, detail_size, EPHEM_R_BREAKGLASS_STORE, "%s/%s: %s", c->breakglass_dir, account,
                              acct == -EPERM ? "must be a directory of root's with mode 0700" : strerror(-acct));
                goto done;
        }

        lock = failures_lock(c, account, &fdir, &fl);
        if (lock < 0) {
                result = fail(detail, detail_size, EPHEM_R_STATE, "rate-limit record: %s", strerror(-lock));
                goto done;
        }
        /* A last failure in the future (the clock was set back, or the record is
         * damaged) does not count: "never a permanent lockout" must hold whatever the
         * record says, and last_ms + backoff must not overflow. */
        now = now_ms();
        if (fl.count > 0 && fl.last_ms <= now && now - fl.last_ms < backoff_ms(fl.count)) {
                result = fail(detail, detail_size, EPHEM_R_RATE_LIMITED,
                              "%" PRIu64 " wrong attempts; next in %" PRId64 " ms", fl.count,
                              backoff_ms(fl.count) - (now - fl.last_ms));
                goto done;
        }
        /* The lock is for the count, not for the slow hash. */
        closep(&lock);

        (void) snprintf(name, sizeof(name), "%u", number);
        r = read_code(acct, name, &f);
        if (r == -EPERM || r == -EBADMSG) {
                result = fail(detail, detail_size, EPHEM_R_BREAKGLASS_STORE,
                              "code file %s/%s/%s must be root's, mode 0600, and well-formed", c->breakglass_dir,
                              account, name);
                goto done;
        }
        if (r < 0 || !f.have_salt || !f.have_hash) {
                struct stat st;
                bool was_used = r == -ENOENT && fstatat(acct, "used", &st, 0) == 0 &&
                                (used = openat(acct, "used", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0 &&
                                fstatat(used, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
                bool was_revoked = !was_used && r == -ENOENT && number_in_subdir(acct, "revoked", name);
                /* The same work as for a real code: the time does not tell which numbers exist. */
                uint8_t dummy_salt[SALT_LEN] = { 0 };
                (void) scrypt_hash(chars, dummy_salt, hash);
                result = was_used      ? fail(detail, detail_size, EPHEM_R_CODE_USED, "code %u was used before", number)
                         : was_revoked ? fail(detail, detail_size, EPHEM_R_CODE_INVALID, "code %u was revoked", number)
                                       : fail(detail, detail_size, EPHEM_R_CODE_INVALID, "no code %u", number);
                if (!was_used)
                        goto count_failure;
                goto done;
        }
        if (scrypt_hash(chars, f.salt, hash) < 0) {
                result = fail(detail, detail_size, EPHEM_R_INTERNAL, "scrypt failed");
                goto done;
        }
        if (CRYPTO_memcmp(hash, f.hash, HASH_LEN) != 0) {
                result = fail(detail, detail_size, EPHEM_R_CODE_INVALID, "wrong code %u", number);
                goto count_failure;
        }

        /* The burn: one rename wins; then make it durable before reporting success. */
        used = open_private_dir(acct, "used", true);
        if (used < 0) {
                result = fail(detail, detail_size, EPHEM_R_BREAKGLASS_STORE, "used/: %s", strerror(-used));
                goto done;
        }
        if (renameat(acct, name, used, name) < 0) {
                result = errno == ENOENT ? fail(detail, detail_size, EPHEM_R_CODE_USED, "code %u was just used", number)
                                         : fail(detail, detail_size, EPHEM_R_BREAKGLASS_STORE, "burning code %u: %s",
                                                number, strerror(errno));
                goto done;
        }
        if (fsync(used) < 0 || fsync(acct) < 0) {
                result = fail(detail, detail_size, EPHEM_R_BREAKGLASS_STORE, "code %u burned, but not durably", number);
                goto done;
        }
        lock = failures_lock(c, account, &fdir, &fl);
        if (lock >= 0) {
                fl.count = 0;
                failures_store(fdir, account, &fl);
        }
        *ret_number = number;
        result = EPHEM_OK;
        goto done;

count_failure:
        closep(&fdir);
        lock = failures_lock(c, account, &fdir, &fl);
        if (lock >= 0) {
                fl.count++;
                fl.last_ms = now_ms();
                failures_store(fdir, account, &fl);
        }
done:
        explicit_bzero(chars, sizeof(chars));
        explicit_bzero(hash, sizeof(hash));
        return result;
}

int breakglass_generate(const ephem_config *c, const char *account, unsigned count, char ***ret_codes,
                        unsigned **ret_numbers, char *detail, size_t detail_size) {
        _cleanup_close_ int store = -1, acct = -1;
        breakglass_entry *existing = NULL;
        size_t n_existing = 0;
        unsigned next = 1;
        char **codes;
        unsigned *numbers;
        int r;

        if (!user_name_valid(account) || count == 0 || count > 100) {
                (void) snprintf(detail, detail_size, "an account name and 1 to 100 codes");
                return -EINVAL;
        }
        store = open_store(c, true);
        if (store < 0) {
                (void) snprintf(detail, detail_size, "%s: %s", c->breakglass_dir,
                                store == -EPERM ? "must be a directory of root's with mode 0700" : strerror(-store));
                return store;
        }
        acct = open_private_dir(store, account, true);
        if (acct < 0) {
                (void) snprintf(detail, detail_size, "%s/%s: %s", c->breakglass_dir, account, strerror(-acct));
                return acct;
        }
        /* Numbers are never reused: a used or withdrawn code's number stays taken. */
        r = breakglass_list(c, account, &existing, &n_existing);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_existing; i++)
                if (existing[i].number >= next)
                        next = existing[i].number + 1;
        free(existing);
        {
                unsigned issued;
                r = read_issued(acct, &issued);
                if (r < 0) {
                        (void) snprintf(detail, detail_size, "%s/%s/issued: %s", c->breakglass_dir, account,
                                        r == -EBADMSG ? "damaged (it must say issued=N)" : strerror(-r));
                        return r;
                }
                if (issued >= next)
                        next = issued + 1;
        }
        if (next + count - 1 > BREAKGLASS_MAX_CODES) {
                (void) snprintf(detail, detail_size,
                                "numbers above %u would be needed (ephemctl(8), breakglass generate: starting over)",
                                BREAKGLASS_MAX_CODES);
                return -E2BIG;
        }
        /* The numbers are taken, durably, before any code exists. */
        {
                kv_writer w = { 0 };
                kvw_addf(&w, "issued", "%u", next + count - 1);
                r = kvw_commit_at(&w, acct, "issued", 0600);
                kvw_done(&w);
                if (r < 0) {
                        (void) snprintf(detail, detail_size, "%s/%s/issued: %s", c->breakglass_dir, account,
                                        strerror(-r));
                        return r;
                }
        }

        codes = calloc(count + 1, sizeof(char *));
        numbers = calloc(count, sizeof(unsigned));
        if (!codes || !numbers) {
                free(codes);
                free(numbers);
                return -ENOMEM;
        }
        for (unsigned i = 0; i < count; i++) {
                uint8_t raw[BREAKGLASS_CODE_CHARS], salt[SALT_LEN], hash[HASH_LEN];
                char chars[BREAKGLASS_CODE_CHARS + 1], salt_hex[2 * SALT_LEN + 1], hash_hex[2 * HASH_LEN + 1], name[8];
                kv_writer w = { 0 };
                unsigned number = next + i;

                if (getrandom(raw, sizeof(raw), 0) != (ssize_t) sizeof(raw) ||
                    getrandom(salt, sizeof(salt), 0) != (ssize_t) sizeof(salt)) {
                        r = -EIO;
                        goto fail;
                }
                /* 256 is a multiple of 32: every character is uniform, 5 bits each. */
                for (unsigned k = 0; k < BREAKGLASS_CODE_CHARS; k++)
                        chars[k] = alphabet[raw[k] & 31];
                chars[BREAKGLASS_CODE_CHARS] = '\0';
                explicit_bzero(raw, sizeof(raw));
                r = scrypt_hash(chars, salt, hash);
                if (r < 0)
                        goto fail;
                codes[i] = malloc(48);
                if (!codes[i]) {
                        r = -ENOMEM;
                        goto fail;
                }
                (void) snprintf(codes[i], 48, "%02u-%.6s-%.6s-%.6s-%.6s", number, chars, chars + 6, chars + 12,
                                chars + 18);
                explicit_bzero(chars, sizeof(chars));
                hex_encode(salt, SALT_LEN, salt_hex);
                hex_encode(hash, HASH_LEN, hash_hex);
                kvw_add(&w, "kdf", "scrypt");
                kvw_addf(&w, "n", "%u", BREAKGLASS_SCRYPT_N);
                kvw_addf(&w, "r", "%u", BREAKGLASS_SCRYPT_R);
                kvw_addf(&w, "p", "%u", BREAKGLASS_SCRYPT_P);
                kvw_add(&w, "salt", salt_hex);
                kvw_add(&w, "hash", hash_hex);
                kvw_addf(&w, "created", "%" PRId64, (int64_t) time(NULL));
                (void) snprintf(name, sizeof(name), "%u", number);
                r = kvw_commit_at(&w, acct, name, 0600);
                kvw_done(&w);
                if (r < 0)
                        goto fail;
                numbers[i] = number;
        }
        if (fsync(acct) < 0) {
                r = negative_errno();
                goto fail;
        }
        *ret_codes = codes;
        *ret_numbers = numbers;
        return 0;
fail:
        (void) snprintf(detail, detail_size, "writing code files: %s", strerror(-r));
        breakglass_codes_free(codes);
        free(numbers);
        return r;
}

void breakglass_codes_free(char **codes) {
        if (!codes)
                return;
        for (char **p = codes; *p; p++)
                erase_and_free(*p);
        free(codes);
}

static int list_dir(int dfd, bool used, breakglass_entry **l, size_t *n) {
        struct dirent *de;
        DIR *d = dir_open_at(dfd);

        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                uint32_t number;
                code_file f;
                breakglass_entry *nl;

                if (parse_u32(de->d_name, &number) < 0 || number == 0 || number > BREAKGLASS_MAX_CODES)
                        continue;
                if (read_code(dfd, de->d_name, &f) < 0)
                        continue;
                nl = realloc(*l, (*n + 1) * sizeof(**l));
                if (!nl) {
                        closedir(d);
                        return -ENOMEM;
                }
                *l = nl;
                (*l)[(*n)++] = (breakglass_entry){ .number = number, .used = used, .created = f.created };
                if (used) {
                        char info[16], buf[512];
                        size_t len;
                        code_file inf = { 0 };
                        (void) snprintf(info, sizeof(info), "%u.info", number);
                        if (kv_read_at(dfd, info, buf, sizeof(buf), &len) == 0 &&
                            kv_parse(buf, len, on_code_field, &inf) == 0) {
                                (*l)[*n - 1].used_at = inf.used_at;
                                memcpy((*l)[*n - 1].used_from, inf.used_from, sizeof(inf.used_from));
                        }
                }
        }
        closedir(d);
        return 0;
}

static int cmp_entry(const void *a, const void *b) {
        const breakglass_entry *x = a, *y = b;
        return (x->number > y->number) - (x->number < y->number);
}

int breakglass_list(const ephem_config *c, const char *account, breakglass_entry **ret, size_t *ret_n) {
        _cleanup_close_ int store = -1, acct = -1, used = -1;
        breakglass_entry *l = NULL;
        size_t n = 0;
        int r;

        if (!user_name_valid(account))
                return -EINVAL;
        store = open_store(c, false);
        if (store < 0 && store != -ENOENT)
                return store;
        acct = store >= 0 ? open_private_dir(store, account, false) : -ENOENT;
        if (acct == -ENOENT) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (acct < 0)
                return acct;
        r = list_dir(acct, false, &l, &n);
        used = openat(acct, "used", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (r == 0 && used >= 0)
                r = list_dir(used, true, &l, &n);
        if (r < 0) {
                free(l);
                return r;
        }
        if (n > 0) /* qsort()'s base must not be NULL, even for no elements */
                qsort(l, n, sizeof(*l), cmp_entry);
        *ret = l;
        *ret_n = n;
        return 0;
}

int breakglass_revoke(const ephem_config *c, const char *account, unsigned number) {
        breakglass_entry *l = NULL;
        _cleanup_close_ int store = -1, acct = -1, revoked = -1;
        size_t n = 0;
        int r, removed = 0, failed = 0;

        r = breakglass_list(c, account, &l, &n);
        if (r < 0)
                return r;
        store = open_store(c, false);
        acct = store >= 0 ? open_private_dir(store, account, false) : store;
        if (acct < 0) {
                free(l);
                return acct == -ENOENT ? 0 : acct;
        }
        for (size_t i = 0; i < n; i++) {
                char name[8];
                if (l[i].used || (number != 0 && l[i].number != number))
                        continue;
                (void) snprintf(name, sizeof(name), "%u", l[i].number);
                /* First an empty marker in revoked/, so that the code is refused as
                 * revoked rather than unknown (best effort: the "issued" record keeps
                 * the number taken), then the code file goes: deleting needs no
                 * space, and it is what withdraws the code. */
                if (revoked < 0)
                        revoked = open_private_dir(acct, "revoked", true);
                if (revoked >= 0) {
                        int m = openat(revoked, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
                        if (m >= 0)
                                close(m);
                }
                if (unlinkat(acct, name, 0) == 0)
                        removed++;
                else if (errno != ENOENT && failed == 0)
                        failed = negative_errno();
        }
        free(l);
        if (revoked >= 0)
                (void) fsync(revoked);
        if (fsync(acct) < 0 && failed == 0)
                failed = negative_errno();
        /* A code that could not be withdrawn is an error, whatever else was. */
        return failed < 0 ? failed : removed;
}

void breakglass_note_use(const ephem_config *c, const char *account, unsigned number, const char *rhost, int64_t now) {
        _cleanup_close_ int store = open_store(c, false), acct = -1, used = -1;
        kv_writer w = { 0 };
        char name[16];

        if (store < 0 || (acct = open_private_dir(store, account, false)) < 0 ||
            (used = open_private_dir(acct, "used", false)) < 0)
                return;
        (void) snprintf(name, sizeof(name), "%u.info", number);
        kvw_addf(&w, "used_at", "%" PRId64, now);
        kvw_add(&w, "used_from", rhost ? rhost : "local");
        (void) kvw_commit_at(&w, used, name, 0600);
        kvw_done(&w);
}
