#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Every benchmark of ephem, one table. As root on Debian 12 (private mount
# namespaces, an sshd on 127.0.0.1, optionally a systemd-nspawn container):
#
#   tools/bench.sh [--quick] [--repeat N] [--only auth,nss,scaling,sessions,logind]
#                  [--no-logind] [--no-build] [--out DIR]
#
# Builds what it needs (meson setup $BUILD, default build-bench; ninja), then runs
# each benchmark where its method lives, and gathers their ROW and GROWTH lines:
#
#   auth      tests/bench/bench-auth        token verification and pam_authenticate vs a
#                                           bare OpenSSL verify (identity lookups through
#                                           "passwd: files ephem"), the stages of a login,
#                                           the session stage (pam_open_session and its
#                                           cgroup migration), concurrent
#                                           logins, pam_unix + yescrypt, a broker asked
#                                           over HTTP (node, tests/e2e/broker's packages);
#                                           audit events go to a journald of its own
#                                           (tools/bench-journald.sh)
#   nss       tests/nss/bench-nss.sh        glibc NSS lookups vs files, 10..100,000 users,
#                                           memory, the nsswitch.conf order
#   scaling   tests/bench/bench-scaling     replay cache, revocation list, JWKS, rules
#   sessions  tests/e2e/bench-sessions.sh   the real sshd rig: cut-off lateness,
#                                           revocation latency, memory per session, SSH
#                                           login vs pam_permit (pam_ephem timed inside
#                                           sshd too), with the cgroup2 favordynmods
#                                           flag cleared and set: the flag is the
#                                           machine's, put back and checked afterwards
#                                           (EPHEM_BENCH_FAVORDYNMODS=0: leave it alone)
#   logind    tests/bench/bench-logind.sh   the same on the logind path (container;
#                                           waits while another systemd-nspawn runs)
#
# --quick: fewer samples and smaller sizes (a smoke test, not figures to quote).
# --repeat N: N passes; the table is the last pass's, followed by each figure's
#   spread over the passes. Logs: --out DIR (default: a new directory under /tmp,
#   kept and named at the end). The machine, its load and the nice-19 background
#   (a fuzzing campaign may run) are recorded for each pass.
# Exit 0 when every benchmark ran (missed targets are figures, not failures).

set -u -o pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build-bench}
QUICK=0
REPEAT=1
ONLY="auth,nss,scaling,sessions,logind"
DO_BUILD=1
OUT=

while [ $# -gt 0 ]; do
        case $1 in
        --quick) QUICK=1 ;;
        --repeat) REPEAT=$2; shift ;;
        --only) ONLY=$2; shift ;;
        --no-logind) ONLY=$(echo "$ONLY" | sed 's/,\?logind//') ;;
        --no-build) DO_BUILD=0 ;;
        --out) OUT=$2; shift ;;
        -h | --help) sed -n '3,40p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
        esac
        shift
done
want() { [[ ",$ONLY," == *",$1,"* ]]; }

if [ "$(id -u)" != 0 ]; then
        echo "bench.sh: needs root (private mount namespaces, sshd, cgroups)" >&2
        exit 77
fi
PY=/usr/bin/python3

# ---- build ----
if [ "$DO_BUILD" = 1 ]; then
        if [ ! -f "$BUILD/build.ninja" ]; then
                meson setup "$BUILD" "$SRC" >/dev/null || { echo "bench.sh: meson setup failed" >&2; exit 1; }
        fi
        ninja -C "$BUILD" pam_ephem/pam_ephem.so nss_ephem/libnss_ephem.so.2 ephemctl/ephemctl \
                ephem-cutoff/ephem-cutoff ephem-cutoff/ephem-cutoff-act ephem-askpass/ephem-askpass ephem-shell/ephem-shell tests/bench/bench-auth \
                tests/bench/bench-scaling tests/bench/pam_bench_timed.so tests/nss/bench-nss >/dev/null ||
                { echo "bench.sh: the build failed (ninja -C $BUILD)" >&2; exit 1; }
fi
BUILD=$(cd "$BUILD" && pwd)

# The broker for the HTTP alternative: node and the packages tests/e2e/broker pins.
BROKER_ARGS=()
if want auth && command -v node >/dev/null; then
        if [ ! -d "$SRC/tests/e2e/broker/node_modules/oidc-provider" ] && command -v npm >/dev/null; then
                (cd "$SRC/tests/e2e/broker" && npm ci --no-audit --no-fund --silent) >/dev/null 2>&1
        fi
        [ -d "$SRC/tests/e2e/broker/node_modules/oidc-provider" ] &&
                BROKER_ARGS=(--broker "$SRC/tests/bench/introspect-broker.mjs")
