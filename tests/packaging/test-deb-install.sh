#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The Debian packages, as a sysadmin gets them: built from this tree
# (packaging/build-deb.sh), installed with apt into a Debian 12 root booted with
# systemd as PID 1 under systemd-nspawn (private network), used, and purged.
#
#   - pam-auth-update put pam_ephem into common-auth/account/session (before
#     pam_unix and pam_systemd), the postinst put "ephem" into nsswitch.conf,
#     tmpfiles, timers and the journal catalog are in place, local accounts work;
#   - a token logs in over SSH through the installed stack (pam_systemd, logind)
#     and the session is cut off at the token's expiry;
#   - ephem-refresh.service replaces the issuer's keys only with keys that verify,
#     and applies a signed revocation list but not a forged one;
#   - an unloadable ephem.conf keeps pam_ephem out of PAM; the module cannot be
#     removed while a PAM file outside pam-auth-update still uses it;
#   - after purge, /etc/nsswitch.conf and /etc/pam.d/common-* are byte-identical
#     to what they were before installation.
#
#   BUILD=build SRCDIR=. tests/packaging/test-deb-install.sh
#
# Needs root, debootstrap, systemd-container, dpkg-dev and debhelper (the
# Build-Depends of packaging/debian/control), and the Debian mirror for the first
# run. The root file system is cached in $EPHEM_LOGIND_CACHE (default:
# $BUILD/logind-cache, shared with tests/logind) as its own tarball; the packages
# in $BUILD/packaging-debs (tests/packaging/debs.sh, shared with test-lintian.sh).
# EPHEM_PACKAGING_SKIP=1 skips the test.

set -u -o pipefail
: "${BUILD:?BUILD must name the meson build directory}"
BUILD=$(cd "$BUILD" && pwd)
SRCDIR=$(cd "${SRCDIR:-$(dirname "$0")/../..}" && pwd)
CACHE=${EPHEM_LOGIND_CACHE:-$BUILD/logind-cache}
# shellcheck source=../helpers/tap.sh
. "$SRCDIR/tests/helpers/tap.sh"
# shellcheck source=../helpers/nspawn.sh
. "$SRCDIR/tests/helpers/nspawn.sh"

[ "${EPHEM_PACKAGING_SKIP:-0}" = 1 ] && skip "EPHEM_PACKAGING_SKIP=1"
[ "$(id -u)" = 0 ] || skip "needs root"
for c in systemd-nspawn debootstrap dpkg-buildpackage dh nsenter flock; do
        command -v "$c" >/dev/null || skip "needs $c (systemd-container, debootstrap, dpkg-dev, debhelper, util-linux)"
done
# The packages are built from source with their own flags: once per tree is enough.
case ${EPHEM_SANITIZE:-none} in none | '') ;; *) skip "runs in builds without sanitizers only (it builds the packages from source itself)" ;; esac

W=$(mktemp -d /var/tmp/ephem-pkg.XXXXXX)
ROOT="$W/root"
HTTP_PID=

cleanup() {
        if [ -n "$HTTP_PID" ]; then
                kill "$HTTP_PID" 2>/dev/null
                wait "$HTTP_PID" 2>/dev/null
        fi
        nspawn_stop
        rm -rf "$W"
}
trap cleanup EXIT

# ---- the packages, from this tree (built once per tree: shared with test-lintian.sh) ----
# shellcheck source=tests/packaging/debs.sh
. "$SRCDIR/tests/packaging/debs.sh"
if ! debs_for_tree "$W" "$W/build.log"; then
        not_ok "the Debian packages build (packaging/build-deb.sh -F)"
        tap_bail "$(tail -n 25 "$W/build.log")"
fi
if [ "$DEBS_REUSED" = 1 ]; then
        ok "the Debian packages of this tree were built by an earlier test ($DEBS)"
else
        ok "the Debian packages build with dpkg-buildpackage ($(elapsed))"
fi
PKGS="ephem-tools libpam-ephem libnss-ephem ephem-askpass"

