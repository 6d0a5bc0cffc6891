#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# End to end over Debian's sshd and ssh, real glibc NSS, the stock PAM stack
# (common-account, common-session) with pam_ephem in front, journald for the audit
# trail, cgroup v2 for the cut-off. Runs in a private mount namespace (see rig.sh).
#
#   BUILD=build tests/e2e/test-ssh.sh

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=rig.sh
source "$HERE/rig.sh"
rig_enter "$@"


# Waits up to $3 seconds for the user's processes matching $2 to be gone.
gone_within() { # USER PATTERN SECONDS
        local i
        for i in $(seq 1 $(($3 * 10))); do
                running "$1" "$2" || return 0
                sleep 0.1
        done
        return 1
}

rig_setup
trap 'rig_stop; rm -rf "$T"' EXIT
rig_start_journald || exit 1
rig_start_sshd || exit 1

UID7=$(getent passwd agent-7 | cut -d: -f3)

# ---- login, identity, NSS ----
TOK=$(rig_mint 7 60)
OUT=$(rig_ssh agent-7 "$TOK" 'id -u; id -g; id -Gn; getent passwd agent-7; touch owned-file; ls -l owned-file; echo "EXP=$EPHEM_EXPIRES_AT SID=$EPHEM_SESSION_ID"; env | grep -c EPHEM_LOGIN_ID || true')
RC=$?
check "agent logs in with a token and runs a command" [ $RC -eq 0 ]
check "the command runs as the transient UID" [ "$(sed -n 1p <<<"$OUT")" = "$UID7" ]
check "its primary group is the user-private group" [ "$(sed -n 2p <<<"$OUT")" = "$UID7" ]
check "its groups include the rule's host group adm" grep -qw adm <<<"$(sed -n 3p <<<"$OUT")"
check "getent in the session resolves the user from the record" grep -q "^agent-7:\*:$UID7:$UID7:" <<<"$OUT"
check "ls -l shows the transient owner by name" grep -q " agent-7 agent-7 " <<<"$OUT"
check "the session has EPHEM_EXPIRES_AT and EPHEM_SESSION_ID" grep -Eq 'EXP=[0-9]{10} SID=[0-9a-f]{16}' <<<"$OUT"
check "the hand-off id does not reach the user's environment" [ "$(tail -n 1 <<<"$OUT")" = "0" ]
check "audit: auth_ok with the fingerprint, never the token" \
        bash -c "rig_journal() { journalctl --directory=/run/log/journal --no-pager -o json \"\$@\"; }; \
                 rig_journal EPHEM_EVENT=auth_ok EPHEM_USER=agent-7 | grep -q EPHEM_TOKEN_FP && \
                 ! journalctl --directory=/run/log/journal --no-pager -o json | grep -qF '${TOK:20:40}'"

# ---- refusals ----
rig_ssh agent-7 "$TOK" true 2>/dev/null
check "the same token a second time is refused" [ $? -ne 0 ]
check "... for the reason replay" [ "$(last_denial agent-7)" = replay ]

NOW=$(date +%s)
EXPIRED=$(rig_mint 7 30 --iat $((NOW - 100)))
rig_ssh agent-7 "$EXPIRED" true 2>/dev/null
check "an expired token is refused" [ $? -ne 0 ]
check "... for the reason expired" [ "$(last_denial agent-7)" = expired ]

OTHERHOST=$("$EPHEMCTL" mint --key "$T/issuer.key" --kid rig-key --iss "$RIG_ISS" --aud other-host \
        --sub x --claim agent_type=deploy --claim agent_id=7 --ttl 60)
rig_ssh agent-7 "$OTHERHOST" true 2>/dev/null
check "a token for another host is refused" [ $? -ne 0 ]
check "... for the reason audience_mismatch" [ "$(last_denial agent-7)" = audience_mismatch ]

FOR8=$(rig_mint 8 60)
rig_ssh agent-9 "$FOR8" true 2>/dev/null
check "a token for another login name is refused" [ $? -ne 0 ]
check "... for the reason user_not_allowed" [ "$(last_denial agent-9)" = user_not_allowed ]

