#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Break-glass over the real sshd rig, with no broker reachable: one-time codes
# (transient and local emergency accounts), their single use under concurrency,
# refusals and their audit reasons, rate limiting with backoff, unsafe code files,
# the emergency session's cut-off, and offline emergency tokens.
#
#   BUILD=build tests/e2e/test-breakglass.sh

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=rig.sh
source "$HERE/rig.sh"
rig_enter "$@"

count_events() { rig_journal "$@" | wc -l; }
# One keyboard-interactive attempt only: ssh would otherwise retry a refused code
# (MaxAuthTries), and the retries would meet the backoff.
ssh_once() {
        EPHEM_TOKEN="$2" SSH_ASKPASS="$ASKPASS" SSH_ASKPASS_REQUIRE=force DISPLAY= \
                ssh -p "$RIG_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
                -o PreferredAuthentications=keyboard-interactive -o NumberOfPasswordPrompts=1 \
                -o LogLevel=ERROR "$1@127.0.0.1" "${@:3}" </dev/null
}
# The user's processes only: the ssh client's command line holds the same words.
gone_within() { # USER PATTERN SECONDS
        local i uid
        uid=$(getent passwd "$1" | cut -d: -f3)
        for i in $(seq 1 $(($3 * 10))); do
                pgrep -u "$uid" -f -- "$2" >/dev/null || return 0
                sleep 0.1
        done
        return 1
}

RIG_CONF_EXTRA="
[issuer emergency]
iss = https://emergency.offline
keys = /tmp/ephem-emergency-placeholder.jwks
breakglass = yes

[rule emergency-people]
issuer = emergency
claim.person = *
logins = oncall agent-911

[breakglass]
accounts = agent-911 oncall
session = 8s
"
rig_setup
trap 'rig_stop; rm -rf "$T"' EXIT
sed -i "s|/tmp/ephem-emergency-placeholder.jwks|$T/emergency.jwks|; /^\[breakglass\]/a codes = $T/var/breakglass" /etc/ephem/ephem.conf
"$EPHEMCTL" keygen --type ed25519 --kid offline-1 --out "$T/emergency" >/dev/null
useradd -m -d "$T/oncall-home" -s /bin/sh oncall 2>/dev/null
rig_start_journald || exit 1
rig_start_sshd || exit 1

code() { sed -n "s/^  \([0-9]*-[A-Z0-9-]*\)$/\1/p" "$1" | sed -n "${2}p"; }
"$EPHEMCTL" breakglass generate --account agent-911 --count 5 >"$T/codes-911"
check "breakglass generate prints 5 codes once" [ "$(grep -cE '^  [0-9]{2}-([0-9A-Z]{6}-){3}[0-9A-Z]{6}$' "$T/codes-911")" = 5 ]
check "the code files are root's, mode 0600, in a 0700 directory" \
        bash -c "[ \"\$(stat -c %a '$T/var/breakglass/agent-911')\" = 700 ] && [ \"\$(stat -c %a '$T/var/breakglass/agent-911/1')\" = 600 ]"
check "the code itself is stored nowhere on disk" \
        bash -c "! grep -rqF '$(code "$T/codes-911" 1 | cut -d- -f2-)' '$T/var' && ! grep -rqF '$(code "$T/codes-911" 1 | tr -d - | cut -c3-)' '$T/var'"
"$EPHEMCTL" breakglass generate --account agent-9 --count 1 >/dev/null 2>&1
check "codes only for configured emergency accounts" [ $? -ne 0 ]

