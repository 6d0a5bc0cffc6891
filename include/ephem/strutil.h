/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parsing of numbers, durations and word lists. libc only: linked by the NSS module.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Strict decimal: digits only, no sign, no leading/trailing junk, no overflow.
 * Returns 0 or -EINVAL/-ERANGE; *ret untouched on failure. */
int parse_u64(const char *s, uint64_t *ret);
int parse_u32(const char *s, uint32_t *ret);

/* The value of a hexadecimal digit (either case), or -1. */
int hex_digit_value(char c);

/* parse_u64() of a value that must fit a non-negative int64_t (Unix times). */
int parse_i64_nonneg(const char *s, int64_t *ret);

/* A duration in seconds: "90", "90s", "15m", "2h", "1d". Returns 0 or -EINVAL/-ERANGE. */
int parse_duration(const char *s, uint64_t *ret);

/* A boolean: yes/no, true/false, on/off, 1/0. Returns 0 or -EINVAL. */
int parse_bool(const char *s, bool *ret);

/* A list of words separated by blanks. Returns 0 and a NULL-terminated array (strv_free() it),
 * -E2BIG when it holds more than max_words words, -ENOMEM. */
int strv_split_words(const char *s, size_t max_words, char ***ret);
void strv_free(char **l);
size_t strv_length(char *const *l);
int strv_extend(char ***l, const char *s); /* appends a copy */

static inline void strv_freep(char ***l) {
        strv_free(*l);
}
#define _cleanup_strv_free_ __attribute__((cleanup(strv_freep)))

/* True when s is exactly len lowercase hex digits (record ids). */
bool string_is_lower_hex(const char *s, size_t len);

/* True when s is non-empty and every byte is printable ASCII (0x21..0x7e). */
bool string_is_graph_ascii(const char *s);

/* True when s holds a control character (below 0x20, or 0x7f): what a value that
 * travels in a line-based record, or ends up in a log, must not hold. */
bool string_has_control(const char *s);
