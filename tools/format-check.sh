#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Compares every C file in git with what clang-format (.clang-format) would make of
# it and prints, per file, how many lines it would change. Fails on any difference
# (the tree was reformatted once, commit c278903); EPHEM_FORMAT_CHECK=report only
# reports.
#
#   tools/format-check.sh            the summary
#   tools/format-check.sh -v         and the diffs
set -eu
cd "$(dirname "$0")/.."

verbose=0
[ "${1:-}" = "-v" ] && verbose=1
total=0
files=0
for f in $(git ls-files --cached --others --exclude-standard '*.c' '*.h'); do
        [ -f "$f" ] || continue
        n=$(clang-format --style=file "$f" | diff -U0 "$f" - | grep -c '^-[^-]' || true)
        if [ "$n" -gt 0 ]; then
                printf '%5d %s\n' "$n" "$f"
                total=$((total + n))
                files=$((files + 1))
                [ "$verbose" = 1 ] && clang-format --style=file "$f" | diff -u "$f" - || true
        fi
done
echo "clang-format would change $total lines in $files files"
if [ "$total" -gt 0 ] && [ "${EPHEM_FORMAT_CHECK:-strict}" != report ]; then
        echo "reformat with: clang-format -i --style=file FILE... (see .clang-format; -v shows the diffs)" >&2
        exit 1
fi
exit 0
