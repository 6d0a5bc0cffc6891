#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# libnss_ephem.so.2 behind the real glibc NSS, as every program on a host sees it:
# inside a private mount namespace (tests/e2e/rig.sh) with the module overlaid into
# the library directory, an /etc overlay saying "passwd: files ephem" and
# "group: files ephem", and /run on a tmpfs. getent, id and ls resolve pre-
# authentication and recorded transient users; a PAM stack (pam_ephem auth, then
# Debian's stock common-account, i.e. pam_unix) admits a name that only had its
# pre-authentication entry; glibc's ERANGE protocol holds at every buffer size.
# Needs root: exits 77 (skip) otherwise. Prints TAP lines; the exit code is the verdict.
#
# Usage: BUILD=<build dir> test-nss-glibc.sh <nss-glibc-probe>
set -u

PROBE=${1:?usage: test-nss-glibc.sh <nss-glibc-probe>}
: "${BUILD:?BUILD must name the meson build directory}"
# shellcheck source=tests/e2e/rig.sh
. "$(dirname "$(readlink -f "$0")")/../e2e/rig.sh"

if [ "$(id -u)" != 0 ]; then
    echo "1..0 # SKIP needs root (a private mount namespace)"
    exit 77
fi
# A sanitizer-built module cannot be loaded by uninstrumented getent, id, ls.
if readelf -d "$NSS_MODULE" | grep -qE 'NEEDED.*lib(a|t|ub)san'; then
    echo "1..0 # SKIP the module is built with a sanitizer runtime"
    exit 77
fi
command -v pamtester >/dev/null || { echo "1..0 # SKIP pamtester is not installed"; exit 77; }
rig_enter "$@"

n=0
failed=0
ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}
not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/# /'
}
# check DESCRIPTION COMMAND...: ok when the command succeeds
check() {
    local what=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$what"; else not_ok "$what" "$out"; fi
}
# expect_eq DESCRIPTION GOT WANT
expect_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  $2"$'\n'"want: $3"; fi
}

cleanup() {
    rig_stop
    [ -n "${T:-}" ] && rm -rf "$T"
}
trap cleanup EXIT

# A long comment field, so that entries are longer than any line of /etc/passwd and
# the small-buffer calls reach the module rather than stopping at "files".
GECOS="Transient agent of the NSS rig test, with a comment long enough to outgrow"
GECOS="$GECOS every line of /etc/passwd and /etc/group"
RIG_USERS_EXTRA="gecos = $GECOS"
rig_setup
cat > /etc/pam.d/ephem-nss-test <<PAM
auth     required  $PAM_MODULE
@include common-account
PAM
echo "1..23"

# ---- before authentication: the pre-authentication entry, by name only ----
pre=$(getent passwd agent-pre)
pre_uid=$(echo "$pre" | cut -d: -f3)
expect_eq "getent passwd agent-pre: the pre-authentication entry" "$pre" \
    "agent-pre:*:$pre_uid:$pre_uid:$GECOS:$T/home/agent-pre:/bin/sh"
if [ "${pre_uid:-0}" -ge 1879048192 ] && [ "$pre_uid" -le 2147352575 ]; then
    ok "its UID $pre_uid lies in the transient range"
else
    not_ok "its UID lies in the transient range" "$pre"
fi
expect_eq "getent group agent-pre: the user-private group" "$(getent group agent-pre)" "agent-pre:*:$pre_uid:"
getent passwd "$pre_uid" >/dev/null
expect_eq "getent passwd <its UID>: not found until recorded" "$?" 2
getent passwd bob >/dev/null
expect_eq "getent passwd bob (no pattern matches): not found" "$?" 2
bad=""
for name in AGENT-1 ../x 'a:b' agent-1234567890123456789012345678 'agent-*' ''; do
    getent passwd "$name" >/dev/null && bad="$bad '$name'"
    getent group "$name" >/dev/null && bad="$bad group:'$name'"
done
expect_eq "invalid names are not found" "$bad" ""
expect_eq "root is still files' root" "$(getent passwd root | cut -d: -f1,3,4)" "root:0:0"

# ---- a login of a name that only had its pre-authentication entry ----
before=$(getent passwd agent-42)
uid=$(echo "$before" | cut -d: -f3)
token=$(rig_mint 42 300)
if out=$(printf '%s\n' "$token" | pamtester ephem-nss-test agent-42 authenticate acct_mgmt 2>&1); then
    ok "PAM: pam_ephem auth + common-account (pam_unix) admit agent-42"
else
    not_ok "PAM: pam_ephem auth + common-account (pam_unix) admit agent-42" "$out"
fi
unset token
check "the login recorded agent-42" test -f "/run/ephem/users/by-name/agent-42"

# ---- after authentication: the recorded user, the same entry, every way ----
expect_eq "getent passwd agent-42: the entry sshd saw before authentication" "$(getent passwd agent-42)" "$before"
expect_eq "getent passwd $uid: agent-42" "$(getent passwd "$uid" | cut -d: -f1)" "agent-42"
expect_eq "getent group agent-42" "$(getent group agent-42)" "agent-42:*:$uid:"
expect_eq "getent group $uid" "$(getent group "$uid" | cut -d: -f1)" "agent-42"
expect_eq "id agent-42: its UID, its group, the rule's group adm" "$(id agent-42)" \
    "uid=$uid(agent-42) gid=$uid(agent-42) groups=$uid(agent-42),4(adm)"
expect_eq "getent initgroups agent-42 (initgroups_dyn)" "$(getent initgroups agent-42 | tr -s ' ')" "agent-42 4"
touch "$T/owned"
chown "$uid:$uid" "$T/owned"
expect_eq "ls -l names the transient owner and group" "$(ls -l "$T/owned" | awk '{print $3, $4}')" "agent-42 agent-42"
expect_eq "stat -c %U resolves the UID" "$(stat -c '%U:%G' "$T/owned")" "agent-42:agent-42"
enum=$(getent passwd | grep -c '^agent-')
expect_eq "getent passwd (enumeration) lists the recorded user only" \
    "$enum:$(getent passwd | grep -c '^agent-42:')" "1:1"
expect_eq "getent group (enumeration) lists its group" "$(getent group | grep -c '^agent-42:')" "1"
check "glibc's ERANGE protocol at every buffer size (recorded user)" "$PROBE" agent-42
check "glibc's ERANGE protocol at every buffer size (pre-authentication name)" "$PROBE" --by-name-only agent-pre-2

# ---- a damaged record: refused, and not replaced by a guess ----
printf 'v=1\nname=agent-42\nuid=0\ngid=0\n' > /run/ephem/users/by-name/agent-42
getent passwd agent-42 >/dev/null
expect_eq "a damaged record is not found (no guess, no UID 0)" "$?" 2
getent passwd "$uid" >/dev/null
expect_eq "its UID link is refused too" "$?" 2

[ "$n" = 23 ] || echo "# $n tests ran, 23 planned"
[ "$n" = 23 ] && [ "$failed" = 0 ]
