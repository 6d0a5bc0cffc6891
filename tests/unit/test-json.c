/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Strict JSON for token headers and payloads: one object, no duplicates, bounded depth. */
#include "test-cmocka.h"

#include <stdio.h>
#include <stdlib.h>

#include "ephem/json.h"
#include "ephem/macro.h"

static ephem_reason parse_len(const char *s, size_t len, size_t max) {
        json_t *j = NULL;
        ephem_reason r = json_parse_object((const uint8_t *) s, len, max, &j);

        if (r == EPHEM_OK)
                assert_true(json_is_object(j));
        else
                assert_null(j);
        json_decref(j);
        return r;
}

static ephem_reason parse(const char *s) {
        return parse_len(s, strlen(s), 65536);
}

/* An object holding `depth` levels in total: {"a":[[...]]}. */
static char *nested(unsigned depth) {
        size_t n = 2 * depth + 16;
        char *s = malloc(n), *p = s;

        assert_non_null(s);
        p += sprintf(p, "{\"a\":");
        for (unsigned i = 1; i < depth; i++)
                *p++ = '[';
        *p++ = '1';
        for (unsigned i = 1; i < depth; i++)
                *p++ = ']';
        *p++ = '}';
        *p = '\0';
        return s;
}

static void test_plain_object_accepted(void **state _unused_) {
        assert_reason(parse("{\"iss\":\"x\",\"exp\":1,\"a\":[1,{\"b\":null}]}"), EPHEM_OK);
        assert_reason(parse("{}"), EPHEM_OK);
        assert_reason(parse(" {\"a\":1} \n"), EPHEM_OK);
}

static void test_duplicate_keys_refused(void **state _unused_) {
        assert_reason(parse("{\"exp\":1,\"exp\":2}"), EPHEM_R_JSON_DUPLICATE);
        assert_reason(parse("{\"a\":{\"x\":1,\"x\":1}}"), EPHEM_R_JSON_DUPLICATE);
}

static void test_escaped_duplicate_keys_refused(void **state _unused_) {
        /* "e\u0078p" is "exp" once unescaped: a lax parser keeps one of the two. */
        assert_reason(parse("{\"exp\":1,\"e\\u0078p\":99999999999}"), EPHEM_R_JSON_DUPLICATE);
        assert_reason(parse("{\"\\u0061lg\":\"none\",\"alg\":\"ES256\"}"), EPHEM_R_JSON_DUPLICATE);
}

static void test_depth_16_accepted_17_refused(void **state _unused_) {
        _cleanup_free_ char *ok = nested(JSON_MAX_DEPTH), *deep = nested(JSON_MAX_DEPTH + 1), *deeper = nested(20);

        assert_reason(parse(ok), EPHEM_OK);
        assert_reason(parse(deep), EPHEM_R_JSON_DEPTH);
        assert_reason(parse(deeper), EPHEM_R_JSON_DEPTH);
}

static void test_brackets_inside_strings_do_not_count(void **state _unused_) {
        assert_reason(parse("{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[\",\"b\":\"\\\"{{{{{{{{{{{{{{{{{{{{\"}"), EPHEM_OK);
}

static void test_top_level_non_object_refused(void **state _unused_) {
        assert_reason(parse("[]"), EPHEM_R_JSON);
        assert_reason(parse("[{\"a\":1}]"), EPHEM_R_JSON);
        assert_reason(parse("\"string\""), EPHEM_R_JSON);
        assert_reason(parse("42"), EPHEM_R_JSON);
        assert_reason(parse("null"), EPHEM_R_JSON);
        assert_reason(parse("true"), EPHEM_R_JSON);
        assert_reason(parse(""), EPHEM_R_JSON);
}

static void test_nul_escape_refused(void **state _unused_) {
        assert_reason(parse("{\"sub\":\"agent\\u0000root\"}"), EPHEM_R_JSON);
        assert_reason(parse("{\"a\\u0000\":1}"), EPHEM_R_JSON);
}

static void test_raw_nul_byte_refused(void **state _unused_) {
        static const char s[] = "{\"a\":1}\0{\"a\":2}";
        assert_reason(parse_len(s, sizeof(s) - 1, 65536), EPHEM_R_JSON);
}

static void test_trailing_garbage_refused(void **state _unused_) {
        assert_reason(parse("{\"a\":1}x"), EPHEM_R_JSON);
        assert_reason(parse("{\"a\":1}{\"b\":2}"), EPHEM_R_JSON);
        assert_reason(parse("{\"a\":1},"), EPHEM_R_JSON);
}

static void test_invalid_utf8_refused(void **state _unused_) {
        assert_reason(parse("{\"sub\":\"\xc0\xaf\"}"), EPHEM_R_JSON);
        assert_reason(parse("{\"sub\":\"\xff\"}"), EPHEM_R_JSON);
        assert_reason(parse("{\"sub\":\"\\ud800\"}"), EPHEM_R_JSON);
}

