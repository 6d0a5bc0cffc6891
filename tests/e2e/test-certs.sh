#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Short-lived OpenSSH user certificates over the real sshd rig: sshd verifies the
# certificate (TrustedUserCAKeys, public key only); pam_ephem's session stage reads
# it from SSH_AUTH_INFO_0, applies ephem's CA policy, records the transient user and
# cuts the session off at valid_before; revocation by serial or key id.
#
#   BUILD=build tests/e2e/test-certs.sh

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=rig.sh
source "$HERE/rig.sh"
rig_enter "$@"

last_session_denial() { last_reason session_denied "$1"; }

W=$(mktemp -d /tmp/ephem-certs.XXXXXX)
ssh-keygen -q -t ed25519 -N '' -C ca-vault -f "$W/ca-vault"
ssh-keygen -q -t ed25519 -N '' -C ca-other -f "$W/ca-other"
ssh-keygen -q -t ed25519 -N '' -C agent -f "$W/agent"
RIG_CONF_EXTRA="
[ca vault]
key = $(cat "$W/ca-vault.pub")
principals = agent-3*
max_validity = 10m
groups = adm
"
rig_setup
trap 'rig_stop; rm -rf "$T" "$W"' EXIT
cat "$W/ca-vault.pub" "$W/ca-other.pub" > "$T/trusted-cas.pub"
sed -i -e 's/^PubkeyAuthentication no/PubkeyAuthentication yes/' "$T/sshd_config"
printf 'TrustedUserCAKeys %s\nAuthenticationMethods publickey\n' "$T/trusted-cas.pub" >> "$T/sshd_config"
rig_start_journald || exit 1
rig_start_sshd || exit 1

# cert NAME CA PRINCIPALS VALIDITY SERIAL: a certificate for the agent's key.
cert() {
        rm -f "$W/agent-cert.pub"
        ssh-keygen -q -s "$W/$2" -I "$1" -n "$3" -V "$4" -z "$5" "$W/agent.pub" && cp "$W/agent-cert.pub" "$W/$1-cert.pub"
}
ssh_cert() { # KEYID USER COMMAND...
        local id=$1 user=$2
        shift 2
        ssh -p "$RIG_PORT" -i "$W/agent" -o CertificateFile="$W/$id-cert.pub" -o IdentitiesOnly=yes \
                -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o PreferredAuthentications=publickey \
                -o BatchMode=yes -o LogLevel=ERROR "$user@127.0.0.1" "$@" </dev/null 2>&1 | grep -v -e "^Linux " -e "^The programs" -e "^the exact" -e "^individual files" -e "^Debian GNU" -e "^permitted by" -e "^$"; return "${PIPESTATUS[0]}"
}

UID31=$(getent passwd agent-31 | cut -d: -f3)
cert job-31 ca-vault agent-31 +60s 31
OUT=$(ssh_cert job-31 agent-31 'id -u; id -Gn; echo "$EPHEM_SUB $EPHEM_EXPIRES_AT"')
check "a certificate from a listed CA logs in as the transient user" [ "$(sed -n 1p <<<"$OUT")" = "$UID31" ]
check "... with the CA's groups" grep -qw adm <<<"$(sed -n 2p <<<"$OUT")"
VB=$(ssh-keygen -L -f "$W/job-31-cert.pub" | sed -n 's/.*Valid: from .* to \(.*\)$/\1/p')
check "... and the session's deadline is the certificate's valid_before ($VB)" \
        [ "$(sed -n 3p <<<"$OUT" | cut -d' ' -f2)" = "$(date -d "$VB" +%s)" ]
check "... and EPHEM_SUB is the certificate's key id" [ "$(sed -n 3p <<<"$OUT" | cut -d' ' -f1)" = job-31 ]
check "audit: the key id, serial and CA fingerprint are recorded" bash -c \
        "journalctl --directory=/run/log/journal -o json EPHEM_EVENT=auth_ok EPHEM_CERT_SERIAL=31 | grep -q '\"EPHEM_CERT_KEY_ID\":\"job-31\"' && \
         journalctl --directory=/run/log/journal -o json EPHEM_EVENT=auth_ok EPHEM_CERT_SERIAL=31 | grep -q \"\\\"EPHEM_CA_FP\\\":\\\"$(ssh-keygen -l -f "$W/ca-vault.pub" | cut -d' ' -f2)\\\"\""
check "audit: never the certificate or key itself" bash -c \
        "! journalctl --directory=/run/log/journal -o export | grep -qF '$(cut -d' ' -f2 "$W/job-31-cert.pub" | cut -c1-60)'"

# ---- cut-off at valid_before ----
cert job-32 ca-vault agent-32 +9s 32
VB=$(date -d "$(ssh-keygen -L -f "$W/job-32-cert.pub" | sed -n 's/.*Valid: from .* to \(.*\)$/\1/p')" +%s)
ssh_cert job-32 agent-32 'sleep 1032 & setsid sh -c "sleep 1033 &"; sleep 1034' 2>/dev/null
END=$(date +%s)
check "a long-running command is cut off at valid_before ($((END - VB)) s after it)" [ $((END - VB)) -ge 0 ] && [ $((END - VB)) -le 2 ]
sleep 1
# (-f: a zombie waiting for its reaper has no command line; it no longer runs)
check "every process of the certificate session is gone" bash -c "! pgrep -u $(getent passwd agent-32 | cut -d: -f3) -f 'sleep 103[2-4]' >/dev/null"
check "the transient user is removed after the cut-off" [ ! -e /run/ephem/users/by-name/agent-32 ]

