/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a transient user costs every process that resolves it, through the real glibc
 * NSS ("passwd: files ephem", "group: files ephem"), against a user of a 50-line
 * /etc/passwd and /etc/group answered by "files": median ns per getpwnam(),
 * getpwuid() and getgrouplist() (what initgroups() does), the same transient lookups
 * with 10, 1,000 and 100,000 users on record, and the memory loading the module adds
 * to a process. Run by bench-nss.sh, which builds the namespace (ninja -C build
 * bench-nss).
 *
 * Then, where ephem sits among the sources matters: Debian 12 with libnss-systemd
 * says "passwd: files systemd", and a transient name that reaches "ephem" only
 * after "systemd" first pays systemd's miss. In a child with a mount namespace of
 * its own (nsswitch.conf bind-mounted), the same transient lookups with
 * "files systemd ephem" and "files ephem systemd".
 *
 * Besides the report, ROW and GROWTH lines for tools/bench.sh (tests/bench/bench-util.h).
 *
 *   bench-nss populate STATE_DIR COUNT      records agent-bench and COUNT-1 random names
 *   bench-nss run FILES_USER TRANSIENT_USER CONFIG...
 *                                           CONFIG: ephem.conf of each store size
 *   bench-nss order LABEL REFERENCE_NS FILES_USER TRANSIENT_USER CONFIG
 *                                           (run by "run" in a child, after binding an
 *                                           nsswitch.conf whose passwd/group line is LABEL)
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <libgen.h>
#include <pwd.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ephem/macro.h"
#include "ephem/userconf.h"
#include "../bench/bench-util.h"

#define ROUNDS 40
#define CALLS_PER_ROUND 500
#define SAMPLES (ROUNDS * CALLS_PER_ROUND)
#define MAX_CONFIGS 4

static const gid_t BENCH_GROUPS[] = { 1010, 1040 }; /* the files user's groups, too */

/* ---- populate: records as libephem/store.c writes them, fast ---- */

static uint64_t splitmix64(uint64_t x) {
        x += UINT64_C(0x9e3779b97f4a7c15);
        x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
        return x ^ (x >> 31);
}

static int populate(const char *state_dir, unsigned count) {
        _cleanup_free_ char *by_name = NULL, *by_uid = NULL, *users = NULL;
        unsigned written = 0, collisions = 0;
        userconf u;
        int64_t now = (int64_t) time(NULL);

        if (userconf_init(&u) < 0)
                return 1;
        if (asprintf(&users, "%s/users", state_dir) < 0 || asprintf(&by_name, "%s/by-name", users) < 0 ||
            asprintf(&by_uid, "%s/by-uid", users) < 0)
                abort();
        (void) mkdir(state_dir, 0755);
        (void) mkdir(users, 0755);
        (void) mkdir(by_name, 0755);
        (void) mkdir(by_uid, 0755);
        for (unsigned i = 0; i < count; i++) {
                char name[USER_NAME_MAX + 1], path[512], uid_path[512], text[1024];
                uid_t uid;
                int fd, n;

                /* The user measured, then names like agents get (random: sequential ones
                 * happen not to collide under the UID hash, random ones do). */
                if (i == 0)
                        snprintf(name, sizeof(name), "agent-bench");
                else
                        snprintf(name, sizeof(name), "agent-%012" PRIx64, splitmix64(i) >> 16);
                uid = userconf_uid(&u, name);
                n = snprintf(text, sizeof(text),
                             "v=1\nname=%s\nuid=%u\ngid=%u\ngecos=%s\nhome=%s/%s\nshell=%s\ngroup=%u\ngroup=%u\n"
                             "created=%" PRId64 "\nexpires=%" PRId64 "\n",
                             name, (unsigned) uid, (unsigned) uid, u.gecos, u.home_base, name, u.shell,
                             (unsigned) BENCH_GROUPS[0], (unsigned) BENCH_GROUPS[1], now, now + 86400);
                snprintf(path, sizeof(path), "%s/%s", by_name, name);
                snprintf(uid_path, sizeof(uid_path), "%s/%u", by_uid, (unsigned) uid);
                fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                if (fd < 0 || write(fd, text, (size_t) n) != n) {
                        fprintf(stderr, "%s: %s\n", path, strerror(errno));
                        return 1;
                }
                close(fd);
                /* The UID of an earlier name: the store would refuse this one (a hash
                 * collision), so it is not recorded. */
                if (link(path, uid_path) < 0) {
                        if (errno != EEXIST) {
                                fprintf(stderr, "%s: %s\n", uid_path, strerror(errno));
                                return 1;
                        }
                        (void) unlink(path);
                        collisions++;
                        continue;
                }
                written++;
        }
        printf("%s: %u users recorded, %u names skipped (UID hash collisions)\n", state_dir, written, collisions);
        userconf_done(&u);
        return 0;
}

