# SPDX-License-Identifier: LGPL-2.1-or-later
"""Crafting JWS tokens for the tests, independently of ephem's own code.

Keys, JWKs and signatures come from python3-cryptography; headers and payloads may
be given as dicts or as raw JSON text, so that tokens no correct library would
produce (duplicate keys, floats, deep nesting, bad encodings) can be built and
signed properly. Also: a temporary host (ephem.conf, keys, state) and the runners
for `ephemctl policy test` and the PAM helper, and TAP output.
"""

import base64
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile

from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ISS = "https://broker.example.net"
AUD = "host-7.example.net"
LEEWAY = 30
MAX_LIFETIME = 900


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _int_bytes(n, length=None):
    length = length or max(1, (n.bit_length() + 7) // 8)
    return n.to_bytes(length, "big")


# ---- keys -------------------------------------------------------------------

def keygen(kind):
    """kind: 'P-256', 'P-384', 'RSA' (2048 bits), 'RSA-1024', 'Ed25519'."""
    if kind == "P-256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "P-384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "RSA-1024":
        return rsa.generate_private_key(public_exponent=65537, key_size=1024)
    if kind == "Ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(kind)


def public_jwk(key, kid=None, alg=None, use=None):
    pub = key.public_key()
    if isinstance(pub, ec.EllipticCurvePublicKey):
        size = (pub.curve.key_size + 7) // 8
        nums = pub.public_numbers()
        jwk = {"kty": "EC", "crv": {256: "P-256", 384: "P-384"}[pub.curve.key_size],
               "x": b64url(_int_bytes(nums.x, size)), "y": b64url(_int_bytes(nums.y, size))}
    elif isinstance(pub, rsa.RSAPublicKey):
        nums = pub.public_numbers()
        jwk = {"kty": "RSA", "n": b64url(_int_bytes(nums.n)), "e": b64url(_int_bytes(nums.e))}
    elif isinstance(pub, ed25519.Ed25519PublicKey):
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
    else:
        raise ValueError("unsupported key")
    for name, value in (("kid", kid), ("alg", alg), ("use", use)):
        if value is not None:
            jwk[name] = value
    return jwk


def jwks(*jwk_list):
    return json.dumps({"keys": list(jwk_list)}, indent=2)


def public_pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def private_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


# ---- signing ------------------------------------------------------------------

def sign(alg, key, data):
    """A JWS signature over data (bytes) with a private key; ECDSA as raw r||s."""
    if alg in ("ES256", "ES384"):
        digest = hashes.SHA256() if alg == "ES256" else hashes.SHA384()
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(digest)))
        size = (key.curve.key_size + 7) // 8
        return _int_bytes(r, size) + _int_bytes(s, size)
    if alg == "ES256-DER":
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    if alg == "RS256":
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if alg == "PS256":
        return key.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    if alg == "EdDSA":
        return key.sign(data)
    if alg in ("HS256", "HS384"):
        h = hmac.HMAC(key, hashes.SHA256() if alg == "HS256" else hashes.SHA384())
        h.update(data)
        return h.finalize()
    raise ValueError(alg)


def _json_text(value):
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def token(header, payload, key=None, alg=None, signature=None):
    """header.payload.signature; header/payload are dicts or raw JSON text. The
    signature is computed with key and alg (default: the header's alg), or given
    (bytes, or str taken as already encoded)."""
    signing_input = b64url(_json_text(header)) + "." + b64url(_json_text(payload))
    if signature is None:
        alg = alg or header["alg"]
        signature = sign(alg, key, signing_input.encode())
    if isinstance(signature, bytes):
        signature = b64url(signature)
    return signing_input + "." + signature


def claims(now, **overrides):
    """Claims a host accepts at `now`; an override of None removes the claim."""
    c = {"iss": ISS, "aud": AUD, "sub": "agent-1", "jti": secrets.token_hex(16),
         "iat": now, "exp": now + 300, "agent_type": "agent"}
    for name, value in overrides.items():
        if value is None:
            c.pop(name, None)
        else:
            c[name] = value
    return c


# ---- a host ---------------------------------------------------------------------

