#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Benchmarks over the real sshd rig (not part of `meson test`):
#   - cut-off lateness: token deadline -> last process of the session gone
#   - revocation latency: `ephemctl revoke` started -> last process gone (and how
#     much of it is ephemctl's own run)
#   - resident memory of a waiting session's cut-off helper (VmRSS and Pss), next to
#     the Pss of the session's own sshd processes
#   - SSH login time through pam_ephem vs the same sshd with pam_permit instead,
#     SSH_TRIALS rounds (default 2 x TRIALS), interleaved (which goes first
#     alternates); the overhead is the median of the paired differences. pam_ephem
#     runs inside tests/bench/pam-timed.c, which times each of its calls inside sshd
#     apart from the wait for the client's answer: the server-side split.
#   - the same with the cgroup2 hierarchy's favordynmods flag set and cleared, each
#     round both ways (EPHEM_BENCH_FAVORDYNMODS=0: the machine's setting only). The
#     flag belongs to the hierarchy, not to a mount: mounting cgroup2 again (in this
#     private mount namespace) with or without it changes it for the whole machine,
#     so the machine's setting is put back at the end, and its cgroup2 line in
#     /proc/1/mountinfo is checked to be exactly what it was (exit 1 otherwise).
#
#   BUILD=build tests/e2e/bench-sessions.sh [TRIALS]
# Prints a report and ROW lines for tools/bench.sh (tests/bench/bench-util.h
# describes them). sshd is limited to the curve25519-sha256 key exchange: the
# default sntrup761x25519 costs ~100 ms more per login here and adds noise, the same
# on both sides of every comparison.

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=rig.sh
source "$HERE/rig.sh"
rig_enter "$@"
# shellcheck source=../bench/bench-lib.sh
source "$HERE/../bench/bench-lib.sh"

TRIALS=${1:-20}
TIMED="$BUILD/tests/bench/pam_bench_timed.so"
[ -f "$TIMED" ] || { echo "bench-sessions: $TIMED is not built (ninja -C $BUILD)" >&2; exit 1; }
rig_setup
echo "KexAlgorithms curve25519-sha256" >>"$T/sshd_config"

# ---- the cgroup2 hierarchy's favordynmods flag ----
# CG2_LINE: the machine's cgroup2 mount as its own mount namespace (PID 1's) shows it;
# CG2_OPTS: its hierarchy flags other than favordynmods, kept whatever is measured.
CG2_LINE=$(awk '/ - cgroup2 / {print; exit}' /proc/1/mountinfo)
CG2_OPTS=$(awk '{print $NF}' <<<"$CG2_LINE" | tr ',' '\n' | grep -vxE 'rw|ro|favordynmods' | paste -sd, -)
CG2_ORIG=off
[[ ",$(awk '{print $NF}' <<<"$CG2_LINE")," == *,favordynmods,* ]] && CG2_ORIG=on
CG2_CHANGED=0
cg2_flag() { awk '/ - cgroup2 / {print $NF; exit}' /proc/1/mountinfo | grep -qw favordynmods && echo on || echo off; }
cg2_set() { # on|off: a mount of the hierarchy with those flags, unmounted at once
        local o=$CG2_OPTS
        [ "$1" = on ] && o=${o:+$o,}favordynmods
        mkdir -p "$T/cg2"
        mount -t cgroup2 ${o:+-o "$o"} cgroup2 "$T/cg2" && umount "$T/cg2"
        CG2_CHANGED=1
}
cg2_restore() {
        [ "$CG2_CHANGED" = 1 ] || return 0
        cg2_set "$CG2_ORIG"
        if [ "$(awk '/ - cgroup2 / {print; exit}' /proc/1/mountinfo)" != "$CG2_LINE" ]; then
                echo "bench-sessions: the machine's cgroup2 mount is NOT as it was:" >&2
                echo "  before: $CG2_LINE" >&2
                echo "  now:    $(awk '/ - cgroup2 / {print; exit}' /proc/1/mountinfo)" >&2
                return 1
        fi
        echo "# cgroup2 favordynmods put back as it was ($CG2_ORIG); /proc/1/mountinfo unchanged: $CG2_LINE"
}
RC=0
trap 'cg2_restore || RC=1; rig_stop; rm -rf "$T"; exit $RC' EXIT
trap 'exit 1' INT TERM HUP
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
row_pct "cut-off lateness: token deadline -> last process gone" ms 1000 "" "" -- "${LATE[@]}"

