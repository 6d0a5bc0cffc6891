/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Single use of tokens: a jti is accepted once per issuer until it expires.
 * Each use is a file <state>/replay/<xx>/<sha256(iss NUL jti) rest>, its mtime the
 * moment the entry may be forgotten (token exp + leeway), made under a temporary
 * name and renamed into place with RENAME_NOREPLACE (atomic across processes, and
 * never visible without its expiry). Shards are swept at most once a minute.
 */
#pragma once

#include <stdint.h>

/*
 * Records the first use of (iss, jti), valid until `forget_after`.
 * Returns 0 for a first use, -EEXIST for a replay, or another negative errno
 * (state directory unusable): the caller must deny in every case but 0.
 */
int replay_register(const char *state_dir, const char *iss, const char *jti, int64_t forget_after, int64_t now);

/* Removes entries that may be forgotten at `now`, in every shard. Returns the number
 * removed or a negative errno. */
int replay_gc(const char *state_dir, int64_t now);
