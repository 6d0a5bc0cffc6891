# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# A real sshd with ephem installed, inside a private mount namespace, so that the
# machine's own /etc, /run and library directories are never touched:
#
#   /etc                        overlay (nsswitch.conf, pam.d/sshd, ephem/ephem.conf)
#   /run                        tmpfs (sshd's privsep dir, ephem's state /run/ephem)
#   /usr/lib/x86_64-linux-gnu   overlay adding libnss_ephem.so.2
#
# Every process in the namespace — sshd, the user's shell, setuid programs —
# resolves users through the real glibc NSS and the module under test. sshd listens
# on 127.0.0.1 only. rig_stop ends everything the rig started.
#
# Use: BUILD=<meson build dir>; source rig.sh; rig_enter "$@" (re-execs the calling
# script in the namespace), rig_setup, rig_start_sshd, then rig_mint / rig_ssh.

set -o pipefail

: "${BUILD:?BUILD must name the meson build directory}"
BUILD=$(cd "$BUILD" && pwd)
EPHEMCTL="$BUILD/ephemctl/ephemctl"
ASKPASS="$BUILD/ephem-askpass/ephem-askpass"
PAM_MODULE="$BUILD/pam_ephem/pam_ephem.so"
NSS_MODULE="$BUILD/nss_ephem/libnss_ephem.so.2"
CUTOFF="$BUILD/ephem-cutoff/ephem-cutoff"
RIG_AUDIENCE="${RIG_AUDIENCE:-host-under-test}"
RIG_ISS="${RIG_ISS:-https://issuer.test}"

rig_log() { printf '%s\n' "$*" >&2; }

# TAP output for the suites: check NAME COMMAND... runs COMMAND and reports it;
# the script ends with: echo "1..$N"; exit $((FAILED > 0)).
N=0
FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"; [ -n "${2:-}" ] && printf '# %s\n' "$2"; }
check() {
        local name=$1
        shift
        if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# The reason of the newest audit event EVENT for USER (empty when there is none).
last_reason() { # EVENT USER
        rig_journal "EPHEM_EVENT=$1" "EPHEM_USER=$2" | tail -n 1 |
                /usr/bin/python3 -c 'import json,sys; l=sys.stdin.read().strip(); print(json.loads(l).get("EPHEM_REASON","") if l else "")'
}
last_denial() { last_reason auth_denied "$1"; }

# Whether the transient user runs a process matching PATTERN: its processes only,
# never the ssh client (whose command line holds the same words); -f also skips
# zombies waiting for their reaper (no command line: they no longer run).
running() { # USER PATTERN
        pgrep -u "$(getent passwd "$1" | cut -d: -f3)" -f -- "$2" >/dev/null
}

# Re-executes the calling script inside a private mount namespace (once).
rig_enter() {
        if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null || [ ! -x /usr/sbin/sshd ]; then
                echo "1..0 # SKIP needs root, unshare and /usr/sbin/sshd"
                exit 0
        fi
        if [ -z "${EPHEM_RIG_INSIDE:-}" ]; then
                export EPHEM_RIG_INSIDE=1
                exec unshare --mount --propagation private -- "$0" "$@"
        fi
}

rig_libdir() {
        local d
        for d in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /lib64 /usr/lib64; do
                [ -e "$d/libc.so.6" ] && { echo "$d"; return; }
        done
        dirname "$(ldconfig -p | awk '/libc.so.6 / {print $NF; exit}')"
}

rig_free_port() {
        /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Writes ephem.conf; extra lines for [host], [users] and more sections come from
# RIG_HOST_EXTRA, RIG_USERS_EXTRA, RIG_CONF_EXTRA.
rig_write_config() {
        cat > /etc/ephem/ephem.conf <<EOF
# ephem configuration of the test rig
[host]
audience = $RIG_AUDIENCE
leeway = 0
fail_delay = 0
warn_before = ${RIG_WARN_BEFORE:-3s}
revocation_dir = $T/var/revoked
cutoff_helper = $CUTOFF
${RIG_HOST_EXTRA:-}

[users]
names = agent-* ci-*
home_base = $T/home
quarantine_dir = $T/var/quarantine
shell = /bin/sh
${RIG_USERS_EXTRA:-}

[issuer local]
iss = $RIG_ISS
keys = $T/issuer.jwks
algorithms = ES256 EdDSA RS256 PS256 ES384

[rule agents]
issuer = local
claim.agent_type = deploy review
logins = agent-\${agent_id}
groups = adm
max_session = ${RIG_MAX_SESSION:-1h}
${RIG_CONF_EXTRA:-}
EOF
        chmod 0644 /etc/ephem/ephem.conf
}

rig_setup() {
        local libdir
        T=$(mktemp -d /tmp/ephem-rig.XXXXXX)
        chmod 0755 "$T"
        export T
        mkdir -p "$T/etc-upper" "$T/etc-work" "$T/lib" "$T/home" "$T/var"
        chmod 0755 "$T/home" "$T/var"

        # /etc: copy-on-write for this namespace only.
        mount -t overlay overlay -o "lowerdir=/etc,upperdir=$T/etc-upper,workdir=$T/etc-work" /etc
        # /run: empty tmpfs (a reboot's view): sshd's privsep dir, /run/ephem.
        mount -t tmpfs -o mode=0755 tmpfs /run
        mkdir -m 0755 /run/sshd
        # The NSS module where glibc looks for it.
        libdir=$(rig_libdir)
        cp "$NSS_MODULE" "$T/lib/"
        mount -t overlay overlay -o "lowerdir=$T/lib:$libdir" "$libdir"

        sed -i -e 's/^passwd:.*/passwd:         files ephem/' -e 's/^group:.*/group:          files ephem/' \
                /etc/nsswitch.conf
        mkdir -p /etc/ephem
        "$EPHEMCTL" keygen --type ec --kid rig-key --out "$T/issuer" >/dev/null
        rig_write_config

        # Debian's own sshd stack, with ephem in front of each stage.
        {
                printf 'auth [success=done ignore=ignore default=die] %s\n' "$PAM_MODULE"
                printf 'account [success=ok ignore=ignore default=bad] %s\n' "$PAM_MODULE"
                printf 'session [success=ok ignore=ignore default=bad] %s\n' "$PAM_MODULE"
                cat /etc/pam.d/sshd
        } > "$T/pam-sshd" && cp "$T/pam-sshd" /etc/pam.d/sshd

        ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
        RIG_PORT=$(rig_free_port)
        export RIG_PORT
        cat > "$T/sshd_config" <<EOF
Port $RIG_PORT
ListenAddress 127.0.0.1
HostKey $T/hostkey
PidFile $T/sshd.pid
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication no
AuthorizedKeysFile none
PermitRootLogin no
MaxAuthTries 3
LogLevel VERBOSE
PrintMotd no
EOF
}

# A journald of the namespace's own (volatile, in the rig's /run), so that the
# audit events can be read back: rig_journal FIELD=VALUE... prints them as JSON.
rig_start_journald() {
        mkdir -p /etc/systemd /run/log/journal
        printf '[Journal]\nStorage=volatile\nReadKMsg=no\nForwardToSyslog=no\nForwardToKMsg=no\nForwardToConsole=no\nForwardToWall=no\nRateLimitBurst=0\n' \
                > /etc/systemd/journald.conf
        SYSTEMD_LOG_TARGET=console /lib/systemd/systemd-journald >"$T/journald.log" 2>&1 &
        RIG_JOURNALD_PID=$!
        local i
        for i in $(seq 1 50); do
                [ -S /run/systemd/journal/socket ] && return 0
                sleep 0.1
        done
        rig_log "journald did not start"
        return 1
}

rig_journal() {
        journalctl --directory=/run/log/journal --no-pager -o json "$@" 2>/dev/null
}

rig_start_sshd() {
        /usr/sbin/sshd -D -e -f "$T/sshd_config" 2>"$T/sshd.log" &
        RIG_SSHD_PID=$!
        local i
        for i in $(seq 1 50); do
                if /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$RIG_PORT),0.2)" 2>/dev/null; then
                        return 0
                fi
                sleep 0.1
        done
        rig_log "sshd did not start:"
        cat "$T/sshd.log" >&2
        return 1
}