# ---- a Debian 12 root with systemd, logind, sshd and curl: debootstrap once ----
ROOTFS_TAR="$CACHE/bookworm-packaging-v1.tar"
[ -f "$ROOTFS_TAR" ] || note "debootstrap of a Debian 12 root (once; cached in $ROOTFS_TAR)"
nspawn_rootfs "$ROOTFS_TAR" "$ROOT" \
        systemd,systemd-sysv,dbus,libpam-systemd,openssh-server,openssh-client,libjansson4,libjwt0,procps,iproute2,curl \
        "$W/debootstrap.log" || skip "debootstrap failed: $(tail -n 1 "$W/debootstrap.log")"
# Services may start in the container (its network is its own): postinsts start
# the timers, as on a real host.
rm -f "$ROOT/usr/sbin/policy-rc.d"
mkdir -p "$ROOT/root/debs"
for p in $PKGS; do cp "$DEBS/${p}_"*.deb "$ROOT/root/debs/"; done

# What purge must give back, byte for byte.
mkdir -p "$W/before"
cp -a "$ROOT/etc/nsswitch.conf" "$ROOT"/etc/pam.d/common-* "$W/before/"
same_as_before() { # FILE...: each identical to its copy taken before installation
        local f
        for f in "$@"; do
                cmp -s "$W/before/$(basename "$f")" "$ROOT$f" || { note "$f differs:"; diff "$W/before/$(basename "$f")" "$ROOT$f" | sed 's/^/#   /'; return 1; }
        done
}
COMMON="/etc/pam.d/common-auth /etc/pam.d/common-account /etc/pam.d/common-session
/etc/pam.d/common-session-noninteractive /etc/pam.d/common-password"

nspawn_login_as "$ROOT" 1

# ---- boot ----
nspawn_boot "$ROOT" "ephem-pkg-$$" "$W/nspawn.log"
in_c() { nsenter -t "$C" -a env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }
check "the container booted with systemd as PID 1 ($(elapsed))" [ -n "$C" ]
[ -n "$C" ] || tap_bail "$(tail -n 20 "$W/nspawn.log")"

apt_c() { # apt-get in the container, its output in $W/apt.log
        in_c apt-get -y -q -o Dpkg::Use-Pty=0 "$@" >>"$W/apt.log" 2>&1
}

# ---- install ----
debs() { # the package files, as paths inside the container
        local p f
        for p in $PKGS; do for f in "$ROOT/root/debs/${p}_"*.deb; do echo "${f#"$ROOT"}"; done; done
}
# shellcheck disable=SC2046
if apt_c install --no-install-recommends $(debs); then
        ok "apt installs $PKGS ($(elapsed))"
else
        not_ok "apt installs $PKGS"
        tap_bail "$(tail -n 30 "$W/apt.log")"
fi
check "dpkg has every package installed" \
        bash -c "[ \$(nsenter -t $C -a dpkg-query -W -f='\${db:Status-Abbrev}\n' $PKGS | grep -c '^ii') = 4 ]"
check "the PAM module is in the multiarch directory" [ -f "$ROOT/usr/lib/x86_64-linux-gnu/security/pam_ephem.so" ]
check "the NSS module is in the multiarch directory" [ -f "$ROOT/usr/lib/x86_64-linux-gnu/libnss_ephem.so.2" ]

line_of() { grep -n -m 1 -E "$2" "$ROOT$1" | cut -d: -f1; }
before() { [ -n "$1" ] && [ -n "$2" ] && [ "$1" -lt "$2" ]; } # line numbers, both found
AUTH_EPHEM=$(line_of /etc/pam.d/common-auth '^auth[[:space:]]+\[success=done ignore=ignore default=die\][[:space:]]+pam_ephem\.so')
AUTH_UNIX=$(line_of /etc/pam.d/common-auth '^auth[[:space:]].*pam_unix\.so')
check "common-auth: pam_ephem [success=done ignore=ignore default=die], before pam_unix" \
        before "$AUTH_EPHEM" "$AUTH_UNIX"
