# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# What the shell benchmarks share (tests/e2e/bench-sessions.sh,
# tests/bench/bench-logind.sh): watching a session's processes end, and summaries: a
# human-readable line, and ROW lines for tools/bench.sh (the format is described in
# tests/bench/bench-util.h). Percentiles
# are nearest-rank, as bench-util.h computes them (a p99 over 20 values is the
# largest). Values in us are shown in ms.
#
#   last_gone_ms PIDFILE [CONTAINER_INIT]
#       the time (ms since the epoch) at which every process listed in PIDFILE was
#       gone, polling every ms; a zombie counts as gone (it no longer runs). With
#       CONTAINER_INIT, the PIDs are those of that container's PID namespace. -1 when
#       one of them was already gone when the watch began, or after 30 s. With
#       LAST_GONE_READY=FILE in the environment, FILE is created once the watch has
#       begun (run it in the background, wait for FILE, then end the processes).
#   watch_gone PIDFILE OUT [CONTAINER_INIT]
#       last_gone_ms in the background, its answer to OUT; returns once it watches
#       (or has given up). $WATCH is its PID, to wait for.
#   stats LABEL UNIT VALUES...
#   row_pct FIGURE UNIT TARGET_P99 REFERENCE REF_UNIT [REF_VALUES...] -- VALUES...
#       ROW lines for the p50 and the p99 (TARGET_P99 in UNIT, "" for none;
#       REFERENCE "" for none)
#   ratio_row FIGURE UNIT REFERENCE N A1..AN B...
#       the p50 of the A values next to the p50 of the B values
#   overhead_rows PREFIX WHAT REFERENCE N A1..AN B1..BN
#       SSH logins in us, A[i] and B[i] from the same round: the p50 of each, and the
#       overhead of A over B as the median of the paired differences with its 95%
#       confidence interval (order statistics), against the target of 10 ms

BENCH_STATS_PY=$(cat <<'EOF'
import math, sys
US = "us"

def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))] if v else float("nan")

def show(x, unit):
    if unit == "us":
        return f"{x / 1000:.1f} ms"
    return f"{x:.1f} {unit}" if abs(x) < 100 else f"{x:.0f} {unit}"

def median_ci(v):
    """The median and a 95% confidence interval from order statistics."""
    v = sorted(v)
    n = len(v)
    k = max(0, int(math.floor((n - 1.96 * math.sqrt(n)) / 2)))
    return pct(v, 0.5), v[k], v[n - 1 - k]

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "stats":
    label, unit, v = args[0], args[1], [float(x) for x in args[2:]]
    if not v:
        print(f"{label:58} no data")
    else:
        f = (lambda x: x / 1000) if unit == "us" else (lambda x: x)
        u = "ms" if unit == "us" else unit
        print(f"{label:58} n={len(v):3}  p50={f(pct(v, .5)):8.1f} {u}  p90={f(pct(v, .9)):8.1f}"
              f"  p99={f(pct(v, .99)):8.1f}  max={f(max(v)):8.1f}")
elif cmd == "row_pct":
    fig, unit, target, ref, ref_unit = args[:5]
    rest = args[5:]
    cut = rest.index("--")
    refv, v = [float(x) for x in rest[:cut]], [float(x) for x in rest[cut + 1:]]
    for q, name in ((0.5, "p50"), (0.99, "p99")):
        val = pct(v, q)
        t = ""
        if target and q == 0.99 and v:
            t = f"p99 <= {target} {unit}: " + ("met" if val <= float(target) else "MISSED")
        if ref and refv:
            r = pct(refv, q)
            print(f"ROW\t{fig} ({name}, n={len(v)})\t{show(val, unit)}\t{ref} ({name})\t{show(r, ref_unit)}\t{val / r:.2f}x\t{t}")
        elif v:
            print(f"ROW\t{fig} ({name}, n={len(v)})\t{show(val, unit)}\t\t\t\t{t}")
