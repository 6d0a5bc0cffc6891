#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The whole test suite, from a fresh Debian 12 machine (as root):
#   1. installs what it needs (tools/install-deps.sh)
#   2. builds with -Werror and runs every test: unit, malicious tokens, PAM stacks
#      under pam_wrapper, NSS, interop, the fuzz corpora, failure injection, and end
#      to end over a real sshd and a real OIDC broker
#   3. builds again with ASan+UBSan and runs everything but the sshd tests there
#      or the logind container (sshd and the container are not instrumented)
#   4. runs the unit, PAM and NSS tests of the first build under valgrind memcheck
#   5. builds the libFuzzer targets (clang) and runs each for a short while
#      (docs/fuzzing.md)
#   6. clang-tidy and cppcheck over the product's sources (tools/static-analysis.sh)
#   7. compares the sources with .clang-format (tools/format-check.sh: any C file
#      clang-format would change fails)
# Each of steps 3 to 7 can be skipped: EPHEM_SKIP_SANITIZERS=1, EPHEM_SKIP_VALGRIND=1,
# EPHEM_SKIP_FUZZ=1, EPHEM_SKIP_STATIC_ANALYSIS=1, EPHEM_SKIP_FORMAT_CHECK=1.
# EPHEM_FUZZ_SECONDS (default 10) is each fuzz target's run, EPHEM_FUZZ_OOM_SECONDS
# (default 3) each failure-injection variant's (the CI budget: docs/fuzzing.md).
set -eu
cd "$(dirname "$0")/.."

timings=""
step_start=0
step() {
        step_start=$(date +%s)
        echo "=== $1"
}
step_done() {
        timings="$timings$(printf '%-28s %5d s' "$1" $(( $(date +%s) - step_start )))
"
}

tools/install-deps.sh

step "build and test"
if [ ! -f build-test/build.ninja ]; then
        meson setup build-test -Dwerror=true
fi
meson test -C build-test --print-errorlogs
step_done "build and test"

if [ "${EPHEM_SKIP_SANITIZERS:-0}" != 1 ]; then
        step "ASan and UBSan"
        if [ ! -f build-asan/build.ninja ]; then
                meson setup build-asan -Dwerror=true -Dbuildtype=debug -Db_sanitize=address,undefined \
                        -Db_lundef=false
        fi
        ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
                meson test -C build-asan --print-errorlogs --no-suite e2e --no-suite logind --no-suite packaging
        step_done "ASan and UBSan"
fi

if [ "${EPHEM_SKIP_VALGRIND:-0}" != 1 ]; then
        step "valgrind memcheck"
        # The unit, pam and nss suites, but not what valgrind cannot run: the shell
        # scripts that inspect the ELF files or need a mount namespace, and the
        # variants built with ASan or TSan. Every leak of the kinds ephem can cause
        # (definite, indirect) is an error; tools/valgrind.supp is for third parties.
        tests=$(meson test -C build-test --list --suite unit --suite pam --suite nss 2>/dev/null |
                sed -n 's|^.* / ||p' |
                grep -v -x -e nss-links-libc-only -e nss-exports-only-nss-symbols -e nss-glibc-namespace \
                        -e nss-threads-asan -e nss-threads-tsan -e askpass-prompts)
        # shellcheck disable=SC2086
        meson test -C build-test --print-errorlogs --no-rebuild --timeout-multiplier 10 \
                --wrapper "valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
--suppressions=$PWD/tools/valgrind.supp -q" $tests
        step_done "valgrind memcheck"
fi

if [ "${EPHEM_SKIP_FUZZ:-0}" != 1 ]; then
        step "fuzz targets"
        if [ ! -f build-fuzz/build.ninja ]; then
                CC=clang meson setup build-fuzz -Dwerror=true -Dfuzz=true -Dtests=false
        fi
        ninja -C build-fuzz fuzz
        FUZZ_SECONDS=${EPHEM_FUZZ_SECONDS:-10} FUZZ_OOM_SECONDS=${EPHEM_FUZZ_OOM_SECONDS:-3} FUZZ_JOBS=2 \
                tools/fuzz.sh build-fuzz
        step_done "fuzz targets"
fi

if [ "${EPHEM_SKIP_STATIC_ANALYSIS:-0}" != 1 ]; then
        step "clang-tidy and cppcheck"
        tools/static-analysis.sh build-analyze
        step_done "clang-tidy and cppcheck"
fi

if [ "${EPHEM_SKIP_FORMAT_CHECK:-0}" != 1 ]; then
        step "clang-format"
        tools/format-check.sh
        step_done "clang-format"
fi

printf '%s' "$timings"
echo "all tests passed"