# rig_mint AGENT_ID TTL [extra ephemctl mint options...]
rig_mint() {
        local id=$1 ttl=$2
        shift 2
        "$EPHEMCTL" mint --key "$T/issuer.key" --kid rig-key --iss "$RIG_ISS" --aud "$RIG_AUDIENCE" \
                --sub "agent-$id@example" --claim agent_type=deploy --claim "agent_id=$id" --ttl "$ttl" "$@"
}

# rig_ssh USER TOKEN COMMAND... — a stock OpenSSH client, answered by ephem-askpass.
rig_ssh() {
        local user=$1 token=$2
        shift 2
        EPHEM_TOKEN="$token" SSH_ASKPASS="$ASKPASS" SSH_ASKPASS_REQUIRE=force DISPLAY= \
                ssh -p "$RIG_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
                -o PreferredAuthentications=keyboard-interactive -o NumberOfPasswordPrompts=20 \
                -o LogLevel=ERROR -o ConnectTimeout=10 "$user@127.0.0.1" "$@" </dev/null
}

# Stops sshd, then ends the sessions this rig still has (their processes, their
# cut-off helpers, their cgroups): only those recorded in this namespace's /run.
rig_stop() {
        local f sid cg pid
        if [ -n "${RIG_SSHD_PID:-}" ]; then
                kill "$RIG_SSHD_PID" 2>/dev/null
                wait "$RIG_SSHD_PID" 2>/dev/null
                RIG_SSHD_PID=
        fi
        if [ -n "${RIG_JOURNALD_PID:-}" ]; then
                kill "$RIG_JOURNALD_PID" 2>/dev/null
                wait "$RIG_JOURNALD_PID" 2>/dev/null
                RIG_JOURNALD_PID=
        fi
        for f in /run/ephem/sessions/*; do
                [ -f "$f" ] || continue
                sid=$(basename "$f")
                cg=$(sed -n 's/^cgroup=//p' "$f")
                if [ -n "$cg" ] && [ -d "$cg" ]; then
                        echo 1 > "$cg/cgroup.kill" 2>/dev/null
                fi
                for pid in $(pgrep -f "ephem-cutoff(-act)? $sid --" 2>/dev/null); do
                        kill "$pid" 2>/dev/null
                done
                sleep 0.2
                [ -n "$cg" ] && rmdir "$cg" 2>/dev/null
        done
        return 0
}
