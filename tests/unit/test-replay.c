/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Single use: a jti is accepted once per issuer, atomically across processes. */
#include "test-cmocka.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ephem/replay.h"
#include "testutil.h"

#define ISS "https://broker.example.net"
#define PROCESSES 50

typedef struct fixture {
        char *dir;
        char *state;
        int64_t now;
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));

        f->dir = test_tmpdir();
        f->state = test_strdup_printf("%s/state", f->dir);
        f->now = (int64_t) time(NULL);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        test_rmrf(f->dir);
        free(f->dir);
        free(f->state);
        free(f);
        return 0;
}

/* <state>/replay/<xx>/<rest>: the documented place of an entry. */
static char *entry_path(const fixture *f, const char *iss, const char *jti) {
        static const char hex[] = "0123456789abcdef";
        uint8_t d[32];
        char name[65];
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        unsigned dl = 0;

        assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
        assert_int_equal(EVP_DigestUpdate(md, iss, strlen(iss) + 1), 1);
        assert_int_equal(EVP_DigestUpdate(md, jti, strlen(jti)), 1);
        assert_int_equal(EVP_DigestFinal_ex(md, d, &dl), 1);
        EVP_MD_CTX_free(md);
        for (int i = 0; i < 32; i++) {
                name[2 * i] = hex[d[i] >> 4];
                name[2 * i + 1] = hex[d[i] & 15];
        }
        name[64] = '\0';
        return test_strdup_printf("%s/replay/%.2s/%s", f->state, name, name + 2);
}

static void test_first_use_accepted_second_refused(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *path = entry_path(f, ISS, "jti-1");
        struct stat st;

        assert_errno(replay_register(f->state, ISS, "jti-1", f->now + 300, f->now), 0);
        assert_errno(replay_register(f->state, ISS, "jti-1", f->now + 300, f->now), -EEXIST);
        assert_errno(replay_register(f->state, ISS, "jti-1", f->now + 600, f->now + 1), -EEXIST);
        /* The entry's mtime is the moment it may be forgotten. */
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mtim.tv_sec, f->now + 300);
        assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_jti_is_single_use_per_issuer(void **state) {
        fixture *f = *state;

        assert_errno(replay_register(f->state, ISS, "shared", f->now + 300, f->now), 0);
        assert_errno(replay_register(f->state, "https://other.example.net", "shared", f->now + 300, f->now), 0);
        /* (iss, jti) pairs are hashed unambiguously: "a"+"bc" is not "ab"+"c". */
        assert_errno(replay_register(f->state, "a", "bc", f->now + 300, f->now), 0);
        assert_errno(replay_register(f->state, "ab", "c", f->now + 300, f->now), 0);
        assert_errno(replay_register(f->state, "ab", "c", f->now + 300, f->now), -EEXIST);
}

static void test_entries_are_forgotten_only_after_expiry(void **state) {
        fixture *f = *state;

        assert_errno(replay_register(f->state, ISS, "short", f->now + 10, f->now), 0);
        assert_errno(replay_register(f->state, ISS, "long", f->now + 1000, f->now), 0);
        /* An expired entry that was not swept yet still refuses. */
        assert_errno(replay_register(f->state, ISS, "short", f->now + 10, f->now + 5), -EEXIST);
        assert_int_equal(replay_gc(f->state, f->now + 10), 0);
        assert_int_equal(replay_gc(f->state, f->now + 11), 1);
        assert_errno(replay_register(f->state, ISS, "long", f->now + 1000, f->now + 11), -EEXIST);
        assert_errno(replay_register(f->state, ISS, "short", f->now + 100, f->now + 11), 0);
}

/* Forks n processes that wait at a barrier and then register (iss, jti) at once.
 * Returns how many got 0 in *ret_ok and -EEXIST in *ret_replay. */
static void race(const fixture *f, const char *jti, unsigned n, unsigned *ret_ok, unsigned *ret_replay) {
        pid_t pids[PROCESSES];
        int barrier[2];

        assert_true(n <= PROCESSES);
        assert_int_equal(pipe(barrier), 0);
        for (unsigned i = 0; i < n; i++) {
                pids[i] = fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        char c;
                        int r;
                        close(barrier[1]);
                        /* read() returns at EOF, when the parent closes its end: everybody starts together. */
                        if (read(barrier[0], &c, 1) < 0)
                                _exit(3);
                        r = replay_register(f->state, ISS, jti, f->now + 300, f->now);
                        _exit(r == 0 ? 0 : r == -EEXIST ? 1 : 2);
                }
        }
        close(barrier[0]);
        close(barrier[1]);
        *ret_ok = *ret_replay = 0;
        for (unsigned i = 0; i < n; i++) {
                int status;
                assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                assert_true(WIFEXITED(status));
                if (WEXITSTATUS(status) == 0)
                        (*ret_ok)++;
                else if (WEXITSTATUS(status) == 1)
                        (*ret_replay)++;
        }
}

