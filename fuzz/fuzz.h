/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the fuzz targets share: the libFuzzer entry points, a contract check that
 * aborts, a private temporary directory, and the fuzz host (fuzz-host.c): a fixed
 * configuration with fixed issuer keys (fuzz-keys.h), verified at a fixed time, so
 * that a checked-in seed token verifies today and in ten years.
 *
 * Every target builds three ways: a libFuzzer program (-Dfuzz=true, clang), its
 * "-oom" variant with failure injection (failinject.h), and without libFuzzer
 * (fuzz-main.c) as the corpus regression test of the normal suite (tests/corpus).
 */
#pragma once

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include "ephem/config.h"
#include "ephem/keys.h"
#include "failinject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* First thing in every LLVMFuzzerInitialize(): OpenSSL's and jansson's allocations
 * routed through the failure injection (before either has allocated), or stop. */
void fuzz_init(void);

/* An LLVMFuzzerInitialize() that does fuzz_init() and then `setup` (a statement). */
#define FUZZ_INITIALIZE(setup)                              \
        int LLVMFuzzerInitialize(int *argc, char ***argv) { \
                (void) argc;                                \
                (void) argv;                                \
                fuzz_init();                                \
                setup;                                      \
                return 0;                                   \
        }

/* 2026-01-01T00:00:00Z: the harness's "now". Seed tokens are issued at it. */
#define FUZZ_NOW INT64_C(1767225600)

#define FUZZ_ISS "https://broker.fuzz.example"
#define FUZZ_ISS_LAX "https://lax.fuzz.example"
#define FUZZ_ISS_PEM "https://pem.fuzz.example"
#define FUZZ_AUD "host.fuzz.example"

#define violated(...)                                               \
        do {                                                        \
                fprintf(stderr, "contract violated: " __VA_ARGS__); \
                fputc('\n', stderr);                                \
                abort();                                            \
        } while (0)

/* With FUZZ_VERBOSE=1 in the environment: one line per input on stderr (what the
 * code under test decided), to check that seeds reach what they are meant to. */
void fuzz_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A fixture that cannot be set up is not a finding: say so and stop. */
void fuzz_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A NUL-terminated copy of the input (NULL only when out of memory). */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* This process's temporary directory under $TMPDIR (or /tmp), removed at exit. */
const char *fuzz_tmpdir(void);
/* A path below it (static buffer per call site is the caller's business: malloc'ed). */
char *fuzz_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fuzz_write_file(const char *path, const void *data, size_t len, mode_t mode);
void fuzz_mkdir(const char *path, mode_t mode);
/* Removes everything below dir (not dir itself), without following symlinks. */
void fuzz_clear_dir(const char *dir);
/* Number of entries of dir whose names do not start with '.'. -1 when it is missing. */
int fuzz_count_entries(const char *dir);

/*
 * The fuzz host, made on first use in fuzz_tmpdir(): issuers "broker" (FUZZ_ISS:
 * JWKS with a P-256 key "es", a P-384 key "es384", an Ed25519 key "ed" and an RSA
 * key "rs"), "lax" (FUZZ_ISS_LAX: the same keys, optional_claims = jti iat,
 * breakglass = yes) and "pem" (FUZZ_ISS_PEM: the RSA key as PEM, no kid); audience
 * FUZZ_AUD; names agent-* ci-*; rules "agents" (broker: agent-*) and "ci" (broker
 * and lax, claim.repository acme/..., login ci-${run_id}); [breakglass] accounts
 * breakglass-*; state, revocation, quarantine, code and home directories of its own.
 */
typedef struct fuzz_host {
        char *dir, *config_path, *state_dir, *revocation_dir, *quarantine_dir, *breakglass_dir;
        ephem_config *config; /* loaded once; keys cached after first use */
} fuzz_host;

const fuzz_host *fuzz_host_get(void);
/* The configuration text of the fuzz host (for seeds and the config target). */
const char *fuzz_host_config_text(void);

/* The private key for an algorithm (the RSA key signs RS256 and PS256). */
EVP_PKEY *fuzz_key(jws_alg alg);

/*
 * "header.payload" (two parts, no NUL), or the two JSON texts themselves separated by
 * a newline ("{...}\n{...}", base64url-encoded here so that mutations and the
 * dictionary work on the JSON): signs it with the fuzz host's key for the header's
 * "alg" and returns "header.payload.signature", so that mutated claims reach the
 * checks after the signature. Anything else, or a header without a known alg: NULL
 * (the caller uses the input as it is).
 */
char *fuzz_sign_two_parts(const char *s, size_t len);

/* Failure injection per input: the first two bytes choose the call to fail (low 15
 * bits; 0: none) and whether later calls fail too (top bit). Consumes them. */
void fuzz_failinject_from_input(const uint8_t **data, size_t *size, unsigned long *ret_fail_at, bool *ret_persistent);
