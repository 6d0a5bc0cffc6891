/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Configuration and key files are read only when nobody but root could have written them. */
#include "test-cmocka.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ephem/safefile.h"
#include "testutil.h"

typedef struct fixture {
        char *dir;
        char *path;
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));

        f->dir = test_tmpdir();
        f->path = test_strdup_printf("%s/file", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        test_rmrf(f->dir);
        free(f->dir);
        free(f->path);
        free(f);
        return 0;
}

/* safe_read_file() that must fail with `expected` and leave its outputs untouched. */
static void assert_refused(const char *path, size_t max, int expected) {
        char *buf = (char *) 0x1;
        size_t size = 4242;
        struct stat st = { .st_size = 4242 };
        int r = safe_read_file(path, max, &buf, &size, &st);

        if (r != expected)
                fail_msg("%s: %d (%s), expected %d (%s)", path, r, r < 0 ? strerror(-r) : "read", expected,
                         strerror(-expected));
        assert_ptr_equal(buf, (char *) 0x1);
        assert_int_equal(size, 4242);
        assert_int_equal(st.st_size, 4242);
        assert_non_null(safe_read_strerror(r));
}

static void test_regular_file_is_read(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t size = 0;

        test_write_file(f->path, "[host]\nleeway = 5\n", 0644);
        assert_errno(safe_read_file(f->path, SAFEFILE_MAX_SIZE, &buf, &size, &st), 0);
        assert_int_equal(size, 18);
        assert_string_equal(buf, "[host]\nleeway = 5\n");
        assert_true(S_ISREG(st.st_mode));
        free(TAKE_PTR(buf));

        test_write_file(f->path, "", 0400);
        assert_errno(safe_read_file(f->path, SAFEFILE_MAX_SIZE, &buf, &size, NULL), 0);
        assert_int_equal(size, 0);
        assert_string_equal(buf, "");
}

static void test_symlink_refused(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *link = test_strdup_printf("%s/link", f->dir);

        test_write_file(f->path, "x\n", 0644);
        assert_int_equal(symlink(f->path, link), 0);
        assert_refused(link, SAFEFILE_MAX_SIZE, -ELOOP);
}

static void test_group_or_world_writable_refused(void **state) {
        fixture *f = *state;
        static const mode_t bad[] = { 0664, 0646, 0666, 0620, 0602, 0777 };
        _cleanup_free_ char *buf = NULL;
        size_t size;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                test_write_file(f->path, "x\n", bad[i]);
                assert_refused(f->path, SAFEFILE_MAX_SIZE, -EPERM);
        }
        test_write_file(f->path, "x\n", 0644);
        assert_errno(safe_read_file(f->path, SAFEFILE_MAX_SIZE, &buf, &size, NULL), 0);
}

static void test_foreign_owner_refused(void **state) {
        fixture *f = *state;

        if (geteuid() != 0)
                skip(); /* only root can give a file away */
        test_write_file(f->path, "x\n", 0644);
        assert_int_equal(chown(f->path, 65534, 0), 0);
        assert_refused(f->path, SAFEFILE_MAX_SIZE, -EPERM);
        /* The group does not matter (it cannot write). */
        assert_int_equal(chown(f->path, 0, 65534), 0);
        {
                _cleanup_free_ char *buf = NULL;
                size_t size;
                assert_errno(safe_read_file(f->path, SAFEFILE_MAX_SIZE, &buf, &size, NULL), 0);
        }
}

static void test_size_cap(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *big = malloc(SAFEFILE_MAX_SIZE + 2), *buf = NULL;
        size_t size;

        memset(big, 'a', SAFEFILE_MAX_SIZE + 1);
        big[SAFEFILE_MAX_SIZE + 1] = '\0';
        test_write_file(f->path, big, 0644);
        assert_refused(f->path, SAFEFILE_MAX_SIZE, -EFBIG);

        big[SAFEFILE_MAX_SIZE] = '\0';
        test_write_file(f->path, big, 0644);
        assert_errno(safe_read_file(f->path, SAFEFILE_MAX_SIZE, &buf, &size, NULL), 0);
        assert_int_equal(size, SAFEFILE_MAX_SIZE);
        free(TAKE_PTR(buf));

        test_write_file(f->path, "0123456789", 0644);
        assert_refused(f->path, 9, -EFBIG);
        assert_errno(safe_read_file(f->path, 10, &buf, &size, NULL), 0);
}

static void test_nul_byte_refused(void **state) {
        fixture *f = *state;

        test_write_bytes(f->path, "[host]\0leeway = 5\n", 18, 0644);
        assert_refused(f->path, SAFEFILE_MAX_SIZE, -EBADMSG);
        test_write_bytes(f->path, "\0", 1, 0644);
        assert_refused(f->path, SAFEFILE_MAX_SIZE, -EBADMSG);
}

static void test_not_a_regular_file_refused(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *fifo = test_strdup_printf("%s/fifo", f->dir);

        assert_refused(f->dir, SAFEFILE_MAX_SIZE, -EBADFD);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_refused(fifo, SAFEFILE_MAX_SIZE, -EBADFD);
        assert_refused("/dev/null", SAFEFILE_MAX_SIZE, -EBADFD);
}

static void test_missing_file(void **state) {
        fixture *f = *state;
        assert_refused(f->path, SAFEFILE_MAX_SIZE, -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_regular_file_is_read, setup, teardown),
                cmocka_unit_test_setup_teardown(test_symlink_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_group_or_world_writable_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_foreign_owner_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_size_cap, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nul_byte_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_a_regular_file_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