elif cmd == "ratio_row":
    fig, unit, ref, n = args[0], args[1], args[2], int(args[3])
    a, b = [float(x) for x in args[4:4 + n]], [float(x) for x in args[4 + n:]]
    if a and b:
        x, y = pct(a, .5), pct(b, .5)
        print(f"ROW\t{fig}\t{show(x, unit)}\t{ref}\t{show(y, unit)}\t{x / y:.2f}x\t")
elif cmd == "overhead":
    prefix, what, ref, n = args[0], args[1], args[2], int(args[3])
    a, b = [float(x) for x in args[4:4 + n]], [float(x) for x in args[4 + n:4 + 2 * n]]
    if a and b:
        d = [x - y for x, y in zip(a, b)]
        ma, mb = pct(a, .5), pct(b, .5)
        md, lo, hi = median_ci(d)
        print(f"{prefix + 'SSH login overhead of ' + what:58} {md / 1000:8.1f} ms median of {len(d)} paired differences"
              f" (95% CI {lo / 1000:.1f} .. {hi / 1000:.1f}); difference of the medians {(ma - mb) / 1000:.1f} ms")
        print(f"ROW\t{prefix}SSH login through {what} (p50, n={len(a)})\t{show(ma, US)}\t{ref} (p50)\t"
              f"{show(mb, US)}\t{ma / mb:.2f}x\t")
        verdict = "met" if md <= 10000 else "MISSED"
        if lo <= 10000 < hi:
            verdict += " (the interval straddles 10 ms)"
        print(f"ROW\t{prefix}SSH login overhead of {what}: median of the paired differences\t{md / 1000:.1f} ms\t\t\t\t"
              f"<= 10 ms: {verdict}; 95% CI {lo / 1000:.1f} .. {hi / 1000:.1f} ms")
EOF
)

stats() { /usr/bin/python3 -c "$BENCH_STATS_PY" stats "$@"; }
row_pct() { /usr/bin/python3 -c "$BENCH_STATS_PY" row_pct "$@"; }
ratio_row() { /usr/bin/python3 -c "$BENCH_STATS_PY" ratio_row "$@"; }
overhead_rows() { /usr/bin/python3 -c "$BENCH_STATS_PY" overhead "$@"; }

last_gone_ms() {
        /usr/bin/python3 - "$1" "${2:-}" <<'EOF'
import os, sys, time
pids = set(int(x) for x in open(sys.argv[1]).read().split())
if sys.argv[2]:
    # The container's PIDs as the host sees them (NSpid: the last is the innermost).
    ns, host = os.readlink(f"/proc/{sys.argv[2]}/ns/pid"), set()
    for d in os.listdir("/proc"):
        try:
            if d.isdigit() and os.readlink(f"/proc/{d}/ns/pid") == ns:
                for line in open(f"/proc/{d}/status"):
                    if line.startswith("NSpid:") and int(line.split()[-1]) in pids:
                        host.add(int(d))
        except OSError:
            pass
    if len(host) != len(pids):
        print(-1)
        sys.exit(0)
    pids = host

def running(p):
    try:
        with open(f"/proc/{p}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:  # gone (ENOENT, or ESRCH while it goes)
        return False

if not all(running(p) for p in pids):
    print(-1)
    sys.exit(0)
if os.environ.get("LAST_GONE_READY"):
    open(os.environ["LAST_GONE_READY"], "w").close()
deadline = time.time() + 30
while time.time() < deadline:
    if not any(running(p) for p in pids):
        print(int(time.time() * 1000))
        sys.exit(0)
    time.sleep(0.001)
print(-1)
EOF
}

watch_gone() {
        local i
        rm -f "$2.ready" "$2"
        LAST_GONE_READY="$2.ready" last_gone_ms "$1" "${3:-}" >"$2" &
        # shellcheck disable=SC2034 # for the caller to wait for
        WATCH=$!
        for ((i = 0; i < 500; i++)); do
                { [ -e "$2.ready" ] || [ -s "$2" ]; } && break
                sleep 0.01
        done
        rm -f "$2.ready"
}
