/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ephemctl keygen: a signing key pair for a local issuer, and its JWKS. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ephem/json.h"
#include "ephem/keys.h"
#include "ephem/macro.h"
#include "ephem/strutil.h"
#include "ephemctl.h"

/* Writes buf to a new file (never over an existing one) with the given mode. */
static int write_new_file(const char *path, const char *buf, size_t len, mode_t mode) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        size_t off = 0;

        if (fd < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -errno;
        }
        while (off < len) {
                ssize_t k = write(fd, buf + off, len - off);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        fprintf(stderr, "%s: %s\n", path, strerror(errno));
                        return -errno;
                }
                off += (size_t) k;
        }
        if (fchmod(fd, mode) < 0)
                return -errno;
        return 0;
}

/* PEM of the private (or public) half, via a memory BIO that is wiped afterwards. */
static int pem_of(EVP_PKEY *key, bool private_half, char **ret, size_t *ret_len) {
        BIO *bio = BIO_new(BIO_s_secmem());
        BUF_MEM *mem = NULL;
        int ok;

        if (!bio)
                return -ENOMEM;
        ok = private_half ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
                          : PEM_write_bio_PUBKEY(bio, key);
        if (ok != 1 || BIO_get_mem_ptr(bio, &mem) != 1 || !mem) {
                BIO_free(bio);
                return -EIO;
        }
        *ret = malloc(mem->length + 1);
        if (!*ret) {
                BIO_free(bio);
                return -ENOMEM;
        }
        memcpy(*ret, mem->data, mem->length);
        (*ret)[mem->length] = '\0';
        *ret_len = mem->length;
        BIO_free(bio); /* secure memory: cleared on free */
        return 0;
}

int cmd_keygen(int argc, char **argv) {
        static const struct option options[] = {
                { "type", required_argument, NULL, 't' }, { "bits", required_argument, NULL, 'b' },
                { "kid", required_argument, NULL, 'k' },  { "out", required_argument, NULL, 'o' },
                { "help", no_argument, NULL, 'h' },       {},
        };
        const char *type = "ec", *kid = NULL, *out = NULL;
        uint32_t bits = 3072;
        EVP_PKEY *key = NULL;
        _cleanup_json_ json_t *jwk = NULL, *jwks = NULL;
        _cleanup_free_ char *pub = NULL, *jwks_text = NULL, *path = NULL;
        char *priv = NULL;
        size_t priv_len = 0, pub_len = 0;
        key_type kt;
        int opt, r = EXIT_USAGE;

        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case 't':
                        type = optarg;
                        break;
                case 'b':
                        if (parse_u32(optarg, &bits) < 0 || bits < 2048 || bits > 8192) {
                                fprintf(stderr, "--bits: 2048 to 8192\n");
                                return EXIT_USAGE;
                        }
                        break;
                case 'k':
                        kid = optarg;
                        break;
                case 'o':
                        out = optarg;
                        break;
                case 'h':
                        printf("ephemctl keygen [--type ec|ec384|ed25519|rsa] [--bits N] [--kid ID] --out PREFIX\n"
                               "writes PREFIX.key (private, 0600), PREFIX.pub (PEM) and PREFIX.jwks\n");
                        return 0;
                default:
                        return EXIT_USAGE;
                }
        if (!out || optind != argc) {
                fprintf(stderr,
                        "usage: ephemctl keygen [--type ec|ec384|ed25519|rsa] [--bits N] [--kid ID] --out PREFIX\n");
                return EXIT_USAGE;
        }
        if (streq(type, "ec"))
                key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        else if (streq(type, "ec384"))
                key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
        else if (streq(type, "ed25519"))
                key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        else if (streq(type, "rsa"))
                key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) bits);
        else {
                fprintf(stderr, "--type: ec, ec384, ed25519 or rsa\n");
                return EXIT_USAGE;
        }
        if (!key) {
                fprintf(stderr, "key generation failed\n");
                return EXIT_USAGE;
        }

        if (key_public_jwk(key, &kt, &jwk) < 0)
                goto done;
        if (!kid) {
                char tp[JWK_THUMBPRINT_LEN + 1];
                if (jwk_thumbprint(jwk, tp) < 0)
                        goto done;
                if (json_object_set_new(jwk, "kid", json_string(tp)) < 0)
                        goto done;
        } else if (json_object_set_new(jwk, "kid", json_string(kid)) < 0)
                goto done;
        if (json_object_set_new(jwk, "use", json_string("sig")) < 0 ||
            json_object_set_new(jwk, "alg", json_string(jws_alg_to_string(key_default_alg(key)))) < 0)
                goto done;
        jwks = json_pack("{s:[O]}", "keys", jwk);
        jwks_text = jwks ? json_dumps(jwks, JSON_INDENT(2)) : NULL;
        if (!jwks_text || pem_of(key, true, &priv, &priv_len) < 0 || pem_of(key, false, &pub, &pub_len) < 0)
                goto done;

        path = malloc(strlen(out) + 8);
        if (!path)
                goto done;
        sprintf(path, "%s.key", out);
        if (write_new_file(path, priv, priv_len, 0600) < 0)
                goto done;
        sprintf(path, "%s.pub", out);
        if (write_new_file(path, pub, pub_len, 0644) < 0)
                goto done;
        sprintf(path, "%s.jwks", out);
        if (write_new_file(path, jwks_text, strlen(jwks_text), 0644) < 0)
                goto done;
        printf("%s key: %s.key (private, keep it offline), %s.pub, %s.jwks (kid %s)\n", key_type_to_string(kt), out,
               out, out, json_string_value(json_object_get(jwk, "kid")));
        r = 0;
done:
        if (priv) {
                explicit_bzero(priv, priv_len);
                free(priv);
        }
        EVP_PKEY_free(key);
        ERR_clear_error();
        return r;
}
