/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Strict base64url (RFC 7515 §2): one encoding per byte string, nothing else decodes. */
#include "test-cmocka.h"

#include <errno.h>
#include <stdlib.h>

#include "ephem/b64url.h"
#include "ephem/macro.h"

static int decode(const char *s, size_t *ret_len, uint8_t **ret) {
        return b64url_decode(s, strlen(s), ret, ret_len);
}

static void assert_refused(const char *s) {
        uint8_t *out = NULL;
        size_t n = 0;
        int r = decode(s, &n, &out);

        if (r != -EINVAL)
                fail_msg("'%s' decoded (r=%d), expected -EINVAL", s, r);
        assert_null(out);
}

static void assert_decodes_to(const char *s, const char *expected) {
        _cleanup_free_ uint8_t *out = NULL;
        size_t n = 0;

        assert_errno(decode(s, &n, &out), 0);
        assert_int_equal(n, strlen(expected));
        assert_memory_equal(out, expected, n);
        assert_int_equal(out[n], 0); /* NUL-terminated for convenience */
}

static void test_canonical_input_decodes(void **state _unused_) {
        assert_decodes_to("", "");
        assert_decodes_to("Zg", "f");
        assert_decodes_to("Zm8", "fo");
        assert_decodes_to("Zm9v", "foo");
        assert_decodes_to("Zm9vYg", "foob");
        assert_decodes_to("Zm9vYmE", "fooba");
        assert_decodes_to("Zm9vYmFy", "foobar");
        assert_decodes_to("-_8", "\xfb\xff");
}

static void test_padding_is_refused(void **state _unused_) {
        assert_refused("Zg==");
        assert_refused("Zm8=");
        assert_refused("Zg=");
        assert_refused("Zm9v====");
        assert_refused("=");
}

static void test_standard_alphabet_is_refused(void **state _unused_) {
        /* "+/8" is the standard-alphabet form of "-_8". */
        assert_refused("+_8");
        assert_refused("-/8");
        assert_refused("+/8");
}

static void test_whitespace_is_refused(void **state _unused_) {
        assert_refused("Zm9v Zm9v");
        assert_refused("Zm9v\nZm9v");
        assert_refused(" Zm9v");
        assert_refused("Zm9v\t");
        assert_refused("Zm9v\r\n");
}

static void test_other_bytes_are_refused(void **state _unused_) {
        assert_refused("Zm9v.");
        assert_refused("Zm9v*");
        assert_refused("Zm\x80v");
        assert_refused("Zm%3D");
}

static void test_noncanonical_trailing_bits_len2_refused(void **state _unused_) {
        /* 2 characters carry 12 bits for 1 byte: the low 4 bits must be zero.
         * "Zg" is 'f'; "Zh" .. "Zv" decode to 'f' too in a lax decoder. */
        assert_decodes_to("Zg", "f");
        assert_refused("Zh");
        assert_refused("Zp");
        assert_refused("Zv");
        assert_refused("AB");
}

static void test_noncanonical_trailing_bits_len3_refused(void **state _unused_) {
        /* 3 characters carry 18 bits for 2 bytes: the low 2 bits must be zero. */
        assert_decodes_to("Zm8", "fo");
        assert_refused("Zm9");
        assert_refused("Zm-");
        assert_refused("AAB");
}

static void test_length_1_mod_4_refused(void **state _unused_) {
        /* No byte string encodes to 4k+1 characters, not even when the lone
         * character's bits are all zero. */
        assert_refused("A");
        assert_refused("Zm9vA");
        assert_refused("AAAAA");
        assert_refused("Z");
        assert_refused("Zm9vZ");
        assert_refused("Zm9vYmFyZ");
}

static void test_round_trip_of_every_length(void **state _unused_) {
        uint8_t bytes[64];

        for (size_t i = 0; i < sizeof(bytes); i++)
                bytes[i] = (uint8_t) (i * 37 + 11);
        for (size_t len = 0; len <= sizeof(bytes); len++) {
                _cleanup_free_ char *enc = NULL;
                _cleanup_free_ uint8_t *dec = NULL;
                size_t n = 0;

                assert_errno(b64url_encode(bytes, len, &enc), 0);
                assert_null(strpbrk(enc, "=+/"));
                assert_int_equal(strlen(enc) % 4 == 1, 0);
                assert_errno(b64url_decode(enc, strlen(enc), &dec, &n), 0);
                assert_int_equal(n, len);
                assert_memory_equal(dec, bytes, len);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_canonical_input_decodes),
                cmocka_unit_test(test_padding_is_refused),
                cmocka_unit_test(test_standard_alphabet_is_refused),
                cmocka_unit_test(test_whitespace_is_refused),
                cmocka_unit_test(test_other_bytes_are_refused),
                cmocka_unit_test(test_noncanonical_trailing_bits_len2_refused),
                cmocka_unit_test(test_noncanonical_trailing_bits_len3_refused),
                cmocka_unit_test(test_length_1_mod_4_refused),
                cmocka_unit_test(test_round_trip_of_every_length),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
