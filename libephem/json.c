/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/json.h"

#include <string.h>

#include "ephem/macro.h"

/* jansson's own nesting limit is 2048; ours is far lower and checked before jansson
 * sees the input, on the raw bytes (brackets inside strings do not count). */
static bool depth_ok(const uint8_t *buf, size_t len) {
        unsigned depth = 0;
        bool in_string = false, escaped = false;

        for (size_t i = 0; i < len; i++) {
                uint8_t c = buf[i];
                if (in_string) {
                        if (escaped)
                                escaped = false;
                        else if (c == '\\')
                                escaped = true;
                        else if (c == '"')
                                in_string = false;
                        continue;
                }
                if (c == '"')
                        in_string = true;
                else if (c == '{' || c == '[') {
                        if (++depth > JSON_MAX_DEPTH)
                                return false;
                } else if ((c == '}' || c == ']') && depth > 0)
                        depth--;
        }
        return true;
}

static ephem_reason load(const uint8_t *buf, size_t len, json_t **ret) {
        json_error_t error = { 0 }; /* jansson leaves it unset when some allocations fail */
        json_t *j;

        j = json_loadb((const char *) buf, len, JSON_REJECT_DUPLICATES, &error);
        if (!j) {
                switch (json_error_code(&error)) {
                case json_error_duplicate_key:
                        return EPHEM_R_JSON_DUPLICATE;
                case json_error_out_of_memory:
                        return EPHEM_R_INTERNAL;
                default:
                        /* jansson 2.14 reports some allocation failures as syntax errors;
                         * either way the input is refused. */
                        return EPHEM_R_JSON;
                }
        }
        *ret = j;
        return EPHEM_OK;
}

ephem_reason json_parse_object(const uint8_t *buf, size_t len, size_t max_len, json_t **ret) {
        _cleanup_json_ json_t *j = NULL, *again = NULL;
        ephem_reason r;

        if (len > max_len)
                return EPHEM_R_JSON_TOO_LARGE;
        if (!depth_ok(buf, len))
                return EPHEM_R_JSON_DEPTH;
        r = load(buf, len, &j);
        if (r != EPHEM_OK)
                return r;
        if (!json_is_object(j))
                return EPHEM_R_JSON;
        /* jansson (2.14) ignores a failed allocation while it collects a string's or a
         * number's characters: the character is dropped and the parse "succeeds" with
         * another value ("jti":"ab12" as "ab2"). A signed token would then say what its
         * signer never signed. So the input is parsed twice: a failure in one parse
         * cannot change both the same way, and results that differ are refused. */
        if (load(buf, len, &again) != EPHEM_OK || !json_equal(j, again))
                return EPHEM_R_INTERNAL;
        *ret = TAKE_PTR(j);
        return EPHEM_OK;
}

json_t *json_lookup_path(const json_t *obj, const char *path) {
        char name[256];
        const char *p = path;
        json_t *cur = (json_t *) obj;

        for (;;) {
                const char *slash = strchr(p, '/');
                size_t n = slash ? (size_t) (slash - p) : strlen(p);

                if (!json_is_object(cur) || n == 0 || n >= sizeof(name))
                        return NULL;
                memcpy(name, p, n);
                name[n] = '\0';
                cur = json_object_get(cur, name);
                if (!cur || !slash)
                        return cur;
                p = slash + 1;
        }
}

bool json_is_timestamp(const json_t *v, int64_t *ret) {
        json_int_t i;

        if (!json_is_integer(v))
                return false;
        i = json_integer_value(v);
        if (i < 0 || i > INT64_C(253402300799))
                return false;
        *ret = (int64_t) i;
        return true;
}
