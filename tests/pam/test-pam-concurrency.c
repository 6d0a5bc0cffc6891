/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Concurrent logins: 50 processes, released together, each running a whole PAM
 * transaction (pam_start_confdir(), auth, account, pam_end) against one state
 * directory. One token presented 50 times logs in exactly once; 50 distinct tokens
 * all log in; and the state directory is consistent afterwards.
 *
 * pam_start_confdir() rather than pam_wrapper: pam_wrapper gives each process a
 * directory /tmp/pam.X out of 62 possible names, chosen with a check-then-mkdir
 * race, which 50 simultaneous processes would hit.
 *
 * Usage: test-pam-concurrency /path/to/pam_ephem.so
 */
#include "test-cmocka.h"

#include <dirent.h>
#include <fnmatch.h>
#include <security/pam_appl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ephem/config.h"
#include "ephem/login.h"
#include "ephem/token.h"
#include "ephem/userdb.h"
#include "pamutil.h"
#include "testutil.h"

#define PROCESSES 50

enum {
        RESULT_LOGGED_IN = 0,
        RESULT_REPLAY = 1,
        RESULT_OTHER = 2,
};

static const char *module_path;

typedef struct fixture {
        test_host *host;
        char *confdir;
        int64_t now;
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));
        _cleanup_free_ char *service = NULL;

        f->host = test_host_new(NULL);
        f->now = (int64_t) time(NULL);
        f->confdir = test_strdup_printf("%s/pam.d", f->host->dir);
        assert_int_equal(mkdir(f->confdir, 0755), 0);
        service = test_strdup_printf("auth required %1$s config=%2$s debug\naccount required %1$s config=%2$s debug\n",
                                     module_path, f->host->config_path);
        pam_write_service(f->confdir, "ephem", service);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        test_host_free(f->host);
        free(f->confdir);
        free(f);
        return 0;
}

/* One whole login in this (child) process. */
static int child_login(const fixture *f, const char *user, const char *token) {
        const char *answers[] = { token, NULL };
        pam_script script = { .answers = answers };
        struct pam_conv conv = { .conv = pam_script_conv, .appdata_ptr = &script };
        pam_handle_t *ph = NULL;
        int r;

        if (pam_start_confdir("ephem", user, &conv, f->confdir, &ph) != PAM_SUCCESS)
                return RESULT_OTHER;
        r = pam_authenticate(ph, 0);
        if (r == PAM_SUCCESS)
                r = pam_acct_mgmt(ph, 0);
        pam_end(ph, r);
        if (r == PAM_SUCCESS)
                return RESULT_LOGGED_IN;
        if (r == PAM_AUTH_ERR && streq(pam_log_reason(), "replay"))
                return RESULT_REPLAY;
        fprintf(stderr, "%s: %s\n%s", user, pam_code_name(r), pam_log_text());
        return RESULT_OTHER;
}

/* Runs n logins at once; users[i] presents tokens[i]. Counts the results. */
static void race(const fixture *f, char **users, char **tokens, unsigned n, unsigned counts[3]) {
        pid_t pids[PROCESSES];
        int barrier[2];

        assert_true(n <= PROCESSES);
        assert_int_equal(pipe(barrier), 0);
        for (unsigned i = 0; i < n; i++) {
                pids[i] = fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        char c;
                        close(barrier[1]);
                        /* EOF when the parent closes its end: everybody starts together. */
                        if (read(barrier[0], &c, 1) < 0)
                                _exit(RESULT_OTHER);
                        _exit(child_login(f, users[i], tokens[i]));
                }
        }
        close(barrier[0]);
        close(barrier[1]);
        counts[0] = counts[1] = counts[2] = 0;
        for (unsigned i = 0; i < n; i++) {
                int status;
                assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                if (!WIFEXITED(status))
                        fail_msg("login process %u died (status %d)", i, status);
                counts[WEXITSTATUS(status) <= RESULT_OTHER ? WEXITSTATUS(status) : RESULT_OTHER]++;
        }
}

/* Entries of `dir` (recursively through one level when `shards`) matching glob. */
static int count(const fixture *f, const char *sub, const char *glob, bool shards) {
        _cleanup_free_ char *path = test_strdup_printf("%s/%s", f->host->state_dir, sub);
        DIR *d;
        struct dirent *de;
        int n = 0;

        if (!shards)
                return test_count_entries(path, glob);
        d = opendir(path);
        if (!d)
                return -1;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.') {
                        _cleanup_free_ char *shard = test_strdup_printf("%s/%s", path, de->d_name);
                        n += test_count_entries(shard, glob);
                }
        closedir(d);
        return n;
}

/* No temporary file (".#name.random") is left anywhere in the state directory. */
static void assert_no_leftovers(const fixture *f) {
        assert_int_equal(count(f, "logins", ".#*", false), 0);
        assert_int_equal(count(f, "users/by-name", ".#*", false), 0);
        assert_int_equal(count(f, "users/by-uid", ".#*", false), 0);
        assert_int_equal(count(f, "replay", ".#*", true), 0);
}

