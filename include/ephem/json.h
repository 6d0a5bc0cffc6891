/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ephem/reason.h"

#define JSON_MAX_DEPTH 16u

/*
 * Parses len bytes as one JSON object, strictly: valid UTF-8, no duplicate member
 * names (after unescaping), nesting at most JSON_MAX_DEPTH, at most max_len bytes,
 * no NUL escapes, nothing after the object.
 *
 * Returns EPHEM_OK and *ret, or EPHEM_R_JSON_TOO_LARGE, EPHEM_R_JSON_DEPTH,
 * EPHEM_R_JSON_DUPLICATE, EPHEM_R_JSON, EPHEM_R_INTERNAL (out of memory).
 */
ephem_reason json_parse_object(const uint8_t *buf, size_t len, size_t max_len, json_t **ret);

/* Looks up a member by a path of names separated by '/' ("a/b" is obj.a.b). NULL
 * if any step is missing or not an object. */
json_t *json_lookup_path(const json_t *obj, const char *path);

/* An integer that is a plausible Unix time: 0 <= v <= 253402300799 (year 9999).
 * Reals, strings, booleans are refused. */
bool json_is_timestamp(const json_t *v, int64_t *ret);

/* jansson >= 2.9 provides json_decrefp() for its json_auto_t. */
#define _cleanup_json_ __attribute__((cleanup(json_decrefp)))
