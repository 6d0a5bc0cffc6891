/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/revocation.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ephem/json.h"
#include "ephem/kvrecord.h"
#include "ephem/macro.h"
#include "ephem/state.h"
#include "ephem/strutil.h"

static const char *const kind_names[_REVOKE_KIND_MAX] = {
        [REVOKE_JTI] = "jti",       [REVOKE_SUB] = "sub", [REVOKE_USER] = "user",
        [REVOKE_ISSUER] = "issuer", [REVOKE_FP] = "fp",
};

const char *revocation_kind_to_string(revocation_kind k) {
        return (unsigned) k < _REVOKE_KIND_MAX ? kind_names[k] : "unknown";
}

revocation_kind revocation_kind_from_string(const char *s) {
        for (int i = 0; i < _REVOKE_KIND_MAX; i++)
                if (streq(s, kind_names[i]))
                        return (revocation_kind) i;
        return _REVOKE_KIND_MAX;
}

int revocation_entry_name(revocation_kind k, const char *iss, const char *value, char ret[REVOCATION_NAME_LEN + 1]) {
        static const char hex[] = "0123456789abcdef";
        const char *kind = revocation_kind_to_string(k);
        EVP_MD_CTX *md;
        uint8_t d[32];
        unsigned dl = 0;
        int ok;

        if ((unsigned) k >= _REVOKE_KIND_MAX || !value)
                return -EINVAL;
        if (k == REVOKE_USER || k == REVOKE_FP || k == REVOKE_ISSUER)
                iss = "";
        md = EVP_MD_CTX_new();
        if (!md)
                return -ENOMEM;
        /* NUL separators make the input unambiguous. */
        ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(md, kind, strlen(kind) + 1) == 1 &&
             EVP_DigestUpdate(md, strempty(iss), strlen(strempty(iss)) + 1) == 1 &&
             EVP_DigestUpdate(md, value, strlen(value)) == 1 && EVP_DigestFinal_ex(md, d, &dl) == 1;
        EVP_MD_CTX_free(md);
        if (!ok || dl != 32)
                return -EIO;
        for (int i = 0; i < 32; i++) {
                ret[2 * i] = hex[d[i] >> 4];
                ret[2 * i + 1] = hex[d[i] & 15];
        }
        ret[64] = '\0';
        return 0;
}

int revocation_dir_open(const ephem_config *c) {
        const char *path = c->revocation_dir;
        struct stat st;
        int fd;

        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
                char buf[256];
                if (strlen(path) >= sizeof(buf))
                        return -ENAMETOOLONG;
                strcpy(buf, path);
                for (char *p = buf + 1; *p; p++)
                        if (*p == '/') {
                                *p = '\0';
                                (void) mkdir(buf, 0755);
                                *p = '/';
                        }
                if (mkdir(path, 0700) < 0 && errno != EEXIST)
                        return negative_errno();
                fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0 || (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
                close(fd);
                return -EPERM;
        }
        return fd;
}

