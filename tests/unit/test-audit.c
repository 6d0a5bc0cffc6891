/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Audit events: what reaches journald (fields, MESSAGE_ID, priority), what reaches
 * syslog when journald is absent or refuses the entry, and that values from a
 * token cannot forge a line or a field. sd_journal_sendv() and syslog() are
 * wrapped (ld --wrap, see meson.build): nothing is sent anywhere.
 */
#include "test-cmocka.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>

#include "ephem/audit.h"

#define CAPTURE_MAX 64

static struct {
        int journal_result; /* what the wrapped sd_journal_sendv() returns */
        unsigned journal_calls, syslog_calls;
        char journal[CAPTURE_MAX][512];
        size_t n_journal;
        int syslog_priority;
        char syslog_line[4096];
} cap;

/* sd-journal.h makes sd_journal_sendv() sd_journal_sendv_with_location(). */
int __wrap_sd_journal_sendv_with_location(const char *file, const char *line, const char *func, const struct iovec *iov,
                                          int n);
int __wrap_sd_journal_sendv_with_location(const char *file, const char *line, const char *func, const struct iovec *iov,
                                          int n) {
        (void) file;
        (void) line;
        (void) func;
        cap.journal_calls++;
        cap.n_journal = 0;
        for (int i = 0; i < n && i < CAPTURE_MAX; i++) {
                size_t len = iov[i].iov_len < sizeof(cap.journal[0]) - 1 ? iov[i].iov_len : sizeof(cap.journal[0]) - 1;
                memcpy(cap.journal[i], iov[i].iov_base, len);
                cap.journal[i][len] = '\0';
                cap.n_journal++;
        }
        return cap.journal_result;
}

static void capture_syslog(int priority, const char *fmt, va_list ap) {
        cap.syslog_calls++;
        cap.syslog_priority = priority;
        (void) vsnprintf(cap.syslog_line, sizeof(cap.syslog_line), fmt, ap);
}

void __wrap_syslog(int priority, const char *fmt, ...);
void __wrap_syslog(int priority, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        capture_syslog(priority, fmt, ap);
        va_end(ap);
}

/* _FORTIFY_SOURCE turns syslog() into __syslog_chk(). */
void __wrap___syslog_chk(int priority, int flag, const char *fmt, ...);
void __wrap___syslog_chk(int priority, int flag, const char *fmt, ...) {
        va_list ap;
        (void) flag;
        va_start(ap, fmt);
        capture_syslog(priority, fmt, ap);
        va_end(ap);
}

static int reset(void **state) {
        (void) state;
        memset(&cap, 0, sizeof(cap));
        return 0;
}

static const char *journal_field(const char *key) {
        size_t kl = strlen(key);
        for (size_t i = 0; i < cap.n_journal; i++)
                if (strncmp(cap.journal[i], key, kl) == 0 && cap.journal[i][kl] == '=')
                        return cap.journal[i] + kl + 1;
        return NULL;
}

static audit_record denial(void) {
        return (audit_record){
                .event = AUDIT_AUTH_DENIED,
                .reason = EPHEM_R_REPLAY,
                .detail = "seen before",
                .identifier = "pam_ephem",
                .service = "sshd",
                .user = "agent-7",
                .uid = -1,
                .rhost = "192.0.2.1",
                .fingerprint = "0123456789abcdef",
        };
}

static void test_journal_gets_stable_fields(void **state) {
        audit_record r = denial();
        char prio[8];

        (void) state;
        audit_force_backend(1);
        audit_emit(&r);
        assert_int_equal(cap.journal_calls, 1);
        assert_int_equal(cap.syslog_calls, 0);
        assert_string_equal(journal_field("MESSAGE_ID"), audit_event_message_id(AUDIT_AUTH_DENIED));
        assert_string_equal(journal_field("EPHEM_EVENT"), "auth_denied");
        assert_string_equal(journal_field("EPHEM_REASON"), "replay");
        assert_string_equal(journal_field("EPHEM_USER"), "agent-7");
        assert_string_equal(journal_field("EPHEM_TOKEN_FP"), "0123456789abcdef");
        assert_string_equal(journal_field("SYSLOG_IDENTIFIER"), "pam_ephem");
        (void) snprintf(prio, sizeof(prio), "%d", LOG_WARNING);
        assert_string_equal(journal_field("PRIORITY"), prio);
        assert_non_null(strstr(journal_field("MESSAGE"), "refused login for agent-7"));
        /* No field for what the record does not have. */
        assert_null(journal_field("EPHEM_UID"));
        assert_null(journal_field("EPHEM_JTI"));
}