/* ---- measuring ---- */

static inline uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

typedef enum call_kind {
        CALL_GETPWNAM,
        CALL_GETPWUID,
        CALL_GETGROUPLIST,
} call_kind;

static const char *const call_names[] = { "getpwnam", "getpwuid", "getgrouplist" };

typedef struct series {
        call_kind kind;
        const char *user;
        uid_t uid;
        gid_t gid;
        const char *config; /* NULL: leave EPHEM_CONFIG alone */
        uint64_t samples[SAMPLES];
        size_t n;
        double median;
} series;

/* One call; aborts when the answer is wrong, so that no figure is measured on a failure. */
static void call(const series *s) {
        switch (s->kind) {
        case CALL_GETPWNAM: {
                struct passwd *pw = getpwnam(s->user);
                if (!pw || pw->pw_uid != s->uid) {
                        fprintf(stderr, "getpwnam(%s) failed\n", s->user);
                        abort();
                }
                break;
        }
        case CALL_GETPWUID: {
                struct passwd *pw = getpwuid(s->uid);
                if (!pw || !streq(pw->pw_name, s->user)) {
                        fprintf(stderr, "getpwuid(%u) failed\n", (unsigned) s->uid);
                        abort();
                }
                break;
        }
        case CALL_GETGROUPLIST: {
                gid_t groups[64];
                int n = ELEMENTSOF(groups);
                if (getgrouplist(s->user, s->gid, groups, &n) != 3) {
                        fprintf(stderr, "getgrouplist(%s) gave %d groups, expected 3\n", s->user, n);
                        abort();
                }
                break;
        }
        }
}

/* Rounds interleave the series, so that drift and noise fall on all of them alike. */
static void measure(series *all, size_t n_series) {
        for (size_t i = 0; i < n_series; i++) {
                if (all[i].config && setenv("EPHEM_CONFIG", all[i].config, 1) < 0)
                        abort();
                for (unsigned w = 0; w < 200; w++) /* warm: caches, the module's snapshot */
                        call(&all[i]);
        }
        for (unsigned r = 0; r < ROUNDS; r++)
                for (size_t i = 0; i < n_series; i++) {
                        series *s = &all[i];
                        if (s->config && setenv("EPHEM_CONFIG", s->config, 1) < 0)
                                abort();
                        call(s); /* a reload of the configuration is not what is measured */
                        for (unsigned c = 0; c < CALLS_PER_ROUND; c++) {
                                uint64_t t0 = now_ns();
                                call(s);
                                s->samples[s->n++] = now_ns() - t0;
                        }
                }
        for (size_t i = 0; i < n_series; i++) {
                qsort(all[i].samples, all[i].n, sizeof(uint64_t), cmp_u64);
                all[i].median = (double) all[i].samples[all[i].n / 2];
        }
}

/* ---- memory: /proc/self/smaps_rollup and status ---- */

typedef struct memory {
        long rss_kb, pss_kb, vmrss_kb, module_rss_kb, module_pss_kb;
} memory;

static long field_kb(const char *path, const char *key) {
        FILE *f = fopen(path, "re");
        char line[256];
        long v = -1;

        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, key, strlen(key)) == 0) {
                        v = strtol(line + strlen(key), NULL, 10);
                        break;
                }
        fclose(f);
        return v;
}

