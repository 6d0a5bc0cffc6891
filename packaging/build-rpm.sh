#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds ephem's RPM packages from this source tree, uncommitted changes
# included, into OUTDIR:
#
#   packaging/build-rpm.sh OUTDIR [rpmbuild options]
#
# Makes Source0 (ephem-VERSION.tar.gz) like a release tarball, then runs
# rpmbuild -ba packaging/rpm/ephem.spec in a temporary _topdir. On a host
# without Fedora's macro sets (Debian's rpm package), it loads
# packaging/rpm/rpmbuild-on-debian.macros and passes --nodeps (the
# BuildRequires name Fedora packages): a build test, not packages to install.

set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:?usage: $0 OUTDIR [rpmbuild options]}
shift
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SPEC="$SRC/packaging/rpm/ephem.spec"
VERSION=$(sed -n 's/^Version:[[:space:]]*//p' "$SPEC")

W=$(mktemp -d "${TMPDIR:-/tmp}/ephem-rpm.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
mkdir -p "$W/SOURCES" "$W/src/ephem-$VERSION"

if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        (cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
                tar --null --ignore-failed-read -T - -cf -) 2>/dev/null | tar -C "$W/src/ephem-$VERSION" -xf -
else
        (cd "$SRC" && tar --exclude='./build' --exclude='./build-*' --exclude='./.git' -cf - .) |
                tar -C "$W/src/ephem-$VERSION" -xf -
fi
tar -C "$W/src" -czf "$W/SOURCES/ephem-$VERSION.tar.gz" "ephem-$VERSION"

set -- --define "_topdir $W" "$@"
if [ "$(rpm --eval '%{?meson:defined}')" != defined ]; then
        set -- --load "$SRC/packaging/rpm/rpmbuild-on-debian.macros" --nodeps "$@"
fi
rpmbuild -ba "$@" "$SPEC"
find "$W/RPMS" "$W/SRPMS" -name '*.rpm' -exec cp {} "$OUT/" \;
ls "$OUT"/*.rpm
