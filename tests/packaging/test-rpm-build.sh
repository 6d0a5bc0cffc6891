#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The RPM spec builds: packaging/build-rpm.sh runs rpmbuild -ba on
# packaging/rpm/ephem.spec (with Debian's rpm, Fedora's meson and systemd macros
# come from packaging/rpm/rpmbuild-on-debian.macros), and the packages hold what
# packaging/README.md says, where Fedora wants it:
#
#   - ephem: ephemctl, ephem-refresh, /etc/ephem (ephem.conf and refresh.conf
#     %config(noreplace), keys/), the units, tmpfiles.d, the journal catalog, the
#     state directories (revoked, quarantine, breakglass 0700), ephemctl(8) and
#     ephem.conf(5);
#   - ephem-pam: pam_ephem.so in <libdir>/security, the ephem-cutoff (and -act) and
#     ephem-shell helpers, the sshd_config.d snippet, pam_ephem(8), ephem-cutoff(8),
#     and it requires ephem and ephem-nss of the same build;
#   - ephem-nss: libnss_ephem.so.2 in <libdir>, nss_ephem(8), and it needs
#     nothing but the C library;
#   - ephem-askpass: ephem-askpass and its page;
#   - no file is in two packages; the source package holds the spec and Source0.
#
#   SRCDIR=. tests/packaging/test-rpm-build.sh
#
# A build test only (rpmbuild --nodeps on Debian): nothing is installed. Needs
# rpmbuild (Debian's rpm package) and what the build of ephem needs.
# EPHEM_PACKAGING_SKIP=1 skips the test.

set -u -o pipefail
SRCDIR=$(cd "${SRCDIR:-$(dirname "$0")/../..}" && pwd)
# shellcheck source=../helpers/tap.sh
. "$SRCDIR/tests/helpers/tap.sh"

[ "${EPHEM_PACKAGING_SKIP:-0}" = 1 ] && skip "EPHEM_PACKAGING_SKIP=1"
for c in rpmbuild rpm; do
        command -v "$c" >/dev/null || skip "needs $c (rpm)"
done
# The packages are built from source with their own flags: once per tree is enough.
case ${EPHEM_SANITIZE:-none} in none | '') ;; *) skip "runs in builds without sanitizers only (it builds the packages from source itself)" ;; esac


W=$(mktemp -d "${TMPDIR:-/tmp}/ephem-rpmtest.XXXXXX")
trap 'rm -rf "$W"' EXIT

if ! TMPDIR=$W "$SRCDIR/packaging/build-rpm.sh" "$W/rpms" >"$W/build.log" 2>&1; then
        not_ok "the RPM packages build (packaging/build-rpm.sh)"
        tap_bail "$(grep -E '^(error|RPM build errors)|^ ' "$W/build.log" | tail -n 15)" "$(tail -n 15 "$W/build.log")"
fi
ok "the RPM packages build with rpmbuild -ba ($(elapsed))"
grep -E '^warning:' "$W/build.log" | sort -u | sed 's/^/# rpmbuild: /'

SPEC=$SRCDIR/packaging/rpm/ephem.spec
VERSION=$(sed -n 's/^Version:[[:space:]]*//p' "$SPEC")
ARCH=$(rpm --eval '%{_arch}')
LIBDIR=$(rpm --eval '%{_libdir}')
rpmfile() { echo "$W/rpms/$1-$VERSION-1.$ARCH.rpm"; } # the packages are Release 1, no %dist here
PKGS="ephem ephem-pam ephem-nss ephem-askpass"
present=yes
for p in $PKGS; do [ -f "$(rpmfile "$p")" ] || present=no; done
check "four binary packages: $PKGS ($ARCH)" [ $present = yes ]
check "and the source package" [ -f "$W/rpms/ephem-$VERSION-1.src.rpm" ]
[ $present = yes ] || tap_bail "$(ls "$W/rpms")"