# ---- revocation latency, and the helper's memory while it waits ----
LAT=()
CTL=()
RSS=()
PSS=()
SSHD_PSS=()
for i in $(seq 1 "$TRIALS"); do
        J=bench-$i-$RANDOM
        start_session agent-7 "$(rig_mint 7 120 --jti "$J")" rev
        # This session's helper: by its session id (this namespace's /run), not any
        # ephem-cutoff on the machine (other rigs may run).
        SID=$(ls /run/ephem/sessions 2>/dev/null | head -n 1)
        H=
        [ -n "$SID" ] && H=$(pgrep -f "ephem-cutoff(-act)? $SID --" | head -n 1)
        if [ -n "$H" ]; then
                RSS+=("$(awk '/^VmRSS/ {print $2}' "/proc/$H/status")")
                PSS+=("$(awk '/^Pss:/ {print $2}' "/proc/$H/smaps_rollup")")
                # The session's own sshd processes, for comparison: its leader (the
                # [priv] monitor) and the monitor's sshd children.
                L=$(sed -n 's/^leader=//p' "/run/ephem/sessions/$SID" 2>/dev/null)
                if [ -n "$L" ]; then
                        SUM=0
                        for P in "$L" $(pgrep -P "$L" -x sshd); do
                                SUM=$((SUM + $(awk '/^Pss:/ {print $2}' "/proc/$P/smaps_rollup" 2>/dev/null || echo 0)))
                        done
                        SSHD_PSS+=("$SUM")
                fi
        fi
        watch_gone /tmp/ephem-bench-rev.pids "$T/gone"
        T0=$(now_ms)
        "$EPHEMCTL" revoke --jti "$J" >/dev/null
        T1=$(now_ms)
        wait "$WATCH"
        GONE=$(cat "$T/gone")
        if [ "$GONE" -gt 0 ]; then
                LAT+=($((GONE - T0)))
                CTL+=($((T1 - T0)))
        fi
        wait "$SESSION_SSH" 2>/dev/null
done
stats "revocation latency (revoke started -> last process gone)" ms "${LAT[@]}"
stats "  of which ephemctl revoke's own run" ms "${CTL[@]}"
stats "cut-off helper resident memory per session (VmRSS)" KiB "${RSS[@]}"
stats "cut-off helper proportional memory per session (Pss)" KiB "${PSS[@]}"
stats "the session's own sshd processes (Pss)" KiB "${SSHD_PSS[@]}"
row_pct "revocation latency: ephemctl revoke started -> last process gone" ms 1000 \
        "ephemctl revoke's own run" ms "${CTL[@]}" -- "${LAT[@]}"
if [ "${#PSS[@]}" -gt 0 ] && [ "${#SSHD_PSS[@]}" -gt 0 ]; then
        ratio_row "memory per waiting session: cut-off helper (Pss, p50)" KiB \
                "the session's own sshd processes (Pss, p50)" "${#PSS[@]}" "${PSS[@]}" "${SSHD_PSS[@]}"
fi
if [ "${#RSS[@]}" -gt 0 ]; then
        ratio_row "memory per waiting session: cut-off helper (VmRSS, p50; shared libraries whole)" KiB \
                "its Pss (p50)" "${#RSS[@]}" "${RSS[@]}" "${PSS[@]}"
fi


# ---- SSH login: pam_ephem vs pam_permit, same sshd, same run ----
login_us() { # USER TOKEN: connect..disconnect in us, -1 when the login fails
        local t0 t1
        t0=$(date +%s%N)
        rig_ssh "$1" "$2" true >/dev/null 2>&1 || { echo -1; return; }
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000))
}
SSH_TRIALS=${SSH_TRIALS:-$((2 * TRIALS))}
cp /etc/pam.d/sshd "$T/pam-ephem-plain"
sed -e "s|^auth .*pam_ephem.so$|auth sufficient pam_permit.so|" -e "/pam_ephem.so/d" "$T/pam-ephem-plain" >"$T/pam-permit"
# pam_ephem inside the timing module: one log of its calls per favordynmods setting.
for f in off on; do
        sed -e "s|$PAM_MODULE\$|$TIMED so=$PAM_MODULE log=$T/times-$f|" "$T/pam-ephem-plain" >"$T/pam-ephem-$f"
done
FLAGS=("$(cg2_flag)")
if [ "${EPHEM_BENCH_FAVORDYNMODS:-1}" = 1 ] && [ -n "$CG2_LINE" ]; then
        cg2_set on
        if [ "$(cg2_flag)" = on ]; then
                cg2_set off
                FLAGS=(off on)
        else
                echo "# favordynmods could not be set (not in the initial cgroup namespace?): the machine's setting only"
                cg2_restore || RC=1
                CG2_CHANGED=0
        fi