static void test_journal_refusing_the_entry_falls_back_to_syslog(void **state) {
        audit_record r = denial();

        (void) state;
        audit_force_backend(1);
        cap.journal_result = -ENOBUFS;
        audit_emit(&r);
        assert_int_equal(cap.journal_calls, 1);
        assert_int_equal(cap.syslog_calls, 1);
        assert_int_equal(cap.syslog_priority, LOG_AUTHPRIV | LOG_WARNING);
        assert_non_null(strstr(cap.syslog_line, "pam_ephem: refused login for agent-7"));
        assert_non_null(strstr(cap.syslog_line, "event=\"auth_denied\""));
        assert_non_null(strstr(cap.syslog_line, "reason=\"replay\""));
        assert_non_null(strstr(cap.syslog_line, "token_fp=\"0123456789abcdef\""));
}

static void test_without_journald_syslog_has_the_same_content(void **state) {
        audit_record r = denial();

        (void) state;
        audit_force_backend(0);
        r.event = AUDIT_BREAKGLASS_USED;
        r.reason = EPHEM_OK;
        r.detail = NULL;
        audit_emit(&r);
        assert_int_equal(cap.journal_calls, 0);
        assert_int_equal(cap.syslog_calls, 1);
        assert_int_equal(cap.syslog_priority, LOG_AUTHPRIV | LOG_ALERT);
        assert_non_null(strstr(cap.syslog_line, "event=\"breakglass_used\""));
        assert_non_null(strstr(cap.syslog_line, "user=\"agent-7\""));
}

static void test_values_cannot_forge_lines_or_fields(void **state) {
        audit_record r = denial();

        (void) state;
        /* A subject from a token: a newline and a journal field of its own. */
        r.event = AUDIT_AUTH_OK;
        r.reason = EPHEM_OK;
        r.sub = "task-1\nEPHEM_EVENT=breakglass_used\r\x1b[2J";
        r.detail = NULL;
        audit_force_backend(1);
        audit_emit(&r);
        assert_int_equal(cap.journal_calls, 1);
        for (size_t i = 0; i < cap.n_journal; i++)
                for (const char *p = cap.journal[i]; *p; p++)
                        assert_false((unsigned char) *p < 0x20 || *p == 0x7f);
        assert_string_equal(journal_field("EPHEM_EVENT"), "auth_ok");
        assert_non_null(journal_field("EPHEM_SUB"));
        assert_null(strchr(journal_field("EPHEM_SUB"), '\n'));

        memset(&cap, 0, sizeof(cap));
        audit_force_backend(0);
        audit_emit(&r);
        assert_int_equal(cap.syslog_calls, 1);
        assert_null(strchr(cap.syslog_line, '\n'));
        assert_null(strchr(cap.syslog_line, '\r'));
        assert_null(strchr(cap.syslog_line, '\x1b'));

        /* A quote in a value (git refs may hold one) cannot close the value and forge
         * the fields after it in the syslog form. */
        memset(&cap, 0, sizeof(cap));
        r.sub = "repo:acme/app:ref:refs/heads/a\" jti=\"victim-jti\" token_fp=\"0000000000000000\\";
        r.jti = "real-jti";
        audit_emit(&r);
        assert_int_equal(cap.syslog_calls, 1);
        assert_non_null(strstr(cap.syslog_line, " jti=\"real-jti\""));
        assert_null(strstr(cap.syslog_line, " jti=\"victim-jti\""));
        assert_null(strstr(cap.syslog_line, " token_fp=\"0000000000000000\""));
        assert_non_null(strstr(cap.syslog_line, "heads/a\\\" jti=\\\"victim-jti\\\""));
}

static void test_unknown_event_is_not_emitted(void **state) {
        audit_record r = denial();

        (void) state;
        r.event = _AUDIT_EVENT_MAX;
        audit_force_backend(1);
        audit_emit(&r);
        audit_force_backend(0);
        audit_emit(&r);
        assert_int_equal(cap.journal_calls, 0);
        assert_int_equal(cap.syslog_calls, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_journal_gets_stable_fields, reset),
                cmocka_unit_test_setup(test_journal_refusing_the_entry_falls_back_to_syslog, reset),
                cmocka_unit_test_setup(test_without_journald_syslog_has_the_same_content, reset),
                cmocka_unit_test_setup(test_values_cannot_forge_lines_or_fields, reset),
                cmocka_unit_test_setup(test_unknown_event_is_not_emitted, reset),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
