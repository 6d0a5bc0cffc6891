/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* failinject.h without the wrappers: the plain fuzz targets and corpus runners. */
#include "failinject.h"

bool failinject_available(void) {
        return false;
}

void failinject_arm(unsigned long fail_at, bool persistent) {
        (void) fail_at;
        (void) persistent;
}

unsigned long failinject_disarm(void) {
        return 0;
}

unsigned long failinject_calls(void) {
        return 0;
}

bool failinject_route_libraries(void) {
        return true;
}