static void test_concurrent_processes_exactly_one_wins(void **state) {
        fixture *f = *state;

        for (unsigned round = 0; round < 5; round++) {
                char jti[32];
                unsigned ok, replay;
                _cleanup_free_ char *path = NULL, *shard = NULL;

                snprintf(jti, sizeof(jti), "race-%u", round);
                race(f, jti, PROCESSES, &ok, &replay);
                if (ok != 1 || replay != PROCESSES - 1)
                        fail_msg("round %u: %u first uses and %u replays of one jti among %u processes", round, ok,
                                 replay, PROCESSES);
                /* Exactly one entry, with its expiry, and no leftovers. */
                path = entry_path(f, ISS, jti);
                assert_int_equal(access(path, F_OK), 0);
                shard = strndup(path, (size_t) (strrchr(path, '/') - path));
                assert_int_equal(test_count_entries(shard, "[!.]*"), 1);
                assert_int_equal(test_count_entries(shard, ".#*"), 0);
        }
}

/*
 * A sweep by another login must never remove an entry that is being created. The
 * core calls futimens() to give an entry its expiry; this wrapper (the test links
 * with -Wl,--wrap=futimens) runs another registration in the same shard, a few
 * seconds later, at exactly that moment.
 */
static struct {
        bool armed;
        const char *state;
        const char *jti;
        int result;
} interleave;

int __real_futimens(int fd, const struct timespec times[2]);
int __wrap_futimens(int fd, const struct timespec times[2]);
int __wrap_futimens(int fd, const struct timespec times[2]) {
        if (interleave.armed) {
                int64_t later = (int64_t) time(NULL) + 2;
                interleave.armed = false;
                interleave.result = replay_register(interleave.state, ISS, interleave.jti, later + 300, later);
        }
        return __real_futimens(fd, times);
}

static void test_entry_survives_a_concurrent_sweep(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *b = entry_path(f, ISS, "victim"), *a = NULL;
        char jti[32];

        /* Another jti whose entry lands in the same shard (the first two hex digits). */
        for (unsigned i = 0;; i++) {
                snprintf(jti, sizeof(jti), "other-%u", i);
                free(a);
                a = entry_path(f, ISS, jti);
                if (strncmp(strrchr(a, '/') - 2, strrchr(b, '/') - 2, 2) == 0)
                        break;
        }
        interleave = (typeof(interleave)){ .armed = true, .state = f->state, .jti = jti, .result = 1 };
        assert_errno(replay_register(f->state, ISS, "victim", f->now + 300, f->now), 0);
        assert_false(interleave.armed);
        assert_errno(interleave.result, 0);
        /* Both entries are there, and the first token cannot be used again. */
        assert_int_equal(access(b, F_OK), 0);
        assert_int_equal(access(a, F_OK), 0);
        assert_errno(replay_register(f->state, ISS, "victim", f->now + 300, f->now), -EEXIST);
}

static void test_state_dir_must_be_private(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *replay_dir = test_strdup_printf("%s/replay", f->state);

        assert_errno(replay_register(f->state, ISS, "p1", f->now + 300, f->now), 0);
        assert_int_equal(chmod(f->state, 0775), 0);
        assert_errno(replay_register(f->state, ISS, "p2", f->now + 300, f->now), -EPERM);
        assert_int_equal(chmod(f->state, 0755), 0);
        assert_int_equal(chmod(replay_dir, 0733), 0);
        assert_errno(replay_register(f->state, ISS, "p3", f->now + 300, f->now), -EPERM);
        assert_int_equal(chmod(replay_dir, 0700), 0);
        if (geteuid() == 0) {
                assert_int_equal(chown(f->state, 65534, 65534), 0);
                assert_errno(replay_register(f->state, ISS, "p4", f->now + 300, f->now), -EPERM);
                assert_int_equal(chown(f->state, 0, 0), 0);
        }
        assert_errno(replay_register(f->state, ISS, "p5", f->now + 300, f->now), 0);
}

static void test_replay_dir_symlink_refused(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *elsewhere = test_strdup_printf("%s/elsewhere", f->dir);
        _cleanup_free_ char *replay_dir = test_strdup_printf("%s/replay", f->state);
        int r;

        assert_int_equal(mkdir(f->state, 0755), 0);
        assert_int_equal(mkdir(elsewhere, 0700), 0);
        assert_int_equal(symlink(elsewhere, replay_dir), 0);
        r = replay_register(f->state, ISS, "s1", f->now + 300, f->now);
        if (r == 0)
                fail_msg("a symlinked replay directory was followed");
        assert_int_equal(test_count_entries(elsewhere, "*"), 0);
}

static void test_state_dir_not_a_directory(void **state) {
        fixture *f = *state;

        test_write_file(f->state, "", 0600);
        assert_errno(replay_register(f->state, ISS, "n1", f->now + 300, f->now), -ENOTDIR);
        assert_errno(replay_register("relative/state", ISS, "n1", f->now + 300, f->now), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_first_use_accepted_second_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_jti_is_single_use_per_issuer, setup, teardown),
                cmocka_unit_test_setup_teardown(test_entries_are_forgotten_only_after_expiry, setup, teardown),
                cmocka_unit_test_setup_teardown(test_concurrent_processes_exactly_one_wins, setup, teardown),
                cmocka_unit_test_setup_teardown(test_entry_survives_a_concurrent_sweep, setup, teardown),
                cmocka_unit_test_setup_teardown(test_state_dir_must_be_private, setup, teardown),
                cmocka_unit_test_setup_teardown(test_replay_dir_symlink_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_state_dir_not_a_directory, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
