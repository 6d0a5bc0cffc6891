/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/userconf.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ephem/macro.h"
#include "ephem/safefile.h"
#include "ephem/strutil.h"

int userconf_init(userconf *u) {
        *u = (userconf){
                .uid_min = USER_DEFAULT_UID_MIN,
                .uid_max = USER_DEFAULT_UID_MAX,
                .home_base = strdup("/home/ephem"),
                .shell = strdup("/bin/sh"),
                .login_shell = strdup("/bin/sh"),
                .gecos = strdup("ephem transient user"),
                .quarantine = USER_DEFAULT_QUARANTINE,
                .quarantine_dir = strdup(EPHEM_QUARANTINE_DIR),
                .state_dir = strdup(EPHEM_STATE_DIR),
        };
        if (!u->home_base || !u->shell || !u->login_shell || !u->gecos || !u->quarantine_dir || !u->state_dir) {
                userconf_done(u);
                return -ENOMEM;
        }
        return 0;
}

void userconf_done(userconf *u) {
        strv_free(u->patterns);
        free(u->home_base);
        free(u->shell);
        free(u->login_shell);
        free(u->gecos);
        free(u->quarantine_dir);
        free(u->skel);
        free(u->state_dir);
        *u = (userconf){ 0 };
}

bool user_name_valid(const char *name) {
        size_t n;

        if (!name || !*name)
                return false;
        n = strlen(name);
        if (n > USER_NAME_MAX || name[n - 1] == '-')
                return false;
        if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
                return false;
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
                        return false;
        return true;
}

/* A pattern is a user name with '*' and '?' allowed: no brackets, no escapes. */
static bool pattern_valid(const char *p) {
        if (!*p || strlen(p) > USER_NAME_MAX)
                return false;
        for (; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '*' ||
                      *p == '?'))
                        return false;
        return true;
}

/* A value for a passwd field: absolute path or text without ':' or control bytes. */
static bool passwd_field_valid(const char *s, bool path) {
        if (path && s[0] != '/')
                return false;
        if (strlen(s) >= USER_PATH_MAX)
                return false;
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == ':' || *s == 0x7f)
                        return false;
        return true;
}

static int set_string(char **field, const char *value) {
        char *c = strdup(value);
        if (!c)
                return -ENOMEM;
        free(*field);
        *field = c;
        return 0;
}

static int parse_uid_range(const char *value, uint32_t *ret_min, uint32_t *ret_max) {
        char buf[32], *dash;
        uint32_t a, b;

        if (strlen(value) >= sizeof(buf))
                return -EINVAL;
        strcpy(buf, value);
        dash = strchr(buf, '-');
        if (!dash)
                return -EINVAL;
        *dash = '\0';
        if (parse_u32(buf, &a) < 0 || parse_u32(dash + 1, &b) < 0)
                return -EINVAL;
        *ret_min = a;
        *ret_max = b;
        return 0;
}

int userconf_set(userconf *u, const char *key, const char *value, unsigned line, conf_error *err) {
        int r;

        if (streq(key, "names")) {
                _cleanup_strv_free_ char **l = NULL;

                r = strv_split_words(value, USER_PATTERNS_MAX, &l);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        conf_error_set(err, line, "names: more than %u patterns", USER_PATTERNS_MAX);
                        return -EINVAL;
                }
                for (char **p = l; *p; p++)
                        if (!pattern_valid(*p)) {
                                conf_error_set(err, line,
                                               "names: '%s' is not a user-name pattern "
                                               "([a-z0-9_-] with * and ?)",
                                               *p);
                                return -EINVAL;
                        }
                strv_free(u->patterns);
                u->patterns = TAKE_PTR(l);
                return 0;
        }
        if (streq(key, "uid_range")) {
                if (parse_uid_range(value, &u->uid_min, &u->uid_max) < 0) {
                        conf_error_set(err, line, "uid_range: expected MIN-MAX");
                        return -EINVAL;
                }
                return 0;
        }
        if (streq(key, "home_base") || streq(key, "shell") || streq(key, "skel") || streq(key, "quarantine_dir") ||
            streq(key, "login_shell")) {
                char **field = streq(key, "shell")            ? &u->shell
                               : streq(key, "skel")           ? &u->skel
                               : streq(key, "login_shell")    ? &u->login_shell
                               : streq(key, "quarantine_dir") ? &u->quarantine_dir
                                                              : &u->home_base;
                if (!passwd_field_valid(value, true) || (streq(key, "home_base") && strlen(value) < 2)) {
                        conf_error_set(err, line, "%s: expected an absolute path without ':'", key);
                        return -EINVAL;
                }
                r = set_string(field, value);
                /* "/home/ephem/" and "/home/ephem" are the same base. */
                if (r == 0 && strlen(*field) > 1 && (*field)[strlen(*field) - 1] == '/')
                        (*field)[strlen(*field) - 1] = '\0';
                return r;
        }
        if (streq(key, "quarantine")) {
                if (parse_duration(value, &u->quarantine) < 0 || u->quarantine > 3650u * 86400u) {
                        conf_error_set(err, line, "quarantine: expected a duration (e.g. 30d)");
                        return -EINVAL;
                }
                return 0;
        }
        if (streq(key, "gecos")) {
                if (!passwd_field_valid(value, false)) {
                        conf_error_set(err, line, "gecos: must not contain ':' or control characters");
                        return -EINVAL;
                }
                return set_string(&u->gecos, value);
        }
        conf_error_set(err, line, "unknown key '%s' in [users]", key);
        return -EINVAL;
}