/* The Rss and Pss of the module's own mappings (code, data, relro, bss). */
static void module_mappings(long *ret_rss, long *ret_pss) {
        FILE *f = fopen("/proc/self/smaps", "re");
        char line[512];
        bool in_module = false;

        *ret_rss = *ret_pss = 0;
        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                unsigned long start, end;
                long v;

                if (sscanf(line, "%lx-%lx ", &start, &end) == 2) /* a mapping's header line */
                        in_module = strstr(line, "/libnss_ephem.so.2") != NULL;
                else if (in_module && sscanf(line, "Rss: %ld kB", &v) == 1)
                        *ret_rss += v;
                else if (in_module && sscanf(line, "Pss: %ld kB", &v) == 1)
                        *ret_pss += v;
        }
        fclose(f);
}

static memory memory_now(void) {
        memory m = {
                .rss_kb = field_kb("/proc/self/smaps_rollup", "Rss:"),
                .pss_kb = field_kb("/proc/self/smaps_rollup", "Pss:"),
                .vmrss_kb = field_kb("/proc/self/status", "VmRSS:"),
        };
        module_mappings(&m.module_rss_kb, &m.module_pss_kb);
        return m;
}

/* ---- where "ephem" sits in nsswitch.conf ---- */

static const char *const orders[] = { "files systemd ephem", "files ephem systemd" };

/* Each order in a child: a mount namespace of its own with an nsswitch.conf saying
 * so, then this program again in "order" mode (a fresh process: glibc reads
 * nsswitch.conf once). */
static void order_experiment(const char *files_user, const char *transient_user, const char *config, double ref_nam,
                             double ref_uid) {
        char dir[512], path[600], ref[64];

        if (access("/usr/lib/x86_64-linux-gnu/libnss_systemd.so.2", F_OK) < 0 &&
            access("/lib/x86_64-linux-gnu/libnss_systemd.so.2", F_OK) < 0) {
                printf("\n(libnss-systemd is not installed: the nsswitch.conf order comparison is skipped)\n");
                return;
        }
        snprintf(dir, sizeof(dir), "%s", config);
        snprintf(ref, sizeof(ref), "%.0f:%.0f", ref_nam, ref_uid);
        printf("\nWhere ephem sits in nsswitch.conf (transient user, median ns; reference \"files ephem\": "
               "getpwnam %.0f, getpwuid %.0f):\n\n",
               ref_nam, ref_uid);
        fflush(stdout);
        for (size_t i = 0; i < ELEMENTSOF(orders); i++) {
                FILE *f;
                pid_t pid;

                snprintf(path, sizeof(path), "%s/nsswitch-order-%zu.conf", dirname(dir), i);
                snprintf(dir, sizeof(dir), "%s", config);
                f = fopen(path, "we");
                if (!f)
                        abort();
                fprintf(f, "passwd: %s\ngroup: %s\nshadow: files\n", orders[i], orders[i]);
                fclose(f);
                pid = fork();
                if (pid < 0)
                        abort();
                if (pid == 0) {
                        char idx[8];
                        snprintf(idx, sizeof(idx), "%zu", i);
                        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                            mount(path, "/etc/nsswitch.conf", NULL, MS_BIND, NULL) < 0) {
                                perror("bench-nss: nsswitch.conf for the order comparison");
                                _exit(1);
                        }
                        execl("/proc/self/exe", "bench-nss", "order", idx, ref, files_user, transient_user, config,
                              (char *) NULL);
                        _exit(127);
                }
                (void) waitpid(pid, NULL, 0);
        }
}

