#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The session benchmarks on the logind path: the Debian 12 container of
# tests/logind/test-logind.sh (tests/helpers/nspawn.sh: systemd as PID 1 under
# systemd-nspawn, private network, sshd, logind, pam_systemd), with ephem installed
# as a package would put it.
#
#   - SSH login through pam_ephem + pam_systemd vs pam_permit + pam_systemd, same
#     sshd, interleaved (which goes first alternates): both pay the session scope's
#     cgroup migration, so the difference is ephem's own
#   - cut-off lateness: token deadline -> last process of the session gone (logind:
#     the helper's TerminateSession, and the scope's RuntimeMaxSec=)
#   - revocation latency: `ephemctl revoke` started (inside) -> last process gone
#   - the cut-off helper's memory per waiting session
#
#   BUILD=build tests/bench/bench-logind.sh [TRIALS]
#
# Needs root, systemd-nspawn and the root file system test-logind.sh caches
# ($EPHEM_LOGIND_CACHE, default $BUILD/logind-cache; debootstrap when missing). One
# systemd-nspawn at a time on a machine: while another runs (another test), this
# waits for it (up to EPHEM_NSPAWN_WAIT seconds, default 1800). Processes are
# watched from the host (the host sees the container's PIDs). Prints a report and
# ROW lines for tools/bench.sh. Exit 77: skipped.

set -u -o pipefail
: "${BUILD:?BUILD must name the meson build directory}"
BUILD=$(cd "$BUILD" && pwd)
HELPERS=$(cd "$(dirname "$0")/../helpers" && pwd)
CACHE=${EPHEM_LOGIND_CACHE:-$BUILD/logind-cache}
TRIALS=${1:-20}
SSH_TRIALS=${SSH_TRIALS:-$TRIALS}
# shellcheck source=../helpers/nspawn.sh
. "$HELPERS/nspawn.sh"
# shellcheck source=bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"

skip() {
        echo "bench-logind: $* (skipped)" >&2
        exit 77
}
if [ "$(id -u)" != 0 ] || ! command -v systemd-nspawn >/dev/null; then
        skip "needs root and systemd-nspawn"
fi
if [ ! -f "$CACHE/$NSPAWN_LOGIND_TAR" ] && ! command -v debootstrap >/dev/null; then
        skip "no cached root in $CACHE and no debootstrap"
fi
waited=0
while pgrep -x systemd-nspawn >/dev/null; do
        [ "$waited" = 0 ] && echo "# another systemd-nspawn runs on this machine: waiting for it to end" >&2
        [ "$waited" -ge "${EPHEM_NSPAWN_WAIT:-1800}" ] && skip "another systemd-nspawn still runs after ${waited} s"
        sleep 5
        waited=$((waited + 5))
done
[ "$waited" -gt 0 ] && echo "# waited ${waited} s for another systemd-nspawn" >&2

W=$(mktemp -d /var/tmp/ephem-bench-logind.XXXXXX)
ROOT="$W/root"
trap 'nspawn_stop; rm -rf "$W"' EXIT

# ---- the root file system: the same tarball and package list as test-logind.sh ----
[ -f "$CACHE/$NSPAWN_LOGIND_TAR" ] ||
        echo "# debootstrap of a Debian 12 root with systemd, logind and sshd (once; cached in $CACHE)" >&2
nspawn_rootfs "$CACHE/$NSPAWN_LOGIND_TAR" "$ROOT" "$NSPAWN_LOGIND_PACKAGES" "$W/debootstrap.log" ||
        skip "debootstrap failed: $(tail -n 1 "$W/debootstrap.log")"

nspawn_install_ephem "$BUILD" "$ROOT" "$W"
{
        echo 'auth [success=done ignore=ignore default=die] pam_ephem.so'
        echo 'account [success=ok ignore=ignore default=bad] pam_ephem.so'
        echo 'session [success=ok ignore=ignore default=bad] pam_ephem.so'
        cat "$ROOT/etc/pam.d/sshd"
} >"$W/pam-ephem"
# The reference: the same stack (pam_systemd in common-session) with pam_permit
# instead of ephem.
sed -e 's|^auth .*pam_ephem.so$|auth sufficient pam_permit.so|' -e '/pam_ephem.so/d' "$W/pam-ephem" >"$W/pam-permit"
cp "$W/pam-ephem" "$ROOT/etc/pam.d/sshd"
mkdir -p "$ROOT/etc/ssh/sshd_config.d" "$ROOT/etc/systemd/system/session-.scope.d"
printf 'ListenAddress 127.0.0.1\nKbdInteractiveAuthentication yes\nPasswordAuthentication no\nPubkeyAuthentication no\nUsePAM yes\nMaxAuthTries 3\nMaxStartups 100\n' \
        >"$ROOT/etc/ssh/sshd_config.d/ephem.conf"
