/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The alternatives to ephem that bench-auth measures in the same run: see bench-alt.h. */
#include "bench-alt.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <sched.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-util.h"
#include "pamutil.h"
#include "testutil.h"

/* ---- pam_unix with yescrypt ---- */

#define UNIX_USER "bench-unix"
#define UNIX_PASSWORD "correct horse battery staple"

static int unix_in_child(const char *dir, size_t n, double *warm, double *whole, double *bare, char *setting,
                         size_t setting_size) {
        _cleanup_free_ char *passwd = test_strdup_printf("%s/passwd", dir),
                            *shadow = test_strdup_printf("%s/shadow", dir),
                            *confdir = test_strdup_printf("%s/pam.d", dir), *host_passwd = NULL, *text = NULL;
        char salt[CRYPT_GENSALT_OUTPUT_SIZE];
        struct crypt_data cd;
        const char *answers[] = { UNIX_PASSWORD, NULL };
        pam_script script = { .answers = answers };
        struct pam_conv conv = { .conv = pam_script_conv, .appdata_ptr = &script };
        pam_handle_t *ph = NULL;

        /* libxcrypt's default cost for the prefix: what pam_unix's "yescrypt" option
         * (rounds unset) and Debian's passwd(1) write. */
        if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt))) {
                fprintf(stderr, "pam_unix: crypt_gensalt_rn($y$) failed: %s\n", strerror(errno));
                return -1;
        }
        memset(&cd, 0, sizeof(cd));
        if (!crypt_rn(UNIX_PASSWORD, salt, &cd, sizeof(cd)) || cd.output[0] != '$') {
                fprintf(stderr, "pam_unix: yescrypt hashing failed\n");
                return -1;
        }
        /* "$y$j9T$salt$hash": the setting is the part up to the salt. */
        {
                const char *p = cd.output;
                int dollars = 0;
                size_t i = 0;
                for (; p[i] && dollars < 3; i++)
                        dollars += p[i] == '$';
                snprintf(setting, setting_size, "%.*s", (int) i, p);
        }

        host_passwd = test_read_file("/etc/passwd");
        text = test_strdup_printf("%s" UNIX_USER ":x:4242:4242:pam_unix bench:/nonexistent:/usr/sbin/nologin\n",
                                  host_passwd ? host_passwd : "root:x:0:0:root:/root:/bin/bash\n");
        test_write_file(passwd, text, 0644);
        free(text);
        text = test_strdup_printf("root:*:19000:0:99999:7:::\n" UNIX_USER ":%s:19000:0:99999:7:::\n", cd.output);
        test_write_file(shadow, text, 0640);
        if (mkdir(confdir, 0755) < 0)
                test_die("mkdir %s", confdir);
        pam_write_service(confdir, "unix", "auth required pam_unix.so\naccount required pam_unix.so\n");

        /* A mount namespace of our own: the test files over /etc/passwd and
         * /etc/shadow for this process only. */
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount(passwd, "/etc/passwd", NULL, MS_BIND, NULL) < 0 ||
            mount(shadow, "/etc/shadow", NULL, MS_BIND, NULL) < 0) {
                fprintf(stderr, "pam_unix: private mount namespace: %s\n", strerror(errno));
                return -1;
        }

        if (pam_start_confdir("unix", UNIX_USER, &conv, confdir, &ph) != PAM_SUCCESS)
                test_die("pam_start_confdir(unix) failed");
        for (size_t i = 0; i < n; i++) {
                double a;
                int r;

                script.next = 0;
                a = bench_now_us();
                r = pam_authenticate(ph, 0);
                warm[i] = bench_now_us() - a;
                if (r != PAM_SUCCESS) {
                        fprintf(stderr, "pam_unix: pam_authenticate: %s\n", pam_code_name(r));
                        return -1;
                }
                /* The hash alone, interleaved: what any yescrypt check costs at least. */
                {
                        struct crypt_data again;
                        memset(&again, 0, sizeof(again));
                        a = bench_now_us();
                        if (!crypt_rn(UNIX_PASSWORD, cd.output, &again, sizeof(again)) ||
                            !streq(again.output, cd.output))
                                test_die("yescrypt does not verify its own hash");
                        bare[i] = bench_now_us() - a;
                }
        }
        /* A wrong password is refused: the check is real. */
        answers[0] = "wrong";
        script.next = 0;
        if (pam_authenticate(ph, PAM_SILENT) != PAM_AUTH_ERR) {
                fprintf(stderr, "pam_unix: a wrong password was not refused\n");
                return -1;
        }
        pam_end(ph, PAM_SUCCESS);
        answers[0] = UNIX_PASSWORD;

        for (size_t i = 0; i < n; i++) {
                double a = bench_now_us();
                int r;

                script.next = 0;
                if (pam_start_confdir("unix", UNIX_USER, &conv, confdir, &ph) != PAM_SUCCESS)
                        test_die("pam_start_confdir(unix) failed");
                r = pam_authenticate(ph, 0);
                pam_end(ph, r);
                whole[i] = bench_now_us() - a;
                if (r != PAM_SUCCESS) {
                        fprintf(stderr, "pam_unix: transaction %zu: %s\n", i, pam_code_name(r));
                        return -1;
                }
        }
        return 0;
}

int alt_pam_unix(size_t n, double *warm, double *whole, double *bare, char *setting, size_t setting_size) {
        size_t bytes = 3 * n * sizeof(double) + 64;
        double *shared;
        char *dir;
        pid_t pid;
        int status = 0;

        if (geteuid() != 0) {
                fprintf(stderr, "pam_unix: skipped, needs root (a private mount namespace)\n");
                return -1;
        }
        shared = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shared == MAP_FAILED)
                test_die("mmap");
        dir = test_tmpdir();
        pid = fork();
        if (pid < 0)
                test_die("fork");
        if (pid == 0)
                _exit(unix_in_child(dir, n, shared, shared + n, shared + 2 * n, (char *) (shared + 3 * n), 64) == 0
                              ? 0
                              : 1);
        if (waitpid(pid, &status, 0) != pid)
                test_die("waitpid");
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                memcpy(warm, shared, n * sizeof(double));
                memcpy(whole, shared + n, n * sizeof(double));
                memcpy(bare, shared + 2 * n, n * sizeof(double));
                snprintf(setting, setting_size, "%s", (char *) (shared + 3 * n));
        }
        munmap(shared, bytes);
        test_rmrf(dir);
        free(dir);
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* ---- a broker asked at every login: HTTP token introspection ---- */

#define CLIENT_ID "bench-host"
#define CLIENT_SECRET "bench-secret"

static int free_port(void) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

        if (fd >= 0 && bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0 &&
            getsockname(fd, (struct sockaddr *) &a, &len) == 0)
                port = ntohs(a.sin_port);
        if (fd >= 0)
                close(fd);
        return port;
}

