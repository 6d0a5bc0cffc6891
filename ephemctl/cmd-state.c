/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ephemctl users | sessions | revoke | revocations apply|list | gc */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ephem/audit.h"
#include "ephem/macro.h"
#include "ephem/revocation.h"
#include "ephem/session.h"
#include "ephem/state.h"
#include "ephem/store.h"
#include "ephem/strutil.h"
#include "ephemctl.h"

static void format_time(int64_t t, char *buf, size_t size) {
        time_t tt = (time_t) t;
        struct tm tm;

        if (t <= 0 || !gmtime_r(&tt, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                (void) snprintf(buf, size, "-");
}

static void format_left(int64_t left, char *buf, size_t size) {
        if (left <= 0)
                (void) snprintf(buf, size, "due");
        else if (left < 120)
                (void) snprintf(buf, size, "%" PRId64 "s", left);
        else if (left < 7200)
                (void) snprintf(buf, size, "%" PRId64 "m%02" PRId64 "s", left / 60, left % 60);
        else
                (void) snprintf(buf, size, "%" PRId64 "h%02" PRId64 "m", left / 3600, (left % 3600) / 60);
}

/* Parses the common "--config FILE" and nothing else. */
static int config_only(int argc, char **argv, const char *usage, ephem_config **ret) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *config = NULL;
        int opt;

        while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) >= 0)
                switch (opt) {
                case 'c':
                        config = optarg;
                        break;
                case 'h':
                        printf("%s\n", usage);
                        return -1;
                default:
                        return EXIT_USAGE;
                }
        if (optind != argc) {
                fprintf(stderr, "usage: %s\n", usage);
                return EXIT_USAGE;
        }
        return ctl_load_config(config, ret);
}

int cmd_users(int argc, char **argv) {
        ephem_config *c = NULL;
        _cleanup_free_ user_record *users = NULL;
        int64_t now = (int64_t) time(NULL);
        size_t n = 0;
        int r;

        r = config_only(argc, argv, "ephemctl users [--config FILE]", &c);
        if (r != 0)
                return r < 0 ? 0 : r;
        r = store_user_list(c, &users, &n);
        if (r < 0) {
                fprintf(stderr, "cannot read the user store under %s: %s\n", c->state_dir, strerror(-r));
                config_free(c);
                return EXIT_USAGE;
        }
        printf("%-24s %-11s %-20s %-20s %-20s %-8s %s\n", "USER", "UID", "GROUPS", "CREATED", "EXPIRES", "LEFT",
               "SESSIONS");
        for (size_t i = 0; i < n; i++) {
                char groups[128] = "", created[32], expires[32], left[32];
                size_t off = 0;

                for (size_t g = 0; g < users[i].n_groups && off < sizeof(groups) - 16; g++) {
                        struct group *gr = getgrgid(users[i].groups[g]);
                        int k = snprintf(groups + off, sizeof(groups) - off, "%s%s", off ? "," : "",
                                         gr ? gr->gr_name : "?");
                        if (k > 0)
                                off += (size_t) k;
                }
                format_time(users[i].created, created, sizeof(created));
                format_time(users[i].expires, expires, sizeof(expires));
                format_left(users[i].expires - now, left, sizeof(left));
                {
                        int live = session_user_live(c, users[i].name, NULL);
                        char sessions[16];
                        /* Session records are root's: others see the users only. */
                        (void) snprintf(sessions, sizeof(sessions), live < 0 ? "?" : "%d", live);
                        printf("%-24s %-11u %-20s %-20s %-20s %-8s %s\n", users[i].name, (unsigned) users[i].uid,
                               groups[0] ? groups : "-", created, expires, left, sessions);
                }
        }
        printf("%zu transient user(s)\n", n);
        config_free(c);
        return 0;
}

