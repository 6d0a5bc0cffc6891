# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# TAP output for the shell tests (meson's protocol : 'tap'). Source it, then:
#   check NAME COMMAND...   ok if COMMAND succeeds, not ok otherwise
#   ok NAME / not_ok NAME   a result decided by the caller
#   note TEXT               a TAP comment
#   skip REASON             the whole test is skipped (plan 1..0 # SKIP, exit 0:
#                           meson counts a TAP test exiting 77 as an error)
#   elapsed                 seconds since the test started, for names
#   tap_bail TEXT...        the plan so far and exit 1 (the rest cannot run)
#   tap_done                the plan, and the exit status
TAP_N=0
FAILED=0
T_START=$(date +%s)

ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1"; }
not_ok() { TAP_N=$((TAP_N + 1)); FAILED=$((FAILED + 1)); echo "not ok $TAP_N - $1"; }
check() {
        local name=$1
        shift
        if "$@"; then ok "$name"; else not_ok "$name"; fi
}
note() { echo "# $*"; }
skip() { echo "1..0 # SKIP $*"; exit 0; }
elapsed() { echo "$(($(date +%s) - T_START)) s"; }
tap_bail() {
        [ $# -gt 0 ] && printf '%s\n' "$@" | sed 's/^/# /'
        echo "1..$TAP_N"
        exit 1
}
tap_done() {
        echo "1..$TAP_N"
        exit $((FAILED > 0))
}
