/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ephemctl report: the figures that show ephemeral access working, from the audit
 * trail — this host's journal (sd-journal), a journal directory, or a
 * `journalctl -o json` export from another host.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "ephem/audit.h"
#include "ephem/json.h"
#include "ephem/macro.h"
#include "ephem/state.h"
#include "ephem/strutil.h"
#include "ephemctl.h"

#define FIELD_LEN 128

typedef struct event {
        char name[FIELD_LEN];
        char reason[FIELD_LEN];
        char issuer[FIELD_LEN];
        char rule[FIELD_LEN];
        char detail[FIELD_LEN];
        int64_t at_us; /* __REALTIME_TIMESTAMP */
        int64_t exp, iat, deadline;
        int64_t revoked_at_us;
} event;

/* A counter keyed by a string (issuer/rule, reason). */
typedef struct tally {
        char key[2 * FIELD_LEN + 4];
        unsigned count;
} tally;

typedef struct series {
        double *v;
        size_t n, cap;
} series;

typedef struct report {
        int64_t first_us, last_us;
        unsigned events;
        unsigned logins, breakglass, sessions, cutoffs, revoked, closed, users_created, users_removed,
                revocations_applied, config_errors, breakglass_generated;
        tally *by_source, *by_breakglass, *by_reason;
        size_t n_source, n_breakglass, n_reason;
        series lifetime, delay, lateness, revoke_latency;
} report;

static void tally_add(tally **t, size_t *n, const char *key) {
        tally *nt;

        for (size_t i = 0; i < *n; i++)
                if (streq((*t)[i].key, key)) {
                        (*t)[i].count++;
                        return;
                }
        nt = realloc(*t, (*n + 1) * sizeof(**t));
        if (!nt)
                return;
        *t = nt;
        (void) snprintf((*t)[*n].key, sizeof((*t)[*n].key), "%s", key);
        (*t)[(*n)++].count = 1;
}

static void series_add(series *s, double v) {
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 64;
                double *nv = realloc(s->v, cap * sizeof(double));
                if (!nv)
                        return;
                s->v = nv;
                s->cap = cap;
        }
        s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