check "common-account: pam_ephem [success=ok ignore=ignore default=bad]" \
        grep -qE '^account[[:space:]]+\[success=ok ignore=ignore default=bad\][[:space:]]+pam_ephem\.so' "$ROOT/etc/pam.d/common-account"
SESS_EPHEM=$(line_of /etc/pam.d/common-session '^session[[:space:]]+\[success=ok ignore=ignore default=bad\][[:space:]]+pam_ephem\.so')
SESS_SYSTEMD=$(line_of /etc/pam.d/common-session '^session[[:space:]].*pam_systemd\.so')
SESS_UNIX=$(line_of /etc/pam.d/common-session '^session[[:space:]].*pam_unix\.so')
check "common-session: pam_ephem before pam_unix and pam_systemd" \
        bash -c "$(declare -f before); before '$SESS_EPHEM' '$SESS_SYSTEMD' && before '$SESS_EPHEM' '$SESS_UNIX'"
check "common-session-noninteractive and common-password: no pam_ephem" \
        bash -c "! grep -q pam_ephem '$ROOT/etc/pam.d/common-session-noninteractive' '$ROOT/etc/pam.d/common-password'"
check "nsswitch.conf: passwd and group have ephem right after files" \
        bash -c "grep -qE '^passwd:[[:space:]]+files ephem( |\$)' '$ROOT/etc/nsswitch.conf' && grep -qE '^group:[[:space:]]+files ephem( |\$)' '$ROOT/etc/nsswitch.conf'"
check "nsswitch.conf: only the passwd and group lines changed" \
        bash -c "diff '$W/before/nsswitch.conf' '$ROOT/etc/nsswitch.conf' | grep '^[<>]' | grep -vqE '^[<>] (passwd|group):' && exit 1 || exit 0"
check "tmpfiles: /run/ephem 0755, /var/lib/ephem 0755, revoked, quarantine, breakglass 0700" \
        bash -c "[ \"\$(nsenter -t $C -a stat -c '%n %a %U' /run/ephem /var/lib/ephem /var/lib/ephem/revoked /var/lib/ephem/quarantine /var/lib/ephem/breakglass | tr '\n' ' ')\" = '/run/ephem 755 root /var/lib/ephem 755 root /var/lib/ephem/revoked 700 root /var/lib/ephem/quarantine 700 root /var/lib/ephem/breakglass 700 root ' ]"
check "the timers are enabled and running" in_c systemctl is-active -q ephem-refresh.timer ephem-gc.timer
check "the timers' services did not run at installation" \
        bash -c "[ \"\$(nsenter -t $C -a systemctl show -p ExecMainStartTimestampMonotonic --value ephem-refresh.service ephem-gc.service | grep -cx 0)\" = 2 ]"
check "the journal catalog knows ephem's events (systemd's dpkg trigger)" \
        bash -c "nsenter -t $C -a journalctl --list-catalog a20491bf118d4920bb1d90d6a9793c9e 2>/dev/null | grep -q ephem"
check "the shipped ephem.conf loads and allows nothing" \
        bash -c "nsenter -t $C -a ephemctl policy check | grep -q '0 error(s).*0 issuer(s), 0 rule(s)'"
check "root still resolves, and su to a local account passes the new account and session stacks" \
        bash -c "nsenter -t $C -a getent passwd root >/dev/null && [ \"\$(nsenter -t $C -a su -s /bin/sh -c 'id -un' nobody)\" = nobody ]"
check "the sshd_config.d snippet is off: keyboard-interactive stays off" \
        bash -c "nsenter -t $C -a sshd -T -C user=agent-7,host=x,addr=127.0.0.1 | grep -qx 'kbdinteractiveauthentication no'"

