/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ephemctl token inspect | mint */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ephem/json.h"
#include "ephem/keys.h"
#include "ephem/macro.h"
#include "ephem/state.h"
#include "ephem/strutil.h"
#include "ephem/token.h"
#include "ephemctl.h"

int cmd_token_inspect(int argc, char **argv) {
        _cleanup_erase_free_ char *secret = NULL;
        _cleanup_token_ ephem_token *t = NULL;
        ephem_verdict v = { 0 };
        ephem_reason reason;
        int r;

        if (argc != 2 || streq(argv[1], "--help")) {
                fprintf(stderr, "usage: ephemctl token inspect TOKEN-SOURCE\n");
                return argc == 2 ? 0 : EXIT_USAGE;
        }
        r = ctl_read_secret(argv[1], TOKEN_MAX_LENGTH_LIMIT + 16, &secret);
        if (r != 0)
                return r;
        reason = token_parse(secret, strlen(secret), TOKEN_MAX_LENGTH_LIMIT, &t, &v);
        if (reason != EPHEM_OK) {
                printf("not decodable: %s: %s%s%s\n", reason_id(reason), reason_text(reason), v.detail[0] ? " — " : "",
                       v.detail);
                return EXIT_DENIED;
        }
        printf("UNVERIFIED: decoded without checking the signature or any claim.\n"
               "Use 'ephemctl policy test' to verify a token against this host's policy.\n\n");
        printf("fingerprint: %s\nsize: %zu bytes\n\nheader:\n", t->fingerprint, strlen(secret));
        ctl_print_json(stdout, t->header);
        printf("\nclaims:\n");
        ctl_print_json(stdout, t->claims);
        if (t->has_exp || t->has_iat) {
                int64_t now = (int64_t) time(NULL);
                printf("\n");
                if (t->has_iat)
                        printf("issued %+" PRId64 " s from now\n", t->iat - now);
                if (t->has_exp)
                        printf("expires %+" PRId64 " s from now%s\n", t->exp - now, t->exp < now ? " (expired)" : "");
                if (t->has_exp && t->has_iat)
                        printf("lifetime %" PRId64 " s\n", t->exp - t->iat);
        }
        return 0;
}

static jwt_alg_t libjwt_alg(jws_alg a) {
        switch (a) {
        case JWS_ES256:
                return JWT_ALG_ES256;
        case JWS_ES384:
                return JWT_ALG_ES384;
        case JWS_RS256:
                return JWT_ALG_RS256;
        default:
                return JWT_ALG_INVAL;
        }
}

/* libjwt 1.10.2 signs ES256/ES384/RS256 from the PEM text; the claims go in as JSON. */
static int sign_with_libjwt(const char *pem, size_t len, jws_alg alg, const char *kid, const json_t *claims,
                            char **ret) {
        _cleanup_free_ char *text = NULL;
        jwt_t *jwt = NULL;
        char *out;
        int r = EXIT_USAGE;

        text = json_dumps(claims, JSON_COMPACT);
        if (!text || jwt_new(&jwt) != 0)
                goto done;
        if (jwt_set_alg(jwt, libjwt_alg(alg), (const unsigned char *) pem, (int) len) != 0 ||
            (kid && jwt_add_header(jwt, "kid", kid) != 0) || jwt_add_grants_json(jwt, text) != 0) {
                fprintf(stderr, "libjwt refused the key or the claims\n");
                goto done;
        }
        out = jwt_encode_str(jwt);
        if (!out) {
                fprintf(stderr, "libjwt could not sign\n");
                goto done;
        }
        *ret = out;
        r = 0;
done:
        jwt_free(jwt);
        return r;
}

static int add_claim(json_t *claims, const char *arg, bool as_json) {
        const char *eq = strchr(arg, '=');
        char name[256];
        json_t *v;

        if (!eq || eq == arg || (size_t) (eq - arg) >= sizeof(name)) {
                fprintf(stderr, "--claim: expected NAME=VALUE\n");
                return -EINVAL;
        }
        memcpy(name, arg, (size_t) (eq - arg));
        name[eq - arg] = '\0';
        if (as_json) {
                json_error_t e = { 0 }; /* unset by jansson on some allocation failures */
                v = json_loads(eq + 1, JSON_DECODE_ANY, &e);
                if (!v) {
                        fprintf(stderr, "--claim-json %s: invalid JSON: %s\n", name, e.text);
                        return -EINVAL;
                }
        } else
                v = json_string(eq + 1);
        if (!v || json_object_set_new(claims, name, v) < 0)
                return -ENOMEM;
        return 0;
}

static int parse_time_opt(const char *opt, const char *s, int64_t *ret) {
        uint64_t v;
        if (parse_u64(s, &v) < 0 || v > INT64_MAX) {
                fprintf(stderr, "%s: expected a number\n", opt);
                return -EINVAL;
        }
        *ret = (int64_t) v;
        return 0;
}