static double series_median(series *s) {
        if (s->n == 0)
                return 0;
        qsort(s->v, s->n, sizeof(double), cmp_double);
        return s->n % 2 ? s->v[s->n / 2] : (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
}

static double series_mean(const series *s) {
        double sum = 0;
        for (size_t i = 0; i < s->n; i++)
                sum += s->v[i];
        return s->n ? sum / (double) s->n : 0;
}

static void account(report *r, const event *e) {
        char key[2 * FIELD_LEN + 4];

        r->events++;
        if (!r->first_us || e->at_us < r->first_us)
                r->first_us = e->at_us;
        if (e->at_us > r->last_us)
                r->last_us = e->at_us;
        if (streq(e->name, "auth_ok") || streq(e->name, "breakglass_used")) {
                /* Break-glass uses (codes, emergency tokens) are counted apart from the
                 * logins, each with its own breakdown: the two add up to the accepted. */
                (void) snprintf(key, sizeof(key), "%s / %s", e->issuer[0] ? e->issuer : "breakglass",
                                e->rule[0] ? e->rule : "-");
                if (streq(e->name, "breakglass_used")) {
                        r->breakglass++;
                        tally_add(&r->by_breakglass, &r->n_breakglass, key);
                } else {
                        r->logins++;
                        tally_add(&r->by_source, &r->n_source, key);
                }
                if (e->exp > 0 && e->iat > 0 && e->exp >= e->iat)
                        series_add(&r->lifetime, (double) (e->exp - e->iat));
                if (e->iat > 0 && e->at_us / 1000000 >= e->iat)
                        /* Whole seconds, as iat has them. NOLINTNEXTLINE(bugprone-integer-division) */
                        series_add(&r->delay, (double) (e->at_us / 1000000 - e->iat));
        } else if (streq(e->name, "auth_denied") || streq(e->name, "account_denied") ||
                   streq(e->name, "session_denied"))
                tally_add(&r->by_reason, &r->n_reason, e->reason[0] ? e->reason : "unknown");
        else if (streq(e->name, "session_open"))
                r->sessions++;
        else if (streq(e->name, "session_cutoff")) {
                r->cutoffs++;
                if (e->deadline > 0)
                        series_add(&r->lateness, (double) (e->at_us - e->deadline * 1000000) / 1000.0);
        } else if (streq(e->name, "session_revoked")) {
                r->revoked++;
                if (e->revoked_at_us > 0 && e->at_us >= e->revoked_at_us)
                        series_add(&r->revoke_latency, (double) (e->at_us - e->revoked_at_us) / 1000.0);
        } else if (streq(e->name, "session_close"))
                r->closed++;
        else if (streq(e->name, "user_created"))
                r->users_created++;
        else if (streq(e->name, "user_removed"))
                r->users_removed++;
        else if (streq(e->name, "revocation_applied"))
                r->revocations_applied++;
        else if (streq(e->name, "config_error"))
                r->config_errors++;
        else if (streq(e->name, "breakglass_generated"))
                r->breakglass_generated++;
}

/* Fills one field of an event from "NAME=value". */
static void set_field(event *e, const char *name, const char *value, size_t len) {
        char buf[FIELD_LEN];
        int64_t v;
        uint64_t u;

        if (len >= sizeof(buf))
                len = sizeof(buf) - 1;
        memcpy(buf, value, len);
        buf[len] = '\0';
        v = parse_u64(buf, &u) == 0 && u <= INT64_MAX ? (int64_t) u : 0;
        if (streq(name, "EPHEM_EVENT"))
                (void) snprintf(e->name, sizeof(e->name), "%s", buf);
        else if (streq(name, "EPHEM_REASON"))
                (void) snprintf(e->reason, sizeof(e->reason), "%s", buf);
        else if (streq(name, "EPHEM_ISSUER"))
                (void) snprintf(e->issuer, sizeof(e->issuer), "%s", buf);
        else if (streq(name, "EPHEM_RULE"))
                (void) snprintf(e->rule, sizeof(e->rule), "%s", buf);
        else if (streq(name, "EPHEM_DETAIL"))
                (void) snprintf(e->detail, sizeof(e->detail), "%s", buf);
        else if (streq(name, "EPHEM_EXP"))
                e->exp = v;
        else if (streq(name, "EPHEM_IAT"))
                e->iat = v;
        else if (streq(name, "EPHEM_DEADLINE"))
                e->deadline = v;
        else if (streq(name, "EPHEM_REVOKED_AT_USEC"))
                e->revoked_at_us = v;
        else if (streq(name, "__REALTIME_TIMESTAMP"))
                e->at_us = v;
}

static const char *const fields[] = {
        "EPHEM_EVENT", "EPHEM_REASON",   "EPHEM_ISSUER",          "EPHEM_RULE", "EPHEM_DETAIL", "EPHEM_EXP",
        "EPHEM_IAT",   "EPHEM_DEADLINE", "EPHEM_REVOKED_AT_USEC",
};

static int read_journal(const char *directory, int64_t since_us, int64_t until_us, report *r) {
        sd_journal *j = NULL;
        int k;

        k = directory ? sd_journal_open_directory(&j, directory, 0) : sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
        if (k < 0) {
                fprintf(stderr, "cannot open the journal%s%s: %s\n", directory ? " in " : "", strempty(directory),
                        strerror(-k));
                return EXIT_USAGE;
        }
        for (int e = 0; e < _AUDIT_EVENT_MAX; e++) {
                char match[64];
                (void) snprintf(match, sizeof(match), "MESSAGE_ID=%s", audit_event_message_id((audit_event) e));
                (void) sd_journal_add_match(j, match, 0);
        }
        if (since_us > 0)
                (void) sd_journal_seek_realtime_usec(j, (uint64_t) since_us);
        while ((k = sd_journal_next(j)) > 0) {
                event ev = { 0 };
                uint64_t at;
                const void *data;
                size_t len;

                if (sd_journal_get_realtime_usec(j, &at) < 0)
                        continue;
                ev.at_us = (int64_t) at;
                if (since_us > 0 && ev.at_us < since_us)
                        continue;
                if (until_us > 0 && ev.at_us > until_us)
                        break;
                for (size_t f = 0; f < ELEMENTSOF(fields); f++)
                        if (sd_journal_get_data(j, fields[f], &data, &len) >= 0 && len > strlen(fields[f]) + 1)
                                set_field(&ev, fields[f], (const char *) data + strlen(fields[f]) + 1,
                                          len - strlen(fields[f]) - 1);
                if (ev.name[0])
                        account(r, &ev);
        }
        sd_journal_close(j);
        if (k < 0) {
                /* A report that silently stopped halfway would undercount refusals. */
                fprintf(stderr, "reading the journal failed: %s\n", strerror(-k));
                return EXIT_USAGE;
        }
        return 0;
}

/* journalctl -o json: one object per line; fields are strings (or arrays of byte
 * values for binary data, which ephem never writes). */
static int read_export(const char *path, int64_t since_us, int64_t until_us, report *r) {
        FILE *f = streq(path, "-") ? stdin : fopen(path, "re");
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        unsigned bad = 0;

        if (!f) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return EXIT_USAGE;
        }
        while ((n = getline(&line, &cap, f)) > 0) {
                json_t *o;
                event ev = { 0 };
                json_error_t err = { 0 };
                const char *key;
                json_t *val;

                if (n > 1024 * 1024) {
                        bad++;
                        continue;
                }
                o = json_loadb(line, (size_t) n, JSON_REJECT_DUPLICATES, &err);
                if (!json_is_object(o)) {
                        json_decref(o);
                        bad++;
                        continue;
                }
                json_object_foreach(o, key, val)
                        if (json_is_string(val))
                                set_field(&ev, key, json_string_value(val), json_string_length(val));
                json_decref(o);
                if (!ev.name[0] || (since_us > 0 && ev.at_us < since_us) || (until_us > 0 && ev.at_us > until_us))
                        continue;
                account(r, &ev);
        }
        free(line);
        if (f != stdin)
                fclose(f);
        if (bad)
                fprintf(stderr, "%u lines of %s were not JSON objects and were skipped\n", bad, path);
        return 0;
}

