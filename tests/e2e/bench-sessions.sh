#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Benchmarks over the real sshd rig (not part of `meson test`):
#   - cut-off lateness: token deadline -> last process of the session gone
#   - revocation latency: `ephemctl revoke` started -> last process gone
#   - resident memory of a waiting session's cut-off helper (VmRSS and Pss)
#   - SSH login time through pam_ephem vs the same sshd with pam_permit instead
#
#   BUILD=build tests/e2e/bench-sessions.sh [TRIALS]
# Prints a table; figures are milliseconds unless stated.

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=rig.sh
source "$HERE/rig.sh"
rig_enter "$@"

TRIALS=${1:-20}
rig_setup
trap 'rig_stop; rm -rf "$T"' EXIT
rig_start_journald >/dev/null || exit 1
rig_start_sshd || exit 1

now_ms() { date +%s%3N; }

# Starts a session whose processes include a background job, a setsid'd double
# fork and a nohup job; prints their PIDs (read from the shared /tmp) once running.
start_session() { # USER TOKEN TAG
        local user=$1 token=$2 tag=$3
        rm -f "/tmp/ephem-bench-$tag.pids"
        rig_ssh "$user" "$token" "sleep 3000 & echo \$! >> /tmp/ephem-bench-$tag.pids; \
                setsid sh -c 'sleep 3001 & echo \$! >> /tmp/ephem-bench-$tag.pids'; \
                nohup sleep 3002 >/dev/null 2>&1 & echo \$! >> /tmp/ephem-bench-$tag.pids; \
                echo \$\$ >> /tmp/ephem-bench-$tag.pids; sleep 3003" >/dev/null 2>&1 &
        SESSION_SSH=$!
        local i
        for i in $(seq 1 100); do
                [ "$(cat "/tmp/ephem-bench-$tag.pids" 2>/dev/null | wc -l)" = 4 ] && break
                sleep 0.05
        done
}

# Milliseconds (epoch) at which the last of the PIDs in the file was gone; polls every
# ms. A zombie has stopped running (only its parent's wait() is missing): it counts
# as gone.
last_gone_ms() { # PIDFILE
        /usr/bin/python3 - "$1" <<'EOF'
import os, sys, time
pids = [int(x) for x in open(sys.argv[1]).read().split()]
deadline = time.time() + 30
while time.time() < deadline:
    alive = []
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            if state not in ("Z", "X"):
                alive.append(p)
        except FileNotFoundError:
            pass
    if not alive:
        print(int(time.time() * 1000))
        sys.exit(0)
    time.sleep(0.001)
print(-1)
EOF
}

stats() { # label unit values...
        /usr/bin/python3 - "$@" <<'EOF'
import statistics, sys
label, unit = sys.argv[1], sys.argv[2]
v = sorted(float(x) for x in sys.argv[3:])
if not v:
    print(f"{label:52} no data"); sys.exit()
p = lambda q: v[min(len(v) - 1, int(round(q * (len(v) - 1))))]
print(f"{label:52} n={len(v):3}  p50={p(0.5):8.1f} {unit}  p90={p(0.9):8.1f}  p99={p(0.99):8.1f}  max={v[-1]:8.1f}")
EOF
}

echo "# ephem session benchmarks: $(uname -r), $(nproc) CPUs, $TRIALS trials each"

# ---- cut-off lateness ----
LATE=()
for i in $(seq 1 "$TRIALS"); do
        TOK=$(rig_mint 7 3)
        EXP=$(printf '%s' "$TOK" | "$EPHEMCTL" token inspect - | sed -n 's/.*"exp": \([0-9]*\).*/\1/p')
        start_session agent-7 "$TOK" cut
        GONE=$(last_gone_ms /tmp/ephem-bench-cut.pids)
        [ "$GONE" -gt 0 ] && LATE+=($((GONE - EXP * 1000)))
        wait "$SESSION_SSH" 2>/dev/null
done
stats "cut-off lateness (deadline -> last process gone)" ms "${LATE[@]}"

# ---- revocation latency, and the helper's memory while it waits ----
LAT=()
RSS=()
PSS=()
for i in $(seq 1 "$TRIALS"); do
        J=bench-$i-$RANDOM
        start_session agent-7 "$(rig_mint 7 120 --jti "$J")" rev
        H=$(pgrep -f "ephem-cutoff [0-9a-f]{16} --" | head -n 1)
        if [ -n "$H" ]; then
                RSS+=("$(awk '/^VmRSS/ {print $2}' "/proc/$H/status")")
                PSS+=("$(awk '/^Pss:/ {print $2}' "/proc/$H/smaps_rollup")")
        fi
        T0=$(now_ms)
        "$EPHEMCTL" revoke --jti "$J" >/dev/null
        GONE=$(last_gone_ms /tmp/ephem-bench-rev.pids)
        [ "$GONE" -gt 0 ] && LAT+=($((GONE - T0)))
        wait "$SESSION_SSH" 2>/dev/null
done
stats "revocation latency (revoke started -> last process gone)" ms "${LAT[@]}"
stats "cut-off helper resident memory per session (VmRSS)" KiB "${RSS[@]}"
stats "cut-off helper proportional memory per session (Pss)" KiB "${PSS[@]}"

# ---- SSH login: pam_ephem vs pam_permit, same sshd, same run ----
login_ms() { # USER TOKEN
        local t0 t1
        t0=$(date +%s%N)
        rig_ssh "$1" "$2" true >/dev/null 2>&1 || { echo -1; return; }
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000000))
}
EPH=()
PERMIT=()
cp /etc/pam.d/sshd "$T/pam-ephem"
sed -e "s|^auth .*pam_ephem.so$|auth sufficient pam_permit.so|" -e "/pam_ephem.so/d" "$T/pam-ephem" > "$T/pam-permit"
for i in $(seq 1 "$TRIALS"); do
        cp "$T/pam-ephem" /etc/pam.d/sshd
        v=$(login_ms agent-7 "$(rig_mint 7 60)")
        [ "$v" -ge 0 ] && EPH+=("$v")
        cp "$T/pam-permit" /etc/pam.d/sshd
        v=$(login_ms agent-8 x)
        [ "$v" -ge 0 ] && PERMIT+=("$v")
done
cp "$T/pam-ephem" /etc/pam.d/sshd
stats "SSH login through pam_ephem (connect..disconnect)" ms "${EPH[@]}"
stats "SSH login through pam_permit (same sshd)" ms "${PERMIT[@]}"
/usr/bin/python3 - "${#EPH[@]}" "${EPH[@]}" "${PERMIT[@]}" <<'EOF'
import statistics, sys
n = int(sys.argv[1]); a = [float(x) for x in sys.argv[2:2 + n]]; b = [float(x) for x in sys.argv[2 + n:]]
if a and b:
    print(f"{'SSH login overhead of pam_ephem (median difference)':52} {statistics.median(a) - statistics.median(b):8.1f} ms"
          f"  (ratio {statistics.median(a) / statistics.median(b):.2f})")
EOF
rm -f /tmp/ephem-bench-*.pids
