#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds ephem's Debian packages from this source tree, uncommitted changes
# included, into OUTDIR:
#
#   packaging/build-deb.sh OUTDIR [dpkg-buildpackage options]
#
# Without options it runs dpkg-buildpackage -b -us -uc (binary packages only);
# -F builds the source package too (for lintian's source checks).
# dpkg-buildpackage wants the packaging in ./debian; upstream keeps it in
# packaging/debian (a distribution's own debian/ must not collide with it), so
# the build runs in a temporary copy of the tree with packaging/debian copied
# to debian/. The source tree is not written to. Needs dpkg-dev, debhelper and
# the Build-Depends of packaging/debian/control.

set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:?usage: $0 OUTDIR [dpkg-buildpackage options]}
shift
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

W=$(mktemp -d "${TMPDIR:-/tmp}/ephem-deb.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
mkdir "$W/ephem"

# The tree as git sees it (tracked and untracked, not ignored: no build
# directories), or everything but build directories outside a git checkout.
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        (cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
                tar --null --ignore-failed-read -T - -cf -) 2>/dev/null | tar -C "$W/ephem" -xf -
else
        (cd "$SRC" && tar --exclude='./build' --exclude='./build-*' --exclude='./.git' -cf - .) |
                tar -C "$W/ephem" -xf -
fi
rm -rf "$W/ephem/debian"
cp -a "$SRC/packaging/debian" "$W/ephem/debian"

[ $# -gt 0 ] || set -- -b
(cd "$W/ephem" && dpkg-buildpackage -us -uc "$@")
for f in "$W"/*.deb "$W"/*.changes "$W"/*.buildinfo "$W"/*.dsc "$W"/*.tar.*; do
        [ -e "$f" ] && cp "$f" "$OUT/"
done
ls "$OUT"/*.deb