static void test_syntax_errors_refused(void **state _unused_) {
        assert_reason(parse("{'a':1}"), EPHEM_R_JSON);
        assert_reason(parse("{\"a\":1,}"), EPHEM_R_JSON);
        assert_reason(parse("{\"a\":01}"), EPHEM_R_JSON);
        assert_reason(parse("{\"a\":NaN}"), EPHEM_R_JSON);
        assert_reason(parse("{\"a\":1"), EPHEM_R_JSON);
        assert_reason(parse("{\"a\":99999999999999999999}"), EPHEM_R_JSON); /* beyond int64 */
}

static void test_size_cap(void **state _unused_) {
        const char *s = "{\"a\":\"0123456789\"}";
        assert_reason(parse_len(s, strlen(s), strlen(s)), EPHEM_OK);
        assert_reason(parse_len(s, strlen(s), strlen(s) - 1), EPHEM_R_JSON_TOO_LARGE);
}

static void test_timestamps_are_integers_in_range(void **state _unused_) {
        int64_t v = -1;
        json_t *j;

        j = json_integer(1700000000);
        assert_true(json_is_timestamp(j, &v));
        assert_int_equal(v, 1700000000);
        json_decref(j);

        j = json_integer(INT64_C(253402300799));
        assert_true(json_is_timestamp(j, &v));
        json_decref(j);

        j = json_integer(INT64_C(253402300800));
        assert_false(json_is_timestamp(j, &v));
        json_decref(j);
        j = json_integer(-1);
        assert_false(json_is_timestamp(j, &v));
        json_decref(j);
        j = json_real(1700000000.0);
        assert_false(json_is_timestamp(j, &v));
        json_decref(j);
        j = json_string("1700000000");
        assert_false(json_is_timestamp(j, &v));
        json_decref(j);
        j = json_true();
        assert_false(json_is_timestamp(j, &v));
        json_decref(j);
        assert_false(json_is_timestamp(NULL, &v));
}

/* jansson's allocator, failing allocation number `fail_at` of each parse. */
static unsigned allocations, fail_at;

static void *failing_malloc(size_t size) {
        return ++allocations == fail_at ? NULL : malloc(size);
}

/* jansson 2.14 drops a character of a string or number when its buffer cannot grow
 * and still returns a document: whatever allocation fails, the parse must either
 * fail or give exactly the document that was signed. */
static void test_allocation_failure_never_changes_a_value(void **state _unused_) {
        static const char text[] = "{\"sub\":\"agent-1\",\"jti\":\"b1ecb7cbc725b8d27b49569775890a1a\","
                                   "\"exp\":1795888883,\"aud\":[\"host-7.example.net\",\"other.example.net\"]}";
        json_t *want = json_loads(text, 0, NULL);
        unsigned total, changed = 0;

        assert_non_null(want);
        json_set_alloc_funcs(failing_malloc, free);
        allocations = 0;
        fail_at = 0;
        assert_int_equal(parse(text), EPHEM_OK);
        total = allocations;
        assert_true(total > 10);
        for (fail_at = 1; fail_at <= total; fail_at++) {
                json_t *j = NULL, *plain;
                ephem_reason r;

                allocations = 0;
                r = json_parse_object((const uint8_t *) text, strlen(text), 65536, &j);
                if (r == EPHEM_OK && !json_equal(j, want))
                        fail_msg("allocation %u failing: a different document was accepted", fail_at);
                if (r != EPHEM_OK) {
                        assert_null(j);
                        assert_true(r == EPHEM_R_INTERNAL || r == EPHEM_R_JSON);
                }
                json_decref(j);
                /* The reason the check exists: jansson alone gives another document. */
                allocations = 0;
                plain = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
                if (plain && !json_equal(plain, want))
                        changed++;
                json_decref(plain);
        }
        json_set_alloc_funcs(malloc, free);
        json_decref(want);
        printf("# jansson alone returned a changed document for %u of %u failing allocations\n", changed, total);
}

static void test_lookup_path_walks_objects(void **state _unused_) {
        json_t *j = json_loads("{\"a\":{\"b\":{\"c\":\"x\"}},\"l\":[1]}", 0, NULL);

        assert_non_null(j);
        assert_string_equal(json_string_value(json_lookup_path(j, "a/b/c")), "x");
        assert_null(json_lookup_path(j, "a/x/c"));
        assert_null(json_lookup_path(j, "l/0"));
        assert_null(json_lookup_path(j, "a//b"));
        assert_null(json_lookup_path(j, ""));
        json_decref(j);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plain_object_accepted),
                cmocka_unit_test(test_duplicate_keys_refused),
                cmocka_unit_test(test_escaped_duplicate_keys_refused),
                cmocka_unit_test(test_depth_16_accepted_17_refused),
                cmocka_unit_test(test_brackets_inside_strings_do_not_count),
                cmocka_unit_test(test_top_level_non_object_refused),
                cmocka_unit_test(test_nul_escape_refused),
                cmocka_unit_test(test_raw_nul_byte_refused),
                cmocka_unit_test(test_trailing_garbage_refused),
                cmocka_unit_test(test_invalid_utf8_refused),
                cmocka_unit_test(test_syntax_errors_refused),
                cmocka_unit_test(test_size_cap),
                cmocka_unit_test(test_timestamps_are_integers_in_range),
                cmocka_unit_test(test_lookup_path_walks_objects),
                cmocka_unit_test(test_allocation_failure_never_changes_a_value),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
