/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/conffile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ephem/macro.h"

void conf_error_set(conf_error *err, unsigned line, const char *fmt, ...) {
        va_list ap;

        if (!err)
                return;
        err->line = line;
        va_start(ap, fmt);
        (void) vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r';
}

static char *strip(char *s) {
        char *e;

        while (is_blank(*s))
                s++;
        e = s + strlen(s);
        while (e > s && is_blank(e[-1]))
                *--e = '\0';
        return s;
}

static bool valid_key(const char *k) {
        if (!*k)
                return false;
        for (; *k; k++)
                if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') || *k == '_' ||
                      *k == '.' || *k == '/' || *k == '-'))
                        return false;
        return true;
}

static bool valid_section_word(const char *s, bool allow_upper) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.' ||
                      (allow_upper && *s >= 'A' && *s <= 'Z')))
                        return false;
        return true;
}

int conf_split_assignment(char *line, char **ret_key, char **ret_value) {
        char *eq = strchr(line, '='), *key, *value;

        if (!eq)
                return -EINVAL;
        *eq = '\0';
        key = strip(line);
        value = strip(eq + 1);
        if (!valid_key(key))
                return -EINVAL;
        *ret_key = key;
        *ret_value = value;
        return 0;
}

static int parse_header(char *l, unsigned lineno, char *section, char *arg, conf_error *err) {
        char *body, *sp;
        size_t len = strlen(l);

        if (l[len - 1] != ']') {
                conf_error_set(err, lineno, "section header without closing ']'");
                return -EINVAL;
        }
        l[len - 1] = '\0';
        body = strip(l + 1);
        sp = strpbrk(body, " \t");
        if (sp) {
                *sp = '\0';
                sp = strip(sp + 1);
        }
        if (!valid_section_word(body, false) || (sp && !valid_section_word(sp, true)) ||
            strlen(body) >= CONF_MAX_NAME || (sp && strlen(sp) >= CONF_MAX_NAME)) {
                conf_error_set(err, lineno, "invalid section header");
                return -EINVAL;
        }
        strcpy(section, body);
        strcpy(arg, sp ? sp : "");
        return 0;
}

int conf_parse(const char *text, conf_assignment_fn fn, void *userdata, conf_error *err) {
        char line[CONF_MAX_LINE + 1], section[CONF_MAX_NAME] = "", arg[CONF_MAX_NAME] = "";
        unsigned lineno = 0;
        const char *p = text;

        while (*p) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);
                char *l, *key, *value;
                int r;

                lineno++;
                if (len > CONF_MAX_LINE) {
                        conf_error_set(err, lineno, "line longer than %u bytes", CONF_MAX_LINE);
                        return -E2BIG;
                }
                memcpy(line, p, len);
                line[len] = '\0';
                p += len + (nl ? 1 : 0);

                l = strip(line);
                if (*l == '\0' || *l == '#' || *l == ';')
                        continue;
                if (*l == '[') {
                        r = parse_header(l, lineno, section, arg, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (conf_split_assignment(l, &key, &value) < 0) {
                        conf_error_set(err, lineno, "expected 'key = value'");
                        return -EINVAL;
                }
                r = fn(section, arg, key, value, lineno, userdata, err);
                if (r < 0)
                        return r;
        }
        return 0;
}
