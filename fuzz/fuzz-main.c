/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A fuzz target without libFuzzer: runs every file of the given directories (and
 * files) through LLVMFuzzerTestOneInput() once, so the checked-in corpus — the seeds
 * and whatever the fuzzer found worth keeping — is a regression test of the normal
 * suite (tests/corpus). A broken contract aborts.
 *
 * Usage: fuzz-TARGET-corpus <corpus directory or file>...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ephem/macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target, as in libFuzzer. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path) {
        FILE *f = fopen(path, "re");
        uint8_t *buf = NULL;
        size_t size = 0, cap = 0;

        if (!f) {
                perror(path);
                return -1;
        }
        for (;;) {
                size_t k;
                if (size == cap) {
                        uint8_t *n = realloc(buf, cap = cap ? cap * 2 : 4096);
                        if (!n)
                                abort();
                        buf = n;
                }
                k = fread(buf + size, 1, cap - size, f);
                if (k == 0)
                        break;
                size += k;
        }
        fclose(f);
        (void) LLVMFuzzerTestOneInput(buf, size);
        free(buf);
        return 0;
}

int main(int argc, char *argv[]) {
        unsigned n = 0;

        if (LLVMFuzzerInitialize)
                (void) LLVMFuzzerInitialize(&argc, &argv);
        for (int i = 1; i < argc; i++) {
                struct stat st;
                DIR *d;
                struct dirent *de;

                if (stat(argv[i], &st) < 0) {
                        perror(argv[i]);
                        return 1;
                }
                if (!S_ISDIR(st.st_mode)) {
                        if (run_file(argv[i]) < 0)
                                return 1;
                        n++;
                        continue;
                }
                d = opendir(argv[i]);
                if (!d) {
                        perror(argv[i]);
                        return 1;
                }
                while ((de = readdir(d))) {
                        _cleanup_free_ char *path = NULL;
                        if (de->d_name[0] == '.')
                                continue;
                        if (asprintf(&path, "%s/%s", argv[i], de->d_name) < 0)
                                abort();
                        if (run_file(path) < 0) {
                                closedir(d);
                                return 1;
                        }
                        n++;
                }
                closedir(d);
        }
        printf("%u inputs, every contract held\n", n);
        return n > 0 ? 0 : 1;
}
