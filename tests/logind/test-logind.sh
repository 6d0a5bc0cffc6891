#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The logind path, for real: a Debian 12 root (debootstrap) booted with systemd as
# PID 1 under systemd-nspawn (private network), with sshd, logind and pam_systemd.
# pam_ephem's session stage sets systemd.runtime_max_sec before pam_systemd (the
# scope's RuntimeMaxSec=), and the cut-off helper ends sessions through logind
# (TerminateSession/KillSession, TerminateUser for the user manager and
# `systemd-run --user` units).
#
#   BUILD=build tests/logind/test-logind.sh
#
# Needs root, debootstrap and systemd-container, and the Debian mirror. The root
# file system is cached in $EPHEM_LOGIND_CACHE (default: the build directory) so
# that a second run takes seconds; EPHEM_LOGIND_SKIP=1 skips the tier.

set -u -o pipefail
: "${BUILD:?BUILD must name the meson build directory}"
BUILD=$(cd "$BUILD" && pwd)
HELPERS=$(cd "$(dirname "$0")/../helpers" && pwd)
CACHE=${EPHEM_LOGIND_CACHE:-$BUILD/logind-cache}
# shellcheck source=../helpers/tap.sh
. "$HELPERS/tap.sh"
# shellcheck source=../helpers/nspawn.sh
. "$HELPERS/nspawn.sh"

if [ "${EPHEM_LOGIND_SKIP:-0}" = 1 ] || [ "$(id -u)" != 0 ] || ! command -v systemd-nspawn >/dev/null ||
        ! command -v debootstrap >/dev/null; then
        skip "needs root, systemd-nspawn and debootstrap (EPHEM_LOGIND_SKIP unset)"
fi

# ---- the root file system: debootstrap once, then reuse a tarball ----
W=$(mktemp -d /var/tmp/ephem-logind.XXXXXX)
ROOT="$W/root"
trap 'nspawn_stop; rm -rf "$W"' EXIT
[ -f "$CACHE/$NSPAWN_LOGIND_TAR" ] ||
        note "debootstrap of a Debian 12 root with systemd, logind and sshd (once; cached in $CACHE)"
nspawn_rootfs "$CACHE/$NSPAWN_LOGIND_TAR" "$ROOT" "$NSPAWN_LOGIND_PACKAGES" "$W/debootstrap.log" ||
        skip "debootstrap failed: $(tail -n 1 "$W/debootstrap.log")"

# ---- ephem into the root, the way a package would put it ----
nspawn_install_ephem "$BUILD" "$ROOT" "$W"
{
        echo 'auth [success=done ignore=ignore default=die] pam_ephem.so'
        echo 'session [success=ok ignore=ignore default=bad] pam_ephem.so'
        cat "$ROOT/etc/pam.d/sshd"
} >"$W/sshd.pam" && cp "$W/sshd.pam" "$ROOT/etc/pam.d/sshd"
# The account stage in common-account, as the Debian package puts it: systemd's
# user@.service (PAM service systemd-user) goes through it too.
{
        echo 'account [success=ok ignore=ignore default=bad] pam_ephem.so'
        cat "$ROOT/etc/pam.d/common-account"
} >"$W/common-account" && cp "$W/common-account" "$ROOT/etc/pam.d/common-account"
mkdir -p "$ROOT/etc/ssh/sshd_config.d" "$ROOT/etc/systemd/system/session-.scope.d"
printf 'ListenAddress 127.0.0.1\nKbdInteractiveAuthentication yes\nPasswordAuthentication no\nPubkeyAuthentication no\nUsePAM yes\nMaxAuthTries 3\n' \
        >"$ROOT/etc/ssh/sshd_config.d/ephem.conf"
# Processes ignoring SIGTERM get SIGKILL 3 s after the scope stops, not 90 s.
printf '[Scope]\nTimeoutStopSec=3s\n' >"$ROOT/etc/systemd/system/session-.scope.d/ephem.conf"
nspawn_login_as "$ROOT" 5

# ---- boot ----
nspawn_boot "$ROOT" "ephem-test-$$" "$W/nspawn.log"
in_c() { nsenter -t "$C" -a "$@"; }
check "the container booted with systemd as PID 1" [ -n "$C" ]
[ -n "$C" ] || tap_bail "$(tail -n 20 "$W/nspawn.log")"
in_c systemctl start ssh.service systemd-logind.service >/dev/null 2>&1
check "sshd and logind run in the container" in_c systemctl is-active -q ssh.service systemd-logind.service

mint() { # AGENT TTL [opts] -> a token file inside the container
        local f
        f=/root/token-$1-$RANDOM
        "$BUILD/ephemctl/ephemctl" mint --key "$W/issuer.key" --kid logind-key --iss https://issuer.test \
                --aud logind-host --sub "agent-$1" --claim "agent_id=$1" --ttl "$2" "${@:3}" >"$ROOT$f"
        chmod 0600 "$ROOT$f"
        echo "$f"
}