fi

if [ -z "$OUT" ]; then
        OUT=$(mktemp -d /tmp/ephem-bench.XXXXXX)
else
        mkdir -p "$OUT"
fi

mem_gib() { awk '/^MemTotal/ {printf "%.0f", $2 / 1024 / 1024}' /proc/meminfo; }

run_pass() { # PASS_DIR
        local d=$1 q=() trials=20 rc=0
        mkdir -p "$d"
        [ "$QUICK" = 1 ] && q=(--quick) && trials=5
        {
                echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
                echo "machine: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) CPUs, Linux $(uname -r), $(mem_gib) GiB"
                echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)"
                # What else runs: the processes at nice > 0 (a fuzzing campaign at nice 19).
                echo "background at nice > 0: $(ps -eo ni=,comm= | awk '$1 > 0 {n[$2]++} END {for (c in n) printf "%s%s x%d", (k++ ? ", " : ""), c, n[c]; if (!k) printf "none"}')"
                echo "cgroup2: $(awk '/ - cgroup2 / {print $5 " (" $NF ")"; exit}' /proc/self/mountinfo)"
                echo "build: $BUILD ($(git -C "$SRC" describe --always --dirty 2>/dev/null))"
                echo "audit (auth): $([ -x /lib/systemd/systemd-journald ] && echo "a journald of the bench's own (tools/bench-journald.sh)" || echo "no journald: refused sends and the syslog fallback")"
        } >"$d/machine.txt"
        head -n 1 /proc/stat >"$d/cpu.start"
        if want auth; then
                echo "== auth" >&2
                # Audit events go to a journald of the bench's own, as on a host with systemd.
                local jd=()
                [ -x /lib/systemd/systemd-journald ] && jd=("$SRC/tools/bench-journald.sh")
                "${jd[@]}" "$BUILD/tests/bench/bench-auth" "$BUILD/pam_ephem/pam_ephem.so" "$([ "$QUICK" = 1 ] && echo 300 || echo 2000)" \
                        --nss "$BUILD/nss_ephem/libnss_ephem.so.2" --cutoff "$BUILD/ephem-cutoff/ephem-cutoff" \
                        --concurrency 1,2,8,32 "${BROKER_ARGS[@]}" "${q[@]}" \
                        >"$d/auth.log" 2>&1 || { echo "bench.sh: bench-auth failed (see $d/auth.log)" >&2; rc=1; }
        fi
        if want nss; then
                echo "== nss" >&2
                BENCH_NSS_SIZES="$([ "$QUICK" = 1 ] && echo "10 1000" || echo "10 1000 100000")" bash "$SRC/tests/nss/bench-nss.sh" "$BUILD/tests/nss/bench-nss" \
                        "$BUILD/nss_ephem/libnss_ephem.so.2" >"$d/nss.log" 2>&1 ||
                        { echo "bench.sh: bench-nss failed (see $d/nss.log)" >&2; rc=1; }
        fi
        if want scaling; then
                echo "== scaling" >&2
                "$BUILD/tests/bench/bench-scaling" "$BUILD/ephemctl/ephemctl" "$BUILD/ephem-cutoff/ephem-cutoff" "${q[@]}" \
                        >"$d/scaling.log" 2>"$d/scaling.err" ||
                        { echo "bench.sh: bench-scaling failed (see $d/scaling.log, .err)" >&2; rc=1; }
        fi
        if want sessions; then
                echo "== sessions" >&2
                BUILD="$BUILD" bash "$SRC/tests/e2e/bench-sessions.sh" "$trials" >"$d/sessions.log" 2>&1 ||
                        { echo "bench.sh: bench-sessions failed (see $d/sessions.log)" >&2; rc=1; }
        fi
        if want logind; then
                echo "== logind" >&2
                local cache=${EPHEM_LOGIND_CACHE:-$BUILD/logind-cache} c tar
                tar=$(sed -n 's/^NSPAWN_LOGIND_TAR=//p' "$SRC/tests/helpers/nspawn.sh")
                # A root file system cached by another build directory serves as well.
                if [ ! -f "$cache/$tar" ]; then
                        for c in "$SRC"/build*/logind-cache; do
                                [ -f "$c/$tar" ] && cache=$c && break
                        done
                fi
                EPHEM_LOGIND_CACHE=$cache BUILD="$BUILD" bash "$SRC/tests/bench/bench-logind.sh" "$trials" \
                        >"$d/logind.log" 2>&1
                case $? in
                0) ;;
                77) echo "bench.sh: the logind benchmarks were skipped: $(tail -n 1 "$d/logind.log")" >&2 ;;
                *) echo "bench.sh: bench-logind failed (see $d/logind.log)" >&2; rc=1 ;;
                esac
        fi
        head -n 1 /proc/stat >"$d/cpu.end"
        {
                echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)"
                # /proc/stat over the pass: how busy the CPUs were, and with what. The
                # benchmarks run at nice 0; "niced" is everything at nice > 0 (the
                # fuzzing campaign runs at nice 19).
                $PY - "$d/cpu.start" "$d/cpu.end" <<'EOF'