# ---- a code works once, for its account only ----
C1=$(code "$T/codes-911" 1)
OUT=$(rig_ssh agent-911 "$C1" 'id -un; echo "$EPHEM_DEADLINE_REASON"')
check "a code logs in to a transient emergency account, no broker needed" [ "$OUT" = "agent-911
breakglass" ]
check "audit: breakglass_used, alert priority" bash -c \
        "journalctl --directory=/run/log/journal -o json EPHEM_EVENT=breakglass_used EPHEM_USER=agent-911 | grep -q '\"PRIORITY\":\"1\"'"
check "the code never reaches the journal" bash -c "! journalctl --directory=/run/log/journal -o export | grep -qF '$C1'"
check "audit: user_created for the transient emergency account, issuer breakglass" \
        [ "$(count_events EPHEM_EVENT=user_created EPHEM_USER=agent-911 EPHEM_ISSUER=breakglass)" = 1 ]
ssh_once agent-911 "$C1" true 2>/dev/null
check "a used code is refused" [ $? -ne 0 ]
check "... for the reason breakglass_code_used" [ "$(last_reason auth_denied agent-911)" = breakglass_code_used ]
"$EPHEMCTL" breakglass list --account agent-911 >"$T/list"
check "breakglass list shows code 1 used (when, from where) and 4 unused" \
        bash -c "grep -qE '^1 +used .*127.0.0.1' '$T/list' && grep -q '4 unused' '$T/list'"

"$EPHEMCTL" breakglass generate --account oncall --count 2 >"$T/codes-oncall"
OUT=$(rig_ssh oncall "$(code "$T/codes-oncall" 1)" 'id -un; echo $HOME')
check "a code logs in to a local emergency account with its own home" [ "$OUT" = "oncall
$T/oncall-home" ]
check "the local account is not turned into a transient record" [ ! -e /run/ephem/users/by-name/oncall ]

ssh_once oncall "$(code "$T/codes-911" 2)" true 2>/dev/null
check "another account's code is refused" [ $? -ne 0 ]
check "... for the reason breakglass_code_invalid" [ "$(last_reason auth_denied oncall)" = breakglass_code_invalid ]
ssh_once agent-911 "02-ABCDEF" true 2>/dev/null
check "a malformed code is refused (taken as a token: token_malformed)" [ "$(last_reason auth_denied agent-911)" = token_malformed ]

# ---- wrong codes: rate limited with backoff, never locked out for good ----
C3=$(code "$T/codes-911" 3)
WRONG=03-$(printf 'Z%.0s' $(seq 1 6))-$(printf 'Z%.0s' $(seq 1 6))-$(printf 'Z%.0s' $(seq 1 6))-$(printf 'Z%.0s' $(seq 1 6))
ssh_once agent-911 "$WRONG" true 2>/dev/null
check "a wrong code is refused (breakglass_code_invalid)" [ "$(last_reason auth_denied agent-911)" = breakglass_code_invalid ]
ssh_once agent-911 "$C3" true 2>/dev/null
check "right after wrong attempts, even the right code waits (rate_limited)" [ "$(last_reason auth_denied agent-911)" = rate_limited ]
sleep 2
OUT=$(ssh_once agent-911 "$C3" 'id -un')
check "after the backoff the right code works: no permanent lockout" [ "$OUT" = agent-911 ]

# ---- 100 simultaneous attempts with one code: exactly one success ----
C4=$(code "$T/codes-911" 4)
mkdir -p "$T/pamsvc"
printf 'auth required %s\n' "$PAM_MODULE" >"$T/pamsvc/bg"
for i in $(seq 1 100); do
        (echo "$C4" | LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pamsvc" \
                pamtester bg agent-911 authenticate >/dev/null 2>&1 && echo ok >>"$T/race") &
done
wait $(jobs -p | grep -v "^$RIG_SSHD_PID$" | grep -v "^$RIG_JOURNALD_PID$") 2>/dev/null
check "100 simultaneous attempts with one code: exactly one success ($(wc -l <"$T/race" 2>/dev/null || echo 0))" \
        [ "$(wc -l <"$T/race" 2>/dev/null)" = 1 ]

# ---- unsafe code files refuse every code ----
C5=$(code "$T/codes-911" 5)
chmod 0644 "$T/var/breakglass/agent-911/5"
ssh_once agent-911 "$C5" true 2>/dev/null
check "a code file readable by others refuses the code" [ "$(last_reason auth_denied agent-911)" = breakglass_store_unsafe ]
chmod 0600 "$T/var/breakglass/agent-911/5"
chown nobody "$T/var/breakglass/agent-911"
ssh_once agent-911 "$C5" true 2>/dev/null
check "a code directory of another owner refuses every code, with a clear reason" \
        [ "$(last_reason auth_denied agent-911)" = breakglass_store_unsafe ]
chown root "$T/var/breakglass/agent-911"

# ---- the emergency session is cut off at its limit ----
START=$(date +%s)
rig_ssh agent-911 "$C5" 'sleep 1911' 2>/dev/null
END=$(date +%s)
check "the emergency session is cut off at [breakglass] session (8 s; took $((END - START)) s)" \
        [ $((END - START)) -ge 7 ] && [ $((END - START)) -le 11 ]
check "... and every process of it is gone" gone_within agent-911 "sleep 1911" 2

# ---- offline emergency tokens: minted on the air-gapped machine ----
ET=$("$EPHEMCTL" mint --key "$T/emergency.key" --kid offline-1 --iss https://emergency.offline --aud "$RIG_AUDIENCE" \
        --sub alice@example --claim person=alice --ttl 600)
START=$(date +%s)
OUT=$(rig_ssh oncall "$ET" 'id -un; echo "$EPHEM_DEADLINE_REASON"; sleep 1912' 2>/dev/null)
END=$(date +%s)
check "an offline emergency token logs in to an emergency account" grep -q '^oncall$' <<<"$OUT"
check "... with the break-glass session limit (8 s, not the token's 600 s; took $((END - START)) s)" \
        [ $((END - START)) -le 11 ] && grep -q '^breakglass$' <<<"$OUT"
check "audit: the emergency token's use is a breakglass_used event" \
        [ "$(count_events EPHEM_EVENT=breakglass_used EPHEM_USER=oncall EPHEM_ISSUER=emergency)" -ge 1 ]
rig_ssh agent-7 "$("$EPHEMCTL" mint --key "$T/emergency.key" --kid offline-1 --iss https://emergency.offline \
        --aud "$RIG_AUDIENCE" --sub alice@example --claim person=alice --ttl 600)" true 2>/dev/null
check "an emergency token cannot log in where its rule does not allow" [ $? -ne 0 ]

"$EPHEMCTL" breakglass revoke --account oncall --all >/dev/null
# The wrong codes tried above for oncall started a backoff: until it ends, any code
# is refused as rate_limited, which would prove nothing here. Try until the code
# itself has been judged (each connection has two prompts: the second one may be
# rate-limited again by the first one's failure).
revoked_seen() { rig_journal EPHEM_EVENT=auth_denied EPHEM_USER=oncall | grep -c 'was revoked'; }
LOGGED_IN=0
for _ in $(seq 1 30); do
        if rig_ssh oncall "$(code "$T/codes-oncall" 2)" true 2>/dev/null; then
                LOGGED_IN=1
                break
        fi
        [ "$(revoked_seen)" -gt 0 ] && break
        sleep 0.5
done
check "breakglass revoke --all withdraws the unused codes" [ "$LOGGED_IN" = 0 ]
check "... a withdrawn code is refused as revoked (breakglass_code_invalid, \"code 2 was revoked\")" \
        [ "$(revoked_seen)" -gt 0 ]
NEXT=$("$EPHEMCTL" breakglass generate --account oncall --count 1 </dev/null | grep -oE '^  [0-9]{2}-' | tr -d ' -')
check "a new code does not take the revoked code's number (02): it is ${NEXT:-none}" [ "$NEXT" = 03 ]
rm -rf "$T/var/breakglass/oncall/revoked"
"$EPHEMCTL" breakglass revoke --account oncall --all >/dev/null
NEXT=$("$EPHEMCTL" breakglass generate --account oncall --count 1 </dev/null | grep -oE '^  [0-9]{2}-' | tr -d ' -')
check "numbers stay taken without the revoked/ markers (the issued record): next is ${NEXT:-none}" [ "$NEXT" = 04 ]
"$EPHEMCTL" breakglass revoke --account oncall --number 77 >/dev/null 2>&1
check "revoke --number of no unused code fails (exit 2)" [ $? = 2 ]
check "audit: breakglass revoke is a revocation_applied event for the account" bash -c \
        "journalctl --directory=/run/log/journal -o cat EPHEM_EVENT=revocation_applied EPHEM_USER=oncall | grep -q 'break-glass codes of oncall revoked by ephemctl'"

# ---- the report: break-glass uses apart from the logins ----
R=$("$EPHEMCTL" report --directory /run/log/journal --json)
jget() { /usr/bin/python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))" "$R" "$1"; }
BG=$(count_events EPHEM_EVENT=breakglass_used)
check "report: every break-glass use counted ($(jget "d['breakglass_uses']") of $BG)" [ "$(jget "d['breakglass_uses']")" = "$BG" ]
check "report: break-glass uses by issuer and rule add up" \
        [ "$(jget "sum(d['breakglass_uses_by_issuer_and_rule'].values())")" = "$BG" ]
check "report: logins by issuer and rule hold no break-glass use" \
        [ "$(jget "sum(d['logins_by_issuer_and_rule'].values()) == d['logins']")" = True ]
check "report: break-glass codes generated ($(jget "d['breakglass_generated']"))" \
        [ "$(jget "d['breakglass_generated']")" = "$(count_events EPHEM_EVENT=breakglass_generated)" ]
check "report: configuration errors counted" [ "$(jget "d['config_errors']")" = "$(count_events EPHEM_EVENT=config_error)" ]

echo "1..$N"
exit $((FAILED > 0))
