/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the record parser the NSS module runs on whatever lies in
 * <state>/users: kv_parse() and userdb_parse(). Beyond "no crash, no overread"
 * (ASan, UBSan), it checks what userdb.h promises of every record it accepts: a valid
 * name, UID = GID inside the configured range and never 0, absolute paths, no ':' or
 * control byte in any passwd field, at most USER_GROUPS_MAX groups, none of them 0.
 *
 * Built with -Dfuzz=true by clang (docs/fuzzing.md); without libFuzzer, the same
 * function runs the checked-in corpus as the test userdb-parser-corpus
 * (fuzz-main.c, tests/corpus).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ephem/kvrecord.h"
#include "ephem/macro.h"
#include "ephem/strutil.h"
#include "ephem/userdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define violated(...)                                               \
        do {                                                        \
                fprintf(stderr, "contract violated: " __VA_ARGS__); \
                fputc('\n', stderr);                                \
                abort();                                            \
        } while (0)

static bool passwd_field_ok(const char *s, size_t size) {
        size_t n = strnlen(s, size);

        if (n >= size)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == ':' || s[i] == 0x7f)
                        return false;
        return true;
}

static int on_field(const char *key, const char *value, void *userdata) {
        unsigned *n = userdata;

        if (!*key)
                violated("kv_parse handed out an empty key");
        for (const char *k = key; *k; k++)
                if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_'))
                        violated("kv_parse handed out key '%s'", key);
        (void) value; /* unescaped: any byte but NUL, %0A included; userdb_parse() judges */
        (*n)++;
        return 0;
}

static const userconf *config(void) {
        static userconf u;
        static bool initialised;

        if (!initialised) {
                if (userconf_init(&u) < 0)
                        abort();
                initialised = true;
        }
        return &u;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const userconf *u = config();
        user_record r;
        unsigned fields = 0, lines = 0;
        char *buf;
        int k;

        /* kv_read_at() hands the parser at most 4095 bytes (its buffer is 4096). */
        if (size >= 4096)
                return 0;
        buf = malloc(size + 1);
        if (!buf)
                return 0;

        memcpy(buf, data, size);
        buf[size] = '\0';
        for (size_t i = 0; i < size; i++)
                lines += buf[i] == '\n';
        k = kv_parse(buf, size, on_field, &fields);
        if (k == 0 && fields != lines)
                violated("kv_parse accepted %u lines but reported %u fields", lines, fields);
        if (k < 0 && k != -EBADMSG)
                violated("kv_parse returned %d", k);

        memcpy(buf, data, size);
        buf[size] = '\0';
        k = userdb_parse(u, buf, size, &r);
        if (k < 0 && k != -EBADMSG)
                violated("userdb_parse returned %d", k);
        if (k == 0) {
                if (!user_name_valid(r.name))
                        violated("accepted name '%s'", r.name);
                if (r.uid == 0 || r.gid == 0 || r.uid != r.gid)
                        violated("accepted uid %u gid %u", (unsigned) r.uid, (unsigned) r.gid);
                if (r.uid < u->uid_min || r.uid > u->uid_max)
                        violated("accepted uid %u outside the range", (unsigned) r.uid);
                if (!passwd_field_ok(r.gecos, sizeof(r.gecos)) || !passwd_field_ok(r.home, sizeof(r.home)) ||
                    !passwd_field_ok(r.shell, sizeof(r.shell)))
                        violated("accepted a field with ':' or a control byte");
                if (r.home[0] != '/' || r.shell[0] != '/')
                        violated("accepted relative paths '%s', '%s'", r.home, r.shell);
                if (r.n_groups > USER_GROUPS_MAX)
                        violated("accepted %zu groups", r.n_groups);
                for (size_t i = 0; i < r.n_groups; i++)
                        if (r.groups[i] == 0 || r.groups[i] == (gid_t) -1)
                                violated("accepted group %u", (unsigned) r.groups[i]);
                if (r.created < 0 || r.expires < 0)
                        violated("accepted a negative time");
                if (r.synthesized)
                        violated("a parsed record claims to be synthesized");
        }
        free(buf);
        return 0;
}
