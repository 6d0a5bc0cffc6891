/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/strutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ephem/macro.h"

int parse_u64(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (!s || !*s)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                unsigned d;
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                d = (unsigned) (*p - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        /* "007" is not a canonical number. */
        if (s[0] == '0' && s[1] != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_u32(const char *s, uint32_t *ret) {
        uint64_t v;
        int r = parse_u64(s, &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

int parse_i64_nonneg(const char *s, int64_t *ret) {
        uint64_t v;
        int r = parse_u64(s, &v);
        if (r < 0)
                return r;
        if (v > INT64_MAX)
                return -ERANGE;
        *ret = (int64_t) v;
        return 0;
}

int parse_duration(const char *s, uint64_t *ret) {
        static const struct {
                char suffix;
                uint64_t mult;
        } units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
        char buf[32];
        size_t len;
        uint64_t mult = 1, v;
        int r;

        if (!s)
                return -EINVAL;
        len = strlen(s);
        if (len == 0 || len >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, len + 1);
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (buf[len - 1] == units[i].suffix) {
                        mult = units[i].mult;
                        buf[--len] = '\0';
                        break;
                }
        r = parse_u64(buf, &v);
        if (r < 0)
                return r;
        if (v > UINT64_MAX / mult)
                return -ERANGE;
        *ret = v * mult;
        return 0;
}

int parse_bool(const char *s, bool *ret) {
        static const char *const yes[] = { "yes", "true", "on", "1" };
        static const char *const no[] = { "no", "false", "off", "0" };

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (streq(s, yes[i])) {
                        *ret = true;
                        return 0;
                }
                if (streq(s, no[i])) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

void strv_free(char **l) {
        if (!l)
                return;
        for (char **p = l; *p; p++)
                free(*p);
        free(l);
}

size_t strv_length(char *const *l) {
        size_t n = 0;
        if (l)
                while (l[n])
                        n++;
        return n;
}

int strv_extend(char ***l, const char *s) {
        size_t n = strv_length(*l);
        char **nl;
        char *copy = strdup(s);

        if (!copy)
                return -ENOMEM;
        nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl) {
                free(copy);
                return -ENOMEM;
        }
        nl[n] = copy;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

int strv_split_words(const char *s, size_t max_words, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;

        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (const char *p = s;;) {
                const char *start;
                char **nl;

                while (is_blank(*p))
                        p++;
                if (!*p)
                        break;
                if (n >= max_words)
                        return -E2BIG;
                start = p;
                while (*p && !is_blank(*p))
                        p++;
                nl = realloc(l, (n + 2) * sizeof(char *));
                if (!nl)
                        return -ENOMEM;
                l = nl;
                l[n] = strndup(start, (size_t) (p - start));
                if (!l[n])
                        return -ENOMEM;
                l[++n] = NULL;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

bool string_is_lower_hex(const char *s, size_t len) {
        if (!s || strlen(s) != len)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

bool string_is_graph_ascii(const char *s) {
        if (!s || !*s)
                return false;
        for (; *s; s++)
                if ((unsigned char) *s < 0x21 || (unsigned char) *s > 0x7e)
                        return false;
        return true;
}

int hex_digit_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

bool string_has_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}
