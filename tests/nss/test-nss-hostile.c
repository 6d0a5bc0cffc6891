/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Damaged and hostile records: whatever lies in the store, the module must not
 * crash, hang or hand out an entry it did not verify: NOTFOUND or UNAVAIL, never
 * UID 0, and for a transient name never the pre-authentication entry in place of a
 * record it could not read (a damaged record is a reason to refuse, not to guess).
 * Each case is looked up by name, by UID (through its by-uid link), as a group, by
 * initgroups_dyn and by enumeration, under a watchdog.
 *
 * Usage: test-nss-hostile <path to libnss_ephem.so.2>
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "ephem/macro.h"
#include "ephem/userdb.h"
#include "nss-test.h"

#define VICTIM "agent-h"
#define WATCHDOG_SECONDS 30

static nss_module mod;
static uid_t good_uid;

static int setup(void **state) {
        static const gid_t groups[] = { 4 };
        nss_host *h = nss_host_new(NULL);

        good_uid = nss_host_add_user(h, "agent-good", groups, ELEMENTSOF(groups));
        *state = h;
        return 0;
}

static int teardown(void **state) {
        nss_host_free(*state);
        return 0;
}

/* Replaces @NAME@, @UID@ (the victim's derived UID) and @UID1@ (that plus one). */
static char *expand(const nss_host *h, const char *template) {
        _cleanup_free_ char *uid = nss_test_printf("%u", (unsigned) userconf_uid(&h->users, VICTIM));
        _cleanup_free_ char *uid1 = nss_test_printf("%u", (unsigned) userconf_uid(&h->users, VICTIM) + 1);
        char *out = strdup("");

        assert_non_null(out);
        for (const char *p = template; *p;) {
                const char *with = NULL;
                size_t skip = 0;
                char *n;

                if (strncmp(p, "@NAME@", 6) == 0)
                        with = VICTIM, skip = 6;
                else if (strncmp(p, "@UID1@", 6) == 0)
                        with = uid1, skip = 6;
                else if (strncmp(p, "@UID@", 5) == 0)
                        with = uid, skip = 5;
                if (with) {
                        n = nss_test_printf("%s%s", out, with);
                        p += skip;
                } else {
                        n = nss_test_printf("%s%c", out, *p);
                        p++;
                }
                free(out);
                out = n;
        }
        return out;
}

#define VALID_HEAD "v=1\nname=@NAME@\nuid=@UID@\ngid=@UID@\n"
#define VALID_TAIL "gecos=x\nhome=/home/ephem/@NAME@\nshell=/bin/sh\n"