int userconf_verify(const userconf *u, conf_error *err) {
        if (u->uid_min == 0 || u->uid_min > u->uid_max) {
                conf_error_set(err, 0, "uid_range: must be MIN-MAX with 0 < MIN <= MAX");
                return -EINVAL;
        }
        /* (uid_t)-1 and 65535 are "no user" markers, 65534 is nobody. */
        if (u->uid_max == UINT32_MAX || (u->uid_min <= 65535 && u->uid_max >= 65534)) {
                conf_error_set(err, 0, "uid_range: must not include 65534, 65535 or 4294967295");
                return -EINVAL;
        }
        /* Leave room for "/<name>". */
        if (strlen(u->home_base) + 1 + USER_NAME_MAX >= USER_PATH_MAX) {
                conf_error_set(err, 0, "home_base: path too long");
                return -EINVAL;
        }
        return 0;
}

int userconf_set_state_dir(userconf *u, const char *value, unsigned line, conf_error *err) {
        if (value[0] != '/' || strlen(value) > 200 || !passwd_field_valid(value, true)) {
                conf_error_set(err, line, "state_dir: expected an absolute path");
                return -EINVAL;
        }
        return set_string(&u->state_dir, value);
}

struct users_only {
        userconf *u;
};

static int users_only_assignment(const char *section, const char *section_arg, const char *key, const char *value,
                                 unsigned line, void *userdata, conf_error *err) {
        struct users_only *s = userdata;

        if (streq(section, "host") && streq(key, "state_dir"))
                return userconf_set_state_dir(s->u, value, line, err);
        if (!streq(section, "users"))
                return 0;
        if (*section_arg) {
                conf_error_set(err, line, "[users] takes no argument");
                return -EINVAL;
        }
        return userconf_set(s->u, key, value, line, err);
}

int userconf_load(const char *path, userconf *u, conf_error *err) {
        _cleanup_free_ char *text = NULL;
        struct users_only s = { .u = u };
        int r;

        r = userconf_init(u);
        if (r < 0) {
                conf_error_set(err, 0, "out of memory");
                return r;
        }
        r = safe_read_file(path, SAFEFILE_MAX_SIZE, &text, NULL, NULL);
        if (r < 0) {
                conf_error_set(err, 0, "%s: %s", path, safe_read_strerror(r));
                return r;
        }
        r = conf_parse(text, users_only_assignment, &s, err);
        if (r < 0)
                return r;
        return userconf_verify(u, err);
}

bool userconf_is_transient(const userconf *u, const char *name) {
        if (!user_name_valid(name) || !u->patterns)
                return false;
        for (char **p = u->patterns; *p; p++)
                if (fnmatch(*p, name, FNM_PATHNAME | FNM_PERIOD | FNM_NOESCAPE) == 0)
                        return true;
        return false;
}

uid_t userconf_uid(const userconf *u, const char *name) {
        /* FNV-1a, 64 bit, over a versioned prefix and the name. Changing this changes
         * every transient UID in a fleet: it is part of the on-disk contract. */
        static const char prefix[] = "ephem-uid-v1:";
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        uint64_t span = (uint64_t) u->uid_max - u->uid_min + 1;

        for (const char *p = prefix; *p; p++)
                h = (h ^ (unsigned char) *p) * UINT64_C(0x100000001b3);
        for (const char *p = name; *p; p++)
                h = (h ^ (unsigned char) *p) * UINT64_C(0x100000001b3);
        return (uid_t) (u->uid_min + h % span);
}

int userconf_home(const userconf *u, const char *name, char *buf, size_t size) {
        int n = snprintf(buf, size, "%s/%s", u->home_base, name);
        if (n < 0 || (size_t) n >= size)
                return -ENAMETOOLONG;
        return 0;
}
