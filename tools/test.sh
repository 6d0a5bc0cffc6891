#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The whole test suite, from a fresh Debian 12 machine (as root):
#   1. installs what it needs (tools/install-deps.sh)
#   2. builds with -Werror and runs every test: unit, malicious tokens, PAM stacks
#      under pam_wrapper, NSS, interop, and end to end over a real sshd and a real
#      OIDC broker
#   3. builds again with ASan+UBSan and runs everything but the sshd tests there
#      or the logind container (sshd and the container are not instrumented).
set -eu
cd "$(dirname "$0")/.."

tools/install-deps.sh

if [ ! -f build-test/build.ninja ]; then
        meson setup build-test -Dwerror=true
fi
meson test -C build-test --print-errorlogs

if [ "${EPHEM_SKIP_SANITIZERS:-0}" != 1 ]; then
        if [ ! -f build-asan/build.ninja ]; then
                meson setup build-asan -Dwerror=true -Dbuildtype=debug -Db_sanitize=address,undefined \
                        -Db_lundef=false
        fi
        ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
                meson test -C build-asan --print-errorlogs --no-suite e2e --no-suite logind --no-suite packaging
fi
echo "all tests passed"
