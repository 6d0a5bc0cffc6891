/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fuzz host's issuer keys. NOT SECRET: generated for fuzzing only and published
 * here so that the checked-in seed tokens, signed with them, stay valid (the harness
 * verifies at a fixed time, FUZZ_NOW). Never trust these keys anywhere.
 */
#pragma once

#define FUZZ_KEY_P256                                                        \
        "-----BEGIN PRIVATE KEY-----\n"                                      \
        "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgdI2MJ/CQCX3y+ex+\n" \
        "Q6sp61BsgGmCGlJ4wO2INwMM+CuhRANCAASqH6X+xtwTGuvJNJiFuO8h5B10lYkK\n" \
        "0261w2YQxJPWAz59Iy8NHCTfghZKkHYV6M/xKpDBBpv1AGR5Tcdm6IzL\n"         \
        "-----END PRIVATE KEY-----\n"

#define FUZZ_KEY_P384                                                        \
        "-----BEGIN PRIVATE KEY-----\n"                                      \
        "MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDDFMHY4wDZJOs51rdqm\n" \
        "S5rgoKMk+EiyUZ58KjGJiMyUWqkiK25JF9FYxrwh9Tq3nw6hZANiAAQMgDmopLAq\n" \
        "lCvBm7A4KZZMTgBlsTf6RFGagbFGWRmgyyLJk2sBs5K/WAsmzel+eXjPWs7hsLWJ\n" \
        "k/oIplztLu5L0oa7Xb0g5H9hdxND5g6nkjUEv/nuP0KFI7sA1bbgnfg=\n"         \
        "-----END PRIVATE KEY-----\n"

#define FUZZ_KEY_ED25519                                                     \
        "-----BEGIN PRIVATE KEY-----\n"                                      \
        "MC4CAQAwBQYDK2VwBCIEIORvEDcKvswjUOKdm/+k9b5gVo+0kXZ80lqRbfiyalFH\n" \
        "-----END PRIVATE KEY-----\n"

#define FUZZ_KEY_RSA                                                         \
        "-----BEGIN PRIVATE KEY-----\n"                                      \
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCZS3iiMdaYJeyc\n" \
        "ZYRaINvt+xxScgnFtBO/uQfEtspnt64xZIb4n1UYx46/XfM/1FliAoZtW36Pb7fb\n" \
        "3wJOo6wRqye3UxIs5GYYxeCx+UpLY9vo7qUlzB5D7TXv+L8WlgPJfbzUAWLZKNyM\n" \
        "qyvH67EMxKUBAa3acFbiHRuhBbrjgPU+423VjqGbmP4a2usgDm2SKrPYepW0MvOp\n" \
        "TjJkL+Wa00OuwrBAuSKnJ6NF990IacLDv1hutJ8s8DqjRVGh7yURW9otxoR35+e4\n" \
        "ZW5mVYDa23zjWgaqb/3lY6+2hqgZqPLWnPGO6mFc0cLPvThHfhTDVJ2TajmbUFXc\n" \
        "1ByNM2MlAgMBAAECggEACUWJzdGS3PqfkClfCG59WYGlybdxBN6qj8mFVpixrvU/\n" \
        "7r0u9qxNuCUgaqL9j+pBimPZtT/ilz1WvaXZh1/EjABcnhdtqCkboxBGJ1g1w0/j\n" \
        "tffH0FHuBgYRDEBwxPvHeIaHhxEbD+8LQTd8ez0zpQXjGaem2BPnBV+6Uz0RUSox\n" \
        "x+/85BDHcnl1W/UeflFrEjEWaWVLvZUFWRh+trmddxmsX2h+DpbQHy2P9zcRe46b\n" \
        "6oHMDgxKieMe8N76+9x6e6B0O8tJTc5qRxsSZgRzZsUjmoEIptNKRTNW2Dh54u9n\n" \
        "Ldz9jSU8mM2Q/Ahx/aRc1TKVGGoV5NN036puqzSDQQKBgQDLD5tRmsdJ0PaTkXDh\n" \
        "VA8CNRW7gqe7fjQqwIP0jBk525246YyUUmjEfmmXcQ7sdRVtHmiNd2efziqeLPhr\n" \
        "w6f//QtRb/YwPOVWUHK+8vAPB4YeXBMgur+ICf5kaNyrfuXrhkifYWEwMqLG/hrq\n" \
        "dxv7FoOJBBw4BWBm6SXV3TNehQKBgQDBQnIcl5Xp8z4H+fE/eF4CfmLfhnwpQj/T\n" \
        "Sf+9euTrDrw+kRnQFSMlOp7HP0RH7Y7cMDEHXKzbJgvQc+Ty3CCm8KsXAP2V1L+s\n" \
        "1NMgA8tPPMDd23FG18PDyfYyMqhwyTjYBWlsh7Vy3ZkTlxJYRV1uKyM707g/l4z9\n" \
        "GT+1VRukIQKBgQCnQj2vZAxPUx4nwx71m2WZbdxuzVoX6AZUSKroXhXRQIKT81vm\n" \
        "OFMvtuiG44tlXbO+Y9O+4uGqEgmsrGIbcdgJ1YbjF5Pze9Vz2WQKwNTXrFze2Pyw\n" \
        "cuKczY6LaoyJfkcoTz22emGxb6QAwQGuq1mS4qKJ06bixhr36YdOt5s+eQKBgGx+\n" \
        "mQFkOE02uURRFRbExEIyId/K6Dlhb+N2T5RYQduUUint28ftleV4m1rQMc0PmHwU\n" \
        "sfGoHYKKQWetKIMPAWW3BtXLQJG09kZY1I3Mk37QZJYoc9eJmeV4pDZaKiXnUXo0\n" \
        "z5KWPU9XCHDvBuV3S5Rls0oK+gz5T7VnT1TFitcBAoGAKCe7Bc1XwuCa5UPmAkEm\n" \
        "BjejksbUSY8QnVqp9JAKVvboep0HtbuXxRjgT0V4FCyc5vD0SDZR+jUh9q7Ht12T\n" \
        "eYXlkFTiio2aIGLQeslFk19XqDC5apo2Ex2GnuFUJRHC35DSBCR3e7B6dwGBwSWy\n" \
        "FhqJFfVjUx1oc1tkTeIlijM=\n"                                         \
        "-----END PRIVATE KEY-----\n"