static void test_one_token_fifty_presentations_one_login(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *token = test_host_token(f->host, f->now, "agent");
        char *users[PROCESSES], *tokens[PROCESSES];
        unsigned counts[3];
        _cleanup_config_ ephem_config *c = NULL;
        login_record rec;
        DIR *d;
        struct dirent *de;
        _cleanup_free_ char *logins = test_strdup_printf("%s/logins", f->host->state_dir);
        ephem_token *t = NULL;
        ephem_verdict v = { 0 };
        unsigned records = 0;
        user_record user;

        for (unsigned i = 0; i < PROCESSES; i++) {
                users[i] = (char *) "agent-1";
                tokens[i] = token;
        }
        race(f, users, tokens, PROCESSES, counts);
        if (counts[RESULT_LOGGED_IN] != 1 || counts[RESULT_REPLAY] != PROCESSES - 1)
                fail_msg("%u logins, %u replays refused, %u other results; expected 1, %u, 0", counts[RESULT_LOGGED_IN],
                         counts[RESULT_REPLAY], counts[RESULT_OTHER], PROCESSES - 1);

        /* The state: one replay entry, one login record for this jti, one user. */
        assert_int_equal(count(f, "replay", "[!.]*", true), 1);
        assert_int_equal(count(f, "logins", "[!.]*", false), 1);
        assert_int_equal(count(f, "users/by-name", "[!.]*", false), 1);
        assert_int_equal(count(f, "users/by-uid", "[!.]*", false), 1);
        assert_no_leftovers(f);

        c = test_host_config(f->host);
        assert_reason(token_parse(token, strlen(token), 8192, &t, &v), EPHEM_OK);
        d = opendir(logins);
        assert_non_null(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.') {
                        assert_errno(login_record_load(f->host->state_dir, de->d_name, &rec), 0);
                        assert_string_equal(rec.user, "agent-1");
                        assert_string_equal(rec.jti, t->jti);
                        login_record_done(&rec);
                        records++;
                }
        closedir(d);
        token_free(t);
        assert_int_equal(records, 1);
        assert_errno(userdb_get_by_name(&c->users, "agent-1", &user), 0);
        assert_int_equal(user.uid, userconf_uid(&c->users, "agent-1"));
        assert_false(user.synthesized);
}

static void test_fifty_tokens_fifty_users_all_log_in(void **state) {
        fixture *f = *state;
        char *users[PROCESSES], *tokens[PROCESSES];
        unsigned counts[3];
        _cleanup_config_ ephem_config *c = NULL;

        for (unsigned i = 0; i < PROCESSES; i++) {
                users[i] = test_strdup_printf("agent-%u", i);
                tokens[i] = test_host_token(f->host, f->now, "agent");
        }
        race(f, users, tokens, PROCESSES, counts);
        if (counts[RESULT_LOGGED_IN] != PROCESSES)
                fail_msg("%u of %u distinct logins succeeded (%u replays, %u other)", counts[RESULT_LOGGED_IN],
                         PROCESSES, counts[RESULT_REPLAY], counts[RESULT_OTHER]);

        assert_int_equal(count(f, "replay", "[!.]*", true), PROCESSES);
        assert_int_equal(count(f, "logins", "[!.]*", false), PROCESSES);
        assert_int_equal(count(f, "users/by-name", "[!.]*", false), PROCESSES);
        assert_int_equal(count(f, "users/by-uid", "[!.]*", false), PROCESSES);
        assert_no_leftovers(f);

        /* Every record reads back, by name and by UID, as the same user. */
        c = test_host_config(f->host);
        for (unsigned i = 0; i < PROCESSES; i++) {
                user_record by_name, by_uid;
                assert_errno(userdb_get_by_name(&c->users, users[i], &by_name), 0);
                assert_errno(userdb_get_by_uid(&c->users, by_name.uid, &by_uid), 0);
                assert_string_equal(by_uid.name, users[i]);
                assert_int_equal(by_name.uid, userconf_uid(&c->users, users[i]));
                free(users[i]);
                free(tokens[i]);
        }
}

static void test_one_user_fifty_tokens_one_record(void **state) {
        fixture *f = *state;
        char *users[PROCESSES], *tokens[PROCESSES];
        unsigned counts[3];
        _cleanup_config_ ephem_config *c = NULL;
        user_record user;

        for (unsigned i = 0; i < PROCESSES; i++) {
                users[i] = (char *) "agent-7";
                tokens[i] = test_host_token(f->host, f->now, "agent");
        }
        race(f, users, tokens, PROCESSES, counts);
        assert_int_equal(counts[RESULT_LOGGED_IN], PROCESSES);
        assert_int_equal(count(f, "users/by-name", "[!.]*", false), 1);
        assert_int_equal(count(f, "users/by-uid", "[!.]*", false), 1);
        assert_int_equal(count(f, "logins", "[!.]*", false), PROCESSES);
        assert_no_leftovers(f);
        c = test_host_config(f->host);
        assert_errno(userdb_get_by_name(&c->users, "agent-7", &user), 0);
        assert_int_equal(user.expires, f->now + 300);
        for (unsigned i = 0; i < PROCESSES; i++)
                free(tokens[i]);
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_one_token_fifty_presentations_one_login, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fifty_tokens_fifty_users_all_log_in, setup, teardown),
                cmocka_unit_test_setup_teardown(test_one_user_fifty_tokens_one_record, setup, teardown),
        };

        /* libpam resolves a relative module path in its own module directory. */
        if (argc != 2 || argv[1][0] != '/') {
                fprintf(stderr, "usage: %s /absolute/path/to/pam_ephem.so\n", argv[0]);
                return 2;
        }
        module_path = argv[1];
        return cmocka_run_group_tests(tests, NULL, NULL);
}