printf '[Scope]\nTimeoutStopSec=3s\n' >"$ROOT/etc/systemd/system/session-.scope.d/ephem.conf"
# login-as USER TOKEN-FILE COMMAND (nspawn.sh), and on top of it:
nspawn_login_as "$ROOT" 5
# login-ms USER TOKEN-FILE: one SSH login inside the container, its wall time in us
# (connect..disconnect), measured inside so that nsenter is not counted.
cat >"$ROOT/usr/local/bin/login-ms" <<'EOF'
#!/bin/sh
t0=$(date +%s%N)
login-as "$1" "$2" true >/dev/null 2>&1 || { echo -1; exit 0; }
t1=$(date +%s%N)
echo $(((t1 - t0) / 1000))
EOF
# login-bg USER TOKEN-FILE TAG: a session with a background job, a setsid'd double
# fork and a nohup job; their container PIDs go to /tmp/TAG.pids.
cat >"$ROOT/usr/local/bin/login-bg" <<'EOF'
#!/bin/sh
tag=$3
rm -f /tmp/$tag.pids
exec login-as "$1" "$2" "sleep 3000 & echo \$! >> /tmp/$tag.pids; setsid sh -c 'sleep 3001 & echo \$! >> /tmp/$tag.pids'; \
        nohup sleep 3002 >/dev/null 2>&1 & echo \$! >> /tmp/$tag.pids; echo \$\$ >> /tmp/$tag.pids; sleep 3003" \
        >/dev/null 2>&1
EOF
chmod 0755 "$ROOT/usr/local/bin/login-ms" "$ROOT/usr/local/bin/login-bg"
echo x >"$ROOT/root/token-none"
# The reference's users: local accounts (pam_permit lets them in). A transient name
# would not do: before its first login it resolves by name only, and logind, which
# looks the UID up, would refuse to make a session for it ("No such process").
for n in $(seq 0 $((SSH_TRIALS + 1))); do
        echo "bench-u$n:x:$((3000 + n)):$((3000 + n))::/home/bench-u$n:/bin/sh" >>"$ROOT/etc/passwd"
        echo "bench-u$n:x:$((3000 + n)):" >>"$ROOT/etc/group"
        echo "bench-u$n:*:19000:0:99999:7:::" >>"$ROOT/etc/shadow"
        mkdir -p "$ROOT/home/bench-u$n"
        chown "$((3000 + n)):$((3000 + n))" "$ROOT/home/bench-u$n"
done

# ---- boot ----
nspawn_boot "$ROOT" "ephem-bench-$$" "$W/nspawn.log"
if [ -z "$C" ]; then
        tail -n 20 "$W/nspawn.log" >&2
        skip "the container did not boot"
fi
in_c() { nsenter -t "$C" -a "$@"; }
in_c systemctl start ssh.service systemd-logind.service >/dev/null 2>&1
in_c systemctl is-active -q ssh.service systemd-logind.service || skip "sshd or logind did not start in the container"

mint() { # AGENT TTL [opts] -> a token file inside the container
        local f
        f=/root/token-$1-$RANDOM$RANDOM
        "$BUILD/ephemctl/ephemctl" mint --key "$W/issuer.key" --kid logind-key --iss https://issuer.test \
                --aud logind-host --sub "agent-$1" --claim "agent_id=$1" --ttl "$2" "${@:3}" >"$ROOT$f"
        chmod 0600 "$ROOT$f"
        echo "$f"
}

wait_pids() { # TAG: until the session wrote its 4 PIDs; a copy goes to $W/TAG.pids
        local i
        for i in $(seq 1 200); do
                in_c cat "/tmp/$1.pids" >"$W/$1.pids" 2>/dev/null
                [ "$(wc -l <"$W/$1.pids" 2>/dev/null)" = 4 ] && return 0
                sleep 0.05
        done
        return 1
}


echo "# ephem session benchmarks on the logind path (systemd $(in_c systemctl --version | awk 'NR==1 {print $2}') in systemd-nspawn): $TRIALS trials"

# ---- SSH login: pam_ephem + pam_systemd vs pam_permit + pam_systemd ----
# Each login is of a user with no session yet, on both sides (a new transient user;
# a local account not logged in before): pam_systemd makes a logind session, whose
# scope the session's processes move into, and starts the user's manager
# (user@UID.service), as for every login of a transient user (ephem ends the user, and
# logind its manager, with the last session). A third series logs one local account
# in again and again while its manager still runs (logind keeps it a few seconds
# after the last session): what a returning local account pays.
EPH=()
PERMIT=()
WARM=()
ephem_login() { # N
        cp "$W/pam-ephem" "$ROOT/etc/pam.d/sshd"
        in_c login-ms "agent-$1" "$(mint "$1" 60)"
}
permit_login() { # N: local account bench-uN
        cp "$W/pam-permit" "$ROOT/etc/pam.d/sshd"
        in_c login-ms "bench-u$1" /root/token-none
}
ephem_login 100 >/dev/null # warm: the first logins start services (dbus activation and more)
permit_login 0 >/dev/null
for i in $(seq 1 "$SSH_TRIALS"); do
        if [ $((i % 2)) = 1 ]; then
                e=$(ephem_login $((1000 + i)))
                p=$(permit_login "$i")
        else
                p=$(permit_login "$i")
                e=$(ephem_login $((1000 + i)))
        fi
        w=$(permit_login 0)
        # A pair counts only when both logins of the round succeeded.
        if [ "$e" -ge 0 ] && [ "$p" -ge 0 ]; then
                EPH+=("$e")
                PERMIT+=("$p")
        fi
        [ "$w" -ge 0 ] && WARM+=("$w")