for p in $PKGS; do rpm -qlp "$(rpmfile "$p")" >"$W/$p.list" 2>/dev/null; done
# has PACKAGE PATH...: each PATH (an extended regular expression of the whole
# line; man pages may be compressed) is in the package's file list.
has() {
        local p=$1 f rc=0
        shift
        for f in "$@"; do
                case $f in /usr/share/man/*) f="$f(\\.(gz|bz2|xz|zst))?" ;; esac
                grep -qxE "$f" "$W/$p.list" || { note "$p lacks $f"; rc=1; }
        done
        return $rc
}
check "ephem: ephemctl, ephem-refresh, the configuration and its keys directory" \
        has ephem /usr/sbin/ephemctl /usr/libexec/ephem/ephem-refresh /etc/ephem/ephem.conf /etc/ephem/refresh.conf /etc/ephem/keys
check "ephem: the refresh and gc services and timers, tmpfiles.d, the journal catalog" \
        has ephem /usr/lib/systemd/system/ephem-refresh.service /usr/lib/systemd/system/ephem-refresh.timer \
        /usr/lib/systemd/system/ephem-gc.service /usr/lib/systemd/system/ephem-gc.timer \
        /usr/lib/tmpfiles.d/ephem.conf /usr/lib/systemd/catalog/ephem.catalog
check "ephem: the state directories and /run/ephem" \
        has ephem /run/ephem /var/lib/ephem /var/lib/ephem/revoked /var/lib/ephem/quarantine /var/lib/ephem/breakglass
check "ephem: ephemctl(8) and ephem.conf(5)" \
        has ephem /usr/share/man/man8/ephemctl\\.8 /usr/share/man/man5/ephem\\.conf\\.5
check "ephem-pam: pam_ephem.so in $LIBDIR/security, the ephem-cutoff (both halves) and ephem-shell helpers" \
        has ephem-pam "$LIBDIR/security/pam_ephem\\.so" /usr/libexec/ephem/ephem-cutoff /usr/libexec/ephem/ephem-cutoff-act \
        /usr/libexec/ephem/ephem-shell
check "ephem-pam: the sshd_config.d snippet, pam_ephem(8) and ephem-cutoff(8)" \
        has ephem-pam /etc/ssh/sshd_config.d/50-ephem\\.conf /usr/share/man/man8/pam_ephem\\.8 /usr/share/man/man8/ephem-cutoff\\.8
check "ephem-nss: libnss_ephem.so.2 in $LIBDIR and nss_ephem(8)" \
        has ephem-nss "$LIBDIR/libnss_ephem\\.so\\.2" /usr/share/man/man8/nss_ephem\\.8
check "ephem-askpass: ephem-askpass and ephem-askpass(1)" \
        has ephem-askpass /usr/bin/ephem-askpass /usr/share/man/man1/ephem-askpass\\.1
check "the helpers are not in ephem, nor ephem-refresh in ephem-pam" \
        bash -c "! grep -qE '/ephem-(cutoff|shell)\$' '$W/ephem.list' && ! grep -q /ephem-refresh '$W/ephem-pam.list'"

# No file in two packages (directories and rpm's own .build-id links aside).
for p in $PKGS; do
        rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$(rpmfile "$p")" 2>/dev/null |
                awk '$1 !~ /^d/ && $2 !~ /^\/usr\/lib\/\.build-id\// {print $2}'
done | sort | uniq -d >"$W/dups"
check "no file is in two packages" [ ! -s "$W/dups" ]
sed 's/^/#   twice: /' "$W/dups"

# Modes and flags: "FILENAME PERMS FLAGS" of every file of every package.
for p in $PKGS; do
        rpm -qp --qf '[%{FILENAMES} %{FILEMODES:perms} %{FILEFLAGS:fflags}\n]' "$(rpmfile "$p")" 2>/dev/null
done >"$W/attrs"
attrs_of() { grep -E "^($1) " "$W/attrs" | sort | awk '{print $1, $2, $3}' | tr '\n' ';'; }
check "ephem: revoked, quarantine and breakglass are 0700; /var/lib/ephem and /run/ephem (%ghost) 0755" \
        [ "$(attrs_of '/run/ephem|/var/lib/ephem(/[a-z]+)?')" = \
"/run/ephem drwxr-xr-x g;/var/lib/ephem drwxr-xr-x ;/var/lib/ephem/breakglass drwx------ ;/var/lib/ephem/quarantine drwx------ ;/var/lib/ephem/revoked drwx------ ;" ]
check "ephem.conf, refresh.conf and the sshd snippet are %config(noreplace)" \
        [ "$(attrs_of '/etc/ephem/(ephem|refresh)\.conf|/etc/ssh/sshd_config\.d/50-ephem\.conf')" = \
"/etc/ephem/ephem.conf -rw-r--r-- cn;/etc/ephem/refresh.conf -rw-r--r-- cn;/etc/ssh/sshd_config.d/50-ephem.conf -rw-r--r-- cn;" ]
modes_are() { # REGEX PERMS: every file matching REGEX has PERMS, and there is one
        grep -qE "^($1) " "$W/attrs" && ! grep -E "^($1) " "$W/attrs" | awk '{print $2}' | grep -qvx -- "$2"
}
check "the programs and modules are 0755" \
        modes_are "/usr/s?bin/[^ ]+|/usr/libexec/ephem/[^ ]+|$LIBDIR/security/pam_ephem\\.so|$LIBDIR/libnss_ephem\\.so\\.2" -rwxr-xr-x
check "the units, tmpfiles.d, catalog and man pages are 0644" \
        modes_are "/usr/lib/systemd/system/[^ ]+|/usr/lib/tmpfiles\\.d/ephem\\.conf|/usr/lib/systemd/catalog/ephem\\.catalog|/usr/share/man/[^ ]+" -rw-r--r--

# Dependencies.
rpm -qp --requires "$(rpmfile ephem-nss)" >"$W/nss.req" 2>/dev/null
LIBC_ONLY='^(libc\.so\.6|ld-linux[^ ]*|rtld\(GNU_HASH\)|rpmlib\(.*)( |\(|$)'
check "ephem-nss needs nothing but the C library" \
        bash -c "[ -s '$W/nss.req' ] && ! grep -vE '$LIBC_ONLY' '$W/nss.req' | grep -q ."
grep -vE "$LIBC_ONLY" "$W/nss.req" | sed 's/^/#   ephem-nss requires: /'
rpm -qp --requires "$(rpmfile ephem-pam)" >"$W/pam.req" 2>/dev/null
check "ephem-pam requires ephem and ephem-nss of the same build" \
        bash -c "grep -qE '^ephem(\\(.*\\))? = $VERSION-1\$' '$W/pam.req' && grep -qE '^ephem-nss(\\(.*\\))? = $VERSION-1\$' '$W/pam.req'"
check "ephem-pam's preuninstall refuses the removal while a PAM file uses pam_ephem.so" \
        bash -c "rpm -qp --scripts '$(rpmfile ephem-pam)' | grep -q 'refusing to remove pam_ephem.so'"
check "the source package holds the spec and Source0" \
        [ "$(rpm -qlp "$W/rpms/ephem-$VERSION-1.src.rpm" | sort | tr '\n' ' ')" = "ephem-$VERSION.tar.gz ephem.spec " ]

note "total $(elapsed)"
tap_done
