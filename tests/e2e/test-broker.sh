#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A real OAuth 2.0 / OIDC broker (oidc-provider, pinned in broker/package.json) on
# 127.0.0.1 issues client_credentials JWT access tokens (typ at+jwt, unchanged);
# the host fetches the broker's JWKS the way the refresh timer would, and an agent
# obtains a token over HTTP and logs in with it through the real sshd.
#
#   BUILD=build tests/e2e/test-broker.sh

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=rig.sh
source "$HERE/rig.sh"
rig_enter "$@"

if [ ! -d "$HERE/broker/node_modules/oidc-provider" ]; then
        (cd "$HERE/broker" && npm ci --no-audit --no-fund --silent) || { echo "Bail out! npm ci failed (the npm registry must be reachable)"; exit 1; }
fi


BROKER_PORT=$(rig_free_port)
BROKER="http://127.0.0.1:$BROKER_PORT"
RIG_CONF_EXTRA="
[issuer broker]
iss = $BROKER
keys = /tmp/ephem-broker-$BROKER_PORT.jwks
algorithms = ES256

[rule ci-runners]
issuer = broker
claim.client_id = ci-runner-*
claim.scope = login
logins = \${client_id}
max_session = 10m
"
RIG_USERS_EXTRA=""
rig_setup
# The users patterns of the rig include ci-*: ci-runner-1 is a transient name.
sed -i "s|/tmp/ephem-broker-$BROKER_PORT.jwks|$T/broker.jwks|" /etc/ephem/ephem.conf

node "$HERE/broker/broker.mjs" "$BROKER_PORT" "$RIG_AUDIENCE" >"$T/broker.log" 2>&1 &
BROKER_PID=$!
trap 'kill $BROKER_PID 2>/dev/null; wait $BROKER_PID 2>/dev/null; rig_stop; rm -rf "$T"' EXIT
for i in $(seq 1 50); do
        curl -sf "$BROKER/.well-known/openid-configuration" >/dev/null && break
        sleep 0.2
done
rig_start_journald || exit 1
rig_start_sshd || exit 1

# The refresh job's work: fetch the JWKS, check it, install it.
curl -sf "$BROKER/jwks" -o "$T/broker.jwks.new" && chmod 0644 "$T/broker.jwks.new" && mv "$T/broker.jwks.new" "$T/broker.jwks"
check "the broker's JWKS is fetched and policy check accepts it" \
        bash -c "'$EPHEMCTL' policy check | grep -q '0 error'"

get_token() {
        curl -sf -u "$1:$2" -d grant_type=client_credentials -d scope=login -d resource=urn:ephem:hosts "$BROKER/token" |
                /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

AT=$(get_token ci-runner-1 secret-1)
check "an agent obtains an access token from the broker over HTTP" [ -n "$AT" ]
HDR=$(printf '%s' "$AT" | "$EPHEMCTL" token inspect - | /usr/bin/python3 -c 'import sys; t=sys.stdin.read(); print("at+jwt" in t and "ES256" in t)')
check "the token is an RFC 9068 access token (typ at+jwt, ES256), unchanged" [ "$HDR" = True ]
OUT=$(printf '%s' "$AT" | "$EPHEMCTL" policy test --user ci-runner-1 -)
check "policy test allows it for ci-runner-1" grep -q "decision: ALLOW by rule ci-runners" <<<"$OUT"

OUT=$(rig_ssh ci-runner-1 "$AT" 'id -un; echo "$EPHEM_SUB"')
check "the agent logs in over SSH with the broker's token" [ "$OUT" = "ci-runner-1
ci-runner-1" ]

AT2=$(get_token ci-runner-2 secret-2)
rig_ssh ci-runner-1 "$AT2" true 2>/dev/null
check "another client's token cannot log in as ci-runner-1" [ $? -ne 0 ]
rig_ssh ci-runner-1 "$AT" true 2>/dev/null
check "the broker's token is single use" [ $? -ne 0 ]

# DPoP: the agent gets a token bound to its key (jose makes the proof for the
# token endpoint), then proves possession of the same key to the host.
DPOP_AT=$(node "$HERE/broker/dpop-token.mjs" "$BROKER/token" ci-runner-1 secret-1 "$T/agent-dpop.pem")
check "the broker issues a DPoP-bound token (cnf.jkt) to a client proving its key with jose" \
        bash -c "printf '%s' '$DPOP_AT' | '$EPHEMCTL' token inspect - | grep -q '\"jkt\"'"
OUT=$(EPHEM_DPOP_KEY="$T/agent-dpop.pem" rig_ssh ci-runner-1 "$DPOP_AT" 'id -un')
check "the agent logs in with the bound token and a proof from the same key" [ "$OUT" = ci-runner-1 ]
DPOP_AT2=$(node "$HERE/broker/dpop-token.mjs" "$BROKER/token" ci-runner-1 secret-1 "$T/agent-dpop2.pem")
rig_ssh ci-runner-1 "$DPOP_AT2" true 2>/dev/null
check "the bound token alone, without the key, is refused" [ $? -ne 0 ]

echo "1..$N"
exit $((FAILED > 0))