int cmd_sessions(int argc, char **argv) {
        ephem_config *c = NULL;
        session_record *l = NULL;
        int64_t now = (int64_t) time(NULL);
        size_t n = 0;
        int r;

        r = config_only(argc, argv, "ephemctl sessions [--config FILE]", &c);
        if (r != 0)
                return r < 0 ? 0 : r;
        r = session_list(c, &l, &n);
        if (r < 0) {
                fprintf(stderr, "cannot read sessions under %s: %s\n", c->state_dir, strerror(-r));
                config_free(c);
                return EXIT_USAGE;
        }
        printf("%-16s %-20s %-24s %-16s %-20s %-20s %-8s %s\n", "SESSION", "USER", "SUBJECT", "TOKEN", "START",
               "DEADLINE", "LEFT", "ENDS BY");
        for (size_t i = 0; i < n; i++) {
                char start[32], deadline[32], left[32], sub[64];
                format_time(l[i].start, start, sizeof(start));
                format_time(l[i].deadline, deadline, sizeof(deadline));
                format_left(l[i].deadline - now, left, sizeof(left));
                sanitize_for_log(l[i].sub, sub, sizeof(sub) > 25 ? 25 : sizeof(sub));
                printf("%-16s %-20s %-24s %-16s %-20s %-20s %-8s %s%s\n", l[i].id, l[i].user, sub, l[i].fingerprint,
                       start, deadline, left, l[i].deadline_reason, session_alive(&l[i]) ? "" : " (ended)");
        }
        printf("%zu session(s)\n", n);
        session_list_free(l, n);
        config_free(c);
        return 0;
}

