#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Interoperability with an independent JWT implementation (Debian's python3-jwt).

- Tokens minted by PyJWT (ES256, ES384, RS256, PS256, EdDSA), with JWKS written by
  PyJWT's own JWK encoder, are accepted by `ephemctl policy test`; so are RFC 9068
  access tokens (typ at+jwt) and tokens verified against a PEM key without kid.
- Tokens minted by `ephemctl mint`, with libjwt (ES256, ES384, RS256) and with the
  core's OpenSSL signer (all five), verify with PyJWT against the PEM public key
  that `ephemctl keygen` wrote, and with ephem against its JWKS.

Output is TAP. Usage: interop.py EPHEMCTL
"""

import json
import os
import subprocess
import sys
import time

import jwt
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

import jwtcraft as jc

AUD = jc.AUD
PYJWT_ISS = "https://pyjwt.example.net"
KEY_KINDS = {"ES256": "P-256", "ES384": "P-384", "RS256": "RSA", "PS256": "RSA", "EdDSA": "Ed25519"}
# ephemctl keygen --type for each algorithm, and which signers can make it.
LOCAL = {
    "ES256": ("ec", ["libjwt", "openssl"]),
    "ES384": ("ec384", ["libjwt", "openssl"]),
    "RS256": ("rsa", ["libjwt", "openssl"]),
    "PS256": ("rsa", ["openssl"]),
    "EdDSA": ("ed25519", ["openssl"]),
}


def full_length_coordinates(key):
    """Whether PyJWT writes this key's EC coordinates at full length: PyJWT 2.6 drops
    leading zero bytes (RFC 7518 §6.2.1.2 wants the full size), which ephem refuses."""
    pub = key.public_key()
    if not hasattr(pub, "curve"):
        return True
    bits = (pub.curve.key_size + 7) // 8 * 8
    nums = pub.public_numbers()
    return nums.x.bit_length() > bits - 8 and nums.y.bit_length() > bits - 8


def ec_key(kind, full_length=True):
    """An EC key whose coordinates do (or do not) have a leading zero byte."""
    while True:
        key = jc.keygen(kind)
        if full_length_coordinates(key) == full_length:
            return key


def to_jwk(key, kid):
    """The public JWK as PyJWT writes it (not jwtcraft's encoder)."""
    pub = key.public_key()
    for algorithm in (ECAlgorithm, RSAAlgorithm, OKPAlgorithm):
        try:
            jwk = json.loads(algorithm.to_jwk(pub))
            break
        except Exception:
            continue
    jwk["kid"] = kid
    return jwk


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    ephemctl = sys.argv[1]
    host = jc.Host()
    try:
        return run(host, ephemctl)
    finally:
        host.close()


def run(h, ephemctl):
    tap = jc.Tap()
    now = int(time.time())

    # ---- PyJWT mints, ephem verifies ----
    keys = {}
    for alg, kind in KEY_KINDS.items():
        if kind == "RSA" and "RS256" in keys:
            keys[alg] = keys["RS256"]
        else:
            keys[alg] = ec_key(kind) if kind.startswith("P-") else jc.keygen(kind)
    jwk_list, seen = [], set()
    for alg, key in keys.items():
        kid = "py-rsa" if KEY_KINDS[alg] == "RSA" else "py-" + alg.lower()
        if kid not in seen:
            jwk_list.append(to_jwk(key, kid))
            seen.add(kid)
    pyjwt_jwks = os.path.join(h.dir, "pyjwt.jwks")
    h.write(pyjwt_jwks, json.dumps({"keys": jwk_list}))
    pem_key = jc.keygen("P-256")
    pem_path = os.path.join(h.dir, "pem.pub")
    h.write(pem_path, jc.public_pem(pem_key))

    local_sections = ""
    for alg, (ktype, _) in LOCAL.items():
        prefix = os.path.join(h.dir, "local-" + ktype)
        if not os.path.exists(prefix + ".key"):
            p = subprocess.run([ephemctl, "keygen", "--type", ktype, "--kid", "lk-" + ktype, "--out", prefix],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
            tap.check(p.returncode == 0, f"ephemctl keygen --type {ktype}", p.stdout.decode())
            local_sections += (f"\n[issuer local-{ktype}]\niss = https://local-{ktype}.example.net\n"
                               f"keys = {prefix}.jwks\n")
    extra = f"""
[issuer pyjwt]
iss = {PYJWT_ISS}
keys = {pyjwt_jwks}

[issuer pem]
iss = https://pem.example.net
keys = {pem_path}
{local_sections}
[rule interop]
issuer = pyjwt pem {" ".join("local-" + t for t in sorted({t for t, _ in LOCAL.values()}))}
logins = agent-*
"""
    with open(h.config, "a") as f:
        f.write(extra)

    def accepted(tok, what):
        code, reason, out = jc.policy_test(ephemctl, h.config, "agent-1", tok)
        return tap.check(code == 0 and "decision: ALLOW" in out, what, out)

    def claims(iss, **more):
        c = {"iss": iss, "aud": AUD, "sub": "agent-1", "jti": os.urandom(8).hex(), "iat": now, "exp": now + 300}
        c.update(more)
        return c

    for alg, key in keys.items():
        kid = "py-rsa" if KEY_KINDS[alg] == "RSA" else "py-" + alg.lower()
        tok = jwt.encode(claims(PYJWT_ISS), key, algorithm=alg, headers={"kid": kid})
        accepted(tok, f"a PyJWT {alg} token is accepted")

    at = jwt.encode(claims(PYJWT_ISS, client_id="agent-runner", scope="login:agent-1", auth_time=now),
                    keys["ES256"], algorithm="ES256", headers={"kid": "py-es256", "typ": "at+jwt"})
    accepted(at, "a PyJWT RFC 9068 access token (typ at+jwt) is accepted")
    at = jwt.encode(claims(PYJWT_ISS, client_id="agent-runner"), keys["RS256"], algorithm="RS256",
                    headers={"kid": "py-rsa", "typ": "application/at+jwt"})
    accepted(at, "typ application/at+jwt is accepted")
    aud_list = jwt.encode(claims(PYJWT_ISS, aud=["https://api.example.net", AUD]), keys["EdDSA"], algorithm="EdDSA",
                          headers={"kid": "py-eddsa"})
    accepted(aud_list, "an aud array holding this host is accepted")
    tok = jwt.encode(claims("https://pem.example.net"), pem_key, algorithm="ES256")
    accepted(tok, "a PyJWT token without kid verifies against a PEM key")

    # PyJWT 2.6 writes a coordinate with a leading zero byte short (31 bytes for
    # P-256, about 1 key in 128); ephem holds to RFC 7518 and refuses that JWKS.
    short = ec_key("P-256", full_length=False)
    short_jwks = os.path.join(h.dir, "short.jwks")
    h.write(short_jwks, json.dumps({"keys": [to_jwk(short, "short")]}))
    with open(h.config, "a") as f:
        f.write(f"\n[issuer short]\niss = https://short.example.net\nkeys = {short_jwks}\n\n"
                f"[rule short]\nissuer = short\nlogins = agent-*\n")
    tok = jwt.encode(claims("https://short.example.net"), short, algorithm="ES256", headers={"kid": "short"})
    code, reason, out = jc.policy_test(ephemctl, h.config, "agent-1", tok)
    tap.check(code == 1 and reason == "config_invalid" and "x and y must be 32-byte" in out,
              "a PyJWT JWK with an unpadded EC coordinate is refused (RFC 7518 6.2.1.2)", out)

    # ---- ephemctl mints (libjwt and the core's OpenSSL signer), PyJWT verifies ----
    for alg, (ktype, signers) in LOCAL.items():
        prefix = os.path.join(h.dir, "local-" + ktype)
        iss = f"https://local-{ktype}.example.net"
        with open(prefix + ".pub", "rb") as f:
            pub = serialization.load_pem_public_key(f.read())
        for signer in signers:
            jti = f"interop-{alg}-{signer}"
            p = subprocess.run([ephemctl, "mint", "--key", prefix + ".key", "--kid", "lk-" + ktype, "--alg", alg,
                                "--iss", iss, "--aud", AUD, "--sub", "agent-1", "--ttl", "120", "--jti", jti,
                                "--claim", "agent_type=agent", "--signer", signer],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            if not tap.check(p.returncode == 0, f"ephemctl mint --signer {signer} --alg {alg}",
                             p.stderr.decode()):
                continue
            tok = p.stdout.decode().strip()
            try:
                c = jwt.decode(tok, pub, algorithms=[alg], audience=AUD, issuer=iss)
                header = jwt.get_unverified_header(tok)
                ok = (c["sub"] == "agent-1" and c["jti"] == jti and c["exp"] - c["iat"] == 120
                      and header["alg"] == alg and header.get("kid") == "lk-" + ktype)
                tap.check(ok, f"PyJWT verifies ephemctl's {alg} token (signer {signer})", f"{header} {c}")
            except jwt.PyJWTError as e:
                tap.check(False, f"PyJWT verifies ephemctl's {alg} token (signer {signer})", repr(e))
            if alg == "PS256":
                # keygen pins its RSA JWK to RS256 ("alg"): the pin holds against ephemctl's own token.
                code, reason, out = jc.policy_test(ephemctl, h.config, "agent-1", tok)
                tap.check(code == 1 and reason == "alg_key_mismatch",
                          "ephem refuses PS256 with the keygen JWKS, which pins the RSA key to RS256", out)
            else:
                accepted(tok, f"ephem verifies ephemctl's {alg} token (signer {signer}) with the keygen JWKS")
            # A tampered copy must fail in PyJWT too: the check is not vacuous.
            head, payload, sig = tok.split(".")
            payload = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
            forged = f"{head}.{payload}.{sig}"
            try:
                jwt.decode(forged, pub, algorithms=[alg], audience=AUD, issuer=iss)
                tap.check(False, f"PyJWT refuses a tampered {alg} token (signer {signer})")
            except jwt.InvalidTokenError:
                tap.check(True, f"PyJWT refuses a tampered {alg} token (signer {signer})")

    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