static int http_connect(int port) {
        struct sockaddr_in a = { .sin_family = AF_INET,
                                 .sin_port = htons((uint16_t) port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

        if (fd < 0)
                return -1;
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

/* Sends a request and reads one response (headers, then Content-Length bytes).
 * Returns the body (in buf) or NULL; *status gets the HTTP status. */
static const char *http_exchange(int fd, const char *req, char *buf, size_t size, int *status) {
        size_t len = strlen(req), got = 0, need = 0;
        const char *body = NULL;

        for (size_t off = 0; off < len;) {
                ssize_t k = write(fd, req + off, len - off);
                if (k <= 0)
                        return NULL;
                off += (size_t) k;
        }
        for (;;) {
                ssize_t k;
                if (got + 1 >= size)
                        return NULL;
                k = read(fd, buf + got, size - got - 1);
                if (k <= 0)
                        return NULL;
                got += (size_t) k;
                buf[got] = '\0';
                if (!body) {
                        const char *end = strstr(buf, "\r\n\r\n"), *cl;
                        if (!end)
                                continue;
                        body = end + 4;
                        cl = strcasestr(buf, "\r\nContent-Length:");
                        if (!cl || cl > end || sscanf(buf, "HTTP/1.1 %d", status) != 1)
                                return NULL;
                        need = (size_t) (body - buf) + strtoul(cl + 17, NULL, 10);
                }
                if (got >= need)
                        return body;
        }
}

static char *basic_auth(void) {
        unsigned char out[128];
        int n = EVP_EncodeBlock(out, (const unsigned char *) CLIENT_ID ":" CLIENT_SECRET,
                                (int) strlen(CLIENT_ID ":" CLIENT_SECRET));
        return test_strdup_printf("%.*s", n, out);
}

static char *post(int port, const char *path, const char *body, bool keep_alive) {
        _cleanup_free_ char *auth = basic_auth();
        return test_strdup_printf("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Basic %s\r\n"
                                  "Content-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\n"
                                  "Content-Length: %zu\r\nConnection: %s\r\n\r\n%s",
                                  path, port, auth, strlen(body), keep_alive ? "keep-alive" : "close", body);
}

/* One introspection: the broker must say the token is active. */
static int introspect_once(int fd, const char *req) {
        char buf[8192];
        int status = 0;
        const char *body = http_exchange(fd, req, buf, sizeof(buf), &status);

        return body && status == 200 && strstr(body, "\"active\":true") ? 0 : -1;
}

int alt_introspection(const char *broker_script, size_t n, double *fresh, double *kept) {
        int port = free_port(), fd = -1, status, r = -1;
        _cleanup_free_ char *token_req = NULL, *req_close = NULL, *req_keep = NULL, *body_intro = NULL;
        char buf[8192], token[512] = "";
        const char *body;
        pid_t pid;

        if (port < 0 || access(broker_script, R_OK) < 0) {
                fprintf(stderr, "introspection: %s: %s\n", broker_script, strerror(errno));
                return -1;
        }
        pid = fork();
        if (pid < 0)
                test_die("fork");
        if (pid == 0) {
                char p[16];
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                snprintf(p, sizeof(p), "%d", port);
                if (null >= 0) {
                        (void) dup2(null, STDOUT_FILENO);
                        (void) dup2(null, STDERR_FILENO);
                }
                execlp("node", "node", broker_script, p, (char *) NULL);
                _exit(127);
        }
        for (int i = 0; i < 150 && fd < 0; i++) {
                if (waitpid(pid, &status, WNOHANG) == pid) {
                        fprintf(stderr, "introspection: the broker exited (node missing, or `npm ci` not run in "
                                        "tests/e2e/broker)\n");
                        return -1;
                }
                fd = http_connect(port);
                if (fd < 0)
                        usleep(100 * 1000);
        }
        if (fd < 0) {
                fprintf(stderr, "introspection: the broker did not listen\n");
                goto stop;
        }

        /* An access token, as an agent would get it. */
        token_req = post(port, "/token", "grant_type=client_credentials&scope=login", false);
        body = http_exchange(fd, token_req, buf, sizeof(buf), &status);
        close(fd);
        fd = -1;
        if (!body || status != 200 || sscanf(body, "{\"access_token\":\"%511[^\"]\"", token) != 1) {
                fprintf(stderr, "introspection: no access token from the broker\n");
                goto stop;
        }
        body_intro = test_strdup_printf("token=%s&token_type_hint=access_token", token);
        req_close = post(port, "/token/introspection", body_intro, false);
        req_keep = post(port, "/token/introspection", body_intro, true);

        /* Warm the broker (JIT, caches) before timing. */
        for (int i = 0; i < 50; i++) {
                fd = http_connect(port);
                if (fd < 0 || introspect_once(fd, req_close) < 0) {
                        fprintf(stderr, "introspection: warm-up request failed\n");
                        goto stop;
                }
                close(fd);
                fd = -1;
        }
        for (size_t i = 0; i < n; i++) {
                double a = bench_now_us();
                fd = http_connect(port);
                if (fd < 0 || introspect_once(fd, req_close) < 0) {
                        fprintf(stderr, "introspection: request %zu failed\n", i);
                        goto stop;
                }
                close(fd);
                fd = -1;
                fresh[i] = bench_now_us() - a;
        }
        fd = http_connect(port);
        for (size_t i = 0; i < n; i++) {
                double a = bench_now_us();
                if (fd < 0 || introspect_once(fd, req_keep) < 0) {
                        fprintf(stderr, "introspection: kept-alive request %zu failed\n", i);
                        goto stop;
                }
                kept[i] = bench_now_us() - a;
        }
        r = 0;
stop:
        if (fd >= 0)
                close(fd);
        kill(pid, SIGTERM);
        for (int i = 0; i < 50; i++) {
                if (waitpid(pid, &status, WNOHANG) == pid) {
                        pid = 0;
                        break;
                }
                usleep(20 * 1000);
        }
        if (pid > 0) {
                kill(pid, SIGKILL);
                (void) waitpid(pid, &status, 0);
        }
        return r;
}
