#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# ephem-askpass answers the module's prompts and nothing else. The prompt is written
# by the server: a part number it does not write exactly as the module does (a sign,
# a leading zero, a space, a number that wraps an unsigned int) is refused.
set -u
. "$(dirname "$0")/../helpers/tap.sh"
A=$1
TOKEN=$(head -c 1800 /dev/zero | tr '\0' a)

answers() { EPHEM_TOKEN=$TOKEN "$A" "$1" >/dev/null 2>&1; }
refuses() { ! answers "$1"; }

check "first prompt answered" answers "ephem token: "
check "part 2/2 answered" answers "ephem token part 2/2: "
check "part 2/2 without the space answered" answers "ephem token part 2/2:"
for p in "ephem token part +2/2: " "ephem token part 02/2: " "ephem token part 2/ 2: " \
        "ephem token part  2/2: " "ephem token part 4294967298/2: " "ephem token part 2/4294967298: " \
        "ephem token part 2/81: " "ephem token part 1/2: " "ephem token part 3/2: " \
        "ephem token part 2/2: x" "ephem token part 2/2" "ephem token part -2/2: " "Password: " \
        "Are you sure you want to continue connecting (yes/no/[fingerprint])? "; do
        check "refused: '$p'" refuses "$p"
done
tap_done
