/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Failure injection for the fuzz targets' "-oom" variants and the failure sweep
 * (tests/failinject). A program linked with failinject.c and
 *
 *   -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup,
 *   --wrap=open,--wrap=openat,--wrap=read,--wrap=write,--wrap=fdopendir (+ the
 *   _FORTIFY_SOURCE variants __open_2, __openat64_2, __read_chk)
 *
 * (FAILINJECT_LINK_ARGS in fuzz/meson.build) sees every such call the statically
 * linked ephem code makes go through a counter; while armed, call number N (and,
 * persistent, every later one) fails: NULL/ENOMEM, EMFILE for opens, EIO for reads,
 * ENOSPC for writes. failinject_route_libraries() routes jansson's and OpenSSL's
 * allocations through the same counter (except while jansson parses: --wrap of
 * json_loadb and json_loads, see failinject.c).
 * Linked with failinject-none.c instead, the same functions exist and do nothing.
 */
#pragma once

#include <stdbool.h>

/* Whether this program was linked with the wrappers. */
bool failinject_available(void);

/* Counts calls from now on; fails call number fail_at (1-based; 0: none) and, when
 * persistent, every call after it. */
void failinject_arm(unsigned long fail_at, bool persistent);
/* Stops counting. Returns the number of failures injected since failinject_arm(). */
unsigned long failinject_disarm(void);
/* Calls counted since failinject_arm() (so far, or until failinject_disarm()). */
unsigned long failinject_calls(void);

/* json_set_alloc_funcs() and CRYPTO_set_mem_functions() to the wrapped allocator.
 * Must run before OpenSSL allocates anything; returns false if that was too late. */
bool failinject_route_libraries(void);
