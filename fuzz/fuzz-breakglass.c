/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: break-glass. The first input byte chooses what the rest is:
 *
 *   0  an answer at the token prompt: breakglass_looks_like_code() (parse_code()),
 *      compared with an independent reading of breakglass.h's format
 *   1  an unused code file <codes>/breakglass-1/7: breakglass_list()
 *   2  a used code and its note, used/7 and used/7.info (split at the first NUL;
 *      no NUL: no note)
 *   3  the account's rate-limit record <state>/breakglass/breakglass-1, then
 *      breakglass_use() of a well-formed code whose file is damaged (so that no
 *      scrypt runs): never EPHEM_OK
 *
 * In the -oom variant (fuzz.h), breakglass_use() must not succeed under a failure
 * either (it never succeeds here).
 */
#include <string.h>

#include "ephem/breakglass.h"
#include "ephem/macro.h"
#include "fuzz.h"

#define ACCOUNT "breakglass-1"
#define CODE "07-K3M9QD-7TXW2P-HB4R8N-ZJ6C1V"

/* breakglass.h: "NN-" (1 to 999, at most three digits) and 24 characters of
 * Crockford base32 in any case, O read as 0, I and L as 1, with '-' or ' ' anywhere
 * after the number's dash. */
static bool reference_looks_like_code(const char *s) {
        unsigned n = 0, digits = 0, chars = 0;

        while (*s >= '0' && *s <= '9') {
                n = n * 10 + (unsigned) (*s++ - '0');
                if (++digits > 3)
                        return false;
        }
        if (digits == 0 || n == 0 || n > 999 || *s++ != '-')
                return false;
        for (; *s; s++) {
                char c = *s;
                if (c == '-' || c == ' ')
                        continue;
                if (c >= 'a' && c <= 'z')
                        c = (char) (c - 32);
                if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'U')))
                        return false;
                chars++;
        }
        return chars == BREAKGLASS_CODE_CHARS;
}

static void account_dirs(const fuzz_host *h) {
        _cleanup_free_ char *acct = fuzz_path("codes/" ACCOUNT), *used = fuzz_path("codes/" ACCOUNT "/used");

        (void) h;
        fuzz_mkdir(acct, 0700);
        fuzz_mkdir(used, 0700);
}

static void check_list(const fuzz_host *h, bool used) {
        breakglass_entry *l = NULL;
        size_t n = 0;
        int r = breakglass_list(h->config, ACCOUNT, &l, &n);

        if (r < 0)
                return;
        if (n > 1 || (n == 1 && (l[0].number != 7 || l[0].used != used)))
                violated("breakglass_list made up codes");
        if (n == 1 && strnlen(l[0].used_from, sizeof(l[0].used_from)) >= sizeof(l[0].used_from))
                violated("used_from is not terminated");
        free(l);
}

static bool use_with_damaged_code(const fuzz_host *h, const uint8_t *data, size_t size, unsigned long fail_at,
                                  bool persistent) {
        _cleanup_free_ char *dir = fuzz_path("state/breakglass"), *rec = fuzz_path("state/breakglass/" ACCOUNT),
                            *code = fuzz_path("codes/" ACCOUNT "/7");
        static const char damaged[] = "kdf=scrypt\nn=1\n";
        char detail[256];
        unsigned number = 0;
        ephem_reason r;

        fuzz_mkdir(dir, 0700);
        fuzz_write_file(rec, data, size, 0600);
        fuzz_write_file(code, damaged, strlen(damaged), 0600);
        failinject_arm(fail_at, persistent);
        r = breakglass_use(h->config, ACCOUNT, CODE, &number, detail, sizeof(detail));
        (void) failinject_disarm();
        if (r == EPHEM_OK)
                violated("a damaged code file let a code through");
        if (!fail_at && r != EPHEM_R_BREAKGLASS_STORE && r != EPHEM_R_RATE_LIMITED && r != EPHEM_R_STATE)
                violated("breakglass_use: %s", reason_id(r));
        return r == EPHEM_OK;
}

FUZZ_INITIALIZE(account_dirs(fuzz_host_get()))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const fuzz_host *h = fuzz_host_get();
        unsigned long fail_at = 0;
        bool persistent = false;

        if (failinject_available())
                fuzz_failinject_from_input(&data, &size, &fail_at, &persistent);
        if (size < 1 || size > 4096)
                return 0;
        switch (data[0] % 4) {
        case 0: {
                _cleanup_free_ char *s = fuzz_strndup(data + 1, size - 1);
                bool got;

                if (!s)
                        return 0;
                got = breakglass_looks_like_code(s);
                if (got != reference_looks_like_code(s))
                        violated("breakglass_looks_like_code() says %s", got ? "yes" : "no");
                break;
        }
        case 1: {
                _cleanup_free_ char *code = fuzz_path("codes/" ACCOUNT "/7");

                fuzz_write_file(code, data + 1, size - 1, 0600);
                check_list(h, false);
                (void) unlink(code);
                break;
        }
        case 2: {
                _cleanup_free_ char *code = fuzz_path("codes/" ACCOUNT "/used/7"),
                                    *info = fuzz_path("codes/" ACCOUNT "/used/7.info");
                const uint8_t *nul = memchr(data + 1, '\0', size - 1);
                size_t first = nul ? (size_t) (nul - data - 1) : size - 1;

                fuzz_write_file(code, data + 1, first, 0600);
                if (nul)
                        fuzz_write_file(info, nul + 1, size - 2 - first, 0600);
                check_list(h, true);
                (void) unlink(code);
                (void) unlink(info);
                break;
        }
        case 3:
                (void) use_with_damaged_code(h, data + 1, size - 1, 0, false);
                if (fail_at)
                        (void) use_with_damaged_code(h, data + 1, size - 1, fail_at, persistent);
                fuzz_clear_dir(h->state_dir);
                break;
        }
        return 0;
}
