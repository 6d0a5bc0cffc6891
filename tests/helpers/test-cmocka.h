/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmocka with what it needs included first, and assertions that name ephem's values. */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ephem/reason.h"

/* Compares reasons by identifier, so a failure reads "expired, expected iat_future". */
#define assert_reason(expr, expected)                                                                     \
        do {                                                                                              \
                ephem_reason _got = (expr), _want = (expected);                                           \
                if (_got != _want)                                                                        \
                        fail_msg("%s: reason %s, expected %s", #expr, reason_id(_got), reason_id(_want)); \
        } while (0)

/* Compares negative errno values by name. */
#define assert_errno(expr, expected)                                                                              \
        do {                                                                                                      \
                int _got = (expr), _want = (expected);                                                            \
                if (_got != _want)                                                                                \
                        fail_msg("%s: %d (%s), expected %d (%s)", #expr, _got, _got < 0 ? strerror(-_got) : "ok", \
                                 _want, _want < 0 ? strerror(-_want) : "ok");                                     \
        } while (0)