int cmd_mint(int argc, char **argv) {
        static const struct option options[] = {
                { "key", required_argument, NULL, 'k' },
                { "kid", required_argument, NULL, 'K' },
                { "alg", required_argument, NULL, 'a' },
                { "iss", required_argument, NULL, 'i' },
                { "aud", required_argument, NULL, 'A' },
                { "sub", required_argument, NULL, 's' },
                { "ttl", required_argument, NULL, 't' },
                { "jti", required_argument, NULL, 'j' },
                { "iat", required_argument, NULL, 'I' },
                { "nbf", required_argument, NULL, 'N' },
                { "claim", required_argument, NULL, 'c' },
                { "claim-json", required_argument, NULL, 'C' },
                { "signer", required_argument, NULL, 'S' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *key_path = NULL, *kid = NULL, *alg_s = NULL, *signer = "libjwt";
        _cleanup_json_ json_t *claims = json_object();
        int64_t now = (int64_t) time(NULL), iat = -1, nbf = -1, ttl = 300;
        EVP_PKEY *key = NULL;
        char *pem = NULL;
        size_t pem_len = 0;
        conf_error err = { 0 };
        char *token = NULL;
        jws_alg alg;
        int opt, r;

        if (!claims)
                return EXIT_USAGE;
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (opt) {
                case 'k':
                        key_path = optarg;
                        break;
                case 'K':
                        kid = optarg;
                        break;
                case 'a':
                        alg_s = optarg;
                        break;
                case 'i':
                case 's':
                case 'j':
                        r = json_object_set_new(claims,
                                                opt == 'i'   ? "iss"
                                                : opt == 's' ? "sub"
                                                             : "jti",
                                                json_string(optarg));
                        if (r < 0)
                                return EXIT_USAGE;
                        break;
                case 'A': {
                        /* Several --aud make an array. */
                        json_t *old = json_object_get(claims, "aud");
                        if (!old)
                                r = json_object_set_new(claims, "aud", json_string(optarg));
                        else if (json_is_array(old))
                                r = json_array_append_new(old, json_string(optarg));
                        else {
                                json_t *arr = json_array();
                                r = !arr || json_array_append(arr, old) < 0 ||
                                                    json_array_append_new(arr, json_string(optarg)) < 0 ||
                                                    json_object_set_new(claims, "aud", arr) < 0
                                            ? -1
                                            : 0;
                        }
                        if (r < 0)
                                return EXIT_USAGE;
                        break;
                }
                case 't':
                        if (parse_time_opt("--ttl", optarg, &ttl) < 0)
                                return EXIT_USAGE;
                        break;
                case 'I':
                        if (parse_time_opt("--iat", optarg, &iat) < 0)
                                return EXIT_USAGE;
                        break;
                case 'N':
                        if (parse_time_opt("--nbf", optarg, &nbf) < 0)
                                return EXIT_USAGE;
                        break;
                case 'c':
                case 'C':
                        if (add_claim(claims, optarg, opt == 'C') < 0)
                                return EXIT_USAGE;
                        break;
                case 'S':
                        signer = optarg;
                        break;
                case 'h':
                        printf("ephemctl mint --key FILE --iss ISS --aud AUD --sub SUB [--ttl SECONDS] [--kid ID]\n"
                               "              [--alg ALG] [--jti ID] [--iat UNIXTIME] [--nbf UNIXTIME]\n"
                               "              [--claim NAME=STRING]... [--claim-json NAME=JSON]...\n"
                               "              [--signer libjwt|openssl]\n"
                               "signs a token with a local issuer's key (tests, offline emergency tokens)\n"
                               "and prints it; --ttl defaults to 300 s, --jti to a random one (ephemctl(8))\n");
                        return 0;
                default:
                        return EXIT_USAGE;
                }
        }
        if (!key_path || optind != argc) {
                fprintf(stderr, "usage: ephemctl mint --key FILE --iss ISS --aud AUD --sub SUB [--ttl SECONDS] ...\n");
                return EXIT_USAGE;
        }
        if (!streq(signer, "libjwt") && !streq(signer, "openssl")) {
                fprintf(stderr, "--signer: libjwt or openssl\n");
                return EXIT_USAGE;
        }
        if (iat < 0)
                iat = now;
        if (json_object_set_new(claims, "iat", json_integer(iat)) < 0 ||
            json_object_set_new(claims, "exp", json_integer(iat + ttl)) < 0 ||
            (nbf >= 0 && json_object_set_new(claims, "nbf", json_integer(nbf)) < 0))
                return EXIT_USAGE;
        if (!json_object_get(claims, "jti")) {
                char jti[33];
                if (random_hex(jti, 16) < 0 || json_object_set_new(claims, "jti", json_string(jti)) < 0)
                        return EXIT_USAGE;
        }

        r = private_key_read_file(key_path, &pem, &pem_len, &err);
        if (r == 0) {
                r = private_key_from_pem(pem, pem_len, &key);
                if (r < 0)
                        snprintf(err.message, sizeof(err.message), "%s: not a PEM private key", key_path);
        }
        if (r < 0) {
                fprintf(stderr, "%s\n", err.message);
                goto wipe;
        }
        alg = alg_s ? jws_alg_from_string(alg_s) : key_default_alg(key);
        if (alg == JWS_ALG_INVALID) {
                fprintf(stderr, "--alg: one of ES256 ES384 RS256 PS256 EdDSA, matching the key\n");
                r = EXIT_USAGE;
                goto wipe;
        }
        /* libjwt 1.10.2 has no PS256 and no EdDSA: those are signed by the core. */
        if (streq(signer, "libjwt") && libjwt_alg(alg) != JWT_ALG_INVAL)
                r = sign_with_libjwt(pem, pem_len, alg, kid, claims, &token);
        else {
                _cleanup_json_ json_t *header = json_pack("{s:s, s:s}", "alg", jws_alg_to_string(alg), "typ", "JWT");
                if (!header || (kid && json_object_set_new(header, "kid", json_string(kid)) < 0))
                        r = -ENOMEM;
                else
                        r = jws_compact_sign(key, alg, header, claims, &token);
                if (r < 0)
                        fprintf(stderr, "signing failed: %s\n",
                                r == -EINVAL ? "the key does not suit the algorithm" : strerror(-r));
                r = r < 0 ? EXIT_USAGE : 0;
        }
        if (r == 0)
                printf("%s\n", token);
        erase_and_free(token);
wipe:
        EVP_PKEY_free(key);
        if (pem) {
                explicit_bzero(pem, pem_len);
                free(pem);
        }
        return r == 0 ? 0 : EXIT_USAGE;
}
