#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs the libFuzzer targets of a -Dfuzz=true build (fuzz/meson.build), each on a
# copy of its checked-in corpus (fuzz/corpus/NAME) with its dictionary, and reports
# executions, executions/s and coverage per target. A crash, leak, timeout or broken
# contract fails the run and leaves the input in the work directory.
#
#   tools/fuzz.sh [BUILD]                  BUILD defaults to build-fuzz
#
#   FUZZ_SECONDS=60       per target
#   FUZZ_OOM_SECONDS=     per -oom variant (default: FUZZ_SECONDS; 0 skips them)
#   FUZZ_TARGETS="..."    a subset (names without fuzz-; "token-verify-oom" works)
#   FUZZ_JOBS=1           targets run at the same time
#   FUZZ_WORK=DIR         keep corpora, logs and artifacts there (default: a
#                         temporary directory, removed unless something was found)
#   FUZZ_ARGS="..."       more libFuzzer options
#
# docs/fuzzing.md has the campaign and how its findings become corpus files.
set -eu
cd "$(dirname "$0")/.."

BUILD=${1:-build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-60}
OOM_SECONDS=${FUZZ_OOM_SECONDS:-$SECONDS_EACH}
JOBS=${FUZZ_JOBS:-1}
ALL="userdb token-parse token-verify keyset config records revocation-doc breakglass dpop prompt sshcert"

if [ ! -d "$BUILD/fuzz" ]; then
        echo "$BUILD has no fuzz targets: CC=clang meson setup $BUILD -Dfuzz=true" >&2
        exit 2
fi
if [ -n "${FUZZ_TARGETS:-}" ]; then
        targets=$FUZZ_TARGETS
else
        targets=""
        for t in $ALL; do
                targets="$targets $t"
                if [ "$OOM_SECONDS" != 0 ] && [ -x "$BUILD/fuzz/fuzz-$t-oom" ]; then
                        targets="$targets $t-oom"
                fi
        done
fi

if [ -n "${FUZZ_WORK:-}" ]; then
        work=$FUZZ_WORK
        keep=1
        mkdir -p "$work"
else
        work=$(mktemp -d "${TMPDIR:-/tmp}/ephem-fuzz.XXXXXX")
        keep=0
fi

dict_of() {
        case "$1" in
        token-parse|token-verify|revocation-doc|dpop|keyset) echo fuzz/dict/jose.dict ;;
        records|userdb|breakglass) echo fuzz/dict/records.dict ;;
        config) echo fuzz/dict/config.dict ;;
        sshcert) echo fuzz/dict/sshcert.dict ;;
        prompt) echo "" ;;
        esac
}

# One target: fuzz, then print "name status execs exec/s cov ft".
run_one() {
        t=$1
        base=${t%-oom}
        secs=$SECONDS_EACH
        [ "$t" != "$base" ] && secs=$OOM_SECONDS
        dir="$work/$t"
        mkdir -p "$dir/corpus" "$dir/artifacts" "$dir/tmp"
        if [ "$t" = "$base" ]; then
                cp -n "fuzz/corpus/$base/"* "$dir/corpus/" 2>/dev/null || true
        elif [ -z "$(ls -A "$dir/corpus")" ]; then
                # -oom inputs start with two bytes that pick the failing call (fuzz.h):
                # the corpus with failures spread over the first few hundred calls,
                # every third one persistent.
                i=0
                for f in "fuzz/corpus/$base/"*; do
                        [ -e "$f" ] || continue
                        i=$((i + 1))
                        n=$(( (i * 37) % 700 + 1 ))
                        [ $((i % 3)) = 0 ] && n=$((n | 32768))
                        # shellcheck disable=SC2059
                        printf "\\$(printf %03o $((n & 255)))\\$(printf %03o $((n >> 8)))" >"$dir/corpus/oom-$i"
                        cat "$f" >>"$dir/corpus/oom-$i"
                done
        fi
        dict=$(dict_of "$base")
        status=0
        # shellcheck disable=SC2086
        TMPDIR="$dir/tmp" nice -n 19 "$BUILD/fuzz/fuzz-$t" "$dir/corpus" \
                ${dict:+-dict="$dict"} -max_total_time="$secs" -timeout=20 -rss_limit_mb=2560 -max_len=16384 \
                -artifact_prefix="$dir/artifacts/" -print_final_stats=1 ${FUZZ_ARGS:-} \
                >"$dir/log" 2>&1 || status=$?
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log")
        cov=$(grep -E '^#[0-9]+' "$dir/log" | tail -1 | sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/\1 \2/p')
        echo "$t $status ${execs:-0} ${rate:-0} ${cov:-0 0}" >"$dir/result"
}

start=$(date +%s)
running=0
for t in $targets; do
        run_one "$t" &
        running=$((running + 1))
        if [ "$running" -ge "$JOBS" ]; then
                wait
                running=0
        fi
done
wait

failed=0
printf '%-22s %8s %12s %8s %6s %7s\n' target result execs exec/s cov ft
for t in $targets; do
        read -r name status execs rate cov ft <"$work/$t/result"
        result=ok
        if [ "$status" != 0 ]; then
                result=FAILED
                failed=1
        fi
        printf '%-22s %8s %12s %8s %6s %7s\n' "$name" "$result" "$execs" "$rate" "$cov" "$ft"
        if [ "$status" != 0 ]; then
                grep -E 'ERROR|contract violated|runtime error|SUMMARY' "$work/$t/log" | head -5 | sed 's/^/    /'
                for a in "$work/$t/artifacts/"*; do
                        [ -e "$a" ] && echo "    input: $a (reproduce: $BUILD/fuzz/fuzz-$t $a)"
                done
        fi
done
echo "fuzzing took $(( $(date +%s) - start )) s"
if [ "$failed" = 0 ] && [ "$keep" = 0 ]; then
        rm -rf "$work"
else
        echo "work directory: $work"
fi
exit "$failed"
