#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what ephem needs to build, test and run its demo on Debian 12 (as root).
# Installs only what is missing; never starts a service (Debian's policy-rc.d).
set -eu

PACKAGES="build-essential meson ninja-build pkg-config
libpam0g-dev libjwt-dev libssl-dev libsystemd-dev libjansson-dev
pamtester libpam-wrapper libpamtest0-dev libnss-wrapper libuid-wrapper libcmocka-dev
openssh-server openssh-client sshpass python3 python3-jwt python3-cryptography python3-paramiko
util-linux procps curl ca-certificates nodejs npm
clang libclang-rt-14-dev clang-tidy clang-format cppcheck valgrind debootstrap systemd-container debhelper lintian rpm"

missing=""
for p in $PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# Node.js may come from elsewhere than Debian (it is preinstalled on some machines).
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
        missing=$(echo "$missing" | tr ' ' '\n' | grep -vx -e nodejs -e npm | tr '\n' ' ')
fi
missing=$(echo $missing)
if [ -n "$missing" ]; then
        echo "installing: $missing"
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi
