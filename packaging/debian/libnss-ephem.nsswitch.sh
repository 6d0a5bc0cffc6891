# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=sh
#
# libnss-ephem: add "ephem" to the passwd and group lines of /etc/nsswitch.conf,
# and take it out again. Included in the postinst and the postrm at build time
# (debian/rules), so both use the same edits. Only Essential tools.
#
# What keeps a host able to resolve its users:
#   - "ephem" goes right after "files" (or "compat") and its [ACTION] items, so
#     local accounts are always found first; nothing else on the line moves.
#   - A line that already names ephem is left as it is (an admin's choice). A
#     symbolic link is never replaced. A missing file is not created.
#   - A missing passwd or group line gets "files ephem" (glibc's default for
#     a missing line is "files"); a line naming no service is left alone.
#   - The new file is checked before it is used: taking "ephem" out of it again
#     must give back the old file byte for byte (nothing else was changed).
#   - It is written next to the old one (same owner and mode) and renamed over it;
#     afterwards root and group root must still resolve, and a lookup that goes
#     through the module must return; otherwise the old file is put back.
#   - The file as it was before, and the file as written, are kept in
#     /var/lib/libnss-ephem/ until purge. Removal puts the old file back byte for
#     byte when the file has not changed since; otherwise it removes the word
#     "ephem" (and its [ACTION] items) only.

NSSWITCH=${DPKG_ROOT:-}/etc/nsswitch.conf
NSS_STATE=${DPKG_ROOT:-}/var/lib/libnss-ephem
NSS_DBS="passwd group"

nss_say() { echo "libnss-ephem: $*" >&2; }