done
cp "$W/pam-ephem" "$ROOT/etc/pam.d/sshd"
stats "logind: SSH login through pam_ephem + pam_systemd" us "${EPH[@]}"
stats "logind: SSH login through pam_permit + pam_systemd" us "${PERMIT[@]}"
stats "logind: pam_permit, returning user (manager running)" us "${WARM[@]}"
overhead_rows "logind: " "pam_ephem + pam_systemd, new user" \
        "pam_permit + pam_systemd, local account's first login, same sshd" "${#EPH[@]}" "${EPH[@]}" "${PERMIT[@]}"
if [ "${#WARM[@]}" -gt 0 ] && [ "${#PERMIT[@]}" -gt 0 ]; then
        ratio_row "logind: pam_permit + pam_systemd, first login (starts the user manager) (p50)" us \
                "the same account returning, manager running (p50)" "${#PERMIT[@]}" "${PERMIT[@]}" "${WARM[@]}"
fi

# ---- cut-off lateness ----
LATE=()
for i in $(seq 1 "$TRIALS"); do
        TF=$(mint 7 3)
        EXP=$("$BUILD/ephemctl/ephemctl" token inspect - <"$ROOT$TF" | sed -n 's/.*"exp": \([0-9]*\).*/\1/p')
        in_c rm -f /tmp/cut.pids
        rm -f "$W/cut.pids"
        in_c login-bg agent-7 "$TF" cut &
        SSH=$!
        if wait_pids cut; then
                GONE=$(last_gone_ms "$W/cut.pids" "$C")
                [ "$GONE" -gt 0 ] && LATE+=($((GONE - EXP * 1000)))
        fi
        wait "$SSH" 2>/dev/null
done
stats "logind: cut-off lateness (deadline -> last process gone)" ms "${LATE[@]}"
row_pct "logind: cut-off lateness: token deadline -> last process gone" ms 1000 "" "" -- "${LATE[@]}"

# ---- revocation latency, and the helper's memory ----
LAT=()
PSS=()
for i in $(seq 1 "$TRIALS"); do
        J=logind-bench-$i-$RANDOM
        in_c rm -f /tmp/rev.pids
        rm -f "$W/rev.pids"
        in_c login-bg agent-9 "$(mint 9 120 --jti "$J")" rev &
        SSH=$!
        if wait_pids rev; then
                # This session's helper, by its session id (other rigs may run helpers).
                SID=$(in_c ls /run/ephem/sessions 2>/dev/null | head -n 1)
                H=
                [ -n "$SID" ] && H=$(pgrep -f "ephem-cutoff(-act)? $SID --" | head -n 1)
                [ -n "$H" ] && PSS+=("$(awk '/^Pss:/ {print $2}' "/proc/$H/smaps_rollup")")
                watch_gone "$W/rev.pids" "$W/gone" "$C"
                T0=$(in_c sh -c 'date +%s%3N; ephemctl revoke --jti "$1" >/dev/null' sh "$J" | head -n 1)
                wait "$WATCH"
                GONE=$(cat "$W/gone")
                [ "$GONE" -gt 0 ] && LAT+=($((GONE - T0)))
        fi
        wait "$SSH" 2>/dev/null
done
stats "logind: revocation latency (revoke started -> last process gone)" ms "${LAT[@]}"
stats "logind: cut-off helper proportional memory per session (Pss)" KiB "${PSS[@]}"
row_pct "logind: revocation latency: ephemctl revoke started -> last process gone" ms 1000 "" "" -- "${LAT[@]}"
if [ "${#PSS[@]}" -gt 0 ]; then
        row_pct "logind: memory per waiting session: cut-off helper (Pss)" KiB "" "" "" -- "${PSS[@]}"
fi
sleep 1
LEFT=$(in_c loginctl list-sessions --no-legend 2>/dev/null | grep -c agent-)
echo "# logind sessions of transient users left at the end: $LEFT"
[ "$LEFT" = 0 ] || in_c loginctl list-sessions --no-legend | sed 's/^/#   /'
exit 0