# ---- configure an issuer and a rule, the way README.Debian says ----
in_c install -d -m 0755 /etc/ephem/keys
in_c ephemctl keygen --type ec --kid k1 --out /root/issuer >/dev/null
in_c ephemctl keygen --type ec --kid k2 --out /root/issuer2 >/dev/null
in_c install -m 0644 /root/issuer.jwks /etc/ephem/keys/local.jwks
in_c cp -p /etc/ephem/ephem.conf /etc/ephem/ephem.conf.new
cat >"$ROOT/etc/ephem/ephem.conf.new" <<'EOF'
[host]
audience = pkg-host
leeway = 0
fail_delay = 0
warn_before = 3s

[users]
names = agent-*

[issuer local]
iss = https://issuer.test
keys = /etc/ephem/keys/local.jwks
algorithms = ES256

[rule agents]
issuer = local
logins = agent-${agent_id}
EOF
check "the new ephem.conf passes ephemctl policy check before it replaces the old one" \
        in_c sh -c 'ephemctl policy check --config /etc/ephem/ephem.conf.new >/dev/null && mv /etc/ephem/ephem.conf.new /etc/ephem/ephem.conf'
check "nss_ephem resolves a transient name through the installed nsswitch.conf" \
        bash -c "nsenter -t $C -a getent passwd agent-7 | grep -q '^agent-7:\\*:'"
# The shipped sshd snippet, turned on as it says: UsePAM and the Match block.
sed -i -e 's/^#UsePAM yes$/UsePAM yes/' -e 's/^#Match User agent-\*$/Match User agent-*/' \
        -e 's/^#\t\(KbdInteractiveAuthentication\|AuthenticationMethods\|PubkeyAuthentication\)/\t\1/' \
        "$ROOT/etc/ssh/sshd_config.d/ephem.conf"
check "the snippet, turned on, enables keyboard-interactive for agent-* only" \
        bash -c "nsenter -t $C -a sshd -t &&
                nsenter -t $C -a sshd -T -C user=agent-7,host=x,addr=127.0.0.1 | grep -qx 'kbdinteractiveauthentication yes' &&
                nsenter -t $C -a sshd -T -C user=root,host=x,addr=127.0.0.1 | grep -qx 'kbdinteractiveauthentication no'"
in_c systemctl restart ssh.service systemd-logind.service >/dev/null 2>&1
check "sshd and logind run in the container" in_c systemctl is-active -q ssh.service systemd-logind.service

mint() { # AGENT TTL [KEY KID] -> a token file inside the container
        local f=/root/token-$1-$RANDOM
        in_c ephemctl mint --key "${3:-/root/issuer.key}" --kid "${4:-k1}" --iss https://issuer.test \
                --aud pkg-host --sub "agent-$1" --claim "agent_id=$1" --ttl "$2" >"$ROOT$f"
        chmod 0600 "$ROOT$f"
        echo "$f"
}

# ---- a token login through the installed stack, cut off at expiry ----
TF=$(mint 7 10)
in_c login-as agent-7 "$TF" 'id -un; echo "deadline $EPHEM_EXPIRES_AT"; sleep 1000' >"$W/login.out" 2>&1 &
SSH=$!
SCOPE=
for _ in $(seq 1 50); do
        SCOPE=$(in_c loginctl list-sessions --no-legend 2>/dev/null | awk '$3 == "agent-7" {print "session-" $1 ".scope"; exit}')
        [ -n "$SCOPE" ] && break
        sleep 0.2
done
T0=$(date +%s)
check "a token logs in over SSH as agent-7, with a logind session" [ -n "$SCOPE" ]
MAX=$(in_c systemctl show -p RuntimeMaxUSec --value "$SCOPE" 2>/dev/null)
check "pam_ephem ran before pam_systemd: the scope has RuntimeMaxSec= ($MAX)" bash -c "[[ '$MAX' =~ ^([1-9]|10)s$ ]]"
wait $SSH
END=$(date +%s)
check "the session ran as agent-7 and was cut off at the token's expiry ($((END - T0)) s after login)" \
        bash -c "grep -qx agent-7 '$W/login.out' && [ $((END - T0)) -le 15 ]"
