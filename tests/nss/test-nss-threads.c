/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The module under concurrency: 8 threads × 10,000 mixed lookups (getpwnam_r,
 * getpwuid_r, getgrnam_r, getgrgid_r, initgroups_dyn, and enumerations) while one
 * thread keeps replacing and touching ephem.conf (so the module keeps reloading its
 * snapshot) and another keeps recording and removing users. Every answer must be a
 * valid entry of the user asked for or NOTFOUND — never UNAVAIL, never a wrong or
 * half-read entry — and nothing may crash. Built three times (meson.build): plain,
 * and with -fsanitize=address and -fsanitize=thread (module and program both), so that
 * ASan sees every access and TSan every data race.
 *
 * Usage: test-nss-threads <path to libnss_ephem.so.2> [lookups per thread]
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ephem/macro.h"
#include "nss-test.h"

#define N_THREADS 8
#define N_STABLE 16
#define N_CHURN 16
#define DEFAULT_LOOKUPS 10000

static nss_module mod;
static nss_host *host;
static char stable[N_STABLE][USER_NAME_MAX + 1], churn[N_CHURN][USER_NAME_MAX + 1];
static uid_t stable_uid[N_STABLE], churn_uid[N_CHURN];
static const gid_t STABLE_GROUPS[] = { 4, 24 };
static const gid_t CHURN_GROUPS[] = { 27 };

static atomic_bool stop;
static atomic_uint failures, config_writes, record_writes, record_removals;
static atomic_uint n_success, n_notfound, n_enumerated;

