# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# A Debian 12 root booted with systemd as PID 1 under systemd-nspawn (private
# network), for the tests and benchmarks of the logind path and of the packages.
#
#   nspawn_rootfs TAR ROOT PACKAGES LOG
#       ROOT from the tarball TAR, or debootstrap (minbase plus the
#       comma-separated PACKAGES) from the mirror apt uses, saved as TAR for the
#       next run. 1 when debootstrap fails (LOG says why).
#   nspawn_login_as ROOT PROMPTS
#       /usr/local/bin/login-as in ROOT: "login-as USER TOKEN-FILE COMMAND" runs
#       ssh to the container's sshd with ephem-askpass answering.
#   nspawn_install_ephem BUILD ROOT DIR
#       ephem from the build directory into ROOT where a package puts it, an issuer
#       key made in DIR (DIR/issuer.key, kid logind-key) and its JWKS in ROOT, an
#       ephem.conf (audience logind-host, iss https://issuer.test, agent-* names,
#       rule: agent-${agent_id}) and "files ephem systemd" in nsswitch.conf. The
#       PAM stacks are the caller's.
#   nspawn_boot ROOT MACHINE LOG
#       boots ROOT, waits until systemd says running or degraded; sets NSPAWN_PID
#       and C (the container's PID 1 as seen from here; empty on failure).
#   nspawn_stop
#       stops the container and removes what nspawn leaves behind without a host
#       systemd (cgroups, the unix-export directory).
NSPAWN_PID=
NSPAWN_MACHINE=
C=
# The root of the logind path's tests and benchmarks: its cached tarball's name and
# what debootstrap puts in it (a new list needs a new name).
# shellcheck disable=SC2034 # for the scripts that source this file
NSPAWN_LOGIND_TAR=bookworm-logind-v1.tar
# shellcheck disable=SC2034
NSPAWN_LOGIND_PACKAGES=systemd,systemd-sysv,dbus,libpam-systemd,openssh-server,openssh-client,libjansson4,libjwt0,procps,iproute2

# The Debian mirror apt uses (deb822 "URIs:" or one-line "deb" entries), not comments.
nspawn_mirror() {
        local m
        m=$(sed -n -e 's/^URIs:[[:space:]]*\(http[^[:space:]]*\/debian\)\/\{0,1\}[[:space:]]*$/\1/p' \
                -e 's/^deb[[:space:]]\+\(http[^[:space:]]*\/debian\)\/\{0,1\}[[:space:]].*/\1/p' \
                /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -n 1)
        echo "${m:-http://deb.debian.org/debian}"
}

nspawn_rootfs() { # TAR ROOT PACKAGES LOG
        local tar=$1 root=$2 packages=$3 log=$4
        mkdir -p "$(dirname "$tar")" "$root"
        if [ -f "$tar" ]; then
                tar -C "$root" -xf "$tar"
                return
        fi
        debootstrap --variant=minbase --include="$packages" bookworm "$root" "$(nspawn_mirror)" >"$log" 2>&1 || return 1
        # No service starts while packages are installed into the tarball's root.
        printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
        chmod 0755 "$root/usr/sbin/policy-rc.d"
        tar -C "$root" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
}

nspawn_login_as() { # ROOT PROMPTS
        cat >"$1/usr/local/bin/login-as" <<LOGIN
#!/bin/sh
# login-as USER TOKEN-FILE COMMAND: ssh to this container's sshd with ephem-askpass.
u=\$1; f=\$2; shift 2
EPHEM_TOKEN_FILE=\$f SSH_ASKPASS=/usr/bin/ephem-askpass SSH_ASKPASS_REQUIRE=force DISPLAY= \\
exec ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \\
        -o PreferredAuthentications=keyboard-interactive -o NumberOfPasswordPrompts=$2 "\$u@127.0.0.1" "\$@" </dev/null
LOGIN
        chmod 0755 "$1/usr/local/bin/login-as"
}

nspawn_install_ephem() { # BUILD ROOT DIR
        local build=$1 root=$2
        install -D -m 0644 "$build/pam_ephem/pam_ephem.so" "$root/usr/lib/x86_64-linux-gnu/security/pam_ephem.so"
        install -D -m 0644 "$build/nss_ephem/libnss_ephem.so.2" "$root/usr/lib/x86_64-linux-gnu/libnss_ephem.so.2"
        install -D -m 0755 "$build/ephemctl/ephemctl" "$root/usr/sbin/ephemctl"
        install -D -m 0755 "$build/ephem-cutoff/ephem-cutoff" "$root/usr/libexec/ephem/ephem-cutoff"
        install -D -m 0755 "$build/ephem-cutoff/ephem-cutoff-act" "$root/usr/libexec/ephem/ephem-cutoff-act"
        install -D -m 0755 "$build/ephem-askpass/ephem-askpass" "$root/usr/bin/ephem-askpass"
        mkdir -p "$root/etc/ephem"
        "$build/ephemctl/ephemctl" keygen --type ec --kid logind-key --out "$3/issuer" >/dev/null
        install -m 0644 "$3/issuer.jwks" "$root/etc/ephem/issuer.jwks"
        cat >"$root/etc/ephem/ephem.conf" <<'EOF'
[host]
audience = logind-host
leeway = 0
fail_delay = 0
warn_before = 3s

[users]
names = agent-*

[issuer local]
iss = https://issuer.test
keys = /etc/ephem/issuer.jwks

[rule agents]
issuer = local
logins = agent-${agent_id}
EOF
        sed -i -e 's/^passwd:.*/passwd:         files ephem systemd/' -e 's/^group:.*/group:          files ephem systemd/' \
                "$root/etc/nsswitch.conf"
}

nspawn_boot() { # ROOT MACHINE LOG
        local i
        NSPAWN_MACHINE=$2
        systemd-nspawn -q -D "$1" -b --register=no --keep-unit --private-network --console=pipe \
                --machine="$2" >"$3" 2>&1 &
        NSPAWN_PID=$!
        C=
        for i in $(seq 1 300); do
                C=$(pgrep -P "$NSPAWN_PID" -x systemd | head -n 1)
                [ -n "$C" ] && nsenter -t "$C" -a systemctl is-system-running 2>/dev/null | grep -qE 'running|degraded' && return 0
                sleep 0.2
        done
        [ -n "$C" ]
}

nspawn_stop() {
        local i
        if [ -n "$NSPAWN_PID" ]; then
                kill "$NSPAWN_PID" 2>/dev/null
                for i in $(seq 1 50); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
                kill -9 "$NSPAWN_PID" 2>/dev/null
                wait "$NSPAWN_PID" 2>/dev/null
                NSPAWN_PID=
        fi
        # nspawn killed before the container powered off leaves its init running
        # (reparented): killing a PID namespace's init ends everything in it.
        if [ -n "$C" ] && [ "$(cat "/proc/$C/comm" 2>/dev/null)" = systemd ] &&
                [ "$(readlink "/proc/$C/ns/pid")" != "$(readlink /proc/self/ns/pid)" ]; then
                kill -9 "$C" 2>/dev/null
                for ((i = 0; i < 50; i++)); do [ -e "/proc/$C" ] || break; sleep 0.1; done
        fi
        C=
        find /sys/fs/cgroup -depth -type d -path "*payload*" -empty -delete 2>/dev/null
        [ -n "$NSPAWN_MACHINE" ] && rm -rf "/run/systemd/nspawn/unix-export/$NSPAWN_MACHINE" 2>/dev/null
}