class Host:
    """A temporary directory with ephem.conf, the broker's keys and the state.

    The broker's JWKS holds k1 (P-256), r1 (RSA-2048) and e1 (Ed25519); issuer
    "other" has its own key o1. Rule "agents" lets broker tokens with agent_type
    "agent" log in as agent-*; transient names are agent-* and ci-*."""

    def __init__(self, extra="", keep=False):
        self.dir = tempfile.mkdtemp(prefix="ephem-test.")
        self.keep = keep
        self.keys = {"k1": keygen("P-256"), "r1": keygen("RSA"), "e1": keygen("Ed25519")}
        self.other_key = keygen("P-256")
        self.broker_jwks = os.path.join(self.dir, "broker.jwks")
        self.other_jwks = os.path.join(self.dir, "other.jwks")
        self.write(self.broker_jwks, jwks(*(public_jwk(k, kid) for kid, k in self.keys.items())))
        self.write(self.other_jwks, jwks(public_jwk(self.other_key, "o1")))
        self.config = os.path.join(self.dir, "ephem.conf")
        self.state = os.path.join(self.dir, "state")
        self.write(self.config, f"""[host]
audience = {AUD}
leeway = {LEEWAY}s
max_token_lifetime = {MAX_LIFETIME}s
fail_delay = 0
state_dir = {self.state}
revocation_dir = {self.dir}/revoked

[users]
names = agent-* ci-*
home_base = {self.dir}/home
quarantine_dir = {self.dir}/quarantine

[issuer broker]
iss = {ISS}
keys = {self.broker_jwks}

[issuer other]
iss = https://other.example.net
keys = {self.other_jwks}

[rule agents]
issuer = broker
claim.agent_type = agent
logins = agent-*

[rule others]
issuer = other
logins = ci-*
{extra}""")

    def write(self, path, text, mode=0o644):
        with open(path, "wb") as f:
            f.write(text if isinstance(text, bytes) else text.encode())
        os.chmod(path, mode)

    def sign(self, payload, alg="ES256", kid="k1", header=None, key=None):
        """A token from the broker: header {alg, typ, kid} unless given."""
        if header is None:
            header = {"alg": alg, "typ": "JWT"}
            if kid is not None:
                header["kid"] = kid
        key = key or self.keys.get(kid) or self.keys["k1"]
        return token(header, payload, key, alg)

    def pam_service(self, name="ephem", module=None, args="debug"):
        """A PAM configuration directory with one service for pam_start_confdir()."""
        confdir = os.path.join(self.dir, "pam.d")
        os.makedirs(confdir, exist_ok=True)
        self.write(os.path.join(confdir, name),
                   f"auth required {module} config={self.config} {args}\n"
                   f"account required {module} config={self.config} {args}\n")
        return confdir

    def close(self):
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


# ---- running ephem --------------------------------------------------------------

REASON = re.compile(r"^\s*reason: ([a-z0-9_]+):", re.M)


def policy_test(ephemctl, config, user, tok, now=None):
    """ephemctl policy test, the token on standard input. Returns (exit code, reason
    identifier or None, output)."""
    argv = [ephemctl, "policy", "test", "--config", config, "--user", user]
    if now is not None:
        argv += ["--now", str(now)]
    argv.append("-")
    p = subprocess.run(argv, input=tok.encode() if isinstance(tok, str) else tok,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    out = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
    m = REASON.search(out)
    return p.returncode, (m.group(1) if m else None), out


def pam_login(helper, confdir, user, tok, service="ephem", account=False):
    """The PAM helper (pam_start_confdir): returns (exit code, auth code, reason)."""
    argv = [helper, confdir, service, user] + (["account"] if account else [])
    p = subprocess.run(argv, input=tok.encode() if isinstance(tok, str) else tok,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    out = p.stdout.decode(errors="replace")
    auth = re.search(r"^auth: (\S+)", out, re.M)
    reason = re.search(r"^reason: (\S+)", out, re.M)
    return p.returncode, (auth.group(1) if auth else None), (reason.group(1) if reason else None)


class Tap:
    """Test Anything Protocol output, for meson's protocol: 'tap'."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, ok, description, diagnostic=""):
        self.n += 1
        if not ok:
            self.failed += 1
        print(f"{'ok' if ok else 'not ok'} {self.n} - {description}")
        if not ok and diagnostic:
            for line in diagnostic.rstrip().splitlines():
                print(f"# {line}")
        sys.stdout.flush()
        return ok

    def done(self):
        print(f"1..{self.n}")
        return 1 if self.failed else 0