int cmd_revoke(int argc, char **argv) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "jti", required_argument, NULL, 'j' },
                { "sub", required_argument, NULL, 's' },
                { "user", required_argument, NULL, 'u' },
                { "issuer", required_argument, NULL, 'i' },
                { "fingerprint", required_argument, NULL, 'f' },
                { "iss", required_argument, NULL, 'I' },
                { "until", required_argument, NULL, 't' },
                { "cert-serial", required_argument, NULL, 'S' },
                { "cert-key-id", required_argument, NULL, 'k' },
                { "ca", required_argument, NULL, 'C' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *config = NULL, *value = NULL, *iss = NULL, *ca = NULL;
        bool cert_option = false;
        char ca_iss[80];
        revocation_kind kind = _REVOKE_KIND_MAX;
        int64_t now = (int64_t) time(NULL), until = 0;
        ephem_config *c = NULL;
        int opt, r;

        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                revocation_kind k = _REVOKE_KIND_MAX;
                switch (opt) {
                case 'c':
                        config = optarg;
                        continue;
                case 'I':
                        iss = optarg;
                        continue;
                case 't': {
                        uint64_t v;
                        if (parse_duration(optarg, &v) < 0) {
                                fprintf(stderr, "--until: a duration from now (e.g. 1h)\n");
                                return EXIT_USAGE;
                        }
                        until = now + (int64_t) v;
                        continue;
                }
                case 'j':
                        k = REVOKE_JTI;
                        break;
                case 's':
                        k = REVOKE_SUB;
                        break;
                case 'u':
                        k = REVOKE_USER;
                        break;
                case 'i':
                        k = REVOKE_ISSUER;
                        break;
                case 'f':
                        k = REVOKE_FP;
                        break;
                case 'S': /* a certificate serial is the jti of a CA's "tokens" */
                        k = REVOKE_JTI;
                        cert_option = true;
                        break;
                case 'k': /* a key id is their subject */
                        k = REVOKE_SUB;
                        cert_option = true;
                        break;
                case 'C':
                        ca = optarg;
                        continue;
                case 'h':
                        printf("ephemctl revoke (--jti ID --iss ISS | --sub SUB --iss ISS | --user NAME | --issuer ISS |\n"
                               "                 --fingerprint FP | --cert-serial N --ca CA | --cert-key-id ID --ca CA |\n"
                               "                 --ca CA) [--until DURATION] [--config FILE]\n");
                        return 0;
                default:
                        return EXIT_USAGE;
                }
                if (kind != _REVOKE_KIND_MAX) {
                        fprintf(stderr, "revoke one thing at a time\n");
                        return EXIT_USAGE;
                }
                kind = k;
                value = optarg;
        }
        if (cert_option && !ca) {
                fprintf(stderr,
                        "--cert-serial and --cert-key-id need --ca (the CA's [ca] name or SHA256: fingerprint)\n");
                return EXIT_USAGE;
        }
        if (ca && kind == _REVOKE_KIND_MAX) {
                /* --ca alone: every certificate of the CA. */
                kind = REVOKE_ISSUER;
                value = ca;
        }
        if (kind == _REVOKE_KIND_MAX || optind != argc) {
                fprintf(stderr, "usage: ephemctl revoke --jti|--sub|--user|--issuer|--fingerprint VALUE [--iss ISS]\n");
                return EXIT_USAGE;
        }
        r = ctl_load_config(config, &c);
        if (r != 0)
                return r;
        if (ca) {
                /* Certificates: the CA by [ca] name or SHA256 fingerprint; revocation
                 * entries use the issuer "ssh-ca:<fingerprint>". */
                const char *fp = NULL;
                for (size_t i = 0; i < c->n_cas; i++)
                        if (streq(c->cas[i].name, ca) || streq(c->cas[i].fingerprint, ca))
                                fp = c->cas[i].fingerprint;
                if (!fp && strncmp(ca, "SHA256:", 7) == 0)
                        fp = ca;
                if (!fp) {
                        fprintf(stderr, "--ca: no [ca] section named %s (or give its SHA256: fingerprint)\n", ca);
                        config_free(c);
                        return EXIT_USAGE;
                }
                (void) snprintf(ca_iss, sizeof(ca_iss), "ssh-ca:%s", fp);
                if (kind == REVOKE_ISSUER)
                        value = ca_iss;
                else
                        iss = ca_iss;
        }
        if (kind == REVOKE_JTI || kind == REVOKE_SUB) {
                /* A jti or subject is unique only within its issuer: name it, or take the
                 * only one configured. */
                if (!iss && c->n_issuers == 1)
                        iss = c->issuers[0].iss;
                if (!iss) {
                        fprintf(stderr, "--%s needs --iss ISS (several issuers are configured)\n",
                                revocation_kind_to_string(kind));
                        config_free(c);
                        return EXIT_USAGE;
                }
        }
        r = revocation_add(c, kind, iss, value, until, "ephemctl", now);
        if (r < 0) {
                fprintf(stderr, "cannot record the revocation in %s: %s\n", c->revocation_dir, strerror(-r));
                config_free(c);
                return EXIT_USAGE;
        }
        {
                audit_record a = {
                        .event = AUDIT_REVOCATION_APPLIED, .identifier = "ephemctl", .uid = -1, .extra_num = 1
                };
                char d[320];
                /* Identifiers, not secrets: the value is what an auditor must see. */
                (void) snprintf(d, sizeof(d), "%s %s%s%s revoked by ephemctl", revocation_kind_to_string(kind), value,
                                iss ? " of " : "", strempty(iss));
                a.detail = d;
                audit_emit(&a);
        }
        printf("revoked %s; live sessions it matches end within a second\n", revocation_kind_to_string(kind));
        config_free(c);
        return 0;
}