static const struct {
        const char *what;
        const char *text;
} hostile_texts[] = {
        { "empty file", "" },
        { "truncated in a line", VALID_HEAD "gecos=x\nhome=/home/ephem/@NAME@\nshell=/bin/s" },
        { "truncated after a line", VALID_HEAD "gecos=x\n" },
        { "no shell", VALID_HEAD "gecos=x\nhome=/home/ephem/@NAME@\n" },
        { "no home", VALID_HEAD "gecos=x\nshell=/bin/sh\n" },
        { "no version", "name=@NAME@\nuid=@UID@\ngid=@UID@\n" VALID_TAIL },
        { "no name", "v=1\nuid=@UID@\ngid=@UID@\n" VALID_TAIL },
        { "no uid", "v=1\nname=@NAME@\ngid=@UID@\n" VALID_TAIL },
        { "no gid", "v=1\nname=@NAME@\nuid=@UID@\n" VALID_TAIL },
        { "unknown version", "v=2\nname=@NAME@\nuid=@UID@\ngid=@UID@\n" VALID_TAIL },
        { "uid 0 gid 0", "v=1\nname=@NAME@\nuid=0\ngid=0\n" VALID_TAIL },
        { "uid 0", "v=1\nname=@NAME@\nuid=0\ngid=@UID@\n" VALID_TAIL },
        { "gid 0", "v=1\nname=@NAME@\nuid=@UID@\ngid=0\n" VALID_TAIL },
        { "uid 0 after a valid uid", VALID_HEAD "uid=0\n" VALID_TAIL },
        { "gid != uid", "v=1\nname=@NAME@\nuid=@UID@\ngid=@UID1@\n" VALID_TAIL },
        { "uid below the range", "v=1\nname=@NAME@\nuid=1000\ngid=1000\n" VALID_TAIL },
        { "uid -1", "v=1\nname=@NAME@\nuid=4294967295\ngid=4294967295\n" VALID_TAIL },
        { "uid overflowing 32 bits", "v=1\nname=@NAME@\nuid=6174015488\ngid=6174015488\n" VALID_TAIL },
        { "negative uid", "v=1\nname=@NAME@\nuid=-1\ngid=-1\n" VALID_TAIL },
        { "uid with a sign", "v=1\nname=@NAME@\nuid=+@UID@\ngid=+@UID@\n" VALID_TAIL },
        { "uid with a leading zero", "v=1\nname=@NAME@\nuid=0@UID@\ngid=0@UID@\n" VALID_TAIL },
        { "uid with blanks", "v=1\nname=@NAME@\nuid= @UID@\ngid=@UID@ \n" VALID_TAIL },
        { "uid in hex", "v=1\nname=@NAME@\nuid=0x70000001\ngid=0x70000001\n" VALID_TAIL },
        { "':' in gecos", VALID_HEAD "gecos=a:b\nhome=/home/ephem/@NAME@\nshell=/bin/sh\n" },
        { "':' in home", VALID_HEAD "gecos=x\nhome=/home/ephem/@NAME@:0:0\nshell=/bin/sh\n" },
        { "':' in shell", VALID_HEAD "gecos=x\nhome=/home/ephem/@NAME@\nshell=/bin/sh:x\n" },
        { "escaped ':' in gecos", VALID_HEAD "gecos=a%3Ab\nhome=/home/ephem/@NAME@\nshell=/bin/sh\n" },
        { "newline in gecos", VALID_HEAD "gecos=a%0Aroot::0:0::/:/bin/sh\nhome=/home/ephem/@NAME@\nshell=/bin/sh\n" },
        { "newline in home", VALID_HEAD "gecos=x\nhome=/home/ephem/@NAME@%0a\nshell=/bin/sh\n" },
        { "control byte in gecos", VALID_HEAD "gecos=a%01b\nhome=/home/ephem/@NAME@\nshell=/bin/sh\n" },
        { "DEL in shell", VALID_HEAD "gecos=x\nhome=/home/ephem/@NAME@\nshell=/bin/sh%7F\n" },
        { "raw carriage return", VALID_HEAD "gecos=a\rb\nhome=/home/ephem/@NAME@\nshell=/bin/sh\n" },
        { "CRLF line ends", "v=1\r\nname=@NAME@\r\nuid=@UID@\r\ngid=@UID@\r\ngecos=x\r\nhome=/h\r\nshell=/bin/sh\r\n" },
        { "%00 escape", VALID_HEAD "gecos=x\nhome=/home/ephem/@NAME@%00/../../root\nshell=/bin/sh\n" },
        { "bad escape", VALID_HEAD "gecos=a%zzb\nhome=/home/ephem/@NAME@\nshell=/bin/sh\n" },
        { "half escape", VALID_HEAD "gecos=a%4\nhome=/home/ephem/@NAME@\nshell=/bin/sh\n" },
        { "escape at the end", VALID_HEAD "gecos=x\nhome=/home/ephem/@NAME@\nshell=/bin/sh%\n" },
        { "relative home", VALID_HEAD "gecos=x\nhome=home/@NAME@\nshell=/bin/sh\n" },
        { "relative shell", VALID_HEAD "gecos=x\nhome=/home/ephem/@NAME@\nshell=sh\n" },
        { "empty home", VALID_HEAD "gecos=x\nhome=\nshell=/bin/sh\n" },
        { "group 0", VALID_HEAD VALID_TAIL "group=0\n" },
        { "group -1", VALID_HEAD VALID_TAIL "group=4294967295\n" },
        { "group not a number", VALID_HEAD VALID_TAIL "group=wheel\n" },
        { "root's name in the record", "v=1\nname=root\nuid=@UID@\ngid=@UID@\n" VALID_TAIL },
        { "another user's name", "v=1\nname=agent-good\nuid=@UID@\ngid=@UID@\n" VALID_TAIL },
        { "invalid name", "v=1\nname=Agent-H\nuid=@UID@\ngid=@UID@\n" VALID_TAIL },
        { "name with a slash", "v=1\nname=../@NAME@\nuid=@UID@\ngid=@UID@\n" VALID_TAIL },
        { "uppercase key", "v=1\nname=@NAME@\nUID=@UID@\ngid=@UID@\n" VALID_TAIL },
        { "line without '='", VALID_HEAD "gecos x\n" VALID_TAIL },
        { "empty key", VALID_HEAD "=x\n" VALID_TAIL },
        { "key with a blank", VALID_HEAD "uid =0\n" VALID_TAIL },
        { "passwd line", "@NAME@:x:0:0:root:/root:/bin/bash\n" },
        { "binary", "\x7f"
                    "ELF\x02\x01\x01\n\xff\xfe=\x80\n" },
};

