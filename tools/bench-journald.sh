#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench-journald.sh COMMAND...: runs COMMAND in a private mount namespace beside a
# journald of its own, as on a host with systemd, so that the audit events of what
# is measured are sent and accepted (without one, each event is a refused send and
# a syslog fallback, which is not what a host pays). The journal is volatile, on a
# tmpfs of the namespace; nothing of the machine's /etc, /run or /var changes.
set -u
if [ -z "${EPHEM_BENCH_JOURNALD_INSIDE:-}" ]; then
        export EPHEM_BENCH_JOURNALD_INSIDE=1
        exec unshare --mount --propagation private -- "$0" "$@"
fi
[ -x /lib/systemd/systemd-journald ] || { echo "bench-journald.sh: no systemd-journald" >&2; exit 77; }
for dir in /etc/systemd /run/systemd /run/log; do
        mkdir -p "$dir" && mount -t tmpfs -o mode=0755 tmpfs "$dir" || exit 1
done
[ -d /var/log/journal ] && { mount -t tmpfs -o mode=0755 tmpfs /var/log/journal || exit 1; }
printf '[Journal]\nStorage=volatile\nReadKMsg=no\nForwardToSyslog=no\nForwardToKMsg=no\nForwardToConsole=no\nForwardToWall=no\nRateLimitBurst=0\n' \
        >/etc/systemd/journald.conf
SYSTEMD_LOG_TARGET=console /lib/systemd/systemd-journald >/dev/null 2>&1 &
JOURNALD=$!
trap 'kill "$JOURNALD" 2>/dev/null; wait "$JOURNALD" 2>/dev/null' EXIT
for _ in $(seq 1 50); do
        [ -S /run/systemd/journal/socket ] && break
        sleep 0.1
done
[ -S /run/systemd/journal/socket ] || { echo "bench-journald.sh: journald did not start" >&2; exit 1; }
"$@"
