#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Agent-aware policy over the real sshd rig: proof of possession (DPoP) answered by
# ephem-askpass from the agent's key, delegation chains (RFC 8693 act) limited by
# rules and recorded, and rules on agent attributes (risk tier: shorter session,
# fewer groups).
#
#   BUILD=build tests/e2e/test-agents.sh

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=rig.sh
source "$HERE/rig.sh"
rig_enter "$@"

ssh_once() { # USER TOKEN [DPOP-KEY] COMMAND...
        local user=$1 token=$2 key=$3
        shift 3
        EPHEM_TOKEN="$token" EPHEM_DPOP_KEY="$key" SSH_ASKPASS="$ASKPASS" SSH_ASKPASS_REQUIRE=force DISPLAY= \
                ssh -p "$RIG_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
                -o PreferredAuthentications=keyboard-interactive -o NumberOfPasswordPrompts=2 -o LogLevel=ERROR \
                "$user@127.0.0.1" "$@" </dev/null
}
mint() { # AGENT_ID TYPE [extra mint options]
        local id=$1 type=$2
        shift 2
        "$EPHEMCTL" mint --key "$T/issuer.key" --kid rig-key --iss "$RIG_ISS" --aud "$RIG_AUDIENCE" \
                --sub "task-$id" --claim "agent_type=$type" --claim "agent_id=$id" --ttl 120 "$@"
}

RIG_CONF_EXTRA="
[rule bound-only]
issuer = local
claim.agent_type = bound
logins = agent-\${agent_id}
dpop = required

[rule subagents]
issuer = local
claim.agent_type = subagent
logins = agent-\${agent_id}
max_delegation = 2
actors = planner-*

[rule high-risk]
issuer = local
claim.agent_type = risky
claim.risk_tier = high
logins = agent-\${agent_id}
max_session = 6s

[rule low-risk]
issuer = local
claim.agent_type = risky
claim.risk_tier = low medium
logins = agent-\${agent_id}
groups = adm

[rule one-job]
issuer = local
claim.agent_type = job
logins = agent-\${agent_id}
command = echo \"job ran as \$(id -un)\"; echo \"asked: \$SSH_ORIGINAL_COMMAND\"

[rule allowed-commands]
issuer = local
claim.agent_type = ops
logins = agent-\${agent_id}
allow_command = uptime
allow_command = id -un
allow_command = echo deploy v1

[rule scoped-commands]
issuer = local
claim.agent_type = scoped
logins = agent-\${agent_id}
allow_command = id -un
allow_command = echo scoped
commands_claim = commands
"
rig_setup
# The transient users' shell enforces forced commands; without one it runs /bin/sh.
install -m 0755 "$BUILD/ephem-shell/ephem-shell" "$T/ephem-shell"
sed -i "s|^shell = /bin/sh$|shell = $T/ephem-shell\nlogin_shell = /bin/sh|" /etc/ephem/ephem.conf
trap 'rig_stop; rm -rf "$T"' EXIT
rig_start_journald || exit 1
rig_start_sshd || exit 1

# ---- proof of possession ----
"$EPHEMCTL" keygen --type ec --out "$T/agent" >/dev/null
"$EPHEMCTL" keygen --type ec --out "$T/thief" >/dev/null
JKT=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["keys"][0]["kid"])' "$T/agent.jwks")
BOUND=$(mint 21 deploy --claim-json "cnf={\"jkt\":\"$JKT\"}")
OUT=$(ssh_once agent-21 "$BOUND" "$T/agent.key" 'id -un')
check "a bound token logs in with a proof from the agent's key (ephem-askpass)" [ "$OUT" = agent-21 ]
BOUND=$(mint 21 deploy --claim-json "cnf={\"jkt\":\"$JKT\"}")
ssh_once agent-21 "$BOUND" "" true 2>/dev/null
check "the same kind of token without the key (a stolen bearer copy) is refused" [ $? -ne 0 ]
check "... for the reason dpop_invalid" [ "$(last_denial agent-21)" = dpop_invalid ]
ssh_once agent-21 "$BOUND" "$T/thief.key" true 2>/dev/null
check "a proof signed by another key is refused (dpop_invalid)" [ "$(last_denial agent-21)" = dpop_invalid ]
OUT=$(ssh_once agent-21 "$BOUND" "$T/agent.key" 'id -un')
check "the refused attempts did not burn the token: with the key it still works" [ "$OUT" = agent-21 ]
UNBOUND=$(mint 22 bound)
ssh_once agent-22 "$UNBOUND" "" true 2>/dev/null
check "a rule with dpop = required refuses an unbound token (dpop_required)" [ "$(last_denial agent-22)" = dpop_required ]
OUT=$(ssh_once agent-22 "$(mint 22 bound --claim-json "cnf={\"jkt\":\"$JKT\"}")" "$T/agent.key" 'id -un')
check "... and accepts a bound one with its proof" [ "$OUT" = agent-22 ]

OUT=$(printf '%s' "$(mint 22 bound)" | "$EPHEMCTL" policy test --user agent-22 -)
check "policy test refuses an unbound token where dpop = required, as login does" grep -q "reason: dpop_required" <<<"$OUT"
OUT=$(printf '%s' "$(mint 21 deploy --claim-json "cnf={\"jkt\":\"$JKT\"}")" | "$EPHEMCTL" policy test --user agent-21 -)
check "policy test says a bound token needs a proof of possession at login" grep -q "bound to key $JKT" <<<"$OUT"

# ---- delegation ----
CHAIN='{"sub":"planner-7","act":{"sub":"human-alice"}}'
OUT=$(ssh_once agent-23 "$(mint 23 subagent --claim-json "act=$CHAIN")" "" 'echo "$EPHEM_ACT_CHAIN"')
check "a delegated token within the rule's depth logs in; the chain reaches the session" \
        [ "$OUT" = '["planner-7","human-alice"]' ]
check "audit: the act chain is recorded" bash -c "journalctl --directory=/run/log/journal -o json EPHEM_EVENT=auth_ok \
        EPHEM_USER=agent-23 | grep -qF 'planner-7'"
DEEP='{"sub":"planner-7","act":{"sub":"planner-6","act":{"sub":"human-alice"}}}'
ssh_once agent-23 "$(mint 23 subagent --claim-json "act=$DEEP")" "" true 2>/dev/null
check "a chain deeper than max_delegation is refused" [ "$(last_denial agent-23)" = user_not_allowed ]
ssh_once agent-23 "$(mint 23 subagent --claim-json 'act={"sub":"stranger"}')" "" true 2>/dev/null
check "a current actor outside the rule's actors is refused" [ "$(last_denial agent-23)" = user_not_allowed ]
ssh_once agent-24 "$(mint 24 deploy --claim-json 'act={"sub":"planner-7"}')" "" true 2>/dev/null
check "a rule without max_delegation refuses delegated tokens" [ "$(last_denial agent-24)" = user_not_allowed ]

# ---- agent attributes ----
OUT=$(ssh_once agent-25 "$(mint 25 risky --claim risk_tier=low)" "" 'id -Gn; echo "$EPHEM_EXPIRES_AT"')
check "a low-risk agent gets the rule's group" grep -qw adm <<<"$(sed -n 1p <<<"$OUT")"
START=$(date +%s)
OUT=$(ssh_once agent-26 "$(mint 26 risky --claim risk_tier=high)" "" 'id -Gn; sleep 30' 2>/dev/null)
END=$(date +%s)
check "a high-risk agent gets no supplementary group" [ "$(sed -n 1p <<<"$OUT")" = agent-26 ]
check "... and a shorter session: cut off at 6 s ($((END - START)) s)" [ $((END - START)) -le 9 ]
ssh_once agent-27 "$(mint 27 risky --claim risk_tier=unknown)" "" true 2>/dev/null
check "an attribute value no rule names is refused" [ "$(last_denial agent-27)" = user_not_allowed ]

# ---- least privilege: a job, not a shell ----
OUT=$(ssh_once agent-28 "$(mint 28 job)" "" 'cat /etc/shadow')
check "a rule's command runs instead of what the agent asked (ForceCommand semantics)" \
        [ "$OUT" = "job ran as agent-28
asked: cat /etc/shadow" ]
OUT=$(ssh_once agent-28 "$(mint 28 job)" "" 2>/dev/null)
check "an interactive login gets the command too, not a shell" grep -q "^job ran as agent-28$" <<<"$OUT"
OUT=$(EPHEM_TOKEN="$(mint 28 job)" SSH_ASKPASS="$ASKPASS" SSH_ASKPASS_REQUIRE=force DISPLAY= timeout 20 \
        sftp -P "$RIG_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o PreferredAuthentications=keyboard-interactive -o NumberOfPasswordPrompts=1 -b - agent-28@127.0.0.1 \
        <<<"ls /" 2>&1)
check "a subsystem (sftp) gets the command too: no file access" bash -c "! grep -q '^sftp> ls /' <<<'$OUT' || ! grep -qE '^/(etc|usr)' <<<'$OUT'"
OUT=$(ssh_once agent-29 "$(mint 29 deploy)" "" 'echo free; echo "$0"')
check "without a forced command ephem-shell runs the login shell" [ "$OUT" = "free
sh" ]
# A new channel of a connection whose session is already warned of its cut-off
# (status "warning") still gets its shell: ControlMaster, then a second command.
SOCK="$T/mux.sock"
EPHEM_TOKEN="$(mint 31 deploy --ttl 12)" SSH_ASKPASS="$ASKPASS" SSH_ASKPASS_REQUIRE=force DISPLAY= \
        ssh -p "$RIG_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -M -S "$SOCK" \
        -o PreferredAuthentications=keyboard-interactive -o NumberOfPasswordPrompts=1 -o LogLevel=ERROR \
        agent-31@127.0.0.1 'sleep 30' </dev/null >/dev/null 2>&1 &
MASTER=$!
for _ in $(seq 1 150); do
        grep -qs '^state=warning$' /run/ephem/status/* && break
        sleep 0.1
done
check "the session of agent-31 is in its warning period" grep -qs '^state=warning$' /run/ephem/status/*
OUT=$(timeout 10 ssh -p "$RIG_PORT" -S "$SOCK" -o LogLevel=ERROR agent-31@127.0.0.1 'echo second' </dev/null 2>/dev/null)
check "... and a second channel of its connection still gets its shell" [ "$OUT" = second ]
wait "$MASTER" 2>/dev/null
# ---- least privilege: a list of allowed commands, from the rule or the token ----
OUT=$(ssh_once agent-32 "$(mint 32 ops)" "" 'id -un')
check "an allowed command runs (allow_command)" [ "$OUT" = agent-32 ]
OUT=$(ssh_once agent-32 "$(mint 32 ops)" "" 'echo deploy v1')
check "... another allowed one, exactly as listed" [ "$OUT" = "deploy v1" ]
OUT=$(ssh_once agent-32 "$(mint 32 ops)" "" 'cat /etc/passwd' 2>&1)
check "a command outside the allowance is refused over SSH" bash -c "! grep -q '^root:' <<<'$OUT'"
OUT=$(ssh_once agent-32 "$(mint 32 ops)" "" 'id -un; cat /etc/passwd' 2>&1)
check "... and so is an allowed command with more appended" bash -c "! grep -q '^root:' <<<'$OUT'"
OUT=$(ssh_once agent-32 "$(mint 32 ops)" "" 2>&1)
check "an interactive shell is refused" bash -c "grep -q 'may only run its allowed commands' <<<'$OUT'"
OUT=$(EPHEM_TOKEN="$(mint 32 ops)" SSH_ASKPASS="$ASKPASS" SSH_ASKPASS_REQUIRE=force DISPLAY= timeout 20 \
        sftp -P "$RIG_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o PreferredAuthentications=keyboard-interactive -o NumberOfPasswordPrompts=1 -b - agent-32@127.0.0.1 \
        <<<"ls /" 2>&1)
check "a subsystem (sftp) not in the allowance is refused" bash -c "! grep -qE '^/(etc|usr)' <<<'$OUT'"
OUT=$(ssh_once agent-33 "$(mint 33 scoped --claim-json 'commands=["echo scoped"]')" "" 'echo scoped')
check "a token's commands claim narrows the rule's allowance: its command runs" [ "$OUT" = scoped ]
OUT=$(ssh_once agent-33 "$(mint 33 scoped --claim-json 'commands=["echo scoped"]')" "" 'id -un' 2>&1)
check "... and the rule's other command does not" [ "$OUT" != agent-33 ]
ssh_once agent-33 "$(mint 33 scoped)" "" 'echo scoped' 2>/dev/null
check "a token without the claim the rule requires is refused (user_not_allowed)" \
        [ "$(last_denial agent-33)" = user_not_allowed ]
ssh_once agent-33 "$(mint 33 scoped --claim-json 'commands=["cat /etc/shadow"]')" "" 'cat /etc/shadow' 2>/dev/null
check "a token claiming a command its rule does not allow is refused" [ "$(last_denial agent-33)" = user_not_allowed ]

sed -i "s|^shell = $T/ephem-shell$|shell = /bin/sh|" /etc/ephem/ephem.conf
ssh_once agent-30 "$(mint 30 job)" "" true 2>/dev/null
check "a forced command without ephem-shell as the shell refuses the session (fail closed)" [ $? -ne 0 ]
check "... with a clear reason (session_denied config_invalid)" bash -c \
        "journalctl --directory=/run/log/journal -o json EPHEM_EVENT=session_denied EPHEM_USER=agent-30 | grep -q config_invalid"

echo "1..$N"
exit $((FAILED > 0))
