/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ephem.conf: defaults, then the file, then module arguments; anything unknown is an error. */
#include "test-cmocka.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "ephem/config.h"
#include "ephem/strutil.h"
#include "testutil.h"

#define GOOD_ISSUER "[issuer broker]\niss = https://broker.example.net\nkeys = /etc/ephem/broker.jwks\n"
#define GOOD_HOST "[host]\naudience = host-7.example.net\n"

typedef struct fixture {
        char *dir;
        char *path;
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));

        f->dir = test_tmpdir();
        f->path = test_strdup_printf("%s/ephem.conf", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        test_rmrf(f->dir);
        free(f->dir);
        free(f->path);
        free(f);
        return 0;
}

/* Writes `text` as the configuration and loads it with module arguments. */
static int load_args(fixture *f, const char *text, int argc, const char **argv, ephem_config **ret, conf_error *err) {
        ephem_config *c = NULL;
        int r;

        *err = (conf_error){ 0 };
        test_write_file(f->path, text, 0644);
        r = config_load(f->path, argc, argv, &c, err);
        if (r < 0) {
                assert_null(c);
                assert_true(err->message[0] != '\0');
        }
        if (ret)
                *ret = c;
        else
                config_free(c);
        return r;
}

static int load(fixture *f, const char *text, conf_error *err) {
        return load_args(f, text, 0, NULL, NULL, err);
}

/* The text must be refused with -EINVAL at `line` (0: not tied to a line) and a message holding `needle`. */
static void assert_refused_at(fixture *f, const char *text, unsigned line, const char *needle) {
        conf_error err;
        int r = load(f, text, &err);

        if (r != -EINVAL)
                fail_msg("accepted (r=%d):\n%s", r, text);
        if (err.line != line)
                fail_msg("error at line %u, expected %u (%s):\n%s", err.line, line, err.message, text);
        if (needle && !strstr(err.message, needle))
                fail_msg("message '%s' does not mention '%s'", err.message, needle);
}

static void test_defaults(void **state) {
        fixture *f = *state;
        ephem_config *c = NULL;
        conf_error err;

        assert_errno(load_args(f, "# nothing\n", 0, NULL, &c, &err), 0);
        assert_int_equal(c->leeway, 30);
        assert_int_equal(c->max_token_lifetime, 900);
        assert_int_equal(c->max_token_length, 8192);
        assert_int_equal(c->fail_delay_ms, 2000);
        assert_string_equal(c->state_dir, "/run/ephem");
        assert_false(c->debug);
        assert_int_equal(c->n_issuers, 0);
        assert_int_equal(c->n_rules, 0);
        assert_null(c->users.patterns);
        assert_string_equal(c->path, f->path);
        config_free(c);
}

static void test_full_file_loads(void **state) {
        fixture *f = *state;
        ephem_config *c = NULL;
        conf_error err;
        const char *text = "# a comment\n"
                           "; another\n"
                           "\n"
                           "[host]\r\n"
                           "audience = a.example b.example\n"
                           "leeway=5s\n"
                           "  max_token_lifetime =  10m  \n"
                           "max_token_length = 16384\n"
                           "fail_delay = 0\n"
                           "state_dir = /run/ephem-test\n"
                           "[users]\n"
                           "names = agent-* ci-?\n"
                           "uid_range = 1879048192-1879113727\n"
                           "[issuer broker]\n"
                           "iss = https://broker.example.net\n"
                           "keys = /etc/ephem/broker.jwks\n"
                           "algorithms = ES256 EdDSA\n"
                           "max_token_lifetime = 1h\n"
                           "[rule agents]\n"
                           "issuer = broker\n"
                           "claim.agent_type = ci-* deploy\n"
                           "claim.ctx/team = blue\n"
                           "logins = agent-${sub} agent-x?\n"
                           "groups = adm\n"
                           "max_session = 2h\n";

        assert_errno(load_args(f, text, 0, NULL, &c, &err), 0);
        assert_string_equal(c->audiences[0], "a.example");
        assert_string_equal(c->audiences[1], "b.example");
        assert_null(c->audiences[2]);
        assert_int_equal(c->leeway, 5);
        assert_int_equal(c->max_token_lifetime, 600);
        assert_int_equal(c->max_token_length, 16384);
        assert_int_equal(c->fail_delay_ms, 0);
        assert_string_equal(c->state_dir, "/run/ephem-test");
        assert_int_equal(c->users.uid_min, 1879048192u);
        assert_int_equal(c->n_issuers, 1);
        assert_int_equal(c->issuers[0].algorithms, (1u << JWS_ES256) | (1u << JWS_EDDSA));
        assert_int_equal(issuer_max_lifetime(c, &c->issuers[0]), 3600);
        assert_int_equal(c->n_rules, 1);
        assert_int_equal(c->rules[0].n_matches, 2);
        assert_string_equal(c->rules[0].matches[1].claim, "ctx/team");
        assert_string_equal(c->rules[0].logins[0], "agent-${sub}");
        assert_int_equal(c->rules[0].max_session, 7200);
        config_free(c);
}

