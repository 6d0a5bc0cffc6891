#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# clang-tidy (checks in .clang-tidy) and cppcheck (suppressions in
# tools/cppcheck-suppressions.txt) over every C file the product builds: the files
# of a build without tests, from its compile_commands.json (BUILD, default
# build-analyze, set up with clang when missing).
#
# A clang-tidy finding fails the run unless tools/static-analysis-baseline.txt lists
# it: "FILE: [CHECK] MESSAGE", without line numbers, so that edits elsewhere in the
# file do not invalidate it. The baseline holds known findings waiting for their
# owner (each entry says which); one that no longer occurs is reported as stale.
#
#   tools/static-analysis.sh [BUILD]
set -eu
cd "$(dirname "$0")/.."

BUILD=${1:-build-analyze}
JOBS=$(nproc)
status=0

if [ ! -f "$BUILD/compile_commands.json" ]; then
        CC=clang meson setup "$BUILD" -Dtests=false >/dev/null
fi
# No source is generated, so nothing needs building first: the compile commands
# are enough (were a header generated one day, build it here).

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ephem-analysis.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# ---- clang-tidy ----
start=$(date +%s)
nice -n 19 run-clang-tidy -p "$BUILD" -quiet -j "$JOBS" >"$tmp/tidy.log" 2>"$tmp/tidy.err" || true
# "[/src/build/]../dir/file.c:12:3: warning: message [check]" → "dir/file.c: [check] message"
sed 's/\x1b\[[0-9;]*m//g' "$tmp/tidy.log" |
        sed -n 's#^\(.*/\)\{0,1\}\.\./\([^:]*\):[0-9]*:[0-9]*: \(warning\|error\): \(.*\) \[\([^]]*\)\]$#\2: [\5] \4#p' |
        sed 's/,-warnings-as-errors//' | sort -u >"$tmp/tidy.found"
grep -v '^#' tools/static-analysis-baseline.txt | sed '/^$/d' | sort -u >"$tmp/baseline"
comm -23 "$tmp/tidy.found" "$tmp/baseline" >"$tmp/tidy.new"
comm -13 "$tmp/tidy.found" "$tmp/baseline" >"$tmp/tidy.stale"
if grep -q 'error:' "$tmp/tidy.err" 2>/dev/null && ! [ -s "$tmp/tidy.found" ]; then
        cat "$tmp/tidy.err" >&2
        echo "clang-tidy: failed to run" >&2
        status=1
fi
echo "clang-tidy: $(wc -l <"$tmp/tidy.found") findings, $(wc -l <"$tmp/tidy.new") not in the baseline ($(( $(date +%s) - start )) s)"
if [ -s "$tmp/tidy.new" ]; then
        sed 's/^/    /' "$tmp/tidy.new"
        echo "    (details: run-clang-tidy -p $BUILD FILE)"
        status=1
fi
if [ -s "$tmp/tidy.stale" ]; then
        echo "clang-tidy: baseline entries that no longer occur (remove them from tools/static-analysis-baseline.txt):"
        sed 's/^/    /' "$tmp/tidy.stale"
fi

# ---- cppcheck ----
start=$(date +%s)
if ! nice -n 19 cppcheck --project="$BUILD/compile_commands.json" --enable=warning,performance,portability \
        --std=c11 --library=posix --inline-suppr --suppressions-list=tools/cppcheck-suppressions.txt \
        --error-exitcode=1 -q -j "$JOBS" --template='{file}:{line}: {severity}: {message} [{id}]' \
        >"$tmp/cppcheck.log" 2>&1; then
        sed 's|^.*/\.\./||; s/^/    /' "$tmp/cppcheck.log"
        status=1
fi
echo "cppcheck: $(grep -c ': \(error\|warning\|performance\|portability\|style\):' "$tmp/cppcheck.log" || true) findings ($(( $(date +%s) - start )) s)"
exit $status