# ---- a logind session cut off at the token's expiry ----
TF=$(mint 7 12)
in_c login-as agent-7 "$TF" 'sleep 1001 & setsid sh -c "sleep 1002 &"; nohup sleep 1003 >/dev/null 2>&1 & trap "" TERM; sleep 1000' \
        >/dev/null 2>&1 &
SSH=$!
SCOPE=
for i in $(seq 1 50); do
        SCOPE=$(in_c loginctl list-sessions --no-legend 2>/dev/null | awk '$3 == "agent-7" {print "session-" $1 ".scope"; exit}')
        [ -n "$SCOPE" ] && break
        sleep 0.2
done
check "logind registered a session for the transient user" [ -n "$SCOPE" ]
MAX=$(in_c systemctl show -p RuntimeMaxUSec --value "$SCOPE" 2>/dev/null)
check "the session scope carries RuntimeMaxSec= from pam_ephem ($MAX)" bash -c "[[ '$MAX' =~ ^(1[0-2]|[1-9])s$ ]]"
T0=$(date +%s)
wait $SSH
END=$(date +%s)
check "the client sees the connection close at the deadline ($((END - T0)) s after login)" [ $((END - T0)) -le 17 ]
sleep 4
check "every process of the session is gone (background, setsid, nohup, SIGTERM-ignoring)" \
        bash -c "! nsenter -t $C -a pgrep -u agent-7 -f 'sleep 100[0-3]' >/dev/null"
check "the transient user is removed" bash -c "! nsenter -t $C -a test -e /run/ephem/users/by-name/agent-7"
events() { # EVENT USER -> how many such events the container's journal holds
        in_c journalctl -q -o cat --output-fields=EPHEM_EVENT "EPHEM_EVENT=$1" "EPHEM_USER=$2" 2>/dev/null | grep -c .
}
check "audit: session_open says the session is ended through logind" \
        bash -c "nsenter -t $C -a journalctl -q -o cat --output-fields=EPHEM_CUTOFF EPHEM_EVENT=session_open EPHEM_USER=agent-7 | grep -qx logind"
check "one session_cutoff event, and no session_close from sshd closing the cut-off session" \
        [ "$(events session_cutoff agent-7)" = 1 ] && [ "$(events session_close agent-7)" = 0 ]

# ---- revocation through logind, and the user's systemd --user units ----
TF=$(mint 9 120 --jti logind-rev-1)
in_c login-as agent-9 "$TF" 'systemd-run --user --unit=ephem-bg sleep 2009 >/dev/null 2>&1; sleep 1009' >/dev/null 2>&1 &
SSH=$!
for i in $(seq 1 100); do
        in_c sh -c 'pgrep -a -u agent-9 -x sleep | grep -q "sleep 1009"' && break
        sleep 0.1
done
check "the session runs before the revocation" bash -c "nsenter -t $C -a pgrep -u agent-9 -f 'sleep 1009' >/dev/null"
# (pgrep -x sleep: the shell running the command line also has "sleep 2009" in it.)
USERUNIT=$(in_c sh -c 'pgrep -a -u agent-9 -x sleep | grep -q "sleep 2009" && systemctl is-active -q "user@$(id -u agent-9).service"' &&
        echo yes || echo no)
in_c ephemctl revoke --jti logind-rev-1 >/dev/null
T0=$(date +%s%N)
GONE=no
for i in $(seq 1 60); do
        if ! in_c pgrep -u agent-9 -f "sleep 1009" >/dev/null; then GONE=yes; break; fi
        sleep 0.05
done
T1=$(date +%s%N)
check "a revocation ends the logind session within 3 s ($(((T1 - T0) / 1000000)) ms)" [ "$GONE" = yes ]
wait $SSH
sleep 2
check "the user's manager started (pam_ephem's account stage allows systemd-user while the user is on record)" \
        [ "$USERUNIT" = yes ]
check "the user's systemd-run --user unit ended with its last session" \
        bash -c "! nsenter -t $C -a pgrep -u agent-9 -x sleep >/dev/null"
check "one session_revoked event, and no session_close" \
        [ "$(events session_revoked agent-9)" = 1 ] && [ "$(events session_close agent-9)" = 0 ]
check "no account_denied event for any login of the test" \
        bash -c "! nsenter -t $C -a journalctl -q -o cat EPHEM_EVENT=account_denied | grep -q ."
check "no logind session of ephem's users remains" \
        bash -c "! nsenter -t $C -a loginctl list-sessions --no-legend | grep -q agent-"

tap_done