static void test_unknown_key_refused(void **state) {
        fixture *f = *state;

        assert_refused_at(f, "[host]\nleway = 5\n", 2, "leway");
        assert_refused_at(f, "[users]\nname = agent-*\n", 2, "name");
        assert_refused_at(f, GOOD_HOST GOOD_ISSUER "kid = k1\n", 6, "kid");
        assert_refused_at(f, GOOD_HOST GOOD_ISSUER "[rule r]\nissuer = broker\nlogins = agent-*\nlogin = x\n", 9,
                          "login");
}

static void test_unknown_section_refused(void **state) {
        fixture *f = *state;

        assert_refused_at(f, "[hosts]\naudience = x\n", 2, "unknown section");
        assert_refused_at(f, "[Host]\naudience = x\n", 1, NULL);
        assert_refused_at(f, "audience = x\n", 1, "outside");
        assert_refused_at(f, "[host extra]\naudience = x\n", 2, "no argument");
        assert_refused_at(f, "[issuer]\niss = x\n", 2, "needs a name");
        assert_refused_at(f, "[rule]\nissuer = x\n", 2, "needs a name");
}

static void test_syntax_errors_refused(void **state) {
        fixture *f = *state;
        conf_error err;
        char *long_line = malloc(CONF_MAX_LINE + 32);

        assert_refused_at(f, "[host\naudience = x\n", 1, "]");
        assert_refused_at(f, "[host]\njust some words\n", 2, "key = value");
        assert_refused_at(f, "[host]\n= x\n", 2, NULL);
        assert_refused_at(f, "[host]\nau dience = x\n", 2, NULL);
        assert_refused_at(f, "[issuer a b]\niss = x\n", 1, NULL);

        strcpy(long_line, "[host]\naudience = ");
        memset(long_line + strlen(long_line), 'a', CONF_MAX_LINE);
        strcpy(long_line + 18 + CONF_MAX_LINE, "\n");
        assert_errno(load(f, long_line, &err), -E2BIG);
        assert_int_equal(err.line, 2);
        free(long_line);
}

