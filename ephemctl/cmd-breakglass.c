/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ephemctl breakglass generate | list | revoke */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ephem/audit.h"
#include "ephem/breakglass.h"
#include "ephem/macro.h"
#include "ephem/state.h"
#include "ephem/strutil.h"
#include "ephemctl.h"

typedef struct bg_opts {
        const char *config;
        const char *account;
        unsigned count;
        unsigned number;
        bool all;
} bg_opts;

static int parse_opts(int argc, char **argv, const char *usage, bg_opts *o) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "account", required_argument, NULL, 'a' },
                { "count", required_argument, NULL, 'n' },
                { "number", required_argument, NULL, 'N' },
                { "all", no_argument, NULL, 'A' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        uint32_t v;
        int opt;

        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case 'c':
                        o->config = optarg;
                        break;
                case 'a':
                        o->account = optarg;
                        break;
                case 'n':
                case 'N':
                        if (parse_u32(optarg, &v) < 0 || v == 0 || v > BREAKGLASS_MAX_CODES) {
                                fprintf(stderr, "--%s: a number from 1 to %u\n", opt == 'n' ? "count" : "number",
                                        opt == 'n' ? 100u : BREAKGLASS_MAX_CODES);
                                return EXIT_USAGE;
                        }
                        *(opt == 'n' ? &o->count : &o->number) = v;
                        break;
                case 'A':
                        o->all = true;
                        break;
                case 'h':
                        printf("%s\n", usage);
                        return -1;
                default:
                        return EXIT_USAGE;
                }
        if (!o->account || optind != argc) {
                fprintf(stderr, "usage: %s\n", usage);
                return EXIT_USAGE;
        }
        return 0;
}

int cmd_breakglass_generate(int argc, char **argv) {
        const char *usage = "ephemctl breakglass generate --account NAME [--count N] [--config FILE]";
        bg_opts o = { .count = 10 };
        ephem_config *c = NULL;
        char **codes = NULL, detail[256] = "";
        unsigned *numbers = NULL;
        int r;

        r = parse_opts(argc, argv, usage, &o);
        if (r != 0)
                return r < 0 ? 0 : r;
        r = ctl_load_config(o.config, &c);
        if (r != 0)
                return r;
        if (!breakglass_account(c, o.account)) {
                fprintf(stderr, "'%s' is not an emergency account: list it in [breakglass] accounts first\n",
                        o.account);
                config_free(c);
                return EXIT_USAGE;
        }
        {
                struct passwd *pw = getpwnam(o.account);
                if (pw && pw->pw_uid == 0) {
                        fprintf(stderr, "root cannot be an emergency account: use a local account of its own\n");
                        config_free(c);
                        return EXIT_USAGE;
                }
        }
        r = breakglass_generate(c, o.account, o.count, &codes, &numbers, detail, sizeof(detail));
        if (r < 0) {
                fprintf(stderr, "cannot generate codes: %s\n", detail);
                config_free(c);
                return EXIT_USAGE;
        }
        printf("Break-glass codes for %s. They are shown this once and stored only as scrypt hashes.\n"
               "Each works once, only for %s, with a session of at most %" PRIu64 " s; every use raises an alert.\n"
               "Keep them offline (printed, in a safe).\n\n",
               o.account, o.account, c->breakglass_session);
        for (char **p = codes; *p; p++)
                printf("  %s\n", *p);
        fflush(stdout);
        {
                audit_record a = { .event = AUDIT_BREAKGLASS_GENERATED,
                                   .identifier = "ephemctl",
                                   .user = o.account,
                                   .uid = -1,
                                   .extra_num = o.count };
                audit_emit(&a);
        }
        breakglass_codes_free(codes);
        free(numbers);
        config_free(c);
        return 0;
}

int cmd_breakglass_list(int argc, char **argv) {
        const char *usage = "ephemctl breakglass list --account NAME [--config FILE]";
        bg_opts o = { 0 };
        ephem_config *c = NULL;
        breakglass_entry *l = NULL;
        size_t n = 0, left = 0;
        int r;

        r = parse_opts(argc, argv, usage, &o);
        if (r != 0)
                return r < 0 ? 0 : r;
        r = ctl_load_config(o.config, &c);
        if (r != 0)
                return r;
        r = breakglass_list(c, o.account, &l, &n);
        if (r < 0) {
                fprintf(stderr, "%s/%s: %s\n", c->breakglass_dir, o.account,
                        r == -EPERM ? "must be root's with mode 0700" : strerror(-r));
                config_free(c);
                return EXIT_USAGE;
        }
        printf("%-4s %-8s %-20s %-20s %s\n", "NO", "STATE", "CREATED", "USED", "FROM");
        for (size_t i = 0; i < n; i++) {
                char created[32] = "-", used[32] = "-";
                time_t t;
                struct tm tm;
                if (l[i].created && (t = (time_t) l[i].created, gmtime_r(&t, &tm)))
                        strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
                if (l[i].used_at && (t = (time_t) l[i].used_at, gmtime_r(&t, &tm)))
                        strftime(used, sizeof(used), "%Y-%m-%dT%H:%M:%SZ", &tm);
                printf("%-4u %-8s %-20s %-20s %s\n", l[i].number, l[i].used ? "used" : "unused", created, used,
                       l[i].used ? (l[i].used_from[0] ? l[i].used_from : "?") : "");
                left += !l[i].used;
        }
        printf("%zu unused code(s) for %s\n", left, o.account);
        free(l);
        config_free(c);
        return 0;
}

int cmd_breakglass_revoke(int argc, char **argv) {
        const char *usage = "ephemctl breakglass revoke --account NAME (--number N | --all) [--config FILE]";
        bg_opts o = { 0 };
        ephem_config *c = NULL;
        int r;

        r = parse_opts(argc, argv, usage, &o);
        if (r != 0)
                return r < 0 ? 0 : r;
        if (!o.all == !o.number) {
                fprintf(stderr, "usage: %s\n", usage);
                return EXIT_USAGE;
        }
        r = ctl_load_config(o.config, &c);
        if (r != 0)
                return r;
        r = breakglass_revoke(c, o.account, o.all ? 0 : o.number);
        if (r < 0) {
                fprintf(stderr,
                        "%s/%s: %s: not every code could be withdrawn; those still listed as unused by "
                        "'ephemctl breakglass list --account %s' remain valid\n",
                        c->breakglass_dir, o.account, strerror(-r), o.account);
                config_free(c);
                return EXIT_USAGE;
        }
        if (r == 0 && !o.all) {
                fprintf(stderr, "%s has no unused code %u: nothing was withdrawn\n", o.account, o.number);
                config_free(c);
                return EXIT_USAGE;
        }
        {
                audit_record a = { .event = AUDIT_REVOCATION_APPLIED,
                                   .identifier = "ephemctl",
                                   .user = o.account,
                                   .uid = -1,
                                   .extra_num = r };
                char d[160];
                if (o.all)
                        (void) snprintf(d, sizeof(d), "break-glass codes of %s revoked by ephemctl (all unused)",
                                        o.account);
                else
                        (void) snprintf(d, sizeof(d), "break-glass code %u of %s revoked by ephemctl", o.number,
                                        o.account);
                a.detail = d;
                audit_emit(&a);
        }
        printf("revoked %d unused code(s) of %s\n", r, o.account);
        config_free(c);
        return 0;
}
