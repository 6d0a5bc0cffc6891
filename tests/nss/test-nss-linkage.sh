#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# How libnss_ephem.so.2 (or ephem-cutoff, which links as little) links, read from
# the ELF file itself (TAP):
#   needed  MODULE SANITIZE  its only NEEDED entry is libc.so.6 (plus the sanitizer
#                            runtimes, and only in a -Db_sanitize build)
#   symbols MODULE SYMFILE   the dynamic symbols it defines are exactly the
#                            _nss_ephem_* entry points of its version script
set -u

mode=$1 module=$2 arg=${3:-}
for tool in readelf nm; do
    command -v "$tool" >/dev/null || { echo "1..0 # SKIP $tool not installed"; exit 0; }
done
[ -f "$module" ] || { echo "Bail out! no module at $module"; exit 1; }

case $mode in
needed)
    needed=$(readelf -d "$module" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort)
    allowed='^libc\.so\.6$'
    if [ "$arg" != none ]; then
        allowed='^(libc\.so\.6|libasan\.so\.[0-9]+|libubsan\.so\.[0-9]+|libtsan\.so\.[0-9]+)$'
    fi
    echo "1..3"
    if echo "$needed" | grep -qx 'libc.so.6'; then
        echo "ok 1 - NEEDED libc.so.6"
    else
        echo "not ok 1 - libc.so.6 is not NEEDED"
    fi
    extra=$(echo "$needed" | grep -Ev "$allowed")
    if [ -z "$extra" ]; then
        echo "ok 2 - nothing else is NEEDED"
    else
        echo "not ok 2 - also NEEDED: $(echo $extra)"
    fi
    # What must never be in the process of every user lookup, by any route.
    bad=$(echo "$needed" | grep -E 'crypto|ssl|jwt|jansson|systemd|pam')
    if [ -z "$bad" ] && ! readelf -d "$module" | grep -qE '(RPATH|RUNPATH)'; then
        echo "ok 3 - no libcrypto, libjwt, jansson, libsystemd, libpam; no RPATH"
    else
        echo "not ok 3 - links $bad or has an RPATH"
    fi
    [ -z "$extra" ] && [ -z "$bad" ] && echo "$needed" | grep -qx 'libc.so.6'
    ;;
symbols)
    expected=$(sed -n 's/^[[:space:]]*\(_nss_ephem_[a-z_]*\);.*/\1/p' "$arg" | sort)
    defined=$(nm -D --defined-only "$module" | awk '{print $NF}' | sed 's/@.*//' | sort)
    echo "1..2"
    if [ "$(echo "$expected" | wc -l)" -ge 11 ]; then
        echo "ok 1 - $(echo "$expected" | wc -l) entry points in the version script"
    else
        echo "not ok 1 - the version script lists too few entry points"
    fi
    if [ "$defined" = "$expected" ]; then
        echo "ok 2 - exported exactly: $(echo $defined)"
    else
        echo "not ok 2 - exported symbols differ from the version script:"
        diff <(echo "$expected") <(echo "$defined") | sed 's/^/# /'
        exit 1
    fi
    ;;
*)
    echo "usage: $0 needed|symbols MODULE ARG" >&2
    exit 2
    ;;
esac