import sys
a = [int(x) for x in open(sys.argv[1]).read().split()[1:]]
b = [int(x) for x in open(sys.argv[2]).read().split()[1:]]
d = [y - x for x, y in zip(a, b)]
user, nice, system, idle, iowait, irq, softirq, steal = (d + [0] * 8)[:8]
total = sum(d[:8]) or 1
busy = total - idle - iowait
print(f"CPU during the pass: {100 * busy / total:.0f}% busy (niced processes {100 * nice / total:.0f}%, "
      f"others {100 * (busy - nice) / total:.0f}%, of which steal {100 * steal / total:.0f}%)")
EOF
        } >>"$d/machine.txt"
        return $rc
}

RC=0
for pass in $(seq 1 "$REPEAT"); do
        echo "== pass $pass of $REPEAT (logs in $OUT/pass-$pass)" >&2
        run_pass "$OUT/pass-$pass" || RC=1
done

# ---- the tables ----
$PY - "$OUT" "$REPEAT" <<'EOF'
import os, re, sys
out, repeat = sys.argv[1], int(sys.argv[2])
order = ["auth", "nss", "scaling", "sessions", "logind"]
units = {"ns": 1e-3, "us": 1, "ms": 1e3, "s": 1e6, "KiB": 1, "MiB": 1024, "logins/s": 1}

def parse(v):
    m = re.match(r"^(-?[0-9.]+) (\S+)$", v.strip())
    return (float(m.group(1)) * units.get(m.group(2), 1), m.group(2)) if m else (None, None)

def passes():
    for p in range(1, repeat + 1):
        rows, growth = [], []
        d = os.path.join(out, f"pass-{p}")
        for part in order:
            f = os.path.join(d, f"{part}.log")
            if not os.path.exists(f):
                continue
            for line in open(f, errors="replace"):
                line = line.rstrip("\n")
                if line.startswith("ROW\t"):
                    rows.append([part] + (line.split("\t")[1:] + [""] * 6)[:6])
                elif line.startswith("GROWTH\t"):
                    growth.append([part] + (line.split("\t")[1:] + [""] * 4)[:4])
        yield p, rows, growth

all_passes = list(passes())
p, rows, growth = all_passes[-1]
print()
for line in open(os.path.join(out, f"pass-{p}", "machine.txt")):
    print("# " + line.rstrip())
print()
print("| | figure | value | reference (same run) | reference value | ratio | target |")
print("|---|---|---|---|---|---|---|")
for part, fig, val, ref, refv, ratio, target in rows:
    print(f"| {part} | {fig} | {val} | {ref} | {refv} | {ratio if ref else ''} | {target} |")
if growth:
    print()
    print("| | cost | grows with | measured (size: value) | growth |")
    print("|---|---|---|---|---|")
    for part, cost, work, values, label in growth:
        print(f"| {part} | {cost} | {work} | {values} | {label} |")
if repeat > 1:
    print()
    print(f"Spread over {repeat} passes (median, and min .. max, of the value and of the ratio):")
    print()
    print("| figure | value: median (min .. max) | ratio: median (min .. max) |")
    print("|---|---|---|")
    series = {}
    for _, rs, _ in all_passes:
        for part, fig, val, ref, refv, ratio, target in rs:
            key = re.sub(r"n=\d+", "n", fig)
            series.setdefault(key, []).append((val, ratio if ref else ""))
    for key, vals in series.items():
        nums = sorted((parse(v)[0], v) for v, _ in vals if parse(v)[0] is not None)
        rats = sorted(float(r[:-1]) for _, r in vals if r.endswith("x"))
        vs = (f"{nums[(len(nums) - 1) // 2][1]} ({nums[0][1]} .. {nums[-1][1]})" if nums
              else " / ".join(v for v, _ in vals))
        rs = f"{rats[(len(rats) - 1) // 2]:.2f}x ({rats[0]:.2f}x .. {rats[-1]:.2f}x)" if rats else ""
        print(f"| {key} | {vs} | {rs} |")
print()
print(f"logs: {out}")
EOF
exit $RC
