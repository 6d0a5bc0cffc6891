#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The NSS benchmark (bench-nss.c) through the real glibc NSS. As root: builds a private
# mount namespace with a 50-line /etc/passwd and /etc/group (bind mounts),
# "passwd: files ephem" / "group: files ephem", the module overlaid into the library
# directory, and three stores on a tmpfs with 10, 1,000 and 100,000 transient users;
# then runs the measurement. The machine's /etc and library directory are untouched.
#
#   ninja -C build bench-nss       (or: bench-nss.sh BENCH_PROGRAM NSS_MODULE)
set -eu

BENCH=$(readlink -f "${1:?usage: bench-nss.sh <bench-nss> <libnss_ephem.so.2>}")
MODULE=$(readlink -f "${2:?usage: bench-nss.sh <bench-nss> <libnss_ephem.so.2>}")
SIZES=${BENCH_NSS_SIZES:-"10 1000 100000"}

if [ "$(id -u)" != 0 ]; then
    echo "bench-nss needs root (a private mount namespace)" >&2
    exit 77
fi

libdir() {
    local d
    for d in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /lib64 /usr/lib64; do
        [ -e "$d/libc.so.6" ] && { echo "$d"; return; }
    done
    dirname "$(ldconfig -p | awk '/libc.so.6 / {print $NF; exit}')"
}

if [ -z "${BENCH_NSS_T:-}" ]; then
    BENCH_NSS_T=$(mktemp -d /tmp/ephem-bench-nss.XXXXXX)
    chmod 0755 "$BENCH_NSS_T"
    export BENCH_NSS_T
    rc=0
    unshare --mount --propagation private -- bash "$0" "$BENCH" "$MODULE" || rc=$?
    rm -rf "$BENCH_NSS_T"
    exit "$rc"
fi

# ---- inside the namespace ----
T=$BENCH_NSS_T
mkdir -p "$T/lib" "$T/state"
mount -t tmpfs -o mode=0755 tmpfs "$T/state"   # /run/ephem lives on a tmpfs

# A 50-line /etc/passwd and /etc/group; the user measured is the last line, so that
# "files" reads the whole file for it as it does for every transient name.
{
    echo "root:x:0:0:root:/root:/bin/bash"
    for i in $(seq 1 48); do
        printf 'user%02d:x:%d:%d:User %d,,,:/home/user%02d:/bin/bash\n' "$i" $((1000 + i)) $((1000 + i)) "$i" "$i"
    done
    echo "bench-files:x:1050:1050:Bench user,,,:/home/bench-files:/bin/bash"
} > "$T/passwd"
{
    echo "root:x:0:"
    for i in $(seq 1 48); do
        case $i in
        10 | 40) printf 'group%02d:x:%d:user%02d,bench-files\n' "$i" $((1000 + i)) "$i" ;;
        *) printf 'group%02d:x:%d:user%02d\n' "$i" $((1000 + i)) "$i" ;;
        esac
    done
    echo "bench-files:x:1050:"
} > "$T/group"
printf 'passwd: files ephem\ngroup: files ephem\nshadow: files\n' > "$T/nsswitch.conf"
mount --bind "$T/passwd" /etc/passwd
mount --bind "$T/group" /etc/group
mount --bind "$T/nsswitch.conf" /etc/nsswitch.conf
cp "$MODULE" "$T/lib/libnss_ephem.so.2"
LIBDIR=$(libdir)
mount -t overlay overlay -o "lowerdir=$T/lib:$LIBDIR" "$LIBDIR"

configs=()
for n in $SIZES; do
    printf '[host]\nstate_dir = %s\n\n[users]\nnames = agent-*\n' "$T/state/$n" > "$T/ephem.conf-$n"
    chmod 0644 "$T/ephem.conf-$n"
    "$BENCH" populate "$T/state/$n" "$n"
    configs+=("$T/ephem.conf-$n")
done
echo "/etc/passwd: $(wc -l < /etc/passwd) lines, /etc/group: $(wc -l < /etc/group) lines; $(nproc) CPUs; $(uname -r)"
"$BENCH" run bench-files agent-bench "${configs[@]}"