fi
declare -A EPH PERMIT
for f in "${FLAGS[@]}"; do EPH[$f]=; PERMIT[$f]=; done
one_pair() { # FLAG ROUND: a pam_ephem and a pam_permit login, which first alternates
        local f=$1 i=$2 e p
        if [ "${#FLAGS[@]}" -gt 1 ]; then cg2_set "$f"; fi
        if [ $((i % 2)) = 1 ]; then
                cp "$T/pam-ephem-$f" /etc/pam.d/sshd; e=$(login_us agent-7 "$(rig_mint 7 60)")
                cp "$T/pam-permit" /etc/pam.d/sshd; p=$(login_us agent-8 x)
        else
                cp "$T/pam-permit" /etc/pam.d/sshd; p=$(login_us agent-8 x)
                cp "$T/pam-ephem-$f" /etc/pam.d/sshd; e=$(login_us agent-7 "$(rig_mint 7 60)")
        fi
        if [ "$e" -ge 0 ] && [ "$p" -ge 0 ]; then
                EPH[$f]+=" $e"
                PERMIT[$f]+=" $p"
        fi
}
for i in $(seq 1 "$SSH_TRIALS"); do
        # Both settings each round, in alternating order.
        if [ $((i % 2)) = 1 ]; then
                for f in "${FLAGS[@]}"; do one_pair "$f" "$i"; done
        else
                for ((k = ${#FLAGS[@]} - 1; k >= 0; k--)); do one_pair "${FLAGS[k]}" "$i"; done
        fi
done
cp "$T/pam-ephem-plain" /etc/pam.d/sshd
cg2_restore || RC=1
CG2_CHANGED=0
sleep 1 # the last close_session has been logged
for f in "${FLAGS[@]}"; do
        # shellcheck disable=SC2206
        e=(${EPH[$f]}) p=(${PERMIT[$f]})
        label="cgroup2 favordynmods $f"
        [ "${#FLAGS[@]}" = 1 ] && label="$label, the machine's setting"
        echo
        echo "# SSH logins, $label"
        stats "SSH login through pam_ephem (connect..disconnect)" us "${e[@]}"
        stats "SSH login through pam_permit (same sshd)" us "${p[@]}"
        overhead_rows "" "pam_ephem ($label)" "pam_permit, same sshd ($label)" "${#e[@]}" "${e[@]}" "${p[@]}"
        # The server side: pam_ephem's own time in each stage, without the wait for
        # the client's answers; a login's is auth + account + open_session.
        /usr/bin/python3 - "$T/times-$f" "$label" <<'EOF'
import sys
log, label = sys.argv[1], sys.argv[2]
own, waits = {}, []
try:
    for line in open(log):
        stage, wall, conv = line.split()
        own.setdefault(stage, []).append(float(wall) - float(conv))
        if stage == "auth":
            waits.append(float(conv))
except OSError:
    sys.exit(0)
pct = lambda v, q: sorted(v)[min(len(v) - 1, int(round(q * (len(v) - 1))))]
stages = ["auth", "account", "open_session", "close_session"]
n = min(len(own.get(s, [])) for s in stages[:3]) if all(s in own for s in stages[:3]) else 0
if n == 0:
    sys.exit(0)
login = [own["auth"][i] + own["account"][i] + own["open_session"][i] for i in range(n)]
print(f"{'  in sshd: pam_ephem auth + account + open_session':58} n={n:3}  p50={pct(login, .5) / 1000:8.2f} ms"
      f"  p99={pct(login, .99) / 1000:8.2f}")
print(f"ROW\tSSH login, in sshd: pam_ephem's own time, auth + account + open_session ({label}; p50, n={n})\t"
      f"{pct(login, .5) / 1000:.2f} ms\t\t\t\t")
if waits:
    print(f"{'  in sshd: the token prompt, until the client answered':58} n={len(waits):3}  p50={pct(waits, .5) / 1000:8.2f} ms"
          f"  p99={pct(waits, .99) / 1000:8.2f}")
    print(f"ROW\t  in sshd: pam_ephem's token prompt until the client answered (one round trip; the client runs"
          f" ephem-askpass) ({label}; p50)\t{pct(waits, .5) / 1000:.2f} ms\t\t\t\t")
for s in stages:
    v = own.get(s, [])
    if v:
        print(f"{'    ' + s:58} n={len(v):3}  p50={pct(v, .5) / 1000:8.2f} ms  p99={pct(v, .99) / 1000:8.2f}")
        print(f"ROW\t  in sshd: pam_ephem {s} ({label}; p50)\t{pct(v, .5) / 1000:.2f} ms\t\t\t\t")
EOF
done

# ---- what the sessions left behind ----
# Every session this rig opened has a session_open event; its cgroup must be gone once
# it has ended. One still there is counted and removed (a short session can end
# before its cut-off helper has read its record: the helper then exits without
# removing the cgroup).
sleep 2
CG2_ROOT=$(awk '/ - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
OPENED=0
LEFT=0
for sid in $(rig_journal EPHEM_EVENT=session_open |
        /usr/bin/python3 -c 'import json, sys; [print(json.loads(l).get("EPHEM_SESSION_ID", "")) for l in sys.stdin if l.strip()]'); do
        OPENED=$((OPENED + 1))
        if [ -n "$CG2_ROOT" ] && [ -d "$CG2_ROOT/ephem/$sid" ]; then
                LEFT=$((LEFT + 1))
                rmdir "$CG2_ROOT/ephem/$sid" 2>/dev/null
        fi
done
echo "# session cgroups left behind after their sessions ended: $LEFT of $OPENED (removed)"
printf 'ROW\tsessions whose cgroup was left behind after they ended\t%s of %s\t\t\t\t%s\n' "$LEFT" "$OPENED" \
        "$([ "$LEFT" = 0 ] && echo "none: met" || echo "should be none: MISSED (a helper lost the race with close_session)")"
rm -f /tmp/ephem-bench-*.pids
exit "$RC"