sleep 2
check "no process of agent-7 is left" bash -c "! nsenter -t $C -a pgrep -u agent-7 >/dev/null"
TF=$(mint 8 60)
check "another token logs in" in_c login-as agent-8 "$TF" true
check "... and cannot log in twice (audit: replay)" \
        bash -c "! nsenter -t $C -a login-as agent-8 $TF true >/dev/null 2>&1 &&
                nsenter -t $C -a journalctl -q -o cat EPHEM_EVENT=auth_denied EPHEM_USER=agent-8 --output-fields=EPHEM_REASON | grep -qx replay"
# A local account still logs in with its password: common-auth goes on to pam_unix.
in_c useradd -m -s /bin/sh localadm
echo 'localadm:Local-Pass-1' | in_c chpasswd
printf '#!/bin/sh\necho Local-Pass-1\n' >"$ROOT/usr/local/bin/local-pass"
chmod 0755 "$ROOT/usr/local/bin/local-pass"
check "a local account logs in over SSH with its password through the same stack" \
        bash -c "[ \"\$(nsenter -t $C -a env SSH_ASKPASS=/usr/local/bin/local-pass SSH_ASKPASS_REQUIRE=force DISPLAY= \
                ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
                -o PreferredAuthentications=password -o NumberOfPasswordPrompts=1 localadm@127.0.0.1 id -un </dev/null)\" = localadm ]"

# ---- ephem-refresh.service against a JWKS on the container's loopback ----
# An HTTP server in the container's network namespace (the host's python3,
# serving a directory of the host).
mkdir -p "$W/www"
PORT=8711
nsenter -t "$C" -n /usr/bin/python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$W/www" \
        >"$W/http.log" 2>&1 &
HTTP_PID=$!
for _ in $(seq 1 50); do
        in_c curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
        sleep 0.1
done
printf 'jwks local http://127.0.0.1:%s/jwks.json\n' "$PORT" >>"$ROOT/etc/ephem/refresh.conf"
OLD=$(md5sum <"$ROOT/etc/ephem/keys/local.jwks")
refresh() { in_c systemctl start ephem-refresh.service >/dev/null 2>&1; }
keys_are() { [ "$(md5sum <"$ROOT/etc/ephem/keys/local.jwks")" = "$1" ]; }

cp "$ROOT/root/issuer2.key" "$W/www/jwks.json"        # a private key
check "refresh: a download holding a private key is refused (the service fails)" \
        bash -c "! nsenter -t $C -a systemctl start ephem-refresh.service 2>/dev/null"
check "refresh: ... and the old keys stay" keys_are "$OLD"
echo '{"keys": []}' >"$W/www/jwks.json"
refresh
check "refresh: an empty JWKS is refused, the old keys stay" keys_are "$OLD"
rm -f "$W/www/jwks.json"
refresh
check "refresh: a failed download keeps the old keys" keys_are "$OLD"
check "refresh: the reason is in the journal" \
        bash -c "nsenter -t $C -a journalctl -q -u ephem-refresh.service | grep -q 'download from http://127.0.0.1:$PORT/jwks.json failed; keeping'"
# Rotation: the old and the new key side by side, as a broker publishes them.
/usr/bin/python3 - "$ROOT/root/issuer.jwks" "$ROOT/root/issuer2.jwks" >"$W/www/jwks.json" <<'EOF'
import json, sys
print(json.dumps({"keys": [k for f in sys.argv[1:] for k in json.load(open(f))["keys"]]}))
EOF
NEW=$(md5sum <"$W/www/jwks.json")
check "refresh: keys that verify replace the old ones (the service succeeds)" \
        bash -c "nsenter -t $C -a systemctl start ephem-refresh.service && [ \"\$(md5sum < '$ROOT/etc/ephem/keys/local.jwks')\" = '$NEW' ]"