static void test_value_errors_refused(void **state) {
        fixture *f = *state;
        static const struct {
                const char *text;
                unsigned line;
        } cases[] = {
                { "[host]\nleeway = abc\n", 2 },
                { "[host]\nleeway = -1\n", 2 },
                { "[host]\nleeway = 301\n", 2 },
                { "[host]\nleeway = 5 s\n", 2 },
                { "[host]\nleeway = 05\n", 2 },
                { "[host]\nmax_token_lifetime = 0\n", 2 },
                { "[host]\nmax_token_lifetime = 25h\n", 2 },
                { "[host]\nmax_token_length = 100\n", 2 },
                { "[host]\nmax_token_length = 70000\n", 2 },
                { "[host]\nfail_delay = 10001\n", 2 },
                { "[host]\nfail_delay = 1s\n", 2 },
                { "[host]\nstate_dir = run/ephem\n", 2 },
                { "[host]\naudience =\n", 2 },
                { "[users]\nuid_range = 5-1\n", 0 },
                { "[users]\nuid_range = 0-100000\n", 0 },
                { "[users]\nuid_range = 60000-70000\n", 0 },
                { "[users]\nuid_range = 100000\n", 2 },
                { "[users]\nnames = Agent-*\n", 2 },
                { "[users]\nnames = agent-[0-9]\n", 2 },
                { "[users]\nhome_base = home/ephem\n", 2 },
                { "[users]\nshell = /bin/sh:x\n", 2 },
                { GOOD_HOST "[issuer a]\niss = x\nkeys = relative.jwks\n", 5 },
                { GOOD_HOST "[issuer a]\niss = x\nkeys = /k\nalgorithms = ES256 HS256\n", 6 },
                { GOOD_HOST "[issuer a]\niss = x\nkeys = /k\nalgorithms = none\n", 6 },
                { GOOD_HOST "[issuer a]\niss = x\nkeys = /k\nmax_token_lifetime = 2d\n", 6 },
                { GOOD_HOST "[issuer a]\niss = x\nkeys = /k\nbreakglass = maybe\n", 6 },
                { GOOD_HOST GOOD_ISSUER "[rule r]\nissuer = broker\nlogins = Agent-*\n", 8 },
                { GOOD_HOST GOOD_ISSUER "[rule r]\nissuer = broker\nlogins = agent-${bad name}\n", 8 },
                { GOOD_HOST GOOD_ISSUER "[rule r]\nissuer = broker\nlogins = agent-${}\n", 8 },
                { GOOD_HOST GOOD_ISSUER "[rule r]\nissuer = broker\nlogins = agent-${sub\n", 8 },
                { GOOD_HOST GOOD_ISSUER "[rule r]\nissuer = broker\nlogins = agent/x\n", 8 },
                { GOOD_HOST GOOD_ISSUER "[rule r]\nissuer = broker\nlogins = agent-*\ngroups = Wheel\n", 9 },
                { GOOD_HOST GOOD_ISSUER "[rule r]\nissuer = broker\nlogins = agent-*\nmax_session = 8d\n", 9 },
                { GOOD_HOST GOOD_ISSUER "[rule r]\nissuer = broker\nlogins = agent-*\nclaim./a = x\n", 9 },
                { GOOD_HOST GOOD_ISSUER "[rule r]\nissuer = broker\nlogins = agent-*\nclaim.a/ = x\n", 9 },
                { GOOD_HOST GOOD_ISSUER "[rule r]\nissuer = broker\nlogins = agent-*\nclaim. = x\n", 9 },
                { GOOD_HOST GOOD_ISSUER "[rule r]\nissuer = broker\nlogins = agent-*\nclaim.team =\n", 9 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_refused_at(f, cases[i].text, cases[i].line, NULL);
}

static void test_duplicate_settings_refused(void **state) {
        fixture *f = *state;

        assert_refused_at(f, GOOD_HOST GOOD_ISSUER "iss = https://other.example\n", 6, "twice");
        assert_refused_at(f, GOOD_HOST GOOD_ISSUER "keys = /etc/ephem/other.jwks\n", 6, "twice");
        /* Reopening a section does not reset what it already set. */
        assert_refused_at(f, GOOD_HOST GOOD_ISSUER "[host]\nleeway = 5\n" GOOD_ISSUER, 9, "twice");
        assert_refused_at(f, GOOD_HOST GOOD_ISSUER "[rule r]\nissuer = broker\nissuer = broker\nlogins = agent-*\n", 8,
                          "twice");
        assert_refused_at(f, GOOD_HOST GOOD_ISSUER "[rule r]\nissuer = broker\nlogins = agent-*\nlogins = ci-*\n", 9,
                          "twice");
#define RULE GOOD_HOST GOOD_ISSUER "[rule r]\nissuer = broker\nlogins = agent-*\n"
        assert_refused_at(f, RULE "groups = a\ngroups = b\n", 10, "twice");
        assert_refused_at(f, RULE "claim.team = a\nclaim.team = b\n", 10, "twice");
#undef RULE
        /* Two issuers with one iss would make the key choice ambiguous. */
        assert_refused_at(f, GOOD_HOST GOOD_ISSUER "[issuer copy]\niss = https://broker.example.net\nkeys = /k\n", 7,
                          "repeats");
}

static void test_incomplete_sections_refused(void **state) {
        fixture *f = *state;

        /* Errors about a whole section point at its first setting. */
        assert_refused_at(f, GOOD_HOST "[issuer a]\niss = x\n", 4, "needs 'iss' and 'keys'");
        assert_refused_at(f, GOOD_HOST "[issuer a]\nkeys = /k\n", 4, "needs 'iss' and 'keys'");
        assert_refused_at(f, GOOD_ISSUER, 0, "audience");
        assert_refused_at(f, GOOD_HOST GOOD_ISSUER "[rule r]\nissuer = broker\n", 7, "needs 'issuer' and 'logins'");
        assert_refused_at(f, GOOD_HOST GOOD_ISSUER "[rule r]\nlogins = agent-*\n", 7, "needs 'issuer' and 'logins'");
        assert_refused_at(f, GOOD_HOST GOOD_ISSUER "[rule r]\nissuer = broker nobody\nlogins = agent-*\n", 7, "nobody");
}

/* head, then n lines "allow_command = echo N" with N zero-padded to width digits. */
static char *with_allow_lines(const char *head, unsigned n, unsigned width) {
        char *text = test_strdup_printf("%s", head);
        for (unsigned i = 0; i < n; i++) {
                char *next = test_strdup_printf("%sallow_command = echo %0*u\n", text, (int) width, i);
                free(text);
                text = next;
        }
        return text;
}

static void test_allowed_commands_have_limits(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *many = NULL, *long_lines = NULL;
#define RULE GOOD_HOST GOOD_ISSUER "[rule r]\nissuer = broker\nlogins = agent-*\n"
        /* 32 lines are fine, the 33rd is refused where it is. */
        many = with_allow_lines(RULE, 33, 1);
        assert_refused_at(f, many, 9 + 32, "at most 32");
        /* 4096 bytes together: eight lines of 505 bytes are 4048, the ninth is refused. */
        long_lines = with_allow_lines(RULE, 9, 500);
        assert_refused_at(f, long_lines, 9 + 8, "4096 bytes");
        assert_refused_at(f, RULE "allow_command =\n", 9, NULL);
        assert_refused_at(f, RULE "commands_claim =\n", 9, NULL);
        /* A forced command and a list of allowed ones contradict each other. */
        assert_refused_at(f, RULE "command = true\nallow_command = id\n", 7, "cannot be combined");
        assert_refused_at(f, RULE "command = true\ncommands_claim = commands\n", 7, "cannot be combined");
#undef RULE
}

static void test_module_arguments_override_the_file(void **state) {
        fixture *f = *state;
        const char *argv[] = { "config=/nonexistent/ignored.conf",
                               "leeway=5",
                               "audience=other.example",
                               "debug",
                               "fail_delay = 0",
                               "max_token_length=1024" };
        const char *text = GOOD_HOST "leeway = 60\nfail_delay = 500\n" GOOD_ISSUER;
        ephem_config *c = NULL;
        conf_error err;

        assert_errno(load_args(f, text, (int) ELEMENTSOF(argv), argv, &c, &err), 0);
        assert_int_equal(c->leeway, 5);
        assert_string_equal(c->audiences[0], "other.example");
        assert_null(c->audiences[1]);
        assert_true(c->debug);
        assert_int_equal(c->fail_delay_ms, 0);
        assert_int_equal(c->max_token_length, 1024);
        config_free(c);
}

static void test_module_argument_errors_refused(void **state) {
        fixture *f = *state;
        static const char *const bad[] = { "leeway", "leeway=abc", "bogus=1",   "names=agent-*",
                                           "iss=x",  "=5",         "leeway=301" };
        conf_error err;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                const char *argv[] = { bad[i] };
                int r = load_args(f, GOOD_HOST GOOD_ISSUER, 1, argv, NULL, &err);
                if (r != -EINVAL)
                        fail_msg("module argument '%s' accepted (r=%d)", bad[i], r);
        }
}

static void test_config_argument_selects_the_file(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *other = test_strdup_printf("%s/other.conf", f->dir);
        _cleanup_free_ char *arg = test_strdup_printf("config=%s", other);
        const char *argv[] = { "debug", arg };
        ephem_config *c = NULL;
        conf_error err = { 0 };

        assert_null(config_path_from_args(1, argv));
        assert_string_equal(config_path_from_args(2, argv), other);
        test_write_file(other, "[host]\nleeway = 7\n", 0644);
        assert_errno(config_load(config_path_from_args(2, argv), 2, argv, &c, &err), 0);
        assert_string_equal(c->path, other);
        assert_int_equal(c->leeway, 7);
        assert_true(c->debug);
        config_free(c);
}

static void test_unsafe_config_file_refused(void **state) {
        fixture *f = *state;
        _cleanup_free_ char *link = test_strdup_printf("%s/link.conf", f->dir);
        ephem_config *c = NULL;
        conf_error err = { 0 };

        test_write_file(f->path, GOOD_HOST, 0644);
        assert_int_equal(symlink(f->path, link), 0);
        assert_errno(config_load(link, 0, NULL, &c, &err), -ELOOP);
        assert_errno(chmod(f->path, 0664), 0);
        assert_errno(config_load(f->path, 0, NULL, &c, &err), -EPERM);
        assert_errno(chmod(f->path, 0646), 0);
        assert_errno(config_load(f->path, 0, NULL, &c, &err), -EPERM);
        assert_errno(unlink(f->path), 0);
        assert_errno(config_load(f->path, 0, NULL, &c, &err), -ENOENT);
        assert_null(c);
}

static void test_parsers_are_strict(void **state _unused_) {
        uint64_t v = 77;
        bool b = false;

        assert_errno(parse_duration("90", &v), 0);
        assert_int_equal(v, 90);
        assert_errno(parse_duration("15m", &v), 0);
        assert_int_equal(v, 900);
        assert_errno(parse_duration("2h", &v), 0);
        assert_int_equal(v, 7200);
        assert_errno(parse_duration("1d", &v), 0);
        assert_int_equal(v, 86400);
        assert_errno(parse_duration("", &v), -EINVAL);
        assert_errno(parse_duration("m", &v), -EINVAL);
        assert_errno(parse_duration("1.5h", &v), -EINVAL);
        assert_errno(parse_duration("+5", &v), -EINVAL);
        assert_errno(parse_duration("5 m", &v), -EINVAL);
        assert_errno(parse_duration("1w", &v), -EINVAL);
        assert_errno(parse_duration("99999999999999999999", &v), -ERANGE);
        assert_errno(parse_duration("999999999999999999d", &v), -ERANGE);
        assert_errno(parse_u64("18446744073709551615", &v), 0);
        assert_errno(parse_u64("18446744073709551616", &v), -ERANGE);
        assert_errno(parse_u64("007", &v), -EINVAL);
        assert_errno(parse_u64("0", &v), 0);
        assert_errno(parse_bool("yes", &b), 0);
        assert_true(b);
        assert_errno(parse_bool("off", &b), 0);
        assert_false(b);
        assert_errno(parse_bool("Yes", &b), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_full_file_loads),
                cmocka_unit_test(test_unknown_key_refused),
                cmocka_unit_test(test_unknown_section_refused),
                cmocka_unit_test(test_syntax_errors_refused),
                cmocka_unit_test(test_value_errors_refused),
                cmocka_unit_test(test_duplicate_settings_refused),
                cmocka_unit_test(test_incomplete_sections_refused),
                cmocka_unit_test(test_allowed_commands_have_limits),
                cmocka_unit_test(test_module_arguments_override_the_file),
                cmocka_unit_test(test_module_argument_errors_refused),
                cmocka_unit_test(test_config_argument_selects_the_file),
                cmocka_unit_test(test_unsafe_config_file_refused),
                cmocka_unit_test(test_parsers_are_strict),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