rig_ssh root "$(rig_mint 7 60)" true 2>/dev/null
check "root cannot log in with a token (not a transient name)" [ $? -ne 0 ]

# ---- tokens beyond OpenSSH's 1023-byte answer limit ----
PAD=$(head -c 1800 /dev/zero | tr '\0' 'p')
LONG=$(rig_mint 7 60 --claim "padding=$PAD")
check "the long token is over 1023 bytes" [ ${#LONG} -gt 1023 ]
OUT=$(rig_ssh agent-7 "$LONG" 'id -un')
check "a token over 1023 bytes logs in through multi-part prompts" [ "$OUT" = agent-7 ]
LONG2=$(rig_mint 7 60 --claim "padding=$PAD")
# sshpass answers the prompt it is told to look for, like a human pasting the token.
SSHPASS="$LONG2" timeout 30 sshpass -P "ephem token" -e ssh -p "$RIG_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o PreferredAuthentications=keyboard-interactive -o NumberOfPasswordPrompts=1 -o LogLevel=ERROR \
        agent-7@127.0.0.1 true </dev/null 2>/dev/null
check "the same token pasted whole (cut at 1023 bytes by ssh) is refused" [ $? -ne 0 ]
check "... for the reason token_truncated" [ "$(last_denial agent-7)" = token_truncated ]

# ---- cut-off at expiry: every process of the session, the connection, the user ----
TOK=$(rig_mint 7 6)
START=$(date +%s)
# Meanwhile, the session's cut-off helper as sshd started it: not sshd's child, in a
# session of its own, no descriptor of sshd's (no socket), an environment of PATH only.
(
        for _ in $(seq 1 50); do H=$(pgrep -f -- "^$CUTOFF " | head -n 1); [ -n "$H" ] && break; sleep 0.1; done
        PARENT=$(awk '/^PPid:/ { print $2 }' "/proc/$H/status")
        {
                echo "parent=$(cat "/proc/$PARENT/comm")"
                echo "own-session=$([ "$(ps -o sid= -p "$H" | tr -d ' ')" != "$(ps -o sid= -p "$(pgrep -o -x sshd)" | tr -d ' ')" ] && echo yes)"
                echo "sockets=$(find "/proc/$H/fd" -mindepth 1 -printf '%l\n' | grep -c '^socket:')"
                echo "fd0=$(readlink "/proc/$H/fd/0")"
                echo "env=$(tr '\0' ' ' <"/proc/$H/environ")"
        } >"$T/helper-facts"
) &
FACTS=$!
rig_ssh agent-7 "$TOK" 'sleep 1001 & setsid sh -c "sleep 1002 &" ; nohup sleep 1003 >/dev/null 2>&1 & sleep 1000' 2>/dev/null
RC=$?
END=$(date +%s)
wait "$FACTS"
check "the cut-off helper is not sshd's child ($(sed -n 's/^parent=//p' "$T/helper-facts"))" \
        bash -c "grep -q '^parent=' '$T/helper-facts' && ! grep -q '^parent=sshd' '$T/helper-facts'"
check "... runs in a session of its own" grep -q "^own-session=yes$" "$T/helper-facts"
check "... holds no socket (nothing of sshd's)" grep -q '^sockets=0$' "$T/helper-facts"
check "... has /dev/null as standard input" grep -q '^fd0=/dev/null$' "$T/helper-facts"
check "... and only PATH (and the readiness descriptor's number) in its environment" \
        grep -qx 'env=PATH=/usr/sbin:/usr/bin:/sbin:/bin EPHEM_CUTOFF_READY_FD=3 ' "$T/helper-facts"
check "a long-running command is cut off at the token's expiry (client sees the connection close)" \
        [ $RC -ne 0 ] && [ $((END - START)) -le 10 ]
check "the background, setsid double-forked and nohup processes are gone within 2 s" \
        gone_within agent-7 "sleep 100[0-3]" 2
sleep 1
check "the user's record is gone after the cut-off (close_session never ran)" \
        [ ! -e /run/ephem/users/by-name/agent-7 ]
check "the user's home is gone after the cut-off" [ ! -e "$T/home/agent-7" ]
check "getent falls back to the pre-authentication entry" \
        [ "$(getent passwd agent-7 | cut -d: -f3)" = "$UID7" ]
check "getent by UID no longer finds the removed user" bash -c "! getent passwd $UID7"
check "audit: session_cutoff event" bash -c \
        "journalctl --directory=/run/log/journal -o json EPHEM_EVENT=session_cutoff EPHEM_USER=agent-7 | grep -q session_cutoff"
check "audit: session_open says the session is ended through its cgroup" bash -c \
        "journalctl --directory=/run/log/journal -o json EPHEM_EVENT=session_open EPHEM_USER=agent-7 | grep -q '\"EPHEM_CUTOFF\":\"cgroup\"'"

# ---- revocation ends a live session within about a second; others are untouched ----
J7=rev-$RANDOM-$RANDOM
TOK7=$(rig_mint 7 60 --jti "$J7")
TOK9=$(rig_mint 9 60)
rig_ssh agent-7 "$TOK7" 'sleep 1007' 2>/dev/null &
P7=$!
rig_ssh agent-9 "$TOK9" 'sleep 1009' 2>/dev/null &
P9=$!
for i in $(seq 1 100); do
        running agent-7 "sleep 1007" && running agent-9 "sleep 1009" && break
        sleep 0.1
done
check "both sessions are running before the revocation" running agent-7 "sleep 1007"
"$EPHEMCTL" revoke --jti "$J7" >/dev/null
T0=$(date +%s%N)
gone_within agent-7 "sleep 1007" 2
R=$?
T1=$(date +%s%N)
check "a revocation ends the live session within 2 s ($(((T1 - T0) / 1000000)) ms)" [ $R -eq 0 ]
wait $P7 2>/dev/null
check "the revoked session's client sees the connection close" [ $? -ne 0 ]
check "another transient user's session is untouched" running agent-9 "sleep 1009"
rig_ssh agent-7 "$(rig_mint 7 60 --jti "$J7")" true 2>/dev/null
check "a revoked jti is refused at login" [ $? -ne 0 ]
"$EPHEMCTL" revoke --user agent-9 >/dev/null
gone_within agent-9 "sleep 1009" 3
check "revoking a user ends its session" [ $? -eq 0 ]
wait $P9 2>/dev/null

# ---- a setuid program resolves the user through the module ----
cp /usr/bin/id "$T/id-setuid" && chmod 4755 "$T/id-setuid"
OUT=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$T/id-setuid" -u agent-7 2>&1)
check "a setuid program run by another user resolves the transient user" [ "$OUT" = "$UID7" ]

# ---- paramiko, keyboard-interactive as an agent library would ----
TOK=$(rig_mint 7 60)
OUT=$(EPHEM_TOKEN="$TOK" /usr/bin/python3 "$HERE/paramiko-login.py" 127.0.0.1 "$RIG_PORT" agent-7 'id -un' 2>&1)
check "paramiko logs in with keyboard-interactive" [ "$OUT" = agent-7 ]

# ---- a cut-off helper that cannot arm itself: the session is refused ----
# (the helper exits at once, as it does when it cannot load the configuration or
# the session record; the session would have had nothing to end it)
printf '#!/bin/sh\nexit 1\n' >"$T/helper-fails" && chmod 0755 "$T/helper-fails"
sed -i "s|^cutoff_helper = .*|cutoff_helper = $T/helper-fails|" /etc/ephem/ephem.conf
OUT=$(rig_ssh agent-7 "$(rig_mint 7 60)" 'echo ran' 2>/dev/null)
check "a helper that exits before arming itself refuses the session (nothing ran)" [ "$OUT" != ran ]
check "... session_denied, with the helper's failure as the reason" bash -c \
        "journalctl --directory=/run/log/journal -o cat EPHEM_EVENT=session_denied EPHEM_USER=agent-7 | grep -q 'cut-off helper'"
# ephem-cutoff-act named as the helper would make the login wait for the session: refused
sed -i "s|^cutoff_helper = .*|cutoff_helper = $CUTOFF-act|" /etc/ephem/ephem.conf
S=$(date +%s)
OUT=$(rig_ssh agent-7 "$(rig_mint 7 20)" 'echo ran' 2>/dev/null)
E=$(($(date +%s) - S))
check "cutoff_helper naming ephem-cutoff-act refuses the session at once (nothing ran; $E s)" \
        bash -c "[ '$OUT' != ran ] && [ $E -lt 10 ]"
check "... and says why" bash -c "journalctl --directory=/run/log/journal -o cat SYSLOG_IDENTIFIER=ephem-cutoff |
        grep -q 'cutoff_helper names ephem-cutoff-act'"
sed -i "s|^cutoff_helper = .*|cutoff_helper = $CUTOFF|" /etc/ephem/ephem.conf
OUT=$(rig_ssh agent-7 "$(rig_mint 7 60)" 'echo ran' 2>/dev/null)
check "... and with the real helper back, sessions open again" [ "$OUT" = ran ]

# ---- the audit trail: catalog, report ----
TOP=$(cd "$HERE/../.." && pwd)
check "every MESSAGE_ID of audit.c has a catalog entry" bash -c "
        for id in \$(grep -oE '\"[0-9a-f]{32}\"' '$TOP/libephem/audit.c' | tr -d '\"' | grep -v '^0*\$'); do
                grep -q \"^-- \$id\$\" '$TOP/catalog/ephem.catalog' || exit 1
        done"
mkdir -p "$T/catalog-usr" "$T/catalog-var"
cp /usr/lib/systemd/catalog/*.catalog "$TOP/catalog/ephem.catalog" "$T/catalog-usr/" 2>/dev/null
mount --bind "$T/catalog-usr" /usr/lib/systemd/catalog
mount -t tmpfs tmpfs /var/lib/systemd/catalog 2>/dev/null || mount --bind "$T/catalog-var" /var/lib/systemd/catalog
journalctl --update-catalog 2>/dev/null
check "journalctl -x explains the events from the installed catalog" \
        bash -c "journalctl --directory=/run/log/journal -x --no-pager EPHEM_EVENT=session_cutoff | grep -q 'cut off session'"
check "journalctl -x explains a refusal with its reason" \
        bash -c "journalctl --directory=/run/log/journal -x --no-pager EPHEM_EVENT=auth_denied | grep -q 'refused a login for agent-7: replay'"

sleep 1 # the last helpers' events
R=$("$EPHEMCTL" report --directory /run/log/journal --json)
jget() { /usr/bin/python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))" "$R" "$1"; }
AUTH_OK=$(rig_journal EPHEM_EVENT=auth_ok | wc -l)
check "report: every accepted login counted ($(jget "d['logins']") of $AUTH_OK)" [ "$(jget "d['logins']")" = "$AUTH_OK" ]
check "report: logins by issuer and rule" [ "$(jget "d['logins_by_issuer_and_rule'].get('local / agents', 0)")" = "$AUTH_OK" ]
check "report: refusals by reason (replay, expired, audience_mismatch, user_not_allowed, token_truncated, revoked)" \
        [ "$(jget "all(k in d['refusals_by_reason'] for k in ('replay','expired','audience_mismatch','user_not_allowed','token_truncated','revoked'))")" = True ]
check "report: median credential lifetime is the minted 60 s ($(jget "d['median_credential_lifetime_s']"))" \
        [ "$(jget "d['median_credential_lifetime_s'] == 60")" = True ]
check "report: median delay from issue to use under 5 s" [ "$(jget "0 <= d['median_issue_to_use_s'] < 5")" = True ]
check "report: cut-offs ($(jget "d['cutoffs']")), median lateness under 1 s" \
        [ "$(jget "d['cutoffs'] >= 1 and d['median_cutoff_lateness_ms'] < 1000")" = True ]
check "report: revocations end sessions, mean revocation to cut-off under 2 s ($(jget "round(d['mean_revocation_to_cutoff_ms'])") ms)" \
        [ "$(jget "d['revoked_sessions'] >= 2 and 0 < d['mean_revocation_to_cutoff_ms'] < 2000")" = True ]
journalctl --directory=/run/log/journal -o json --no-pager >"$T/export.json"
R2=$("$EPHEMCTL" report --file "$T/export.json" --json)
check "report reads a journalctl -o json export of another host identically" \
        [ "$(/usr/bin/python3 -c "import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); print(a==b)" "$R" "$R2")" = True ]
"$EPHEMCTL" report --directory /run/log/journal >"$T/report.txt"
check "report prints a readable summary" grep -q "sessions ended by revocation" "$T/report.txt"

# ---- the sweep is the backstop when a session's cut-off helper is gone ----
for _ in $(seq 1 50); do [ -z "$(pgrep -f -- "^$CUTOFF ")" ] && break; sleep 0.1; done
rig_ssh agent-7 "$(rig_mint 7 3)" 'sleep 60' >/dev/null 2>&1 &
P=$!
for _ in $(seq 1 50); do [ -n "$(pgrep -f -- "^$CUTOFF ")" ] && break; sleep 0.1; done
HELPERS=$(pgrep -f -- "^$CUTOFF " | wc -l)
pkill -9 -f -- "^$CUTOFF "
sleep 14 # the deadline (3 s) and the sweep's grace for a helper (10 s)
check "with its helper killed ($HELPERS), the session outlives its deadline" kill -0 "$P"
OUT=$("$EPHEMCTL" gc 2>&1)
check "ephemctl gc ends it" grep -q "^ended 1 live session" <<<"$OUT"
for _ in $(seq 1 50); do kill -0 "$P" 2>/dev/null || break; sleep 0.1; done
check "... and the client sees the connection close" bash -c "! kill -0 $P 2>/dev/null"
check "audit: a session_cutoff event by ephemctl saying why" bash -c \
        "journalctl --directory=/run/log/journal -o json EPHEM_EVENT=session_cutoff SYSLOG_IDENTIFIER=ephemctl | grep -q 'cut-off helper was gone'"
wait "$P" 2>/dev/null

# ---- a normal logout ends what the session left running ----
# (close_session removes the session record before sshd's monitor exits; the helper
# still has the one it read, and ends the rest)
OUT=$(rig_ssh agent-11 "$(rig_mint 11 60)" 'setsid sh -c "sleep 1101 >/dev/null 2>&1 &"; nohup sleep 1102 >/dev/null 2>&1 &
        sleep 0.3; pgrep -c -f "^sleep 110[12]\$"' 2>/dev/null)
for _ in $(seq 1 50); do pgrep -f '^sleep 110[12]$' >/dev/null || break; sleep 0.1; done
check "a logout ends the setsid and nohup processes the session left running ($OUT of 2 were running)" \
        bash -c "[ '$OUT' = 2 ] && ! pgrep -f '^sleep 110[12]$' >/dev/null"
for _ in $(seq 1 50); do [ -e /run/ephem/users/by-name/agent-11 ] || break; sleep 0.1; done
check "... and removes the user" bash -c "[ '$OUT' = 2 ] && ! [ -e /run/ephem/users/by-name/agent-11 ]"

# client_gone PID START: waits up to 15 s for the client to go; prints the seconds
# since START. cutoff_alert PATTERN: ephem-cutoff logged an alert matching it (10 s).
client_gone() {
        local _
        for _ in $(seq 1 150); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
        echo $(($(date +%s) - $2))
}
cutoff_alert() {
        local _
        for _ in $(seq 1 100); do
                journalctl --directory=/run/log/journal -o cat -p alert SYSLOG_IDENTIFIER=ephem-cutoff |
                        grep -q "$1" && return 0
                sleep 0.1
        done
        return 1
}

# ---- a configuration broken after the session opened: the deadline still holds ----
# (ephem-cutoff-act cannot load it at the warning, 3 s before the deadline, which costs
# the warning only, nor at the deadline; ephem-cutoff ends the session)
cp /etc/ephem/ephem.conf "$T/ephem.conf.good"
S=$(date +%s)
rig_ssh agent-12 "$(rig_mint 12 7)" 'echo started; sleep 60' >"$T/broken.out" 2>/dev/null &
P=$!
for _ in $(seq 1 50); do grep -qs started "$T/broken.out" && break; sleep 0.1; done
echo 'this line is not valid' >>/etc/ephem/ephem.conf
E=$(client_gone "$P" "$S")
cp "$T/ephem.conf.good" /etc/ephem/ephem.conf
check "with the configuration broken after it opened, a session still ends at its deadline (after $E s)" \
        bash -c "grep -qx started '$T/broken.out' && ! kill -0 $P 2>/dev/null && [ $E -ge 6 ] && [ $E -le 15 ]"
check "... and ephem-cutoff says so, as an alert" cutoff_alert 'exited with status 3'
wait "$P" 2>/dev/null

# ---- ephem-cutoff without its other half: the session still ends at its deadline ----
# (ephem-cutoff runs ephem-cutoff-act when something happens; where it cannot, it
# ends the session itself: cgroup.kill, the leader). A copy of ephem-cutoff has no
# ephem-cutoff-act beside it.
mkdir -p "$T/alone" && cp "$CUTOFF" "$T/alone/ephem-cutoff"
sed -i "s|^cutoff_helper = .*|cutoff_helper = $T/alone/ephem-cutoff|" /etc/ephem/ephem.conf
S=$(date +%s)
rig_ssh agent-8 "$(rig_mint 8 4)" 'echo started; sleep 60' >"$T/alone.out" 2>/dev/null &
P=$!
E=$(client_gone "$P" "$S")
check "without ephem-cutoff-act, a session still starts and ends at its deadline (after $E s)" \
        bash -c "grep -qx started '$T/alone.out' && ! kill -0 $P 2>/dev/null && [ $E -ge 3 ] && [ $E -le 12 ]"
check "... and ephem-cutoff logs why, as an alert" cutoff_alert 'exited with status 127'
wait "$P" 2>/dev/null
sed -i "s|^cutoff_helper = .*|cutoff_helper = $CUTOFF|" /etc/ephem/ephem.conf

# ---- without a cgroup: a logout leaves the same user's other session alone ----
# (every process of a transient UID goes only with the user's last session; a
# read-only bind mount of the cgroup2 tree, this namespace's own, leaves ephem
# without a cgroup of its own for the session, as on a host without one)
CG=$(awk '/ - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
"$EPHEMCTL" gc >/dev/null 2>&1 # the cgroups of the sessions above go while they can
if [ -n "$CG" ] && mount --bind "$CG" "$CG" && mount -o remount,bind,ro "$CG"; then
        rig_ssh agent-13 "$(rig_mint 13 60)" 'nohup sleep 2101 >/dev/null 2>&1 & sleep 60' >/dev/null 2>&1 &
        PB=$!
        for _ in $(seq 1 100); do pgrep -f '^sleep 2101$' >/dev/null && break; sleep 0.1; done
        OUT=$(rig_ssh agent-13 "$(rig_mint 13 60)" 'echo a' 2>/dev/null)
        sleep 1
        check "without a cgroup, a logout leaves the same user's other session running" \
                bash -c "[ '$OUT' = a ] && pgrep -f '^sleep 2101$' >/dev/null"
        pkill -P "$PB" -x ssh # the client: the connection closes, sshd's monitor exits
        wait "$PB" 2>/dev/null
        for _ in $(seq 1 50); do pgrep -f '^sleep 2101$' >/dev/null || break; sleep 0.1; done
        check "... and the end of that last session takes what it left running (its UID)" \
                bash -c "! pgrep -f '^sleep 2101$' >/dev/null"
        umount "$CG"
        "$EPHEMCTL" gc >/dev/null 2>&1
else
        ok "without a cgroup, a logout leaves the same user's other session running # SKIP no cgroup2 here"
        ok "... and the end of that last session takes what it left running # SKIP no cgroup2 here"
fi

echo "1..$N"
[ $FAILED -eq 0 ] || { echo "# $FAILED failed; sshd log:"; tail -n 40 "$T/sshd.log" | sed 's/^/# /'; }
exit $((FAILED > 0))