static int order_main(const char *idx, const char *ref, const char *files_user, const char *transient_user,
                      const char *config) {
        static series s[2];
        size_t i = (size_t) atoi(idx);
        double ref_nam = atof(ref), ref_uid = strchr(ref, ':') ? atof(strchr(ref, ':') + 1) : 0;
        struct passwd *pw;
        char fig[128];

        (void) files_user;
        if (i >= ELEMENTSOF(orders) || setenv("EPHEM_CONFIG", config, 1) < 0)
                return 2;
        pw = getpwnam(transient_user);
        if (!pw)
                return fprintf(stderr, "%s: not resolved with \"%s\"\n", transient_user, orders[i]), 1;
        s[0] = (series){ .kind = CALL_GETPWNAM, .user = transient_user, .uid = pw->pw_uid, .gid = pw->pw_gid };
        s[1] = (series){ .kind = CALL_GETPWUID, .user = transient_user, .uid = pw->pw_uid, .gid = pw->pw_gid };
        measure(s, 2);
        printf("  passwd: %-22s getpwnam %8.0f   getpwuid %8.0f\n", orders[i], s[0].median, s[1].median);
        snprintf(fig, sizeof(fig), "NSS: getpwnam, transient user, \"passwd: %s\" (median)", orders[i]);
        bench_row(fig, s[0].median, "ns", "\"passwd: files ephem\"", ref_nam, "ns", 0, NULL);
        snprintf(fig, sizeof(fig), "NSS: getpwuid, transient user, \"passwd: %s\" (median)", orders[i]);
        bench_row(fig, s[1].median, "ns", "\"passwd: files ephem\"", ref_uid, "ns", 0, NULL);
        return 0;
}