int cmd_revocations_apply(int argc, char **argv) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *config = NULL;
        ephem_config *c = NULL;
        _cleanup_free_ char *doc = NULL;
        ephem_verdict v = { 0 };
        ephem_reason reason;
        unsigned added = 0;
        FILE *f;
        size_t len = 0, cap = 0;
        int opt, r;

        while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) >= 0)
                switch (opt) {
                case 'c':
                        config = optarg;
                        break;
                case 'h':
                        printf("ephemctl revocations apply [--config FILE] FILE|-\n");
                        return 0;
                default:
                        return EXIT_USAGE;
                }
        if (optind != argc - 1) {
                fprintf(stderr, "usage: ephemctl revocations apply [--config FILE] FILE|-\n");
                return EXIT_USAGE;
        }
        f = streq(argv[optind], "-") ? stdin : fopen(argv[optind], "re");
        if (!f) {
                fprintf(stderr, "%s: %s\n", argv[optind], strerror(errno));
                return EXIT_USAGE;
        }
        for (;;) {
                size_t k;
                if (len + 65536 > cap) {
                        char *nd;
                        cap = cap ? cap * 2 : 131072;
                        if (cap > REVOCATION_DOC_MAX + 65536) {
                                fprintf(stderr, "%s: larger than %u bytes\n", argv[optind], REVOCATION_DOC_MAX);
                                if (f != stdin)
                                        fclose(f);
                                return EXIT_USAGE;
                        }
                        nd = realloc(doc, cap + 1);
                        if (!nd) {
                                if (f != stdin)
                                        fclose(f);
                                return EXIT_USAGE;
                        }
                        doc = nd;
                }
                k = fread(doc + len, 1, cap - len, f);
                len += k;
                if (k == 0)
                        break;
        }
        if (f != stdin)
                fclose(f);
        if (!doc)
                return EXIT_USAGE;
        while (len > 0 && (doc[len - 1] == '\n' || doc[len - 1] == '\r' || doc[len - 1] == ' '))
                len--;
        doc[len] = '\0';

        r = ctl_load_config(config, &c);
        if (r != 0)
                return r;
        reason = revocation_apply_document(c, doc, len, (int64_t) time(NULL), &added, &v);
        if (reason != EPHEM_OK) {
                fprintf(stderr, "revocation list refused: %s: %s%s%s\n", reason_id(reason), reason_text(reason),
                        v.detail[0] ? " — " : "", v.detail);
                config_free(c);
                return EXIT_DENIED;
        }
        {
                audit_record a = { .event = AUDIT_REVOCATION_APPLIED,
                                   .identifier = "ephemctl",
                                   .uid = -1,
                                   .extra_num = added,
                                   .detail = "signed revocation list" };
                audit_emit(&a);
        }
        printf("applied %u revocation(s)\n", added);
        config_free(c);
        return 0;
}

int cmd_revocations_list(int argc, char **argv) {
        ephem_config *c = NULL;
        revocation_entry *l = NULL;
        size_t n = 0, unreadable = 0;
        int r;

        r = config_only(argc, argv, "ephemctl revocations list [--config FILE]", &c);
        if (r != 0)
                return r < 0 ? 0 : r;
        r = revocation_list(c, &l, &n, &unreadable);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", c->revocation_dir, strerror(-r));
                config_free(c);
                return EXIT_USAGE;
        }
        printf("%-7s %-40s %-30s %-20s %s\n", "KIND", "VALUE", "ISSUER", "UNTIL", "SOURCE");
        for (size_t i = 0; i < n; i++) {
                char until[32], value[48], iss[40];
                format_time(l[i].until, until, sizeof(until));
                printf("%-7s %-40s %-30s %-20s %s\n", revocation_kind_to_string(l[i].kind),
                       sanitize_for_log(l[i].value, value, sizeof(value)), sanitize_for_log(l[i].iss, iss, sizeof(iss)),
                       l[i].until ? until : "never", l[i].source);
        }
        printf("%zu revocation(s)\n", n);
        if (unreadable > 0)
                fprintf(stderr,
                        "%zu unreadable entr%s in %s: each still revokes what it names (logins are refused), "
                        "but cannot be shown or written to a KRL; revoke again what you meant to revoke, "
                        "then remove the damaged files\n",
                        unreadable, unreadable == 1 ? "y" : "ies", c->revocation_dir);
        free(l);
        config_free(c);
        return 0;
}

/*
 * The backstop for a cut-off helper that is gone (killed, crashed): a live session
 * past its deadline is cut off, one whose token, user or certificate has been
 * revoked is ended. Normally each session's ephem-cutoff did that long before: the
 * sweep leaves it BACKSTOP_GRACE seconds to do so. Returns how many sessions were
 * ended.
 */
