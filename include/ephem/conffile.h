/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The syntax of ephem.conf, shared by every part so that the PAM module, the NSS
 * module and ephemctl read the file identically. libc only: linked by the NSS module.
 *
 *   # comment (a line of its own)
 *   [section]            or  [section argument]
 *   key = value
 *
 * Keys are [A-Za-z0-9_./-] ("claim.NAME", "claim.a/b" for nested claims), section
 * names [a-z0-9_.-] and arguments [A-Za-z0-9_.-], each shorter than CONF_MAX_NAME.
 * Values run to the end of the line with outer blanks trimmed; their meaning is
 * the caller's. Module arguments ("key=value") go through the same assignment
 * parser as file lines.
 */
#pragma once

#include <stddef.h>

#define CONF_MAX_LINE 4096u
#define CONF_MAX_NAME 128u /* section names and arguments */
#define CONF_ERROR_MAX 256u

typedef struct conf_error {
        unsigned line; /* 0: not tied to a line */
        char message[CONF_ERROR_MAX];
} conf_error;

void conf_error_set(conf_error *err, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Called once per assignment. section is "" before any header; section_arg is ""
 * when the header has none. Return 0 to go on, or a negative errno (with err set)
 * to stop. */
typedef int (*conf_assignment_fn)(const char *section, const char *section_arg, const char *key, const char *value,
                                  unsigned line, void *userdata, conf_error *err);

/* Parses `text` (NUL-terminated). Returns 0 or the first negative error, with err set. */
int conf_parse(const char *text, conf_assignment_fn fn, void *userdata, conf_error *err);

/* Splits "key = value" / "key=value" in place. Returns 0, or -EINVAL when the line is
 * not an assignment or the key has characters outside [A-Za-z0-9_./-]. */
int conf_split_assignment(char *line, char **ret_key, char **ret_value);