static int run(const char *files_user, const char *transient_user, char **configs, size_t n_configs) {
        static series files[3], transient[3], scale[MAX_CONFIGS][3];
        struct passwd *pw;
        uid_t files_uid, transient_uid;
        gid_t files_gid;
        memory m0, m1, m2;
        series *all[3 + 3 + MAX_CONFIGS * 3];
        size_t n_all = 0;

        if (n_configs == 0 || n_configs > MAX_CONFIGS)
                return 2;
        if (setenv("EPHEM_CONFIG", configs[0], 1) < 0)
                abort();

        /* Memory: NSS and its files source first, then what the module adds. */
        m0 = memory_now();
        pw = getpwnam(files_user);
        if (!pw)
                return fprintf(stderr, "%s: not in /etc/passwd\n", files_user), 1;
        files_uid = pw->pw_uid;
        files_gid = pw->pw_gid;
        m1 = memory_now();
        pw = getpwnam(transient_user);
        if (!pw)
                return fprintf(stderr, "%s: the module does not answer\n", transient_user), 1;
        transient_uid = pw->pw_uid;
        m2 = memory_now();

        for (int k = 0; k < 3; k++) {
                files[k] = (series){
                        .kind = k, .user = files_user, .uid = files_uid, .gid = files_gid, .config = configs[0]
                };
                transient[k] = (series){ .kind = k,
                                         .user = transient_user,
                                         .uid = transient_uid,
                                         .gid = transient_uid,
                                         .config = configs[0] };
                all[n_all++] = &files[k];
                all[n_all++] = &transient[k];
        }
        {
                series flat[3 + 3];
                for (size_t i = 0; i < 6; i++)
                        flat[i] = *all[i];
                measure(flat, 6);
                for (size_t i = 0; i < 6; i++)
                        *all[i] = flat[i];
        }
        for (size_t c = 0; c < n_configs; c++)
                for (int k = 0; k < 3; k++)
                        scale[c][k] = (series){ .kind = k,
                                                .user = transient_user,
                                                .uid = transient_uid,
                                                .gid = transient_uid,
                                                .config = configs[c] };
        measure(&scale[0][0], n_configs * 3);

        printf("\nMedian ns per call (%d samples each, interleaved rounds), glibc NSS \"files ephem\":\n\n", SAMPLES);
        printf("  %-14s %18s %22s %8s\n", "call", "files user (50 l.)", "transient user", "ratio");
        for (int k = 0; k < 3; k++)
                printf("  %-14s %18.0f %22.0f %7.2fx%s\n", call_names[k], files[k].median, transient[k].median,
                       transient[k].median / files[k].median,
                       transient[k].median / files[k].median <= 1.5 ? "" : "  (target <= 1.5x)");

        printf("\nTransient lookups by number of users on record:\n\n  %-14s", "call");
        for (size_t c = 0; c < n_configs; c++)
                printf(" %12s", strrchr(configs[c], '-') ? strrchr(configs[c], '-') + 1 : configs[c]);
        printf(" %12s\n", "last/first");
        for (int k = 0; k < 3; k++) {
                double ratio = scale[n_configs - 1][k].median / scale[0][k].median;
                printf("  %-14s", call_names[k]);
                for (size_t c = 0; c < n_configs; c++)
                        printf(" %12.0f", scale[c][k].median);
                printf(" %11.2fx%s\n", ratio, ratio <= 1.2 ? "" : "  (target <= 1.2x)");
        }

        printf("\nMemory (kB)                       VmRSS    Rss    Pss\n");
        printf("  before any lookup             %7ld %6ld %6ld\n", m0.vmrss_kb, m0.rss_kb, m0.pss_kb);
        printf("  after a files lookup          %7ld %6ld %6ld\n", m1.vmrss_kb, m1.rss_kb, m1.pss_kb);
        printf("  after the first ephem lookup  %7ld %6ld %6ld\n", m2.vmrss_kb, m2.rss_kb, m2.pss_kb);
        printf("  added by the module           %7ld %6ld %6ld\n", m2.vmrss_kb - m1.vmrss_kb, m2.rss_kb - m1.rss_kb,
               m2.pss_kb - m1.pss_kb);
        printf("  of which libnss_ephem.so.2 mappings: Rss %ld kB, Pss %ld kB\n", m2.module_rss_kb, m2.module_pss_kb);

        /* For tools/bench.sh. */
        for (int k = 0; k < 3; k++) {
                char fig[96], ref[96];
                snprintf(fig, sizeof(fig), "NSS: %s, transient user (median)", call_names[k]);
                snprintf(ref, sizeof(ref), "%s, user of a 50-line /etc/passwd", call_names[k]);
                bench_row(fig, transient[k].median, "ns", ref, files[k].median, "ns", 1.5, NULL);
        }
        {
                double sizes[MAX_CONFIGS], values[MAX_CONFIGS];
                for (size_t c = 0; c < n_configs; c++)
                        sizes[c] = strrchr(configs[c], '-') ? atof(strrchr(configs[c], '-') + 1) : (double) c + 1;
                for (int k = 0; k < 3; k++) {
                        char fig[96], ref[64], cost[64];
                        for (size_t c = 0; c < n_configs; c++)
                                values[c] = scale[c][k].median;
                        snprintf(cost, sizeof(cost), "NSS %s of a transient user", call_names[k]);
                        bench_growth_line(cost, "users on record", sizes, values, n_configs, "ns");
                        snprintf(fig, sizeof(fig), "NSS: %s, %.0f users on record (median)", call_names[k],
                                 sizes[n_configs - 1]);
                        snprintf(ref, sizeof(ref), "%.0f users on record", sizes[0]);
                        bench_row(fig, values[n_configs - 1], "ns", ref, values[0], "ns", 1.2, NULL);
                }
        }
        bench_row("NSS module: resident memory it adds to a process (Rss)", (double) (m2.rss_kb - m1.rss_kb), "KiB",
                  "the process's Rss before (after a files lookup)", (double) m1.rss_kb, "KiB", 0, NULL);
        bench_row("NSS module: proportional memory it adds to a process (Pss)", (double) (m2.pss_kb - m1.pss_kb), "KiB",
                  "the process's Pss before (after a files lookup)", (double) m1.pss_kb, "KiB", 0, NULL);

        order_experiment(files_user, transient_user, configs[0], transient[0].median, transient[1].median);
        return 0;
}

int main(int argc, char *argv[]) {
        if (argc == 4 && streq(argv[1], "populate"))
                return populate(argv[2], (unsigned) strtoul(argv[3], NULL, 10));
        if (argc >= 5 && streq(argv[1], "run"))
                return run(argv[2], argv[3], argv + 4, (size_t) argc - 4);
        if (argc == 7 && streq(argv[1], "order"))
                return order_main(argv[2], argv[3], argv[4], argv[5], argv[6]);
        fprintf(stderr,
                "usage: %s populate STATE_DIR COUNT\n"
                "       %s run FILES_USER TRANSIENT_USER CONFIG...\n",
                argv[0], argv[0]);
        return 2;
}