#define BACKSTOP_GRACE 10
static unsigned end_overdue_sessions(const ephem_config *c, int64_t now) {
        session_record *l = NULL;
        size_t n = 0;
        unsigned ended = 0;

        if (session_list(c, &l, &n) < 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                session_record *s = &l[i];
                char detail[192] = "";
                revocation_entry rev = { 0 };
                bool overdue, revoked = false;
                audit_record a;

                if (!session_alive(s))
                        continue;
                overdue = s->deadline > 0 && now > s->deadline + BACKSTOP_GRACE;
                if (!overdue)
                        revoked = revocation_check_entry(c, s->iss, s->sub, s->jti, s->user, s->fingerprint, now,
                                                         detail, sizeof(detail), &rev) &&
                                  (rev.added_us == 0 || rev.added_us / 1000000 + BACKSTOP_GRACE < now);
                if (!overdue && !revoked)
                        continue;
                session_status_write(c, s, overdue ? "cut_off" : "revoked");
                a = (audit_record){ .event = overdue ? AUDIT_SESSION_CUTOFF : AUDIT_SESSION_REVOKED,
                                    .identifier = "ephemctl",
                                    .user = s->user,
                                    .uid = (int64_t) s->uid,
                                    .session_id = s->id,
                                    .iss = s->iss,
                                    .sub = s->sub,
                                    .jti = s->jti,
                                    .fingerprint = s->fingerprint,
                                    .deadline = s->deadline,
                                    .revoked_at = revoked ? rev.added_us : 0 };
                if (session_kill(c, s, 5000) < 0) {
                        a.reason = EPHEM_R_INTERNAL;
                        a.detail =
                                "ended by ephemctl gc (its cut-off helper was gone), but processes survived the kill";
                } else
                        a.detail = overdue ? "ended by ephemctl gc at its deadline: its cut-off helper was gone"
                                           : "ended by ephemctl gc, revoked: its cut-off helper was gone";
                audit_emit(&a);
                ended++;
        }
        session_list_free(l, n);
        return ended;
}

int cmd_gc(int argc, char **argv) {
        ephem_config *c = NULL;
        gc_stats st = { 0 };
        int64_t now = (int64_t) time(NULL);
        int r, rev;
        unsigned ended;

        r = config_only(argc, argv, "ephemctl gc [--config FILE]", &c);
        if (r != 0)
                return r < 0 ? 0 : r;
        ended = end_overdue_sessions(c, now);
        r = store_gc(c, now, STORE_GC_REPLAY, &st);
        rev = revocation_gc(c, now);
        if (r < 0) {
                fprintf(stderr, "sweep failed: %s\n", strerror(-r));
                config_free(c);
                return EXIT_USAGE;
        }
        if (ended > 0)
                printf("ended %u live session(s) past their deadline or revoked, whose cut-off helper was gone\n",
                       ended);
        printf("removed %u user(s), %u ended session(s), %u stale login record(s), %d replay entries, %d lapsed "
               "revocation(s)\n",
               st.users_removed, st.sessions_removed, st.logins_removed, st.replay_removed > 0 ? st.replay_removed : 0,
               rev > 0 ? rev : 0);
        if (st.quarantine_unreadable > 0)
                fprintf(stderr,
                        "%u damaged UID quarantine record(s) in %s: their UIDs stay taken until the files are "
                        "removed by hand (check which name each UID had first)\n",
                        st.quarantine_unreadable, c->users.quarantine_dir);
        config_free(c);
        return 0;
}

/*
 * ephemctl revocations krl --ca NAME --out FILE: the CA's revoked serials and key
 * ids (and the CA itself, if revoked) as an OpenSSH key revocation list for sshd's
 * RevokedKeys, built by ssh-keygen -k from a specification file.
 */
