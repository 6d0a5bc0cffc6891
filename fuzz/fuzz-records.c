/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the state store's records, read back by the code that trusts
 * them (the NSS user record has its own target, fuzz-userdb). The first input byte
 * chooses the record; the rest is the file, written where the fuzz host's code
 * reads it:
 *
 *   0  login record    <state>/logins/<id>       login_record_load(), login_pending_for_user()
 *   1  session record  <state>/sessions/<id>     session_load(), session_list()
 *   2  revocation      <revocation_dir>/<name>   revocation_check_entry(), revocation_list(), revocation_gc()
 *   3  quarantine      <quarantine_dir>/<uid>    store_uid_quarantined()
 *   4  user by UID     <state>/users/by-uid/<uid> under store_user_put() of another name
 *   5  applied stamp   <revocation_dir>/.applied-broker under revocation_apply_document()
 *
 * Damaged records must fail closed: a revocation entry that cannot be read revokes;
 * a quarantine record that cannot be read keeps the UID taken; a UID held by a
 * record that cannot be read, or by another name, is not given out; a stamp that
 * cannot be read, or is newer than a document, refuses it (no rollback). Records
 * that load satisfy their headers' promises (login.h, session.h).
 *
 * In the -oom variant (fuzz.h), a check that lets a login through under an injected
 * failure must let it through without the failure too.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ephem/kvrecord.h"
#include "ephem/login.h"
#include "ephem/macro.h"
#include "ephem/revocation.h"
#include "ephem/session.h"
#include "ephem/store.h"
#include "ephem/strutil.h"
#include "fuzz.h"

#define LOGIN_ID "0123456789abcdef0123456789abcdef"
#define SESSION_ID "0123456789abcdef"
#define FUZZ_JTI "fuzz-jti"

enum {
        LOGIN,
        SESSION,
        REVOCATION,
        QUARANTINE,
        USER_BY_UID,
        APPLIED,
        _KIND_MAX
};

static char *doc; /* a revocation list of issuer broker, iat FUZZ_NOW - 10 */

/* An independent reading of "key=value\n" lines: the value of `key`, if the whole
 * record is well-formed (values are not unescaped: callers use plain digits). */
static bool plain_field(const char *buf, size_t len, const char *key, char *out, size_t size) {
        bool found = false;
        const char *p = buf, *end = buf + len;

        if (len == 0 || memchr(buf, '\0', len) || buf[len - 1] != '\n')
                return false;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p)), *eq = memchr(p, '=', (size_t) (nl - p));
                if (!eq)
                        return false;
                if ((size_t) (eq - p) == strlen(key) && strncmp(p, key, strlen(key)) == 0 &&
                    (size_t) (nl - eq - 1) < size) {
                        memcpy(out, eq + 1, (size_t) (nl - eq - 1));
                        out[nl - eq - 1] = '\0';
                        found = true;
                }
                p = nl + 1;
        }
        return found;
}

static void check_login(const fuzz_host *h, unsigned long fail_at, bool persistent) {
        login_record r = { 0 };
        int k;

        failinject_arm(fail_at, persistent);
        k = login_record_load(h->state_dir, LOGIN_ID, &r);
        (void) login_pending_for_user(h->state_dir, "agent-1", FUZZ_NOW, 30);
        (void) failinject_disarm();
        if (k < 0) {
                if (r.issuer || r.iss || r.jti || r.groups)
                        violated("login_record_load failed (%d) and left allocations in the output", k);
                return;
        }
        if (!r.user[0] || strlen(r.user) > USER_NAME_MAX || !r.iss || !r.jti || r.exp == 0 || !streq(r.id, LOGIN_ID))
                violated("a login record without user, iss, jti or exp loaded");
        if (r.fingerprint[0] && strlen(r.fingerprint) != TOKEN_FP_LEN)
                violated("fingerprint of %zu characters", strlen(r.fingerprint));
        login_record_done(&r);
}

static void check_session(const fuzz_host *h, unsigned long fail_at, bool persistent) {
        session_record r = { 0 }, *l = NULL;
        size_t n = 0;
        int k, kl;

        failinject_arm(fail_at, persistent);
        k = session_load(h->config, SESSION_ID, &r);
        kl = session_list(h->config, &l, &n);
        (void) failinject_disarm();
        if (k == 0) {
                if (!user_name_valid(r.user) || r.uid == 0 || r.deadline == 0 || !streq(r.id, SESSION_ID))
                        violated("a session record without a valid user, uid or deadline loaded");
                if (r.cgroup[0] && !strstr(r.cgroup, "/ephem/"))
                        violated("a session record with cgroup '%s' loaded", r.cgroup);
                session_record_done(&r);
        } else if (r.issuer || r.iss || r.sub || r.jti || r.rule || r.service || r.rhost)
                violated("session_load failed (%d) and left allocations in the output", k);
        if (kl == 0) {
                if (n > 1 || (n == 1 && k != 0 && !fail_at))
                        violated("session_list listed %zu records, session_load said %d", n, k);
                session_list_free(l, n);
        }
}