check "refresh: the new key file is root's, mode 0644, replaced by a rename" \
        bash -c "[ \"\$(stat -c '%U %a' '$ROOT/etc/ephem/keys/local.jwks')\" = 'root 644' ] && ! ls '$ROOT'/etc/ephem/keys/ | grep -q new"
TF=$(mint 9 60 /root/issuer2.key k2)
check "refresh: a token of the new key verifies" bash -c "nsenter -t $C -a ephemctl policy test --user agent-9 $TF >/dev/null"

# Revocation lists: one signed by the issuer, one forged.
revdoc() { # KEYFILE KID SUB -> a revocation document on stdout
        /usr/bin/python3 -c '
import sys, time, jwt
key = open(sys.argv[1]).read()
print(jwt.encode({"iss": "https://issuer.test", "iat": int(time.time()), "revoked": [{"sub": sys.argv[3]}]},
                 key, algorithm="ES256", headers={"kid": sys.argv[2], "typ": "revocation+jwt"}))
' "$@"
}
if /usr/bin/python3 -c 'import jwt' 2>/dev/null; then
        printf 'revocations http://127.0.0.1:%s/revoked.jwt\n' "$PORT" >>"$ROOT/etc/ephem/refresh.conf"
        in_c ephemctl keygen --type ec --kid k1 --out /root/forger >/dev/null
        revdoc "$ROOT/root/forger.key" k1 agent-forged >"$W/www/revoked.jwt"
        check "refresh: a revocation list with a forged signature is refused (the service fails)" \
                bash -c "! nsenter -t $C -a systemctl start ephem-refresh.service 2>/dev/null &&
                        ! nsenter -t $C -a ephemctl revocations list | grep -q agent-forged"
        check "refresh: a token of the new key logs in (before its subject is revoked)" \
                in_c login-as agent-9 "$TF" true
        revdoc "$ROOT/root/issuer2.key" k2 agent-9 >"$W/www/revoked.jwt"
        check "refresh: a signed revocation list is applied (the service succeeds)" \
                bash -c "nsenter -t $C -a systemctl start ephem-refresh.service && nsenter -t $C -a ephemctl revocations list | grep -q agent-9"
        TF=$(mint 9 60 /root/issuer2.key k2)
        check "refresh: a new token of the revoked subject is refused (audit: revoked)" \
                bash -c "! nsenter -t $C -a login-as agent-9 $TF true >/dev/null 2>&1 &&
                        nsenter -t $C -a journalctl -q -o cat EPHEM_EVENT=auth_denied EPHEM_USER=agent-9 --output-fields=EPHEM_REASON | grep -qx revoked"
else
        ok "# SKIP python3-jwt is missing: revocation lists not tested"
fi
[ $FAILED -eq 0 ] || in_c journalctl -q -u ephem-refresh.service | tail -n 20 | sed 's/^/# /'
kill "$HTTP_PID" 2>/dev/null
wait "$HTTP_PID" 2>/dev/null
HTTP_PID=
check "the gc unit runs" in_c systemctl start ephem-gc.service

# ---- purge: the system files exactly as before ----
# shellcheck disable=SC2086
check "apt purges every package ($(elapsed))" apt_c purge $PKGS
check "dpkg knows none of them any more" \
        bash -c "! nsenter -t $C -a dpkg-query -W -f='\${db:Status-Abbrev}\n' $PKGS 2>/dev/null | grep -q '^[a-z][ic]'"
# shellcheck disable=SC2086
check "nsswitch.conf and pam.d/common-* are byte-identical to before installation" same_as_before /etc/nsswitch.conf $COMMON
check "no module, profile, state or configuration is left" \
        bash -c "cd '$ROOT' && [ ! -e usr/lib/x86_64-linux-gnu/security/pam_ephem.so ] && [ ! -e usr/lib/x86_64-linux-gnu/libnss_ephem.so.2 ] &&
                [ ! -e usr/share/pam-configs/ephem ] && [ ! -e var/lib/ephem ] && [ ! -e var/lib/libnss-ephem ] && [ ! -e etc/ephem/ephem.conf ] &&
                [ ! -e etc/ssh/sshd_config.d/ephem.conf ] && [ ! -e etc/systemd/system/timers.target.wants/ephem-refresh.timer ]"