# nss_add_ephem FILE: FILE with ephem added, on standard output.
nss_add_ephem() {
        _f=$1
        _script=
        for _db in $NSS_DBS; do
                _script="$_script
/^[[:blank:]]*${_db}[[:blank:]]*:/{
  /^[^#]*[[:blank:]:]ephem([[:blank:]]|\\[|#|\$)/b
  s/^([[:blank:]]*${_db}[[:blank:]]*:([^#]*[[:blank:]:])?(files|compat)([[:blank:]]*\\[([^]#])*\\])*)([[:blank:]]|#|\$)/\\1 ephem\\6/
  t
  /^[[:blank:]]*${_db}[[:blank:]]*:[[:blank:]]*(#.*)?\$/b
  s/^([^#]*[^[:blank:]#])([[:blank:]]*(#.*)?)\$/\\1 ephem\\2/
}"
        done
        sed -E -e "$_script" "$_f" || return 1
        nss_missing_lines "$_f" "files ephem"
}

# nss_missing_lines FILE SERVICES: the lines "DB: SERVICES" for the databases
# FILE has no line for (after a newline if FILE does not end with one).
nss_missing_lines() {
        _nl=
        for _db in $NSS_DBS; do
                if ! grep -Eq "^[[:blank:]]*${_db}[[:blank:]]*:" "$1"; then
                        if [ -z "$_nl" ] && [ -s "$1" ] && [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" != '\n' ]; then
                                echo
                        fi
                        _nl=yes
                        printf '%-16s%s\n' "$_db:" "$2"
                fi
        done
}

# nss_remove_ephem FILE: FILE without ephem (and its [ACTION] items), on
# standard output. A line that named ephem and is left naming no service gets
# "files" (an empty line would resolve nobody).
nss_remove_ephem() {
        _script=
        for _db in $NSS_DBS; do
                _script="$_script
/^[[:blank:]]*${_db}[[:blank:]]*:/{
  s/^([^#]*)[[:blank:]]+ephem([[:blank:]]*\\[([^]#])*\\])*([[:blank:]]|#|\$)/\\1\\4/
  t r_$_db
  s/^([[:blank:]]*${_db}[[:blank:]]*:)ephem([[:blank:]]*\\[([^]#])*\\])*[[:blank:]]*/\\1 /
  t r_$_db
  b
  :r_$_db
  s/^([^#]*)[[:blank:]]+ephem([[:blank:]]*\\[([^]#])*\\])*([[:blank:]]|#|\$)/\\1\\4/
  t r_$_db
  s/^([[:blank:]]*${_db}[[:blank:]]*:)[[:blank:]]*\$/\\1         files/
  s/^([[:blank:]]*${_db}[[:blank:]]*:)[[:blank:]]*#/\\1         files #/
}"
        done
        sed -E -e "$_script" "$1"
}

# nss_has_ephem FILE: a passwd or group line of FILE names ephem (outside comments).
nss_has_ephem() {
        grep -Eq "^[[:blank:]]*($(echo "$NSS_DBS" | tr ' ' '|'))[[:blank:]]*:[^#]*[[:blank:]:]ephem([[:blank:]]|\\[|#|\$)" "$1"
}

# nss_resolves: the C library still finds root (user and group) with the current
# file, and a lookup that reaches the module (a name nobody has) returns.
nss_resolves() {
        [ -z "${DPKG_ROOT:-}" ] || return 0
        timeout 20 getent passwd root >/dev/null 2>&1 || return 1
        timeout 20 getent group root >/dev/null 2>&1 || return 1
        timeout 20 getent passwd "libnss-ephem-check-$$" >/dev/null 2>&1
        [ $? -le 2 ] || return 1
        timeout 20 getent group "libnss-ephem-check-$$" >/dev/null 2>&1
        [ $? -le 2 ]
}

# nss_install_file NEW: NEW replaces $NSSWITCH atomically (owner and mode kept).
nss_install_file() {
        _tmp=$(mktemp "$NSSWITCH.libnss-ephem.XXXXXX") || return 1
        if ! cp -p "$NSSWITCH" "$_tmp" || ! cat "$1" >"$_tmp" || ! mv -f "$_tmp" "$NSSWITCH"; then
                rm -f "$_tmp"
                return 1
        fi
}

nss_usable_file() {
        if [ -L "$NSSWITCH" ]; then
                nss_say "$NSSWITCH is a symbolic link: not changing it; $1 'ephem' on the passwd and group lines yourself"
                return 1
        fi
        if [ ! -f "$NSSWITCH" ]; then
                nss_say "$NSSWITCH does not exist: not creating it; $1 'ephem' on the passwd and group lines yourself"
                return 1
        fi
}

# nss_enable: add ephem, validated; never leaves a worse file than it found.
nss_enable() {
        nss_usable_file "add" || return 0
        if nss_has_ephem "$NSSWITCH"; then
                return 0
        fi
        mkdir -p "$NSS_STATE"
        _new=$NSS_STATE/nsswitch.conf.new
        _expect=$NSS_STATE/nsswitch.conf.expect
        if ! nss_add_ephem "$NSSWITCH" >"$_new"; then
                nss_say "could not edit $NSSWITCH; add 'ephem' after 'files' on the passwd and group lines yourself"
                rm -f "$_new"
                return 0
        fi
        # The check: taking ephem out again gives back the old file (plus the
        # "files" lines for databases that had no line), and both lines name it.
        { cat "$NSSWITCH" && nss_missing_lines "$NSSWITCH" files; } >"$_expect"
        if ! nss_remove_ephem "$_new" | cmp -s - "$_expect" ||
                [ "$(grep -Ec "^[[:blank:]]*($(echo "$NSS_DBS" | tr ' ' '|'))[[:blank:]]*:[^#]*[[:blank:]:]ephem([[:blank:]]|\\[|#|\$)" "$_new")" -lt 2 ]; then
                nss_say "the edit of $NSSWITCH did not check out (unusual passwd or group lines?); not changing it"
                nss_say "add 'ephem' after 'files' on the passwd and group lines yourself"
                rm -f "$_new" "$_expect"
                return 0
        fi
        rm -f "$_expect"
        _worked_before=yes
        nss_resolves || _worked_before=no
        cp -p "$NSSWITCH" "$NSS_STATE/nsswitch.conf.before"
        if ! nss_install_file "$_new"; then
                nss_say "could not replace $NSSWITCH; it is unchanged"
                rm -f "$_new"
                return 0
        fi
        if [ "$_worked_before" = yes ] && ! nss_resolves; then
                nss_install_file "$NSS_STATE/nsswitch.conf.before" ||
                        nss_say "CANNOT RESTORE $NSSWITCH: copy $NSS_STATE/nsswitch.conf.before over it"
                nss_say "with ephem in $NSSWITCH, root no longer resolved: the old file is back"
                rm -f "$_new"
                return 0
        fi
        mv -f "$_new" "$NSS_STATE/nsswitch.conf.after"
        nss_say "added 'ephem' to the passwd and group lines of $NSSWITCH (the file before: $NSS_STATE/nsswitch.conf.before)"
}

# nss_disable: take ephem out; the exact old file when nothing changed since.
nss_disable() {
        nss_usable_file "remove" || return 0
        if [ -f "$NSS_STATE/nsswitch.conf.after" ] && [ -f "$NSS_STATE/nsswitch.conf.before" ] &&
                cmp -s "$NSSWITCH" "$NSS_STATE/nsswitch.conf.after"; then
                _new=$NSS_STATE/nsswitch.conf.before
        elif nss_has_ephem "$NSSWITCH"; then
                mkdir -p "$NSS_STATE"
                _new=$NSS_STATE/nsswitch.conf.new
                if ! nss_remove_ephem "$NSSWITCH" >"$_new"; then
                        nss_say "could not edit $NSSWITCH; remove 'ephem' from it yourself (harmless meanwhile: the module is gone)"
                        return 0
                fi
        else
                rm -f "$NSS_STATE/nsswitch.conf.after"
                return 0
        fi
        cp -p "$NSSWITCH" "$NSS_STATE/nsswitch.conf.removed"
        if ! nss_install_file "$_new"; then
                nss_say "could not replace $NSSWITCH; remove 'ephem' from it yourself (harmless meanwhile: the module is gone)"
                return 0
        fi
        if ! nss_resolves; then
                nss_install_file "$NSS_STATE/nsswitch.conf.removed" || true
                nss_say "without ephem, root no longer resolved with $NSSWITCH: left as it was; remove 'ephem' yourself"
                return 0
        fi
        rm -f "$NSS_STATE/nsswitch.conf.new" "$NSS_STATE/nsswitch.conf.after"
        nss_say "removed 'ephem' from $NSSWITCH (the file before: $NSS_STATE/nsswitch.conf.removed)"
}