#define assert_refused(st, what, how)                                                       \
        do {                                                                                \
                if ((st) != NSS_STATUS_NOTFOUND && (st) != NSS_STATUS_UNAVAIL)              \
                        fail_msg("%s: %s answered %s", (what), (how), nss_status_name(st)); \
        } while (0)

/* Enumeration hands out the valid user only, and never UID 0. */
static void assert_enumeration_clean(const char *what) {
        char buf[2048];
        unsigned n = 0;
        int err;

        for (int group = 0; group < 2; group++) {
                enum nss_status st = group ? mod.setgrent(0) : mod.setpwent(0);
                if (st != NSS_STATUS_SUCCESS)
                        fail_msg("%s: set*ent: %s", what, nss_status_name(st));
                for (;;) {
                        struct passwd pw;
                        struct group gr;
                        const char *name;
                        uid_t id;

                        st = group ? mod.getgrent_r(&gr, buf, sizeof(buf), &err)
                                   : mod.getpwent_r(&pw, buf, sizeof(buf), &err);
                        if (st != NSS_STATUS_SUCCESS)
                                break;
                        name = group ? gr.gr_name : pw.pw_name;
                        id = group ? gr.gr_gid : pw.pw_uid;
                        if (id == 0 || !streq(name, "agent-good") || id != good_uid)
                                fail_msg("%s: enumeration handed out %s (%u)", what, name, (unsigned) id);
                        n++;
                }
                if (st != NSS_STATUS_NOTFOUND)
                        fail_msg("%s: enumeration ended with %s", what, nss_status_name(st));
                (void) (group ? mod.endgrent() : mod.endpwent());
        }
        if (n != 2)
                fail_msg("%s: the valid user was enumerated %u times, expected once per database", what, n);
}

/* Every way of asking for `file` (NULL: it is not there) and `uid` (0: no by-uid
 * link): none may succeed. */
static void assert_all_refused(const char *what, const char *file, uid_t uid) {
        char buf[2048];
        struct passwd pw;
        struct group gr;
        long start = 1, size = 1;
        gid_t *groups = malloc(sizeof(gid_t));
        enum nss_status st;
        int err;

        assert_non_null(groups);
        groups[0] = uid;
        alarm(WATCHDOG_SECONDS); /* a FIFO or a device must not hang a lookup */

        if (file) {
                st = mod.getpwnam_r(file, &pw, buf, sizeof(buf), &err);
                assert_refused(st, what, "getpwnam_r");
                st = mod.getgrnam_r(file, &gr, buf, sizeof(buf), &err);
                assert_refused(st, what, "getgrnam_r");
                st = mod.initgroups_dyn(file, uid, &start, &size, &groups, -1, &err);
                assert_refused(st, what, "initgroups_dyn");
                assert_int_equal(start, 1);
                assert_int_equal(size, 1);
        }
        if (uid != 0) {
                st = mod.getpwuid_r(uid, &pw, buf, sizeof(buf), &err);
                assert_refused(st, what, "getpwuid_r");
                st = mod.getgrgid_r(uid, &gr, buf, sizeof(buf), &err);
                assert_refused(st, what, "getgrgid_r");
        }
        free(groups);

        /* Root is never an answer, whatever is in the store. */
        st = mod.getpwuid_r(0, &pw, buf, sizeof(buf), &err);
        assert_int_equal(st, NSS_STATUS_NOTFOUND);
        st = mod.getgrgid_r(0, &gr, buf, sizeof(buf), &err);
        assert_int_equal(st, NSS_STATUS_NOTFOUND);

        assert_enumeration_clean(what);

        /* The valid user next to it is unaffected. */
        st = mod.getpwuid_r(good_uid, &pw, buf, sizeof(buf), &err);
        assert_int_equal(st, NSS_STATUS_SUCCESS);
        assert_string_equal(pw.pw_name, "agent-good");
        alarm(0);
}

