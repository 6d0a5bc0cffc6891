/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The module loads the way glibc loads it, dlopen(RTLD_NOW): every reference it
 * makes resolves against libc at once, and every entry point its version script
 * exports (read from nss_ephem.sym itself, so a new one cannot be forgotten here)
 * can be found by name. Prints TAP.
 *
 * Usage: test-nss-dlopen <path to libnss_ephem.so.2> <path to nss_ephem.sym>
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char *argv[]) {
        char line[256], names[64][128];
        unsigned n = 0, failed = 0;
        void *handle;
        FILE *f;

        if (argc != 3) {
                fprintf(stderr, "usage: %s <libnss_ephem.so.2> <nss_ephem.sym>\n", argv[0]);
                return 2;
        }
        f = fopen(argv[2], "re");
        if (!f) {
                perror(argv[2]);
                return 1;
        }
        /* The global: section, one "name;" per line. */
        while (fgets(line, sizeof(line), f) && n < 64) {
                char name[128];
                if (sscanf(line, " %127[A-Za-z0-9_];", name) == 1 && strncmp(name, "_nss_ephem_", 11) == 0)
                        strcpy(names[n++], name);
        }
        fclose(f);

        printf("1..%u\n", n + 1);
        handle = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
                printf("not ok 1 - dlopen(RTLD_NOW): %s\n", dlerror());
                return 1;
        }
        printf("ok 1 - dlopen(RTLD_NOW) resolves every reference\n");
        for (unsigned i = 0; i < n; i++) {
                void *p = dlsym(handle, names[i]);
                if (!p)
                        failed++;
                printf("%s %u - %s resolves\n", p ? "ok" : "not ok", i + 2, names[i]);
        }
        if (n < 11) {
                printf("# only %u symbols read from %s\n", n, argv[2]);
                failed++;
        }
        dlclose(handle);
        return failed ? 1 : 0;
}
