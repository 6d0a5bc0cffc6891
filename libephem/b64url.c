/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/b64url.h"

#include <errno.h>
#include <stdlib.h>

#include "ephem/macro.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int decode_char(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '-')
                return 62;
        if (c == '_')
                return 63;
        return -1;
}

int b64url_decode(const char *in, size_t len, uint8_t **ret, size_t *ret_len) {
        _cleanup_free_ uint8_t *out = NULL;
        size_t rem = len % 4, n = 0;
        uint32_t acc = 0;
        int bits = 0;

        if (rem == 1)
                return -EINVAL;
        out = malloc(len / 4 * 3 + 3);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                int v = decode_char(in[i]);
                if (v < 0)
                        return -EINVAL;
                acc = (acc << 6) | (uint32_t) v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[n++] = (uint8_t) (acc >> bits);
                        acc &= (1u << bits) - 1;
                }
        }
        /* Leftover bits (2 after "xx", 4 after "xxx") must be zero: canonical form. */
        if (acc != 0)
                return -EINVAL;
        out[n] = 0;
        *ret = TAKE_PTR(out);
        *ret_len = n;
        return 0;
}

int b64url_encode(const uint8_t *in, size_t len, char **ret) {
        char *out = malloc((len + 2) / 3 * 4 + 1);
        size_t n = 0, i = 0;

        if (!out)
                return -ENOMEM;
        for (; i + 2 < len; i += 3) {
                uint32_t v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8 | in[i + 2];
                out[n++] = alphabet[(v >> 18) & 63];
                out[n++] = alphabet[(v >> 12) & 63];
                out[n++] = alphabet[(v >> 6) & 63];
                out[n++] = alphabet[v & 63];
        }
        if (len - i == 1) {
                uint32_t v = (uint32_t) in[i] << 16;
                out[n++] = alphabet[(v >> 18) & 63];
                out[n++] = alphabet[(v >> 12) & 63];
        } else if (len - i == 2) {
                uint32_t v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8;
                out[n++] = alphabet[(v >> 18) & 63];
                out[n++] = alphabet[(v >> 12) & 63];
                out[n++] = alphabet[(v >> 6) & 63];
        }
        out[n] = '\0';
        *ret = out;
        return 0;
}
