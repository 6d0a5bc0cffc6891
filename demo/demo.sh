#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# ephem, end to end, in about a minute: an AI agent logs in to a host over SSH with
# a 30-second token, runs a job as a transient user, and is cut off when the token
# expires; a replayed copy of the token is refused; the user disappears.
#
#   sudo demo/demo.sh          (Debian 12, as root)
#
# Everything happens in a private mount namespace (its own /etc, /run and library
# overlay) with an sshd on 127.0.0.1: the machine's configuration is not touched,
# and everything the demo starts is stopped at the end.
set -u

cd "$(dirname "$0")/.." || exit 1
TOP=$(pwd)
TTL=${DEMO_TTL:-30}

if [ -z "${EPHEM_RIG_INSIDE:-}" ]; then
        if [ "$(id -u)" != 0 ]; then
                echo "The demo needs root (it starts sshd in a private mount namespace): sudo $0" >&2
                exit 1
        fi
        echo "==> Installing what the demo needs (Debian packages; only those missing)"
        "$TOP/tools/install-deps.sh" >/tmp/ephem-demo-deps.log 2>&1 || { cat /tmp/ephem-demo-deps.log; exit 1; }
        echo "==> Building ephem (meson, into build-demo/)"
        if [ ! -d build-demo ]; then
                meson setup build-demo >/tmp/ephem-demo-build.log 2>&1 || { cat /tmp/ephem-demo-build.log; exit 1; }
        fi
        ninja -C build-demo >>/tmp/ephem-demo-build.log 2>&1 || { cat /tmp/ephem-demo-build.log; exit 1; }
fi

BUILD=$TOP/build-demo
# shellcheck source=../tests/e2e/rig.sh
source "$TOP/tests/e2e/rig.sh"
rig_enter "$@"

bold=$(printf '\033[1m') dim=$(printf '\033[2m') off=$(printf '\033[0m')
[ -t 1 ] || { bold=; dim=; off=; }
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$off"; }
say() { printf '    %s\n' "$*"; }
show() { sed "s/^/    ${dim}|${off} /"; }

step "A sandboxed host"
RIG_MAX_SESSION=1h
rig_setup
trap 'step "Cleaning up"; rig_stop; rm -rf "$T"; say "sshd and journald stopped, the namespace is gone; the machine is as it was."' EXIT
rig_start_journald >/dev/null || exit 1
rig_start_sshd || exit 1
say "A private mount namespace with its own /etc, /run and an NSS-module overlay."
say "Debian's sshd listens on 127.0.0.1:$RIG_PORT with Debian's PAM stack and pam_ephem in front of it;"
say "/etc/nsswitch.conf reads 'passwd: files ephem'."
say "The host trusts one local issuer, whose key ephemctl keygen just made. /etc/ephem/ephem.conf:"
grep -v -e '^#' -e '^$' -e '^cutoff_helper' -e '^revocation_dir' -e '^quarantine_dir' /etc/ephem/ephem.conf | show

step "Before the login, agent-7 is nobody"
UID7=$(getent passwd agent-7 | cut -d: -f3)
say "getent passwd agent-7 gives the entry sshd needs before authentication (a UID derived from the name):"
getent passwd agent-7 | show
say "but nothing is on record: 'ephemctl users' lists $("$EPHEMCTL" users | tail -n 1), and UID $UID7 resolves to nobody:"
echo "getent passwd $UID7 -> $(getent passwd "$UID7" || echo 'not found')" | show

step "The issuer mints a ${TTL}-second token for agent 7"
TOKEN=$(rig_mint 7 "$TTL" --claim purpose=nightly-report)
JTI=$(printf '%s' "$TOKEN" | "$EPHEMCTL" token inspect - | sed -n 's/.*"jti": "\(.*\)".*/\1/p')
say "ephemctl mint (signed with libjwt; ${#TOKEN} bytes). Its claims, decoded:"
printf '%s' "$TOKEN" | "$EPHEMCTL" token inspect - | sed -n '/^claims:/,/^}/p' | show

step "The agent logs in with stock OpenSSH and ephem-askpass, and starts a job"
say "EPHEM_TOKEN=<token> SSH_ASKPASS=ephem-askpass SSH_ASKPASS_REQUIRE=force ssh -p $RIG_PORT agent-7@127.0.0.1 <job>"
START=$(date +%s)
rig_ssh agent-7 "$TOKEN" 'echo "logged in as $(id -un), uid $(id -u), groups $(id -Gn)"; echo "home $HOME"; echo "session $EPHEM_SESSION_ID ends at $(date -u -d @$EPHEM_EXPIRES_AT +%T) UTC ($EPHEM_DEADLINE_REASON)"; i=0; while true; do echo "job: working... ${i}s"; sleep 5; i=$((i+5)); done' \
        >"$T/job.out" 2>&1 &
SSH_PID=$!
for i in $(seq 1 50); do grep -q "job:" "$T/job.out" 2>/dev/null && break; sleep 0.1; done
show <"$T/job.out"

step "Someone who copied the token replays it while it is still valid"
if rig_ssh agent-7 "$TOKEN" 'echo should not happen' >"$T/replay.out" 2>&1; then
        say "the replay was accepted (unexpected)"
else
        show <"$T/replay.out"
        say "Refused; the audit event says why: reason=$(rig_journal EPHEM_EVENT=auth_denied | tail -n 1 |
                /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["EPHEM_REASON"])') (its jti $JTI was used)."
fi

step "While the token lives, agent-7 is a real user"
"$EPHEMCTL" users | show
"$EPHEMCTL" sessions | show
say "ls -ld of its home:"
ls -ld "$T/home/agent-7" | show
say "Every process of the session is in a cgroup of ephem's own; an exec'd helper waits for the deadline."

step "The token expires: the session is cut off"
wait $SSH_PID
RC=$?
END=$(date +%s)
say "What the agent saw:"
show <"$T/job.out"
say "ssh exited with status $RC after $((END - START)) s: the server closed the connection at the token's expiry."
sleep 1

step "The user is gone"
"$EPHEMCTL" users | show
echo "getent passwd $UID7 -> $(getent passwd "$UID7" || echo 'not found')" | show
[ -e "$T/home/agent-7" ] && say "home still there (unexpected)" || say "Its home $T/home/agent-7 has been removed."

step "The audit trail in journald (one structured event per decision; the token only as a fingerprint)"
rig_journal | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    if "EPHEM_EVENT" not in e:
        continue
    extra = " ".join("%s=%s" % (k[6:].lower(), e[k]) for k in ("EPHEM_REASON", "EPHEM_TOKEN_FP", "EPHEM_SESSION_ID") if k in e)
    print("%-16s %-8s %s" % (e["EPHEM_EVENT"], e.get("EPHEM_USER", ""), extra))
' | show
say "journalctl -o json shows every field (EPHEM_ISS, EPHEM_SUB, EPHEM_JTI, EPHEM_DEADLINE, ...)."
