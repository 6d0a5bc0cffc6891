#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The Debian packages pass lintian: built from this tree, source and binary
# (packaging/build-deb.sh OUT -F), lintian checks the .changes, that is the
# source package (.dsc) and every binary package (dbgsym included), with the
# overrides of packaging/debian. Any error (E:) fails the test; warnings, infos
# and the overrides in use are reported as TAP comments.
#
#   BUILD=build SRCDIR=. tests/packaging/test-lintian.sh
#
# The packages are shared with test-deb-install.sh (tests/packaging/debs.sh:
# built once per tree, kept in $BUILD/packaging-debs). Needs lintian, dpkg-dev,
# debhelper and the Build-Depends of packaging/debian/control; not root.
# EPHEM_PACKAGING_SKIP=1 skips the test.

set -u -o pipefail
: "${BUILD:?BUILD must name the meson build directory}"
BUILD=$(cd "$BUILD" && pwd)
SRCDIR=$(cd "${SRCDIR:-$(dirname "$0")/../..}" && pwd)
# shellcheck source=../helpers/tap.sh
. "$SRCDIR/tests/helpers/tap.sh"

[ "${EPHEM_PACKAGING_SKIP:-0}" = 1 ] && skip "EPHEM_PACKAGING_SKIP=1"
for c in lintian dpkg-buildpackage dh flock; do
        command -v "$c" >/dev/null || skip "needs $c (lintian, dpkg-dev, debhelper, util-linux)"
done
# The packages are built from source with their own flags: once per tree is enough.
case ${EPHEM_SANITIZE:-none} in none | '') ;; *) skip "runs in builds without sanitizers only (it builds the packages from source itself)" ;; esac


W=$(mktemp -d "${TMPDIR:-/tmp}/ephem-lintian.XXXXXX")
trap 'rm -rf "$W"' EXIT

# shellcheck source=tests/packaging/debs.sh
. "$SRCDIR/tests/packaging/debs.sh"
if ! debs_for_tree "$W" "$W/build.log"; then
        not_ok "the Debian packages build, source and binary (packaging/build-deb.sh -F)"
        tap_bail "$(tail -n 25 "$W/build.log")"
fi
if [ "$DEBS_REUSED" = 1 ]; then
        ok "the Debian packages of this tree, source and binary, were built by an earlier test ($DEBS)"
else
        ok "the Debian packages build, source and binary ($(elapsed))"
fi

PKGS="ephem-tools libpam-ephem libnss-ephem ephem-askpass"
CHANGES=$(find "$DEBS" -maxdepth 1 -name 'ephem_*.changes' | head -n 1)
if [ -z "$CHANGES" ]; then
        not_ok "the build made a .changes (in $DEBS)"
        tap_bail
fi
missing=
for p in ephem $PKGS; do
        if [ "$p" = ephem ]; then set -- "$DEBS/${p}_"*.dsc; else set -- "$DEBS/${p}_"*.deb; fi
        f=$(basename "$1")
        # In the Files: section, " MD5 SIZE SECTION PRIORITY NAME".
        [ -e "$1" ] && grep -qE "^ [0-9a-f]{32} [0-9]+ [^ ]+ [^ ]+ ${f//./\\.}\$" "$CHANGES" ||
                missing="$missing $f"
done
if [ -z "$missing" ]; then
        ok "the .changes lists the source package and $PKGS"
else
        not_ok "the .changes lists the source package and $PKGS (missing:$missing)"
fi

# ---- lintian ----
T_LINT=$(date +%s)
# As root, lintian says it would rather not be; the packages are ours.
lintian --display-info --show-overrides "$CHANGES" >"$W/lintian.out" 2>"$W/lintian.err"
rc=$?
grep -v '^running with root privileges is not recommended!$' "$W/lintian.err" | sed 's/^/# lintian: /'
if [ $rc -eq 0 ] || [ $rc -eq 2 ]; then
        ok "lintian ran on $(basename "$CHANGES") ($(($(date +%s) - T_LINT)) s)"
else
        not_ok "lintian ran on $(basename "$CHANGES") (exit status $rc)"
fi
count() { grep -c "^$1: " "$W/lintian.out"; }
for tag in W I O; do
        [ "$(count $tag)" -gt 0 ] || continue
        case $tag in W) what="warning(s)" ;; I) what="info(s)" ;; O) what="overridden tag(s)" ;; esac
        note "lintian: $(count $tag) $what:"
        grep "^$tag: " "$W/lintian.out" | sed 's/^/#   /'
done
# One test point per package: the source package, the .changes and each binary.
for p in "ephem source" "ephem changes" $PKGS; do
        n=$(grep -c "^E: $p: " "$W/lintian.out")
        if [ "$n" -eq 0 ]; then
                ok "lintian: no error in $p"
        else
                not_ok "lintian: $n error(s) in $p"
                grep "^E: $p: " "$W/lintian.out" | sed 's/^/#   /'
        fi
done
# Errors in anything else (the dbgsym packages, the .buildinfo).
other=$(grep '^E: ' "$W/lintian.out" | grep -vE "^E: (ephem source|ephem changes|$(echo "$PKGS" | tr ' ' '|')): ")
if [ -z "$other" ]; then
        ok "lintian: no error in the other files (dbgsym packages, .buildinfo)"
else
        not_ok "lintian: errors in the other files"
        echo "$other" | sed 's/^/#   /'
fi

note "total $(elapsed)"
tap_done
