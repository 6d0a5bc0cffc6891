/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/json.h"

#include <stdlib.h>
#include <string.h>

#include "ephem/macro.h"

/*
 * jansson (2.14) ignores a failed allocation while it collects a string's or a
 * number's characters: the character is dropped and the parse "succeeds" with
 * another value ("jti":"ab12" as "ab2"), so a signed token would say what its signer
 * never signed (docs/fuzzing.md, finding 1). jansson's allocator is therefore
 * wrapped for the duration of each parse: every allocation goes to the functions it
 * had (malloc and free, or whatever the program set) and a failure is counted, per
 * thread. A parse during which any allocation failed is refused, whatever jansson
 * made of it. The functions are put back before returning: this code runs in a
 * dlopen()ed PAM module, and jansson must never be left pointing into a module
 * that libpam unloads.
 */
static json_malloc_t inner_malloc = malloc;
static json_free_t inner_free = free;
static _Thread_local unsigned failed_allocations;

static void *counting_malloc(size_t n) {
        void *p = inner_malloc(n);
        if (!p)
                failed_allocations++;
        return p;
}

static void counting_free(void *p) {
        inner_free(p);
}

/* Parses with the counting allocator. Another thread parsing at the same time (not
 * a case of ephem's programs) would at worst see its failures go uncounted. */
static json_t *loadb_counted(const uint8_t *buf, size_t len, json_error_t *error) {
        json_malloc_t m;
        json_free_t f;
        json_t *j;
        bool wrapped;

        json_get_alloc_funcs(&m, &f);
        wrapped = m != counting_malloc;
        if (wrapped) {
                inner_malloc = m;
                inner_free = f;
                json_set_alloc_funcs(counting_malloc, counting_free);
        }
        failed_allocations = 0;
        j = json_loadb((const char *) buf, len, JSON_REJECT_DUPLICATES, error);
        if (wrapped)
                json_set_alloc_funcs(m, f);
        if (j && failed_allocations > 0) {
                json_decref(j);
                return NULL;
        }
        return j;
}

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

        j = loadb_counted(buf, len, &error);
        if (!j && failed_allocations > 0)
                return EPHEM_R_INTERNAL;
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
        _cleanup_json_ json_t *j = NULL;
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
