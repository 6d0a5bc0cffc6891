/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A loadable module loads with every symbol resolved, and exports its entry points
 * and nothing else (no core function may leak into sshd's or every process's
 * symbol namespace).
 *
 * Usage: test-dlopen MODULE PREFIX SYMBOL...
 *   every defined dynamic symbol of MODULE must start with PREFIX, and each SYMBOL
 *   must be among them and resolvable with dlsym().
 */
#include "test-cmocka.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ephem/macro.h"

static const char *module;
static const char *prefix;
static char **required;
static int n_required;

/* The defined, global dynamic symbols of an ELF64 file, NULL-terminated. */
static char **exported_symbols(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        const uint8_t *map;
        const Elf64_Ehdr *eh;
        const Elf64_Shdr *sh;
        char **names = NULL;
        size_t n = 0;

        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        map = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        assert_true(map != MAP_FAILED);
        eh = (const Elf64_Ehdr *) map;
        assert_memory_equal(eh->e_ident, ELFMAG, SELFMAG);
        assert_int_equal(eh->e_ident[EI_CLASS], ELFCLASS64);
        assert_true(eh->e_shoff + (size_t) eh->e_shnum * sizeof(Elf64_Shdr) <= (size_t) st.st_size);
        sh = (const Elf64_Shdr *) (map + eh->e_shoff);

        for (unsigned i = 0; i < eh->e_shnum; i++) {
                const Elf64_Sym *syms;
                const char *strtab;

                if (sh[i].sh_type != SHT_DYNSYM)
                        continue;
                assert_true(sh[i].sh_link < eh->e_shnum);
                syms = (const Elf64_Sym *) (map + sh[i].sh_offset);
                strtab = (const char *) (map + sh[sh[i].sh_link].sh_offset);
                for (size_t k = 0; k < sh[i].sh_size / sizeof(Elf64_Sym); k++) {
                        const Elf64_Sym *s = &syms[k];
                        unsigned bind = ELF64_ST_BIND(s->st_info), type = ELF64_ST_TYPE(s->st_info);

                        if (s->st_shndx == SHN_UNDEF || s->st_name == 0)
                                continue;
                        if (bind != STB_GLOBAL && bind != STB_WEAK && bind != STB_GNU_UNIQUE)
                                continue;
                        /* Version nodes of a named version script are absolute, empty objects. */
                        if (s->st_shndx == SHN_ABS && s->st_value == 0 && s->st_size == 0 && type == STT_OBJECT)
                                continue;
                        names = realloc(names, (n + 2) * sizeof(char *));
                        names[n++] = strdup(strtab + s->st_name);
                        names[n] = NULL;
                }
        }
        munmap((void *) map, (size_t) st.st_size);
        return names;
}

static void test_loads_with_every_symbol_resolved(void **state _unused_) {
        void *h = dlopen(module, RTLD_NOW | RTLD_LOCAL);

        if (!h)
                fail_msg("dlopen(%s, RTLD_NOW): %s", module, dlerror());
        for (int i = 0; i < n_required; i++)
                if (!dlsym(h, required[i]))
                        fail_msg("%s does not resolve %s: %s", module, required[i], dlerror());
        assert_int_equal(dlclose(h), 0);
}

static void test_exports_only_its_entry_points(void **state _unused_) {
        char **names = exported_symbols(module);
        size_t n = 0;

        assert_non_null(names);
        for (char **s = names; *s; s++, n++)
                if (strncmp(*s, prefix, strlen(prefix)) != 0)
                        fail_msg("%s exports '%s', which is not a %s* entry point", module, *s, prefix);
        for (int i = 0; i < n_required; i++) {
                bool found = false;
                for (char **s = names; *s; s++)
                        found = found || streq(*s, required[i]);
                if (!found)
                        fail_msg("%s does not export %s", module, required[i]);
        }
        assert_true(n >= (size_t) n_required);
        for (char **s = names; *s; s++)
                free(*s);
        free(names);
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_loads_with_every_symbol_resolved),
                cmocka_unit_test(test_exports_only_its_entry_points),
        };

        if (argc < 4) {
                fprintf(stderr, "usage: %s MODULE PREFIX SYMBOL...\n", argv[0]);
                return 2;
        }
        module = argv[1];
        prefix = argv[2];
        required = argv + 3;
        n_required = argc - 3;
        return cmocka_run_group_tests_name(module, tests, NULL, NULL);
}