static void failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void failure(const char *fmt, ...) {
        va_list ap;

        if (atomic_fetch_add(&failures, 1) >= 20)
                return; /* the first ones tell the story */
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

/* ---- what a valid answer is ---- */

static void check_passwd(const char *op, const char *name, const struct passwd *pw) {
        uid_t uid = userconf_uid(&host->users, name);
        char home[USER_PATH_MAX + 64];

        snprintf(home, sizeof(home), "%s/%s", host->users.home_base, name);
        if (!streq(pw->pw_name, name) || pw->pw_uid != uid || pw->pw_gid != uid || pw->pw_uid == 0 ||
            !streq(pw->pw_passwd, "*") || !streq(pw->pw_dir, home) || !streq(pw->pw_shell, "/bin/sh") ||
            !streq(pw->pw_gecos, host->users.gecos))
                failure("%s(%s): wrong entry %s:%s:%u:%u:%s:%s:%s", op, name, pw->pw_name, pw->pw_passwd,
                        (unsigned) pw->pw_uid, (unsigned) pw->pw_gid, pw->pw_gecos, pw->pw_dir, pw->pw_shell);
}

static void check_group(const char *op, const char *name, const struct group *gr) {
        uid_t uid = userconf_uid(&host->users, name);

        if (!streq(gr->gr_name, name) || gr->gr_gid != uid || gr->gr_gid == 0 || !gr->gr_mem || gr->gr_mem[0])
                failure("%s(%s): wrong group %s:%u", op, name, gr->gr_name, (unsigned) gr->gr_gid);
}

/* SUCCESS or NOTFOUND; `must` says whether NOTFOUND is acceptable. */
static bool check_status(const char *op, const char *name, enum nss_status st, int err, bool must) {
        if (st == NSS_STATUS_SUCCESS) {
                atomic_fetch_add(&n_success, 1);
                return true;
        }
        if (st == NSS_STATUS_NOTFOUND && !must) {
                atomic_fetch_add(&n_notfound, 1);
                return false;
        }
        failure("%s(%s): %s (errno %d)", op, name, nss_status_name(st), err);
        return false;
}

static bool is_known(const char *name) {
        for (unsigned i = 0; i < N_STABLE; i++)
                if (streq(name, stable[i]))
                        return true;
        for (unsigned i = 0; i < N_CHURN; i++)
                if (streq(name, churn[i]))
                        return true;
        return false;
}

static void enumerate(char *buf, size_t size) {
        enum nss_status st;
        struct passwd pw;
        struct group gr;
        int err;

        if (mod.setpwent(0) != NSS_STATUS_SUCCESS)
                failure("setpwent failed");
        while ((st = mod.getpwent_r(&pw, buf, size, &err)) == NSS_STATUS_SUCCESS) {
                atomic_fetch_add(&n_enumerated, 1);
                if (!is_known(pw.pw_name))
                        failure("getpwent: unknown user %s", pw.pw_name);
                else
                        check_passwd("getpwent", pw.pw_name, &pw);
        }
        if (st != NSS_STATUS_NOTFOUND)
                failure("getpwent ended with %s", nss_status_name(st));
        (void) mod.endpwent();

        if (mod.setgrent(0) != NSS_STATUS_SUCCESS)
                failure("setgrent failed");
        while ((st = mod.getgrent_r(&gr, buf, size, &err)) == NSS_STATUS_SUCCESS) {
                if (!is_known(gr.gr_name))
                        failure("getgrent: unknown group %s", gr.gr_name);
                else
                        check_group("getgrent", gr.gr_name, &gr);
        }
        if (st != NSS_STATUS_NOTFOUND)
                failure("getgrent ended with %s", nss_status_name(st));
        (void) mod.endgrent();
}

/* ---- the threads ---- */

typedef struct lookup_thread {
        pthread_t thread;
        unsigned index, lookups;
} lookup_thread;

static void *lookup_main(void *userdata) {
        lookup_thread *t = userdata;
        unsigned seed = 0x9e3779b9u * (t->index + 1);
        char buf[2048];

        for (unsigned j = 0; j < t->lookups; j++) {
                unsigned r = rand_r(&seed), k = (r >> 8) % N_STABLE, c = (r >> 16) % N_CHURN;
                struct passwd pw;
                struct group gr;
                enum nss_status st;
                int err = 0;

                switch (r % 10) {
                case 0: /* recorded all along */
                        st = mod.getpwnam_r(stable[k], &pw, buf, sizeof(buf), &err);
                        if (check_status("getpwnam_r", stable[k], st, err, true))
                                check_passwd("getpwnam_r", stable[k], &pw);
                        break;
                case 1: /* recorded or not: the record, else the same pre-authentication entry */
                        st = mod.getpwnam_r(churn[c], &pw, buf, sizeof(buf), &err);
                        if (check_status("getpwnam_r", churn[c], st, err, true))
                                check_passwd("getpwnam_r", churn[c], &pw);
                        break;
                case 2:
                        st = mod.getpwuid_r(stable_uid[k], &pw, buf, sizeof(buf), &err);
                        if (check_status("getpwuid_r", stable[k], st, err, true))
                                check_passwd("getpwuid_r", stable[k], &pw);
                        break;
                case 3: /* appearing and disappearing */
                        st = mod.getpwuid_r(churn_uid[c], &pw, buf, sizeof(buf), &err);
                        if (check_status("getpwuid_r", churn[c], st, err, false))
                                check_passwd("getpwuid_r", churn[c], &pw);
                        break;
                case 4:
                        st = mod.getgrnam_r(r & 1 ? stable[k] : churn[c], &gr, buf, sizeof(buf), &err);
                        if (check_status("getgrnam_r", r & 1 ? stable[k] : churn[c], st, err, true))
                                check_group("getgrnam_r", r & 1 ? stable[k] : churn[c], &gr);
                        break;
                case 5:
                        st = mod.getgrgid_r(r & 1 ? stable_uid[k] : churn_uid[c], &gr, buf, sizeof(buf), &err);
                        if (check_status("getgrgid_r", r & 1 ? stable[k] : churn[c], st, err, !!(r & 1)))
                                check_group("getgrgid_r", r & 1 ? stable[k] : churn[c], &gr);
                        break;
                case 6: {
                        const char *name = r & 1 ? stable[k] : churn[c];
                        uid_t uid = r & 1 ? stable_uid[k] : churn_uid[c];
                        long start = 1, size = 1;
                        gid_t *groups = malloc(sizeof(gid_t));

                        if (!groups)
                                abort();
                        groups[0] = uid;
                        st = mod.initgroups_dyn(name, uid, &start, &size, &groups, -1, &err);
                        if (check_status("initgroups_dyn", name, st, err, !!(r & 1))) {
                                bool ok = r & 1 ? start == 3 && groups[1] == 4 && groups[2] == 24
                                                : start == 2 && groups[1] == 27;
                                if (!ok || size < start || groups[0] != uid)
                                        failure("initgroups_dyn(%s): %ld groups", name, start);
                        } else if (start != 1)
                                failure("initgroups_dyn(%s): NOTFOUND but %ld groups", name, start);
                        free(groups);
                        break;
                }
                case 7: { /* names no one has */
                        char name[32];
                        snprintf(name, sizeof(name), r & 1 ? "bob%u" : "Agent-%u", r % 1000);
                        st = mod.getpwnam_r(name, &pw, buf, sizeof(buf), &err);
                        if (st != NSS_STATUS_NOTFOUND)
                                failure("getpwnam_r(%s): %s", name, nss_status_name(st));
                        break;
                }
                case 8: /* a buffer too small, every time */
                        st = mod.getpwnam_r(stable[k], &pw, buf, 8, &err);
                        if (st != NSS_STATUS_TRYAGAIN || err != ERANGE)
                                failure("getpwnam_r(%s, 8 bytes): %s", stable[k], nss_status_name(st));
                        break;
                default:
                        if (j % 50 == 0)
                                enumerate(buf, sizeof(buf));
                        else {
                                st = mod.getgrnam_r(stable[k], &gr, buf, sizeof(buf), &err);
                                if (check_status("getgrnam_r", stable[k], st, err, true))
                                        check_group("getgrnam_r", stable[k], &gr);
                        }
                }
        }
        return NULL;
}

/* Replaces ephem.conf (new inode, new size) and touches it, over and over. */
static void *config_main(void *userdata) {
        unsigned n = 0;

        (void) userdata;
        while (!atomic_load(&stop)) {
                char extra[128];

                snprintf(extra, sizeof(extra), "# generation %u%s\n", n, n % 3 ? "" : " with a longer comment");
                nss_host_write_config(host, extra);
                if (n % 2 && utimensat(AT_FDCWD, host->config_path, NULL, 0) < 0)
                        nss_test_die("utimensat: %s", strerror(errno));
                atomic_fetch_add(&config_writes, 1);
                n++;
                usleep(200);
        }
        return NULL;
}

/* Records and removes the churn users, the way the store does it. */
static void *churn_main(void *userdata) {
        unsigned seed = 12345;
        bool present[N_CHURN] = { false };

        (void) userdata;
        while (!atomic_load(&stop)) {
                unsigned c = (unsigned) rand_r(&seed) % N_CHURN;

                if (present[c]) {
                        nss_host_remove_user(host, churn[c]);
                        atomic_fetch_add(&record_removals, 1);
                } else {
                        nss_host_add_user(host, churn[c], CHURN_GROUPS, ELEMENTSOF(CHURN_GROUPS));
                        atomic_fetch_add(&record_writes, 1);
                }
                present[c] = !present[c];
                usleep(50);
        }
        return NULL;
}

int main(int argc, char *argv[]) {
        lookup_thread threads[N_THREADS];
        pthread_t config_thread, churn_thread;
        unsigned lookups = DEFAULT_LOOKUPS;
        struct timespec t0, t1;

        if (argc < 2 || argc > 3) {
                fprintf(stderr, "usage: %s <libnss_ephem.so.2> [lookups per thread]\n", argv[0]);
                return 2;
        }
        if (argc == 3)
                lookups = (unsigned) strtoul(argv[2], NULL, 10);
        nss_module_open(argv[1], &mod);
        host = nss_host_new(NULL);
        for (unsigned i = 0; i < N_STABLE; i++) {
                snprintf(stable[i], sizeof(stable[i]), "agent-stable-%u", i);
                stable_uid[i] = nss_host_add_user(host, stable[i], STABLE_GROUPS, ELEMENTSOF(STABLE_GROUPS));
        }
        for (unsigned i = 0; i < N_CHURN; i++) {
                snprintf(churn[i], sizeof(churn[i]), "ci-churn-%u", i);
                churn_uid[i] = userconf_uid(&host->users, churn[i]);
        }

        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (pthread_create(&config_thread, NULL, config_main, NULL) != 0 ||
            pthread_create(&churn_thread, NULL, churn_main, NULL) != 0)
                nss_test_die("pthread_create failed");
        for (unsigned i = 0; i < N_THREADS; i++) {
                threads[i] = (lookup_thread){ .index = i, .lookups = lookups };
                if (pthread_create(&threads[i].thread, NULL, lookup_main, &threads[i]) != 0)
                        nss_test_die("pthread_create failed");
        }
        for (unsigned i = 0; i < N_THREADS; i++)
                pthread_join(threads[i].thread, NULL);
        atomic_store(&stop, true);
        pthread_join(config_thread, NULL);
        pthread_join(churn_thread, NULL);
        clock_gettime(CLOCK_MONOTONIC, &t1);

        printf("%u threads x %u lookups in %.2f s: %u found, %u not found, %u enumerated entries; "
               "meanwhile %u configuration rewrites, %u records written, %u removed\n",
               N_THREADS, lookups, (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9,
               atomic_load(&n_success), atomic_load(&n_notfound), atomic_load(&n_enumerated),
               atomic_load(&config_writes), atomic_load(&record_writes), atomic_load(&record_removals));
        /* The test proves nothing unless the writers really raced the readers. */
        if (atomic_load(&config_writes) < 10 || atomic_load(&record_writes) < 10 || atomic_load(&n_notfound) == 0) {
                fprintf(stderr, "the writers did not run alongside the lookups\n");
                atomic_fetch_add(&failures, 1);
        }
        nss_host_free(host);
        /* The module stays loaded, as glibc keeps it: its snapshot is still referenced. */
        if (atomic_load(&failures)) {
                fprintf(stderr, "%u failures\n", atomic_load(&failures));
                return 1;
        }
        return 0;
}