check "the journal catalog no longer has ephem's events" \
        bash -c "! nsenter -t $C -a journalctl --list-catalog a20491bf118d4920bb1d90d6a9793c9e 2>/dev/null | grep -q ephem"
check "root still resolves and su works after purge" \
        bash -c "nsenter -t $C -a getent passwd root >/dev/null && [ \"\$(nsenter -t $C -a su -s /bin/sh -c 'id -un' nobody)\" = nobody ]"

# ---- the safety nets ----
# An ephem.conf that cannot be loaded is there before installation (kept by dpkg):
# pam_ephem must stay out of PAM, or it would refuse every login.
in_c install -d -m 0755 /etc/ephem
printf '[host]\nno_such_key = 1\n' >"$ROOT/etc/ephem/ephem.conf"
chmod 0644 "$ROOT/etc/ephem/ephem.conf"
# shellcheck disable=SC2046
check "with an unloadable ephem.conf, the packages install" \
        apt_c -o Dpkg::Options::=--force-confold install --no-install-recommends $(debs)
check "... but pam_ephem is kept out of common-*, and the admin is told why" \
        bash -c "! grep -q pam_ephem '$ROOT'/etc/pam.d/common-* && grep -q 'cannot be loaded' '$W/apt.log'"
check "... and another package's pam-auth-update run does not add it" \
        bash -c "nsenter -t $C -a env DEBIAN_FRONTEND=noninteractive pam-auth-update --package && ! grep -q pam_ephem '$ROOT'/etc/pam.d/common-*"
in_c cp /etc/ephem/ephem.conf.dpkg-dist /etc/ephem/ephem.conf
check "once the file is fixed, pam-auth-update --enable ephem adds it" \
        bash -c "nsenter -t $C -a env DEBIAN_FRONTEND=noninteractive pam-auth-update --enable ephem && grep -q pam_ephem '$ROOT/etc/pam.d/common-auth'"
# An admin's own pam_ephem line in /etc/pam.d/sshd: removing the module would lock
# sshd, so the removal is refused, and nothing is changed.
cp -a "$ROOT/etc/pam.d/sshd" "$W/sshd.pam"
cp -a "$ROOT"/etc/pam.d/common-* "$W/"
{ echo 'auth [success=done ignore=ignore default=die] pam_ephem.so'; cat "$W/sshd.pam"; } >"$ROOT/etc/pam.d/sshd"
check "removing libpam-ephem while /etc/pam.d/sshd uses it is refused" bash -c "! nsenter -t $C -a env DEBIAN_FRONTEND=noninteractive apt-get -y -q remove libpam-ephem >>'$W/apt.log' 2>&1"
check "... the package, the module and common-* stay as they were" \
        bash -c "nsenter -t $C -a dpkg-query -W -f='\${db:Status-Abbrev}' libpam-ephem | grep -q '^ii' && [ -e '$ROOT/usr/lib/x86_64-linux-gnu/security/pam_ephem.so' ] &&
                for f in '$ROOT'/etc/pam.d/common-*; do cmp -s \"\$f\" '$W/'\$(basename \"\$f\") || exit 1; done"
cp -a "$W/sshd.pam" "$ROOT/etc/pam.d/sshd"
# shellcheck disable=SC2086
check "without that line, apt purges every package" apt_c purge $PKGS
# shellcheck disable=SC2086
check "nsswitch.conf and pam.d/common-* are byte-identical to before, again" same_as_before /etc/nsswitch.conf $COMMON

note "total $(elapsed)"
[ $FAILED -eq 0 ] || { note "$FAILED failed; apt log:"; tail -n 40 "$W/apt.log" | sed 's/^/# /'; }
tap_done
