# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash disable=SC2034  # DEBS and DEBS_REUSED are for the caller
# Sourced by the packaging tests (bash): the Debian packages of this tree, built
# once per tree content and kept in the meson build directory, so that
# test-deb-install.sh and test-lintian.sh share one build.
#
#   debs_for_tree TMPDIR LOG
#
# sets DEBS to a directory holding what `packaging/build-deb.sh DIR -F` makes
# (the binary packages, the source package and the .changes), and DEBS_REUSED to
# 1 when they came from the cache; the build's output goes to LOG. Returns
# non-zero when the build fails. The cache, $BUILD/packaging-debs/KEY, is keyed
# by the content and modes of the files build-deb.sh copies (git's tracked and
# untracked files) and the versions of dpkg-dev and debhelper; it holds one tree
# at a time, and a lock keeps two tests from building at once. Outside a git
# checkout there is no key: the packages are built in TMPDIR every time.
# Needs BUILD and SRCDIR.

debs_tree_key() {
        git -C "$SRCDIR" rev-parse --is-inside-work-tree >/dev/null 2>&1 || return 1
        # Files listed but gone (deleted, not yet committed) are skipped, as
        # build-deb.sh's tar skips them.
        {
                dpkg-query -W -f='${Package} ${Version}\n' dpkg-dev debhelper 2>/dev/null
                (cd "$SRCDIR" && git ls-files -z --cached --others --exclude-standard |
                        xargs -0 -r stat -c '%a %n' 2>/dev/null)
                (cd "$SRCDIR" && git ls-files -z --cached --others --exclude-standard |
                        xargs -0 -r sha256sum 2>/dev/null)
                true
        } | sha256sum | cut -c 1-16
}

debs_for_tree() {
        local tmp=$1 log=$2 key cache lock rc=0
        DEBS_REUSED=0
        if ! key=$(debs_tree_key) || [ -z "$key" ]; then
                DEBS=$tmp/debs
                "$SRCDIR/packaging/build-deb.sh" "$DEBS" -F >"$log" 2>&1
                return
        fi
        cache=$BUILD/packaging-debs
        DEBS=$cache/$key
        mkdir -p "$cache" || return 1
        exec {lock}>"$cache/lock" || return 1
        flock "$lock"
        if [ -d "$DEBS" ]; then
                DEBS_REUSED=1
                echo "reused $DEBS" >"$log"
        else
                # One tree at a time: the packages of an older one go.
                find "$cache" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
                if "$SRCDIR/packaging/build-deb.sh" "$DEBS.new" -F >"$log" 2>&1; then
                        mv "$DEBS.new" "$DEBS" || rc=1
                else
                        rc=1
                        rm -rf "$DEBS.new"
                fi
        fi
        exec {lock}>&-
        return $rc
}