static bool check_revocation(const fuzz_host *h, const char *file, size_t len, unsigned long fail_at, bool persistent) {
        revocation_entry e, *l = NULL;
        char detail[256];
        size_t n = 0;
        bool revoked;
        int k;

        failinject_arm(fail_at, persistent);
        revoked = revocation_check_entry(h->config, FUZZ_ISS, "someone", FUZZ_JTI, "agent-1", "0123456789abcdef",
                                         FUZZ_NOW, detail, sizeof(detail), &e);
        (void) failinject_disarm();
        if (revoked && !detail[0])
                violated("revoked without saying why");
        if (!revoked && !fail_at) {
                /* Only a lapsed entry lets the token through: it must list as one. */
                char until[32];
                uint64_t u;

                if (!plain_field(file, len, "until", until, sizeof(until)) || parse_u64(until, &u) < 0 || u == 0 ||
                    u >= (uint64_t) FUZZ_NOW)
                        violated("an entry whose until is not in the past did not revoke");
                k = revocation_list(h->config, &l, &n, NULL);
                if (k < 0 || n != 1 || l[0].until == 0 || l[0].until >= FUZZ_NOW)
                        violated("not revoked, but the entry does not list as lapsed");
                free(l);
        }
        failinject_arm(fail_at, persistent);
        (void) revocation_gc(h->config, FUZZ_NOW);
        (void) failinject_disarm();
        return !revoked;
}

static bool check_quarantine(const fuzz_host *h, const char *file, size_t len, unsigned long fail_at, bool persistent) {
        char detail[256] = "", name[64], until[32];
        uid_t uid = userconf_uid(&h->config->users, "agent-1");
        uint64_t u;
        bool taken;

        failinject_arm(fail_at, persistent);
        taken = store_uid_quarantined(h->config, uid, "agent-2", FUZZ_NOW, detail, sizeof(detail));
        (void) failinject_disarm();
        if (taken && !detail[0])
                violated("quarantined without saying why");
        /* Free for agent-2 only with a readable record of agent-2, or one whose
         * quarantine has ended. */
        if (!taken && !fail_at &&
            !(plain_field(file, len, "name", name, sizeof(name)) &&
              (streq(name, "agent-2") || (plain_field(file, len, "until", until, sizeof(until)) &&
                                          parse_u64(until, &u) == 0 && u <= (uint64_t) FUZZ_NOW))))
                violated("a UID whose quarantine record does not free it was given out");
        return !taken;
}

static bool check_user_by_uid(const fuzz_host *h, const char *file, size_t len, unsigned long fail_at,
                              bool persistent) {
        char detail[256] = "", copy[4096];
        user_record r;
        bool created = false;
        int k, parsed = -1;

        if (len < sizeof(copy)) {
                memcpy(copy, file, len);
                copy[len] = '\0';
                parsed = userdb_parse(&h->config->users, copy, len, &r);
        }
        failinject_arm(fail_at, persistent);
        k = store_user_put(h->config, "agent-2", NULL, 0, FUZZ_NOW + 60, FUZZ_NOW, &created, detail, sizeof(detail));
        (void) failinject_disarm();
        /* The record sits at agent-2's UID: only a readable record of agent-2 itself
         * lets the store go on. */
        if (k == 0 && parsed == 0 && !streq(r.name, "agent-2"))
                violated("agent-2 was recorded over another name's UID record");
        if (k == 0 && parsed != 0 && !fail_at)
                violated("agent-2 was recorded although a UID record was unreadable");
        return k == 0;
}

static bool check_applied(const fuzz_host *h, const char *file, size_t len, unsigned long fail_at, bool persistent) {
        ephem_verdict v = { 0 };
        unsigned added = 0;
        char iat[32];
        uint64_t u;
        ephem_reason r;

        failinject_arm(fail_at, persistent);
        r = revocation_apply_document(h->config, doc, strlen(doc), FUZZ_NOW, &added, &v);
        (void) failinject_disarm();
        if (r == EPHEM_OK && !fail_at &&
            !(plain_field(file, len, "iat", iat, sizeof(iat)) && strncmp(file, "iat=", 4) == 0 &&
              parse_u64(iat, &u) == 0 && u <= (uint64_t) FUZZ_NOW - 10))
                violated("a list was applied over a stamp that is unreadable or newer");
        return r == EPHEM_OK;
}