int revocation_add(const ephem_config *c, revocation_kind k, const char *iss, const char *value, int64_t until,
                   const char *source, int64_t now) {
        _cleanup_close_ int dfd = -1;
        char name[REVOCATION_NAME_LEN + 1];
        kv_writer w = { 0 };
        int r;

        if (!value || !*value || strlen(value) > 255 || (iss && strlen(iss) > 255))
                return -EINVAL;
        r = revocation_entry_name(k, iss, value, name);
        if (r < 0)
                return r;
        dfd = revocation_dir_open(c);
        if (dfd < 0)
                return dfd;
        kvw_add(&w, "kind", revocation_kind_to_string(k));
        kvw_add(&w, "iss", k == REVOKE_JTI || k == REVOKE_SUB ? iss : "");
        kvw_add(&w, "value", value);
        kvw_addf(&w, "until", "%" PRId64, until);
        kvw_addf(&w, "added", "%" PRId64, now);
        {
                struct timespec ts;
                (void) clock_gettime(CLOCK_REALTIME, &ts);
                kvw_addf(&w, "added_us", "%" PRId64, (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
        }
        kvw_add(&w, "source", source);
        /* The rename is what the helpers' inotify watch sees (IN_MOVED_TO). */
        r = kvw_commit_at(&w, dfd, name, 0600);
        kvw_done(&w);
        return r;
}

struct entry_parse {
        revocation_entry *e;
        bool seen_until;
};

static int on_entry_field(const char *key, const char *value, void *userdata) {
        revocation_entry *e = ((struct entry_parse *) userdata)->e;
        uint64_t v;

        if (streq(key, "kind"))
                e->kind = revocation_kind_from_string(value);
        else if (streq(key, "iss") && strlen(value) < sizeof(e->iss))
                strcpy(e->iss, value);
        else if (streq(key, "value") && strlen(value) < sizeof(e->value))
                strcpy(e->value, value);
        else if (streq(key, "source") && strlen(value) < sizeof(e->source))
                strcpy(e->source, value);
        else if (streq(key, "until")) {
                /* The one field that can end a revocation: a damaged or repeated one
                 * makes the entry unreadable, which revokes (fail closed). */
                if (((struct entry_parse *) userdata)->seen_until || parse_u64(value, &v) < 0 || v > INT64_MAX)
                        return -EBADMSG;
                e->until = (int64_t) v;
                ((struct entry_parse *) userdata)->seen_until = true;
        } else if ((streq(key, "added") || streq(key, "added_us")) && parse_u64(value, &v) == 0 && v <= INT64_MAX)
                *(streq(key, "added") ? &e->added : &e->added_us) = (int64_t) v;
        return 0;
}

static int entry_read(int dfd, const char *name, revocation_entry *ret) {
        char buf[2048];
        size_t len;
        struct entry_parse p = { .e = ret };
        int r;

        *ret = (revocation_entry){ .kind = _REVOKE_KIND_MAX };
        r = kv_read_at(dfd, name, buf, sizeof(buf), &len);
        if (r < 0)
                return r;
        r = kv_parse(buf, len, on_entry_field, &p);
        if (r < 0 || ret->kind == _REVOKE_KIND_MAX)
                return -EBADMSG;
        return 0;
}

int revocation_names_for(const char *iss, const char *sub, const char *jti, const char *user, const char *fingerprint,
                         char names[_REVOKE_KIND_MAX][REVOCATION_NAME_LEN + 1]) {
        const char *values[_REVOKE_KIND_MAX] = {
                [REVOKE_JTI] = jti,    [REVOKE_SUB] = sub,        [REVOKE_USER] = user,
                [REVOKE_ISSUER] = iss, [REVOKE_FP] = fingerprint,
        };
        for (int k = 0; k < _REVOKE_KIND_MAX; k++) {
                names[k][0] = '\0';
                if (values[k] && *values[k]) {
                        int r = revocation_entry_name((revocation_kind) k, iss, values[k], names[k]);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

bool revocation_check_entry(const ephem_config *c, const char *iss, const char *sub, const char *jti, const char *user,
                            const char *fingerprint, int64_t now, char *detail, size_t detail_size,
                            revocation_entry *ret_entry) {
        char names[_REVOKE_KIND_MAX][REVOCATION_NAME_LEN + 1];
        _cleanup_close_ int dfd = -1;

        if (ret_entry)
                *ret_entry = (revocation_entry){ .kind = _REVOKE_KIND_MAX };

        dfd = revocation_dir_open(c);
        if (dfd < 0) {
                (void) snprintf(detail, detail_size, "revocation directory %s: %s", c->revocation_dir, strerror(-dfd));
                return true;
        }
        /* Most hosts, most of the time: nothing is revoked, nothing to hash or look up.
         * An entry of any kind (or an error reading the directory) means looking. */
        if (dir_fd_is_empty(dfd) == 1)
                return false;
        if (revocation_names_for(iss, sub, jti, user, fingerprint, names) < 0) {
                (void) snprintf(detail, detail_size, "cannot compute revocation keys");
                return true;
        }
        for (int k = 0; k < _REVOKE_KIND_MAX; k++) {
                revocation_entry e;
                int r;

                if (!names[k][0])
                        continue;
                r = entry_read(dfd, names[k], &e);
                if (r == -ENOENT)
                        continue;
                if (r == 0 && e.until != 0 && e.until < now)
                        continue; /* lapsed, not yet swept */
                (void) snprintf(detail, detail_size, "revoked by %s%s", revocation_kind_to_string((revocation_kind) k),
                                r < 0 ? " (unreadable entry)" : "");
                if (ret_entry && r == 0)
                        *ret_entry = e;
                return true;
        }
        return false;
}

int revocation_list(const ephem_config *c, revocation_entry **ret, size_t *ret_n, size_t *ret_unreadable) {
        _cleanup_close_ int dfd = revocation_dir_open(c);
        revocation_entry *l = NULL;
        size_t n = 0, unreadable = 0;
        struct dirent *de;
        DIR *d;

        if (dfd < 0)
                return dfd;
        d = dir_open_at(dfd);
        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                revocation_entry e, *nl;
                if (strlen(de->d_name) != REVOCATION_NAME_LEN)
                        continue;
                if (entry_read(dfd, de->d_name, &e) < 0) {
                        unreadable++;
                        continue;
                }
                nl = realloc(l, (n + 1) * sizeof(*nl));
                if (!nl) {
                        free(l);
                        closedir(d);
                        return -ENOMEM;
                }
                l = nl;
                l[n++] = e;
        }
        closedir(d);
        *ret = l;
        *ret_n = n;
        if (ret_unreadable)
                *ret_unreadable = unreadable;
        return 0;
}

int revocation_gc(const ephem_config *c, int64_t now) {
        _cleanup_close_ int dfd = revocation_dir_open(c);
        struct dirent *de;
        DIR *d;
        int removed = 0;

        if (dfd < 0)
                return dfd;
        d = dir_open_at(dfd);
        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                revocation_entry e;
                if (strlen(de->d_name) != REVOCATION_NAME_LEN || entry_read(dfd, de->d_name, &e) < 0)
                        continue;
                if (e.until != 0 && e.until + (int64_t) c->leeway < now && unlinkat(dfd, de->d_name, 0) == 0)
                        removed++;
        }
        closedir(d);
        return removed;
}

/* ---- signed documents ---- */

static int last_applied(int dfd, const char *issuer, int64_t *ret) {
        char name[160], buf[256];
        size_t len;
        uint64_t v;
        int r;

        (void) snprintf(name, sizeof(name), ".applied-%s", issuer);
        r = kv_read_at(dfd, name, buf, sizeof(buf), &len);
        if (r == -ENOENT) {
                *ret = 0;
                return 0;
        }
        if (r < 0)
                return r;
        /* Exactly the line kvw_commit_at() wrote: a stamp that does not read as one
         * (no newline, a number beyond INT64_MAX, which would turn negative) refuses
         * every list rather than letting an older one through. */
        if (len < 6 || strncmp(buf, "iat=", 4) != 0 || buf[len - 1] != '\n' || memchr(buf, '\n', len - 1))
                return -EBADMSG;
        buf[len - 1] = '\0';
        if (parse_u64(buf + 4, &v) < 0 || v > INT64_MAX)
                return -EBADMSG;
        *ret = (int64_t) v;
        return 0;
}

static ephem_reason refuse(ephem_verdict *v, ephem_reason r, const char *detail) {
        v->reason = r;
        (void) snprintf(v->detail, sizeof(v->detail), "%s", detail);
        return r;
}

ephem_reason revocation_apply_document(ephem_config *c, const char *doc, size_t len, int64_t now, unsigned *ret_added,
                                       ephem_verdict *v) {
        _cleanup_token_ ephem_token *t = NULL;
        _cleanup_close_ int dfd = -1;
        char source[160], stamp[160];
        json_t *list, *e;
        int64_t previous;
        unsigned added = 0;
        kv_writer w = { 0 };
        ephem_reason reason;
        size_t i;
        int r;

        reason = token_verify_document(c, doc, len, REVOCATION_DOC_MAX, REVOCATION_DOC_ENTRIES_MAX, REVOCATION_DOC_TYP,
                                       now, &t, v);
        if (reason != EPHEM_OK)
                return reason;
        list = json_object_get(t->claims, "revoked");
        if (!json_is_array(list))
                return refuse(v, EPHEM_R_CLAIM_MISSING, "claim 'revoked' (an array)");
        dfd = revocation_dir_open(c);
        if (dfd < 0)
                return refuse(v, EPHEM_R_STATE, "revocation directory unusable");
        r = last_applied(dfd, t->issuer->name, &previous);
        if (r < 0)
                return refuse(v, EPHEM_R_STATE, "record of the last applied list unreadable");
        if (t->iat < previous)
                return refuse(v, EPHEM_R_CLAIM_TYPE, "older than the list already applied (rollback)");

        /* Check every entry before applying any: a document is taken whole or not at all. */
        json_array_foreach(list, i, e) {
                const char *keys[] = { "jti", "sub", "user", "fp" };
                int found = 0;
                json_t *when;
                int64_t ts;

                if (!json_is_object(e))
                        return refuse(v, EPHEM_R_CLAIM_TYPE, "an entry of 'revoked' is not an object");
                for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                        json_t *val = json_object_get(e, keys[k]);
                        if (!val)
                                continue;
                        if (!json_is_string(val) || json_string_length(val) == 0 || json_string_length(val) > 255)
                                return refuse(v, EPHEM_R_CLAIM_TYPE, "an entry value is not a string of 1-255 bytes");
                        found++;
                }
                if (found != 1)
                        return refuse(v, EPHEM_R_CLAIM_TYPE, "each entry names exactly one of jti, sub, user, fp");
                when = json_object_get(e, json_object_get(e, "jti") ? "exp" : "until");
                if (when && !json_is_timestamp(when, &ts))
                        return refuse(v, EPHEM_R_CLAIM_TYPE, "exp/until of an entry is not a Unix time");
        }

        (void) snprintf(source, sizeof(source), "list:%s", t->issuer->name);
        json_array_foreach(list, i, e) {
                int64_t until = 0;
                revocation_kind kind;
                const char *value;
                json_t *when;

                if (json_object_get(e, "jti"))
                        kind = REVOKE_JTI;
                else if (json_object_get(e, "sub"))
                        kind = REVOKE_SUB;
                else if (json_object_get(e, "user"))
                        kind = REVOKE_USER;
                else
                        kind = REVOKE_FP;
                value = json_string_value(json_object_get(e, revocation_kind_to_string(kind)));
                when = json_object_get(e, kind == REVOKE_JTI ? "exp" : "until");
                if (when)
                        (void) json_is_timestamp(when, &until);
                if (until != 0 && until + (int64_t) c->leeway < now)
                        continue; /* already lapsed */
                /* Already on record as it is (the same list applied again by a timer):
                 * left alone, not rewritten, so that a refresh of a long list costs
                 * reads, not a write and a sync per entry. */
                {
                        char name[REVOCATION_NAME_LEN + 1];
                        revocation_entry old;
                        if (revocation_entry_name(kind, t->iss, value, name) == 0 && entry_read(dfd, name, &old) == 0 &&
                            old.kind == kind && old.until == until && streq(old.value, value))
                                continue;
                }
                r = revocation_add(c, kind, t->iss, value, until, source, now);
                if (r < 0)
                        return refuse(v, EPHEM_R_STATE, "writing an entry failed");
                added++;
        }
        (void) snprintf(stamp, sizeof(stamp), ".applied-%s", t->issuer->name);
        kvw_addf(&w, "iat", "%" PRId64, t->iat);
        r = kvw_commit_at(&w, dfd, stamp, 0600);
        kvw_done(&w);
        if (r < 0)
                return refuse(v, EPHEM_R_STATE, "recording the applied list failed");
        *ret_added = added;
        v->reason = EPHEM_OK;
        v->detail[0] = '\0';
        return EPHEM_OK;
}