static void remove_victim(const nss_host *h, uid_t uid) {
        _cleanup_free_ char *name_path = nss_test_printf("%s/%s", h->by_name, VICTIM);
        _cleanup_free_ char *uid_path = nss_test_printf("%s/%u", h->by_uid, (unsigned) uid);

        (void) unlink(uid_path);
        if (unlink(name_path) < 0 && errno == EISDIR)
                (void) rmdir(name_path);
}

static void test_damaged_records_refused(void **state) {
        nss_host *h = *state;
        uid_t uid = userconf_uid(&h->users, VICTIM);

        for (size_t i = 0; i < ELEMENTSOF(hostile_texts); i++) {
                _cleanup_free_ char *text = expand(h, hostile_texts[i].text);

                nss_host_put_raw(h, VICTIM, text, strlen(text), uid);
                assert_all_refused(hostile_texts[i].what, VICTIM, uid);
                remove_victim(h, uid);
        }
}

/* The control: the same templates' valid record is accepted, so the cases above
 * fail for the reason they name. */
static void test_valid_record_from_the_same_template_accepted(void **state) {
        nss_host *h = *state;
        uid_t uid = userconf_uid(&h->users, VICTIM);
        _cleanup_free_ char *text = expand(h, VALID_HEAD VALID_TAIL "group=4\n");
        char buf[2048];
        struct passwd pw;
        int err;

        nss_host_put_raw(h, VICTIM, text, strlen(text), uid);
        assert_int_equal(mod.getpwnam_r(VICTIM, &pw, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
        assert_int_equal(pw.pw_uid, uid);
        assert_string_equal(pw.pw_gecos, "x");
        assert_int_equal(mod.getpwuid_r(uid, &pw, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
        assert_string_equal(pw.pw_name, VICTIM);
}

static void test_nul_bytes_refused(void **state) {
        nss_host *h = *state;
        uid_t uid = userconf_uid(&h->users, VICTIM);
        _cleanup_free_ char *text = expand(h, VALID_HEAD VALID_TAIL);
        size_t len = strlen(text);
        _cleanup_free_ char *bin = malloc(len + 16);

        assert_non_null(bin);
        /* A NUL inside a value ("gecos=x\0...") and one at the very end. */
        memcpy(bin, text, len);
        bin[strstr(text, "gecos=x") - text + 7] = '\0';
        nss_host_put_raw(h, VICTIM, bin, len, uid);
        assert_all_refused("NUL in gecos", VICTIM, uid);
        memcpy(bin, text, len);
        bin[len] = '\0';
        nss_host_put_raw(h, VICTIM, bin, len + 1, uid);
        assert_all_refused("NUL at the end", VICTIM, uid);
        remove_victim(h, uid);
}

static char *padded_record(const nss_host *h, size_t size) {
        _cleanup_free_ char *text = expand(h, VALID_HEAD VALID_TAIL);
        size_t len = strlen(text);
        char *out = malloc(size + 1);

        /* Keys of a later version are ignored: "pad=xxxx...\n" fills the record up. */
        assert_non_null(out);
        assert_true(size > len + 6);
        memcpy(out, text, len);
        memcpy(out + len, "pad=", 4);
        memset(out + len + 4, 'x', size - len - 5);
        out[size - 1] = '\n';
        out[size] = '\0';
        return out;
}

static void test_oversized_records_refused(void **state) {
        nss_host *h = *state;
        uid_t uid = userconf_uid(&h->users, VICTIM);
        _cleanup_free_ char *path = nss_test_printf("%s/%s", h->by_name, VICTIM);
        char buf[2048];
        struct passwd pw;
        int err;

        /* The reader's bound: 4095 bytes are a record, 4096 are not. */
        {
                _cleanup_free_ char *fits = padded_record(h, 4095);
                nss_host_put_raw(h, VICTIM, fits, 4095, uid);
                assert_int_equal(mod.getpwnam_r(VICTIM, &pw, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
        }
        {
                _cleanup_free_ char *over = padded_record(h, 4096);
                nss_host_put_raw(h, VICTIM, over, 4096, uid);
                assert_all_refused("4096 bytes", VICTIM, uid);
        }
        {
                _cleanup_free_ char *huge = padded_record(h, 1024 * 1024);
                nss_host_put_raw(h, VICTIM, huge, 1024 * 1024, uid);
                assert_all_refused("1 MiB", VICTIM, uid);
        }
        /* A sparse 4 GiB file: refused by its size, never read. */
        {
                int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
                assert_true(fd >= 0);
                assert_int_equal(ftruncate(fd, (off_t) 4 << 30), 0);
                close(fd);
                assert_all_refused("sparse 4 GiB", VICTIM, uid);
        }
        /* Fields longer than a passwd field may be. */
        {
                _cleanup_free_ char *head = expand(h, VALID_HEAD "home=/h\nshell=/bin/sh\ngecos=");
                char *text = malloc(strlen(head) + 300);
                assert_non_null(text);
                strcpy(text, head);
                memset(text + strlen(head), 'g', USER_PATH_MAX);
                strcpy(text + strlen(head) + USER_PATH_MAX, "\n");
                nss_host_put_raw(h, VICTIM, text, strlen(text), uid);
                assert_all_refused("gecos of 256 bytes", VICTIM, uid);
                free(text);
        }
        /* More supplementary groups than a record may hold. */
        {
                _cleanup_free_ char *text = expand(h, VALID_HEAD VALID_TAIL);
                for (unsigned i = 0; i <= USER_GROUPS_MAX; i++) {
                        char *t = nss_test_printf("%sgroup=%u\n", text, 1000 + i);
                        free(text);
                        text = t;
                }
                nss_host_put_raw(h, VICTIM, text, strlen(text), uid);
                assert_all_refused("33 groups", VICTIM, uid);
        }
        remove_victim(h, uid);
}

static void test_special_files_refused(void **state) {
        nss_host *h = *state;
        uid_t uid = userconf_uid(&h->users, VICTIM);
        _cleanup_free_ char *path = nss_test_printf("%s/%s", h->by_name, VICTIM);
        _cleanup_free_ char *elsewhere = nss_test_printf("%s/valid-record", h->dir);
        _cleanup_free_ char *valid = expand(h, VALID_HEAD VALID_TAIL);

        assert_int_equal(mkdir(path, 0755), 0);
        assert_all_refused("a directory", VICTIM, 0);
        assert_int_equal(rmdir(path), 0);

        assert_int_equal(mkfifo(path, 0644), 0);
        assert_all_refused("a FIFO", VICTIM, 0);
        assert_int_equal(unlink(path), 0);

        {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                assert_true(fd >= 0);
                assert_true(strlen(path) < sizeof(sa.sun_path));
                strcpy(sa.sun_path, path);
                assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
                assert_all_refused("a socket", VICTIM, 0);
                close(fd);
                assert_int_equal(unlink(path), 0);
        }

        /* A symlink to a perfectly valid record, and one to a device. */
        nss_test_write(elsewhere, valid, strlen(valid), 0644);
        assert_int_equal(symlink(elsewhere, path), 0);
        assert_all_refused("a symlink to a valid record", VICTIM, 0);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(symlink("/dev/zero", path), 0);
        assert_all_refused("a symlink to /dev/zero", VICTIM, 0);
        assert_int_equal(unlink(path), 0);
        /* The UID link as a symlink. */
        {
                _cleanup_free_ char *uid_path = nss_test_printf("%s/%u", h->by_uid, (unsigned) uid);
                assert_int_equal(symlink(elsewhere, uid_path), 0);
                assert_all_refused("by-uid symlink", NULL, uid);
                assert_int_equal(unlink(uid_path), 0);
        }

        if (geteuid() == 0) {
                assert_int_equal(mknod(path, S_IFCHR | 0644, makedev(1, 3)), 0); /* /dev/null */
                assert_all_refused("a character device", VICTIM, 0);
                assert_int_equal(unlink(path), 0);
        } else
                print_message("not root: the character-device case is skipped\n");
}

static void test_foreign_owned_record_refused(void **state) {
        nss_host *h = *state;
        uid_t uid = userconf_uid(&h->users, VICTIM);
        _cleanup_free_ char *path = nss_test_printf("%s/%s", h->by_name, VICTIM);
        _cleanup_free_ char *valid = expand(h, VALID_HEAD VALID_TAIL);

        if (geteuid() != 0)
                skip();
        /* Owned by an ordinary user, or by the transient user itself. */
        nss_host_put_raw(h, VICTIM, valid, strlen(valid), uid);
        assert_int_equal(chown(path, 12345, 12345), 0);
        assert_all_refused("owned by UID 12345", VICTIM, uid);
        assert_int_equal(chown(path, uid, uid), 0);
        assert_all_refused("owned by the transient user", VICTIM, uid);
        assert_int_equal(chown(path, 0, 0), 0);
        {
                char buf[2048];
                struct passwd pw;
                int err;
                assert_int_equal(mod.getpwnam_r(VICTIM, &pw, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
        }
}

static void test_links_that_disagree_refused(void **state) {
        nss_host *h = *state;
        uid_t uid = userconf_uid(&h->users, VICTIM);
        _cleanup_free_ char *uid_path = nss_test_printf("%s/%u", h->by_uid, (unsigned) uid);
        _cleanup_free_ char *good_path = nss_test_printf("%s/agent-good", h->by_name);
        _cleanup_free_ char *named_other = expand(h, "v=1\nname=agent-good\nuid=@UID@\ngid=@UID@\n" VALID_TAIL);
        char buf[2048];
        struct passwd pw;
        int err;

        /* by-uid/<uid> holding another UID's record (agent-good's). */
        assert_int_equal(link(good_path, uid_path), 0);
        assert_refused(mod.getpwuid_r(uid, &pw, buf, sizeof(buf), &err), "foreign UID link", "getpwuid_r");
        assert_int_equal(unlink(uid_path), 0);

        /* by-name/agent-h holding agent-good's name (with agent-h's UID). */
        nss_host_put_raw(h, VICTIM, named_other, strlen(named_other), 0);
        assert_refused(mod.getpwnam_r(VICTIM, &pw, buf, sizeof(buf), &err), "file name mismatch", "getpwnam_r");
        remove_victim(h, uid);

        /* A name that is not transient, with a record making it root. */
        {
                static const char root_record[] = "v=1\nname=bob\nuid=0\ngid=0\ngecos=x\nhome=/root\nshell=/bin/sh\n";
                nss_host_put_raw(h, "bob", root_record, strlen(root_record), 0);
                assert_all_refused("bob as root", "bob", 0);
        }
        /* Well-formed records of names that are not transient: a by-uid link must not
         * turn a UID into "root" or any other local name. */
        {
                _cleanup_free_ char *as_root = expand(h, "v=1\nname=root\nuid=@UID@\ngid=@UID@\n" VALID_TAIL);
                _cleanup_free_ char *as_bob = expand(h, "v=1\nname=bob\nuid=@UID@\ngid=@UID@\n" VALID_TAIL);
                nss_host_put_raw(h, "root", as_root, strlen(as_root), uid);
                assert_all_refused("root's name by UID", "root", uid);
                (void) unlink(uid_path);
                nss_host_put_raw(h, "bob", as_bob, strlen(as_bob), uid);
                assert_all_refused("a name outside the patterns", "bob", uid);
                (void) unlink(uid_path);
        }
        /* A record under a file name that is no user name at all. */
        {
                _cleanup_free_ char *valid = expand(h, VALID_HEAD VALID_TAIL);
                nss_host_put_raw(h, "Agent-H", valid, strlen(valid), 0);
                nss_host_put_raw(h, ".new-agent-h", valid, strlen(valid), 0);
                assert_all_refused("file named Agent-H", "Agent-H", 0);
                assert_all_refused("temporary file", ".new-agent-h", 0);
        }
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_valid_record_from_the_same_template_accepted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_damaged_records_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nul_bytes_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_oversized_records_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_special_files_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_foreign_owned_record_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_links_that_disagree_refused, setup, teardown),
        };

        if (argc != 2) {
                fprintf(stderr, "usage: %s <libnss_ephem.so.2>\n", argv[0]);
                return 2;
        }
        nss_module_open(argv[1], &mod);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