/* "24h" (before now), a Unix time, or "YYYY-MM-DD[THH:MM:SS]" (UTC). */
static int parse_when(const char *s, int64_t *ret_us) {
        uint64_t v;
        struct tm tm = { 0 };
        const char *end;

        if (parse_u64(s, &v) == 0 && v > 100000000) {
                *ret_us = (int64_t) v * 1000000;
                return 0;
        }
        if (parse_duration(s, &v) == 0) {
                *ret_us = ((int64_t) time(NULL) - (int64_t) v) * 1000000;
                return 0;
        }
        end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!end || *end) {
                memset(&tm, 0, sizeof(tm));
                end = strptime(s, "%Y-%m-%d", &tm);
        }
        if (!end || *end)
                return -EINVAL;
        *ret_us = (int64_t) timegm(&tm) * 1000000;
        return 0;
}

static void print_text(report *r) {
        char a[32] = "-", b[32] = "-";
        time_t t;
        struct tm tm;

        if (r->first_us && (t = (time_t) (r->first_us / 1000000), gmtime_r(&t, &tm)))
                strftime(a, sizeof(a), "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (r->last_us && (t = (time_t) (r->last_us / 1000000), gmtime_r(&t, &tm)))
                strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf("ephem audit report: %u events from %s to %s\n\n", r->events, a, b);
        printf("logins accepted                    %u\n", r->logins);
        for (size_t i = 0; i < r->n_source; i++)
                printf("  %-32s %u\n", r->by_source[i].key, r->by_source[i].count);
        printf("break-glass uses                   %u\n", r->breakglass);
        for (size_t i = 0; i < r->n_breakglass; i++)
                printf("  %-32s %u\n", r->by_breakglass[i].key, r->by_breakglass[i].count);
        printf("break-glass codes generated        %u (events)\n", r->breakglass_generated);
        printf("refusals                           %zu reason(s)\n", r->n_reason);
        for (size_t i = 0; i < r->n_reason; i++)
                printf("  %-32s %u\n", r->by_reason[i].key, r->by_reason[i].count);
        printf("median credential lifetime         %.0f s (exp - iat, %zu logins)\n", series_median(&r->lifetime),
               r->lifetime.n);
        printf("median delay from issue to use     %.0f s\n", series_median(&r->delay));
        printf("sessions opened                    %u\n", r->sessions);
        printf("sessions cut off at the deadline   %u (median lateness %.0f ms)\n", r->cutoffs,
               series_median(&r->lateness));
        printf("sessions ended by revocation       %u (mean revocation to cut-off %.0f ms)\n", r->revoked,
               series_mean(&r->revoke_latency));
        printf("sessions closed by the user        %u\n", r->closed);
        printf("revocations recorded               %u\n", r->revocations_applied);
        printf("transient users created / removed  %u / %u\n", r->users_created, r->users_removed);
        printf("configuration errors               %u%s\n", r->config_errors,
               r->config_errors
                       ? " (no token login while pam_ephem could not load it; journalctl EPHEM_EVENT=config_error)"
                       : "");
}

static void print_json(report *r) {
        json_t *o = json_object(), *src = json_object(), *bg = json_object(), *rea = json_object();

        for (size_t i = 0; i < r->n_source; i++)
                json_object_set_new(src, r->by_source[i].key, json_integer(r->by_source[i].count));
        for (size_t i = 0; i < r->n_breakglass; i++)
                json_object_set_new(bg, r->by_breakglass[i].key, json_integer(r->by_breakglass[i].count));
        for (size_t i = 0; i < r->n_reason; i++)
                json_object_set_new(rea, r->by_reason[i].key, json_integer(r->by_reason[i].count));
        json_object_set_new(o, "events", json_integer(r->events));
        json_object_set_new(o, "first_usec", json_integer(r->first_us));
        json_object_set_new(o, "last_usec", json_integer(r->last_us));
        json_object_set_new(o, "logins", json_integer(r->logins));
        json_object_set_new(o, "logins_by_issuer_and_rule", src);
        json_object_set_new(o, "breakglass_uses", json_integer(r->breakglass));
        json_object_set_new(o, "breakglass_uses_by_issuer_and_rule", bg);
        json_object_set_new(o, "breakglass_generated", json_integer(r->breakglass_generated));
        json_object_set_new(o, "config_errors", json_integer(r->config_errors));
        json_object_set_new(o, "refusals_by_reason", rea);
        json_object_set_new(o, "median_credential_lifetime_s", json_real(series_median(&r->lifetime)));
        json_object_set_new(o, "median_issue_to_use_s", json_real(series_median(&r->delay)));
        json_object_set_new(o, "sessions_opened", json_integer(r->sessions));
        json_object_set_new(o, "cutoffs", json_integer(r->cutoffs));
        json_object_set_new(o, "median_cutoff_lateness_ms", json_real(series_median(&r->lateness)));
        json_object_set_new(o, "revoked_sessions", json_integer(r->revoked));
        json_object_set_new(o, "mean_revocation_to_cutoff_ms", json_real(series_mean(&r->revoke_latency)));
        json_object_set_new(o, "sessions_closed", json_integer(r->closed));
        json_object_set_new(o, "revocations_recorded", json_integer(r->revocations_applied));
        json_object_set_new(o, "users_created", json_integer(r->users_created));
        json_object_set_new(o, "users_removed", json_integer(r->users_removed));
        ctl_print_json(stdout, o);
        json_decref(o);
}

int cmd_report(int argc, char **argv) {
        static const struct option options[] = {
                { "since", required_argument, NULL, 's' },
                { "until", required_argument, NULL, 'u' },
                { "directory", required_argument, NULL, 'D' },
                { "file", required_argument, NULL, 'f' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *directory = NULL, *file = NULL;
        int64_t since = 0, until = 0;
        bool as_json = false;
        report r = { 0 };
        int opt, k;

        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case 's':
                case 'u':
                        if (parse_when(optarg, opt == 's' ? &since : &until) < 0) {
                                fprintf(stderr,
                                        "--%s: a duration back from now (24h), a Unix time or YYYY-MM-DD[THH:MM:SS]\n",
                                        opt == 's' ? "since" : "until");
                                return EXIT_USAGE;
                        }
                        break;
                case 'D':
                        directory = optarg;
                        break;
                case 'f':
                        file = optarg;
                        break;
                case 'j':
                        as_json = true;
                        break;
                case 'h':
                        printf("ephemctl report [--since WHEN] [--until WHEN] [--directory DIR | --file EXPORT.json|-] [--json]\n");
                        return 0;
                default:
                        return EXIT_USAGE;
                }
        if (optind != argc || (directory && file)) {
                fprintf(stderr,
                        "usage: ephemctl report [--since WHEN] [--until WHEN] [--directory DIR | --file EXPORT] [--json]\n");
                return EXIT_USAGE;
        }
        k = file ? read_export(file, since, until, &r) : read_journal(directory, since, until, &r);
        if (k == 0) {
                if (as_json)
                        print_json(&r);
                else
                        print_text(&r);
        }
        free(r.by_source);
        free(r.by_breakglass);
        free(r.by_reason);
        free(r.lifetime.v);
        free(r.delay.v);
        free(r.lateness.v);
        free(r.revoke_latency.v);
        return k;
}
