/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * Strict base64url (RFC 4648 §5) as JWS requires (RFC 7515 §2): no padding, no
 * characters outside [A-Za-z0-9_-], no whitespace, and the unused low bits of the
 * last character zero, so that every byte string has exactly one encoding.
 *
 * Decodes len input bytes into a new buffer (NUL-terminated for convenience; the
 * terminator is not counted in *ret_len). Returns 0, -EINVAL on any deviation,
 * -ENOMEM.
 */
int b64url_decode(const char *in, size_t len, uint8_t **ret, size_t *ret_len);

/* Encodes without padding. Returns 0 and a NUL-terminated string, or -ENOMEM. */
int b64url_encode(const uint8_t *in, size_t len, char **ret);