typedef struct outcome {
        bool let_through;
} outcome;

static void run(unsigned kind, const char *file, size_t len, unsigned long fail_at, bool persistent, outcome *ret) {
        const fuzz_host *h = fuzz_host_get();
        _cleanup_free_ char *path = NULL, *users = NULL;
        char name[REVOCATION_NAME_LEN + 1];
        uid_t uid = userconf_uid(&h->config->users, "agent-1");

        *ret = (outcome){ 0 };
        switch (kind) {
        case LOGIN:
                path = fuzz_path("state/logins");
                fuzz_mkdir(path, 0700);
                free(path);
                path = fuzz_path("state/logins/" LOGIN_ID);
                fuzz_write_file(path, file, len, 0600);
                check_login(h, fail_at, persistent);
                break;
        case SESSION:
                path = fuzz_path("state/sessions");
                fuzz_mkdir(path, 0700);
                free(path);
                path = fuzz_path("state/sessions/" SESSION_ID);
                fuzz_write_file(path, file, len, 0600);
                check_session(h, fail_at, persistent);
                break;
        case REVOCATION:
                if (revocation_entry_name(REVOKE_JTI, FUZZ_ISS, FUZZ_JTI, name) < 0)
                        fuzz_die("revocation_entry_name");
                path = fuzz_path("revoked/%s", name);
                fuzz_write_file(path, file, len, 0600);
                ret->let_through = check_revocation(h, file, len, fail_at, persistent);
                fuzz_clear_dir(h->revocation_dir);
                break;
        case QUARANTINE:
                path = fuzz_path("quarantine/%u", (unsigned) uid);
                fuzz_write_file(path, file, len, 0600);
                ret->let_through = check_quarantine(h, file, len, fail_at, persistent);
                fuzz_clear_dir(h->quarantine_dir);
                break;
        case USER_BY_UID:
                /* agent-2's UID gets a record with whatever the input says. */
                users = fuzz_path("state/users");
                fuzz_mkdir(users, 0755);
                free(path);
                path = fuzz_path("state/users/by-uid");
                fuzz_mkdir(path, 0755);
                free(path);
                path = fuzz_path("state/users/by-uid/%u", (unsigned) userconf_uid(&h->config->users, "agent-2"));
                fuzz_write_file(path, file, len, 0644);
                ret->let_through = check_user_by_uid(h, file, len, fail_at, persistent);
                fuzz_clear_dir(users);
                break;
        case APPLIED:
                path = fuzz_path("revoked/.applied-broker");
                fuzz_write_file(path, file, len, 0600);
                ret->let_through = check_applied(h, file, len, fail_at, persistent);
                fuzz_clear_dir(h->revocation_dir);
                break;
        }
        if (kind == LOGIN || kind == SESSION)
                (void) unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        json_t *header, *claims;

        (void) argc;
        (void) argv;
        fuzz_init();
        (void) fuzz_host_get();
        header = json_pack("{s:s, s:s, s:s}", "alg", "EdDSA", "typ", "revocation+jwt", "kid", "ed");
        claims = json_pack("{s:s, s:I, s:[{s:s, s:I}]}", "iss", FUZZ_ISS, "iat", (json_int_t) (FUZZ_NOW - 10),
                           "revoked", "jti", "listed", "exp", (json_int_t) (FUZZ_NOW + 100));
        if (!header || !claims || jws_compact_sign(fuzz_key(JWS_EDDSA), JWS_EDDSA, header, claims, &doc) < 0)
                fuzz_die("cannot sign the revocation list");
        json_decref(header);
        json_decref(claims);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        unsigned long fail_at = 0;
        bool persistent = false;
        unsigned kind;
        outcome ref, got;

        if (failinject_available())
                fuzz_failinject_from_input(&data, &size, &fail_at, &persistent);
        if (size < 1 || size > KV_RECORD_MAX + 1)
                return 0;
        kind = data[0] % _KIND_MAX;
        run(kind, (const char *) data + 1, size - 1, 0, false, &ref);
        if (!fail_at)
                return 0;
        run(kind, (const char *) data + 1, size - 1, fail_at, persistent, &got);
        if (got.let_through && !ref.let_through)
                violated("record kind %u let a login through under an injected failure, not without", kind);
        return 0;
}
