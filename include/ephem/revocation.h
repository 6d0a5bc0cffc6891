/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Revocation. Each revoked item is one file in [host] revocation_dir named by
 * SHA-256(kind, issuer, value): a check at login costs a few stat() calls whatever
 * the list's size, and cut-off helpers learn of a new entry by inotify, comparing
 * the new file's name with the names of their own session's items — no polling.
 *
 * Kinds: jti (per issuer), sub (per issuer), user (a login name), issuer (every
 * token of an issuer), fp (a token fingerprint as audit events show it).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "ephem/config.h"
#include "ephem/token.h"

#define REVOCATION_NAME_LEN 64u
#define REVOCATION_DOC_MAX (32u * 1024u * 1024u)
#define REVOCATION_DOC_ENTRIES_MAX 200000u
#define REVOCATION_DOC_TYP "revocation+jwt"

typedef enum revocation_kind {
        REVOKE_JTI,
        REVOKE_SUB,
        REVOKE_USER,
        REVOKE_ISSUER,
        REVOKE_FP,
        _REVOKE_KIND_MAX,
} revocation_kind;

const char *revocation_kind_to_string(revocation_kind k);
revocation_kind revocation_kind_from_string(const char *s); /* _REVOKE_KIND_MAX when unknown */

/* The file name of an entry: hex SHA-256 over kind, iss and value. For user and fp,
 * iss is ignored (""); for issuer, value is the iss. 0 or -errno. */
int revocation_entry_name(revocation_kind k, const char *iss, const char *value, char ret[REVOCATION_NAME_LEN + 1]);

/* Adds an entry, kept until `until` (0: until removed by hand). 0 or -errno. */
int revocation_add(const ephem_config *c, revocation_kind k, const char *iss, const char *value, int64_t until,
                   const char *source, int64_t now);

typedef struct revocation_entry {
        revocation_kind kind;
        char iss[256];
        char value[256];
        int64_t until, added;
        int64_t added_us; /* microseconds since the epoch, for revocation-to-cut-off figures */
        char source[64];
} revocation_entry;

/* Whether any item of a login is revoked at `now`; detail names the kind, and
 * *ret_entry (optional) receives the matching entry (when it was added, by whom).
 * The fingerprint may be NULL. Errors reading the directory count as revoked (fail
 * closed) and say so in detail; *ret_entry is then zeroed. */
bool revocation_check_entry(const ephem_config *c, const char *iss, const char *sub, const char *jti, const char *user,
                            const char *fingerprint, int64_t now, char *detail, size_t detail_size,
                            revocation_entry *ret_entry);

static inline bool revocation_check(const ephem_config *c, const char *iss, const char *sub, const char *jti,
                                    const char *user, const char *fingerprint, int64_t now, char *detail,
                                    size_t detail_size) {
        return revocation_check_entry(c, iss, sub, jti, user, fingerprint, now, detail, detail_size, NULL);
}

/* The entry names of a login's items, for a helper watching the directory. */
int revocation_names_for(const char *iss, const char *sub, const char *jti, const char *user, const char *fingerprint,
                         char names[_REVOKE_KIND_MAX][REVOCATION_NAME_LEN + 1]);

/* Opens (creating) the revocation directory. fd or -errno. */
int revocation_dir_open(const ephem_config *c);

/* Every readable entry (for ephemctl). 0 and an array to free(), or -errno.
 * *ret_unreadable (optional) counts the entries that cannot be read: they still
 * revoke what they name (revocation_check()), but cannot be listed, and a KRL made
 * without them would be incomplete. */
int revocation_list(const ephem_config *c, revocation_entry **ret, size_t *ret_n, size_t *ret_unreadable);

/* Removes entries whose `until` has passed. Returns the number removed or -errno. */
int revocation_gc(const ephem_config *c, int64_t now);

/*
 * Verifies and applies a revocation document a broker publishes: a compact JWS with
 * typ "revocation+jwt", signed by a configured issuer's key, claims
 *   {"iss": ..., "iat": ..., "revoked": [{"jti": J, "exp": T} | {"sub": S, "until": T} |
 *                                        {"user": U, "until": T} | {"fp": F, "until": T}]}
 * An older document than the last one applied for the issuer is refused (no
 * rollback). Entries already on record as the document has them are left alone
 * (not rewritten). Returns EPHEM_OK with *ret_added (entries written), or a reason
 * (v filled).
 */
ephem_reason revocation_apply_document(ephem_config *c, const char *doc, size_t len, int64_t now, unsigned *ret_added,
                                       ephem_verdict *v);