# ---- policy ----
cert job-33 ca-vault agent-33 +2h 33
ssh_cert job-33 agent-33 true 2>/dev/null
check "a certificate valid longer than [ca] max_validity is refused" [ $? -ne 0 ]
check "... for the reason lifetime_too_long" [ "$(last_session_denial agent-33)" = lifetime_too_long ]
cert job-34 ca-other agent-34 +60s 34
ssh_cert job-34 agent-34 true 2>/dev/null
check "a certificate from a CA sshd trusts but ephem.conf does not list is refused" [ $? -ne 0 ]
check "... for the reason issuer_unknown" [ "$(last_session_denial agent-34)" = issuer_unknown ]
cert job-40 ca-vault agent-40 +60s 40
ssh_cert job-40 agent-40 true 2>/dev/null
check "a principal outside the CA's principals is refused (user_not_allowed)" [ "$(last_session_denial agent-40)" = user_not_allowed ]

# ---- revocation by serial and by key id ----
cert job-35 ca-vault agent-35 +5m 77
ssh_cert job-35 agent-35 'sleep 1035' 2>/dev/null &
P=$!
for i in $(seq 1 100); do running agent-35 "sleep 1035" && break; sleep 0.1; done
check "the session runs before the revocation" running agent-35 "sleep 1035"
"$EPHEMCTL" revoke --cert-serial 77 --ca vault >/dev/null
T0=$(date +%s%N)
for i in $(seq 1 20); do running agent-35 "sleep 1035" || break; sleep 0.1; done
T1=$(date +%s%N)
check "revoking the serial ends the live session within 2 s ($(((T1 - T0) / 1000000)) ms)" bash -c "! pgrep -u $(getent passwd agent-35 | cut -d: -f3) -f 'sleep 1035' >/dev/null"
wait $P 2>/dev/null
ssh_cert job-35 agent-35 true 2>/dev/null
check "the revoked certificate cannot log in again (revoked)" [ "$(last_session_denial agent-35)" = revoked ]
cert job-36 ca-vault agent-36 +5m 78
"$EPHEMCTL" revoke --cert-key-id job-36 --ca vault >/dev/null
ssh_cert job-36 agent-36 true 2>/dev/null
check "revoking a key id refuses its certificates" [ "$(last_session_denial agent-36)" = revoked ]
check "audit: the revocation event names what was revoked" bash -c \
        "journalctl --directory=/run/log/journal -o cat EPHEM_EVENT=revocation_applied | grep -q '1 revocation(s) recorded: sub job-36 of ssh-ca:SHA256:'"

"$EPHEMCTL" revoke --cert-serial 99 >/dev/null 2>&1
check "revoke --cert-serial without --ca is a usage error (not a token jti revocation)" [ $? -eq 2 ]

# ---- the same revocations as an OpenSSH KRL for sshd's RevokedKeys ----
"$EPHEMCTL" revocations krl --ca vault --out "$W/revoked.krl" >/dev/null
check "revocations krl writes a KRL in which the revoked serial is revoked" \
        bash -c "ssh-keygen -Q -f '$W/revoked.krl' '$W/job-35-cert.pub' | grep -q REVOKED"
check "... and the revoked key id" bash -c "ssh-keygen -Q -f '$W/revoked.krl' '$W/job-36-cert.pub' | grep -q REVOKED"
check "... and not a certificate that was never revoked" bash -c "ssh-keygen -Q -f '$W/revoked.krl' '$W/job-31-cert.pub' | grep -q ok"

# A damaged entry still revokes, but cannot be listed or written to a KRL: the KRL
# is refused rather than written without it, and the list says so.
cert job-37 ca-vault agent-37 +5m 79
"$EPHEMCTL" revoke --cert-serial 79 --ca vault >/dev/null
DAMAGED=$(grep -l '^value=79$' "$T"/var/revoked/* | head -n 1)
echo "until=4" >>"$DAMAGED"
echo "until=ed" >>"$DAMAGED"
ssh_cert job-37 agent-37 true 2>/dev/null
check "a damaged revocation entry still revokes (revoked)" [ "$(last_session_denial agent-37)" = revoked ]
OUT=$("$EPHEMCTL" revocations list 2>&1 >/dev/null)
check "revocations list reports the unreadable entry" grep -q "1 unreadable entry" <<<"$OUT"
rm -f "$W/revoked2.krl"
"$EPHEMCTL" revocations krl --ca vault --out "$W/revoked2.krl" >/dev/null 2>&1
check "revocations krl refuses to write a KRL without it (exit 2, no file)" [ $? = 2 ] && [ ! -e "$W/revoked2.krl" ]

echo "1..$N"
exit $((FAILED > 0))
