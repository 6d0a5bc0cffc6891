/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the benchmarks share: a monotonic clock, percentiles, and the two kinds of
 * machine-readable lines tools/bench.sh gathers into its tables (each program also
 * prints its own human-readable report):
 *
 *   ROW<TAB>figure<TAB>value<TAB>reference<TAB>reference value<TAB>ratio<TAB>target
 *       a figure next to its reference, measured in the same run
 *   GROWTH<TAB>cost<TAB>work<TAB>size=value, ...<TAB>growth
 *       a cost measured at several sizes of its work, and how it grows
 *
 * Header-only, so that each benchmark stays one program.
 */
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define BENCH_UNUSED __attribute__((unused))

static BENCH_UNUSED double bench_now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static BENCH_UNUSED double bench_realtime_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static int bench_cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

/* Sorts v in place. */
static BENCH_UNUSED void bench_sort(double *v, size_t n) {
        qsort(v, n, sizeof(double), bench_cmp_double);
}

/* The nearest-rank percentile of a sorted array (p in 0..1). */
static BENCH_UNUSED double bench_pct(const double *sorted, size_t n, double p) {
        size_t i;
        if (n == 0)
                return NAN;
        i = (size_t) (p * (double) (n - 1) + 0.5);
        return sorted[i < n ? i : n - 1];
}

typedef struct bench_stats {
        size_t n;
        double p50, p90, p99, min, max, mean;
} bench_stats;

/* Sorts v and summarises it. */
static BENCH_UNUSED bench_stats bench_summary(double *v, size_t n) {
        bench_stats s = { .n = n };
        double sum = 0;

        bench_sort(v, n);
        for (size_t i = 0; i < n; i++)
                sum += v[i];
        s.p50 = bench_pct(v, n, 0.50);
        s.p90 = bench_pct(v, n, 0.90);
        s.p99 = bench_pct(v, n, 0.99);
        s.min = n ? v[0] : NAN;
        s.max = n ? v[n - 1] : NAN;
        s.mean = n ? sum / (double) n : NAN;
        return s;
}

/* ---- the cut-off helpers a benchmark started ---- */

/*
 * The ephem-cutoff processes whose command line (arguments joined by spaces) holds
 * needle (a session id, or the "config=..." of a benchmark's host): how many there
 * are, the first one's PID in *first (when not NULL); with kill_them, SIGKILL to each
 * (said on stderr: a helper should have ended by itself).
 */
static BENCH_UNUSED int bench_cutoff_helpers(const char *needle, pid_t *first, bool kill_them) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        int found = 0;

        while (d && (de = readdir(d))) {
                char path[300], cmd[4096];
                ssize_t n;
                int fd;

                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                n = read(fd, cmd, sizeof(cmd) - 1);
                close(fd);
                if (n <= 0)
                        continue;
                cmd[n] = '\0';
                for (ssize_t j = 0; j < n; j++)
                        if (cmd[j] == '\0')
                                cmd[j] = ' ';
                if (!strstr(cmd, "ephem-cutoff") || !strstr(cmd, needle))
                        continue;
                if (found++ == 0 && first)
                        *first = (pid_t) atoi(de->d_name);
                if (kill_them) {
                        fprintf(stderr, "bench: stopping a cut-off helper that should have ended: %s\n", cmd);
                        kill((pid_t) atoi(de->d_name), SIGKILL);
                }
        }
        if (d)
                closedir(d);
        return found;
}

