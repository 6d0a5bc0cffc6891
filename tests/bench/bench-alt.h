/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The alternatives a user would pick instead of ephem, measured by bench-auth next to
 * pam_ephem in the same run (bench-alt.c):
 *   - pam_unix with a yescrypt hash (Debian's default password hashing), through
 *     libpam in a private mount namespace whose /etc/passwd and /etc/shadow are
 *     bind-mounted test files (the machine's /etc is never changed);
 *   - a network call to the broker per login: RFC 7662 token introspection over
 *     HTTP/1.1 to node-oidc-provider on 127.0.0.1 (introspect-broker.mjs).
 */
#pragma once

#include <stddef.h>

/*
 * pam_authenticate() through pam_unix (auth required pam_unix.so) with a yescrypt
 * hash made by libxcrypt's default cost (what pam_unix's "yescrypt" option and
 * Debian's passwd write): `n` logins on one handle into warm[], and `n` whole
 * transactions (pam_start_confdir .. pam_end) into whole[], and the bare yescrypt
 * check of the same hash (crypt_rn), interleaved with the first, into bare[]. The
 * hash's setting goes to setting (e.g. "$y$j9T$"). Runs in a child process (its
 * own mount namespace); needs root. 0, or -1 with a reason on stderr.
 */
int alt_pam_unix(size_t n, double *warm, double *whole, double *bare, char *setting, size_t setting_size);

/*
 * Starts introspect-broker.mjs (node) on a free 127.0.0.1 port, obtains an opaque
 * access token (client_credentials), and times `n` introspection round trips with a
 * new TCP connection each (what a PAM module in a fresh sshd process does) into
 * fresh[] and `n` on one kept-alive connection (the best case: a daemon with a pool)
 * into kept[]; stops the broker. 0, or -1 with a reason on stderr (no node, no
 * node_modules: run `npm ci` in tests/e2e/broker).
 */
int alt_introspection(const char *broker_script, size_t n, double *fresh, double *kept);