int cmd_revocations_krl(int argc, char **argv) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "ca", required_argument, NULL, 'C' },
                { "out", required_argument, NULL, 'o' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *config = NULL, *ca_name = NULL, *out = NULL;
        const ephem_ca *ca = NULL;
        ephem_config *c = NULL;
        revocation_entry *l = NULL;
        char iss[80], dir[] = "/tmp/ephem-krl.XXXXXX", spec[64], pub[64];
        size_t n = 0, written = 0, unreadable = 0;
        FILE *f;
        int opt, r = EXIT_USAGE;

        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case 'c':
                        config = optarg;
                        break;
                case 'C':
                        ca_name = optarg;
                        break;
                case 'o':
                        out = optarg;
                        break;
                case 'h':
                        printf("ephemctl revocations krl --ca NAME --out FILE [--config FILE]\n");
                        return 0;
                default:
                        return EXIT_USAGE;
                }
        if (!ca_name || !out || optind != argc) {
                fprintf(stderr, "usage: ephemctl revocations krl --ca NAME --out FILE [--config FILE]\n");
                return EXIT_USAGE;
        }
        if (ctl_load_config(config, &c) != 0)
                return EXIT_USAGE;
        for (size_t i = 0; i < c->n_cas; i++)
                if (streq(c->cas[i].name, ca_name))
                        ca = &c->cas[i];
        if (!ca || !ca->key_line) {
                fprintf(stderr, "[ca %s] %s: a KRL needs the CA's public key (key = ...)\n", ca_name,
                        ca ? "has only a fingerprint" : "does not exist");
                goto done;
        }
        if (revocation_list(c, &l, &n, &unreadable) < 0 || !mkdtemp(dir)) {
                fprintf(stderr, "cannot read revocations or make a temporary directory\n");
                goto done;
        }
        if (unreadable > 0) {
                /* sshd would let through what the missing entries revoke. */
                fprintf(stderr,
                        "%zu unreadable revocation entr%s in %s: no KRL written (it would be incomplete); "
                        "see ephemctl revocations list\n",
                        unreadable, unreadable == 1 ? "y" : "ies", c->revocation_dir);
                (void) rmdir(dir);
                goto done;
        }
        (void) snprintf(iss, sizeof(iss), "ssh-ca:%s", ca->fingerprint);
        (void) snprintf(spec, sizeof(spec), "%s/spec", dir);
        (void) snprintf(pub, sizeof(pub), "%s/ca.pub", dir);
        f = fopen(pub, "we");
        if (!f || fprintf(f, "%s\n", ca->key_line) < 0 || fclose(f) != 0)
                goto cleanup;
        f = fopen(spec, "we");
        if (!f)
                goto cleanup;
        for (size_t i = 0; i < n; i++) {
                bool ours = streq(l[i].iss, iss);
                if (l[i].until != 0 && l[i].until < (int64_t) time(NULL))
                        continue; /* lapsed, not swept yet */
                uint64_t serial;
                if (l[i].kind == REVOKE_JTI && ours && parse_u64(l[i].value, &serial) == 0) {
                        fprintf(f, "serial: %" PRIu64 "\n", serial);
                        written++;
                } else if (l[i].kind == REVOKE_SUB && ours && !strchr(l[i].value, '\n')) {
                        fprintf(f, "id: %s\n", l[i].value);
                        written++;
                } else if (l[i].kind == REVOKE_ISSUER && streq(l[i].value, iss)) {
                        fprintf(f, "key: %s\n", ca->key_line); /* the CA itself: all of its certificates */
                        written++;
                }
        }
        if (fclose(f) != 0)
                goto cleanup;
        {
                /* ssh-keygen -k -f OUT -s CA.pub SPEC; no shell involved. */
                pid_t pid = fork();
                int status = 0;
                if (pid == 0) {
                        execlp("ssh-keygen", "ssh-keygen", "-q", "-k", "-f", out, "-s", pub, spec, (char *) NULL);
                        _exit(127);
                }
                if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                        fprintf(stderr, "ssh-keygen -k failed\n");
                        goto cleanup;
                }
        }
        printf("%s: %zu revocation(s) of [ca %s]; point sshd's RevokedKeys at it\n", out, written, ca_name);
        r = 0;
cleanup:
        (void) unlink(spec);
        (void) unlink(pub);
        (void) rmdir(dir);
done:
        free(l);
        config_free(c);
        return r;
}