/* Whether a cut-off helper is armed: it holds its timerfd and sleeps in poll(). */
static BENCH_UNUSED bool bench_helper_armed(pid_t pid) {
        char path[64], buf[128], link[256];
        bool timer = false;
        DIR *d;
        struct dirent *de;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
        d = opendir(path);
        if (!d)
                return false;
        while ((de = readdir(d))) {
                char p[384];
                ssize_t k;
                snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
                k = readlink(p, link, sizeof(link) - 1);
                if (k > 0) {
                        link[k] = '\0';
                        timer = timer || strstr(link, "timerfd");
                }
        }
        closedir(d);
        if (!timer)
                return false;
        snprintf(path, sizeof(path), "/proc/%d/wchan", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return false;
        buf[0] = '\0';
        if (!fgets(buf, sizeof(buf), f))
                buf[0] = '\0';
        fclose(f);
        return strstr(buf, "poll") != NULL;
}

/* A value with its unit, in a unit that reads well (us -> ms -> s; B -> KiB -> MiB). */
static BENCH_UNUSED const char *bench_fmt(char *buf, size_t size, double v, const char *unit) {
        static const struct {
                const char *from, *to;
                double factor;
        } up[] = { { "ns", "us", 1e3 }, { "us", "ms", 1e3 }, { "ms", "s", 1e3 }, { "KiB", "MiB", 1024 } };
        char u[16];

        snprintf(u, sizeof(u), "%s", unit);
        for (size_t i = 0; i < sizeof(up) / sizeof(up[0]); i++)
                if (strcmp(u, up[i].from) == 0 && fabs(v) >= 10 * up[i].factor) {
                        v /= up[i].factor;
                        snprintf(u, sizeof(u), "%s", up[i].to);
                }
        if (fabs(v) >= 100 || v == floor(v))
                snprintf(buf, size, "%.0f %s", v, u);
        else if (fabs(v) >= 10)
                snprintf(buf, size, "%.1f %s", v, u);
        else
                snprintf(buf, size, "%.2f %s", v, u);
        return buf;
}

/*
 * A row of the summary table. target_max > 0: the ratio must not exceed it (the
 * verdict is printed); target_note: free text instead (NULL: none).
 */
static BENCH_UNUSED void bench_row(const char *figure, double value, const char *unit, const char *reference,
                                   double ref, const char *ref_unit, double target_max, const char *target_note) {
        char a[48], b[48], t[96] = "";
        double ratio = ref != 0 ? value / ref : NAN;

        if (target_max > 0)
                snprintf(t, sizeof(t), "<= %.1fx: %s", target_max, ratio <= target_max ? "met" : "MISSED");
        else if (target_note)
                snprintf(t, sizeof(t), "%s", target_note);
        printf("ROW\t%s\t%s\t%s\t%s\t%.2fx\t%s\n", figure, bench_fmt(a, sizeof(a), value, unit), reference,
               reference[0] ? bench_fmt(b, sizeof(b), ref, ref_unit) : "", ratio, t);
        fflush(stdout);
}

/* A row without a reference (an absolute figure with an absolute target). */
static BENCH_UNUSED void bench_row_abs(const char *figure, double value, const char *unit, const char *target) {
        char a[48];
        printf("ROW\t%s\t%s\t\t\t\t%s\n", figure, bench_fmt(a, sizeof(a), value, unit), target ? target : "");
        fflush(stdout);
}

/*
 * How a cost grows with its work, from measurements at increasing sizes. Constant:
 * the largest is within 1.5x of the smallest and the slope of log(cost) over
 * log(size) at the large end (least squares over the three largest sizes) is below
 * 0.1. Otherwise the slope of the marginal cost (cost minus the cost at the
 * smallest size, the fixed part: process start, opening a directory) over the
 * largest sizes (log-log least squares, up to three sizes): up to 0.6 sublinear
 * (logarithmic when each tenfold size adds about the same), up to 1.3 linear, above
 * superlinear (slope given: 2 is quadratic). Noisy or non-increasing marginal costs
 * fall back to the plain slope.
 */
static BENCH_UNUSED const char *bench_growth(const double *size, const double *cost, size_t n, char *buf,
                                             size_t bufsize) {
        double tail = 0, slope, spread_lo = cost[0], spread_hi = cost[0];

        if (n < 2) {
                snprintf(buf, bufsize, "n/a");
                return buf;
        }
        for (size_t i = 1; i < n; i++) {
                spread_lo = fmin(spread_lo, cost[i]);
                spread_hi = fmax(spread_hi, cost[i]);
        }
        {
                size_t first = n > 3 ? n - 3 : 0, k = n - first;
                double mx = 0, my = 0, sxy = 0, sxx = 0;
                for (size_t i = first; i < n; i++) {
                        mx += log(size[i]) / (double) k;
                        my += log(cost[i]) / (double) k;
                }
                for (size_t i = first; i < n; i++) {
                        sxy += (log(size[i]) - mx) * (log(cost[i]) - my);
                        sxx += (log(size[i]) - mx) * (log(size[i]) - mx);
                }
                tail = sxx > 0 ? sxy / sxx : 0;
        }
        if (tail < 0.1 && spread_hi <= 1.5 * spread_lo) {
                snprintf(buf, bufsize, "constant (max/min %.2f)", spread_hi / spread_lo);
                return buf;
        }
        slope = tail;
        if (n >= 3) {
                /* Least squares over the largest sizes (up to three) whose marginal
                 * cost is clearly (25%) above the fixed part. */
                double mx = 0, my = 0, sxy = 0, sxx = 0;
                size_t k = 0, first = n > 4 ? n - 3 : 1;
                for (size_t i = first; i < n; i++)
                        if (cost[i] - cost[0] > 0.25 * cost[0]) {
                                mx += log(size[i]);
                                my += log(cost[i] - cost[0]);
                                k++;
                        }
                if (k >= 2) {
                        mx /= (double) k;
                        my /= (double) k;
                        for (size_t i = first; i < n; i++)
                                if (cost[i] - cost[0] > 0.25 * cost[0]) {
                                        sxy += (log(size[i]) - mx) * (log(cost[i] - cost[0]) - my);
                                        sxx += (log(size[i]) - mx) * (log(size[i]) - mx);
                                }
                        if (sxx > 0 && sxy > 0)
                                slope = sxy / sxx;
                }
        }
        if (slope < 0.1)
                snprintf(buf, bufsize, "constant at scale (slope %.2f; max/min %.2f)", slope, spread_hi / spread_lo);
        else if (slope <= 0.6) {
                double inc_first = (cost[1] - cost[0]) / log10(size[1] / size[0]);
                double inc_last = (cost[n - 1] - cost[n - 2]) / log10(size[n - 1] / size[n - 2]);
                bool logish = inc_first > 0 && inc_last / inc_first < 3;
                snprintf(buf, bufsize, "%s (slope %.2f)", logish ? "logarithmic" : "sublinear", slope);
        } else if (slope <= 1.3)
                snprintf(buf, bufsize, "linear (slope %.2f)", slope);
        else
                snprintf(buf, bufsize, "superlinear (slope %.2f)", slope);
        return buf;
}

/* Prints a GROWTH line and returns the label. */
static BENCH_UNUSED void bench_growth_line(const char *cost_name, const char *work, const double *size,
                                           const double *cost, size_t n, const char *unit) {
        char label[96], v[48];

        printf("GROWTH\t%s\t%s\t", cost_name, work);
        for (size_t i = 0; i < n; i++)
                printf("%s%.0f: %s", i ? ", " : "", size[i], bench_fmt(v, sizeof(v), cost[i], unit));
        printf("\t%s\n", bench_growth(size, cost, n, label, sizeof(label)));
        fflush(stdout);
}
