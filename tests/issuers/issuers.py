#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The issuer guides (docs/issuers.md), tested: one issuer per run.

The guide's configuration fragments (between <!-- ephem-config: NAME --> markers) and
example tokens (between <!-- ephem-token: NAME --> markers) are read from the guide
itself, so that what it tells an administrator is what is tested here. The only change
made to a fragment is its "keys =" path, pointed at this test's key file.

The example token is signed (python3-cryptography, independently of ephem's code) by
a key whose JWKS is written in the issuer's own format, and judged by
`ephemctl policy test` at the guide's "now": it must be allowed for the intended login
by the intended rule. Then come the near misses, each derived from the example token
by the change a real mistake or attack would make (another audience, issuer,
repository, ref, namespace, service account; expired; too long-lived; another key; an
algorithm the issuer does not use), each refused for exactly the expected reason.
Output is TAP.

With ISSUER "all", the host part and every fragment go into one configuration, as
on a host that trusts all six: it must pass `ephemctl policy check`, every example
token must still be allowed by its own rule, and none may log in under the login name
another issuer's rule gives.

Usage: issuers.py EPHEMCTL ISSUERS_MD ISSUER|all
"""

import base64
import copy
import datetime
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

import jwtcraft as jc

NOW = 1900000000  # 2030-03-17T17:46:40Z, the "now" of the guide's example tokens
AUDIENCE = "build-17.example.com"
ISSUERS = ("vault", "spire", "github", "gitlab", "kubernetes", "keycloak")

CONFIG_BLOCK = re.compile(r"<!-- ephem-config: ([a-z0-9-]+) -->\n```ini\n(.*?)```\n<!-- /ephem-config -->", re.S)
TOKEN_BLOCK = re.compile(r"<!-- ephem-token: ([a-z0-9-]+) -->\n```json\n(.*?)```\n<!-- /ephem-token -->", re.S)
KEYS_LINE = re.compile(r"^keys = (/etc/ephem/keys/[a-z0-9-]+\.jwks)$", re.M)
ALLOW = re.compile(r"^decision: ALLOW by rule (\S+)$", re.M)
TIME_CLAIMS = ("iat", "nbf", "exp", "auth_time")


# ---- the guide --------------------------------------------------------------------

class Guide:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.configs, self.tokens = {}, {}
        for name, body in CONFIG_BLOCK.findall(text):
            if name in self.configs:
                raise ValueError(f"{path}: two configuration blocks named {name}")
            self.configs[name] = body
        for name, body in TOKEN_BLOCK.findall(text):
            if name in self.tokens:
                raise ValueError(f"{path}: two example tokens named {name}")
            self.tokens[name] = json.loads(body)
        # Every marker must have been understood: a typo must not silently drop a block.
        opened = len(re.findall(r"^<!-- ephem-(?:config|token): ", text, re.M))
        if opened != len(self.configs) + len(self.tokens):
            raise ValueError(f"{path}: {opened} markers, but {len(self.configs) + len(self.tokens)} blocks parsed")


# ---- keys in each issuer's own JWKS format ----------------------------------------------

def b64std(data):
    return base64.b64encode(data).decode()


def self_signed(key, cn):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    start = datetime.datetime(2030, 1, 1)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=365)).sign(key, hashes.SHA256()))


def cert_members(key, cn):
    """x5c, x5t and x5t#S256 of a self-signed certificate for key (ephem ignores them)."""
    der = self_signed(key, cn).public_bytes(serialization.Encoding.DER)
    return {"x5c": [b64std(der)], "x5t": jc.b64url(hashlib.sha1(der).digest()),
            "x5t#S256": jc.b64url(hashlib.sha256(der).digest())}


def rsa_members(key):
    jwk = jc.public_jwk(key)
    return jwk["n"], jwk["e"]


def vault_jwks(key, kid):
    # identity/oidc/.well-known/keys: go-jose JSONWebKey with use and alg.
    n, e = rsa_members(key)
    other = jc.keygen("RSA")  # the key of another named key of the namespace
    on, oe = rsa_members(other)
    return {"keys": [{"use": "sig", "kty": "RSA", "kid": kid, "alg": "RS256", "n": n, "e": e},
                     {"use": "sig", "kty": "RSA", "kid": "94178020-55b5-e18d-b32b-1010ba5a35b4", "alg": "RS256",
                      "n": on, "e": oe}]}


def spire_jwks(key, kid):
    # The OIDC Discovery Provider's /keys: JSONWebKey{Key, KeyID}, no use, no alg.
    jwk = jc.public_jwk(key)
    return {"keys": [{"kty": "EC", "kid": kid, "crv": jwk["crv"], "x": jwk["x"], "y": jwk["y"]}]}


def spiffe_bundle(key, kid):
    # The SPIFFE trust bundle (spiffebundle.Marshal): X.509 authorities and JWT
    # authorities, marked by use.
    ca = jc.keygen("P-256")
    cajwk, jwk = jc.public_jwk(ca), jc.public_jwk(key)
    der = self_signed(ca, "example.org").public_bytes(serialization.Encoding.DER)
    return {"keys": [{"use": "x509-svid", "kty": "EC", "crv": "P-256", "x": cajwk["x"], "y": cajwk["y"],
                      "x5c": [b64std(der)]},
                     {"use": "jwt-svid", "kty": "EC", "kid": kid, "crv": "P-256", "x": jwk["x"], "y": jwk["y"]}],
            "spiffe_sequence": 1, "spiffe_refresh_hint": 300}


def github_jwks(key, kid):
    n, e = rsa_members(key)
    certs = cert_members(key, "token.actions.githubusercontent.com")
    return {"keys": [{"n": n, "kty": "RSA", "kid": kid, "alg": "RS256", "e": e, "use": "sig",
                      "x5c": certs["x5c"], "x5t": certs["x5t"]}]}


def gitlab_jwks(key, kid):
    n, e = rsa_members(key)
    return {"keys": [{"kty": "RSA", "kid": kid, "e": e, "n": n, "use": "sig", "alg": "RS256"}]}


def kubernetes_jwks(key, kid):
    n, e = rsa_members(key)
    return {"keys": [{"use": "sig", "kty": "RSA", "kid": kid, "alg": "RS256", "n": n, "e": e}]}


def keycloak_jwks(key, kid):
    # /protocol/openid-connect/certs: the signing key and the realm's encryption key.
    enc = jc.keygen("RSA")
    n, e = rsa_members(key)
    en, ee = rsa_members(enc)
    return {"keys": [dict({"kid": kid, "kty": "RSA", "alg": "RS256", "use": "sig", "n": n, "e": e},
                          **cert_members(key, "ops")),
                     dict({"kid": "bR6sYv3l1eBw8ZlZbbg8xkbQy1q9sX9vH6JcY2QwZ0E", "kty": "RSA", "alg": "RSA-OAEP",
                           "use": "enc", "n": en, "e": ee}, **cert_members(enc, "ops"))]}


# ---- a host with the guide's fragments -------------------------------------------------------

class Host:
    """A temporary directory with the guide's host part and issuers' fragments; the
    test adds only what keeps it private (state directories, no failure delay)."""

    def __init__(self, guide, issuers):
        self.dir = tempfile.mkdtemp(prefix="ephem-issuers.")
        self.keys, fragments = {}, []
        for issuer in issuers:
            fragment = guide.configs[issuer]
            paths = KEYS_LINE.findall(fragment)
            if len(paths) != 1:
                raise ValueError(f"[{issuer}] fragment: expected one 'keys = /etc/ephem/keys/NAME.jwks' line")
            self.keys[issuer] = os.path.join(self.dir, os.path.basename(paths[0]))
            fragments.append(fragment.replace(f"keys = {paths[0]}\n", f"keys = {self.keys[issuer]}\n"))
        self.fragment = "\n".join(fragments)
        self.host_part = guide.configs["host"]
        self.config = self.write_config("ephem.conf")

    def write_config(self, name, replace_keys=None):
        fragment = self.fragment
        if replace_keys:
            fragment = fragment.replace(f"keys = {replace_keys[0]}\n", f"keys = {replace_keys[1]}\n")
        path = os.path.join(self.dir, name)
        self.write(path, f"""{self.host_part}
# test only: private state, no failure delay
[host]
fail_delay = 0
state_dir = {self.dir}/state
revocation_dir = {self.dir}/revoked

[users]
home_base = {self.dir}/home
quarantine_dir = {self.dir}/quarantine

{fragment}""")
        return path

    def write(self, path, text):
        with open(path, "w", encoding="utf-8") as f:
            f.write(text if isinstance(text, str) else json.dumps(text, indent=2) + "\n")
        os.chmod(path, 0o644)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- tokens derived from the example --------------------------------------------------------

def changed(claims, **changes):
    """A copy of claims with changes; None removes a claim. A value may be a function
    of the copy (for nested claims)."""
    c = copy.deepcopy(claims)
    for name, value in changes.items():
        if value is None:
            c.pop(name, None)
        elif callable(value):
            value(c)
        else:
            c[name] = value
    return c


def shifted(claims, delta):
    c = copy.deepcopy(claims)
    for name in TIME_CLAIMS:
        if name in c:
            c[name] += delta
    return c


def lifetime(claims, seconds):
    return changed(claims, exp=claims["iat"] + seconds)


class Issuer:
    """One issuer: its key, its example token, and the cases to check."""

    def __init__(self, name, guide, key, jwks, user, rule):
        self.name, self.key, self.user, self.rule = name, key, user, rule
        example = guide.tokens[name]
        self.header, self.claims = example["header"], example["claims"]
        self.alg = self.header["alg"]
        self.kid = self.header["kid"]
        self.jwks = jwks(key, self.kid)
        self.cases = []

    def token(self, claims=None, header=None, key=None, alg=None):
        header = header or self.header
        return jc.token(header, self.claims if claims is None else claims, key or self.key, alg or header["alg"])

    def case(self, description, token, expect, user=None):
        self.cases.append((description, token, expect, user or self.user))

    def allow(self, description, token, user=None):
        self.case(description, token, "allow:" + self.rule, user)

    def near_misses(self, wrong_aud, too_long):
        """What every issuer must refuse."""
        c, h = self.claims, self.header
        self.case(f"aud {json.dumps(wrong_aud)}", self.token(changed(c, aud=wrong_aud)), "audience_mismatch")
        self.case("iss with a trailing /", self.token(changed(c, iss=c["iss"] + "/")), "issuer_unknown")
        self.case("iss over http://", self.token(changed(c, iss=c["iss"].replace("https://", "http://", 1))),
                  "issuer_unknown")
        self.case("expired a minute ago", self.token(shifted(c, NOW - c["exp"] - 60)), "expired")
        self.case(f"a lifetime of {too_long} s", self.token(lifetime(c, too_long)), "lifetime_too_long")
        attacker = jc.keygen("P-256" if self.alg == "ES256" else "RSA")
        self.case("signed by another key under the issuer's kid", self.token(key=attacker), "signature_invalid")
        self.case("signed by another key under an unknown kid", self.token(header=dict(h, kid="attacker-1"),
                                                                           key=attacker), "kid_unknown")
        self.case("alg none, no signature",
                  jc.token({"alg": "none", "typ": "JWT"}, c, signature=""), "alg_none")
        self.case("HS256 keyed with the issuer's public key (key confusion)",
                  self.token(header=dict(h, alg="HS256"), key=jc.public_pem(self.key)), "alg_unsupported")
        if self.alg == "RS256":
            self.case("PS256 with the issuer's own RSA key (an algorithm it does not use)",
                      self.token(header=dict(h, alg="PS256")), "alg_not_allowed")
        else:
            self.case("RS256 under the ES256 key's kid", self.token(header=dict(h, alg="RS256"),
                                                                    key=jc.keygen("RSA")), "alg_not_allowed")


# ---- the six issuers ---------------------------------------------------------------------

def vault(guide):
    i = Issuer("vault", guide, jc.keygen("RSA"), vault_jwks, "vault-7", "vault-deployers")
    c = i.claims
    i.allow("the example token (role ttl 5m, template agent_id and groups)", i.token())
    i.near_misses(wrong_aud="SxSouteCYPBoaTFy94hFghmekos", too_long=86400)
    i.case("another Vault namespace", i.token(changed(c, iss="https://vault.example.com:8200/v1/team-b/identity/oidc",
                                                      namespace="Xa9bC")), "issuer_unknown")
    i.case("an entity outside the deployers group", i.token(changed(c, groups=["default"])), "user_not_allowed")
    i.case("agent_id empty (metadata missing)", i.token(changed(c, agent_id="")), "user_not_allowed")
    i.case("agent_id Bob.Smith (not a user-name value)", i.token(changed(c, agent_id="Bob.Smith")),
           "user_not_allowed")
    i.case("another login name", i.token(), "user_not_allowed", user="vault-8")
    return i


def spire(guide):
    i = Issuer("spire", guide, jc.keygen("P-256"), spire_jwks, "spiffe-deployer", "spiffe-deployer")
    c = i.claims
    i.allow("the example JWT-SVID (ES256, typ JWT, no jti)", i.token())
    i.allow("aud holding this host among others", i.token(changed(c, aud=["spiffe://example.org/reports", AUDIENCE])))
    i.near_misses(wrong_aud=["spiffe://example.org/reports"], too_long=3600)
    i.case("no iss (a SPIRE server without jwt_issuer)", i.token(changed(c, iss=None)), "claim_missing")
    i.case("another workload's SPIFFE ID", i.token(changed(c, sub="spiffe://example.org/ns/ci/sa/builder")),
           "user_not_allowed")
    i.case("the same path in another trust domain", i.token(changed(c, sub="spiffe://evil.example/ns/ci/sa/deployer")),
           "user_not_allowed")
    i.case("another login name", i.token(), "user_not_allowed", user="spiffe-builder")
    i.allow("typ JOSE (allowed by the JWT-SVID specification)", i.token(header=dict(i.header, typ="JOSE")))
    return i


def github(guide):
    i = Issuer("github", guide, jc.keygen("RSA"), github_jwks, "ci-9137468520", "github-deploy")
    c = i.claims
    wf = "acme/deploy/.github/workflows/deploy.yml@"
    i.allow("the example token (push to main, typ JWT, x5t, kid)", i.token())
    i.allow("a job with environment: production",
            i.token(changed(c, environment="production", sub="repo:acme/deploy:environment:production")))
    i.near_misses(wrong_aud="https://github.com/acme", too_long=3600)
    i.case("not valid yet (nbf in two minutes)", i.token(changed(c, nbf=NOW + 120)), "not_yet_valid")
    i.case("another repository acme/deploy-tools",
           i.token(changed(c, repository="acme/deploy-tools", repository_id="892374999",
                           sub="repo:acme/deploy-tools:ref:refs/heads/main",
                           workflow_ref="acme/deploy-tools/.github/workflows/deploy.yml@refs/heads/main",
                           job_workflow_ref="acme/deploy-tools/.github/workflows/deploy.yml@refs/heads/main")),
           "user_not_allowed")
    i.case("acme/deploy re-created under another repository_id", i.token(changed(c, repository_id="990000001")),
           "user_not_allowed")
    i.case("a pull request (refs/pull/7/merge)",
           i.token(changed(c, ref="refs/pull/7/merge", event_name="pull_request", sub="repo:acme/deploy:pull_request",
                           head_ref="feature", base_ref="main", ref_protected="false",
                           workflow_ref=wf + "refs/pull/7/merge", job_workflow_ref=wf + "refs/pull/7/merge")),
           "user_not_allowed")
    i.case("a tag (refs/tags/v1.2.0)",
           i.token(changed(c, ref="refs/tags/v1.2.0", ref_type="tag", sub="repo:acme/deploy:ref:refs/tags/v1.2.0",
                           workflow_ref=wf + "refs/tags/v1.2.0", job_workflow_ref=wf + "refs/tags/v1.2.0")),
           "user_not_allowed")
    i.case("main through pull_request_target",
           i.token(changed(c, event_name="pull_request_target", sub="repo:acme/deploy:pull_request",
                           head_ref="feature", base_ref="main")), "user_not_allowed")
    i.case("another workflow file on main",
           i.token(changed(c, workflow="lint", workflow_ref="acme/deploy/.github/workflows/lint.yml@refs/heads/main",
                           job_workflow_ref="acme/deploy/.github/workflows/lint.yml@refs/heads/main")),
           "user_not_allowed")
    i.case("another run's login name", i.token(), "user_not_allowed", user="ci-9137468521")
    return i


def gitlab(guide):
    i = Issuer("gitlab", guide, jc.keygen("RSA"), gitlab_jwks, "gl-302", "gitlab-deploy")
    c = i.claims
    i.allow("the example ID token (job timeout 1h, runner_id a number)", i.token())
    i.near_misses(wrong_aud="https://gitlab.example.com", too_long=7200)
    i.case("a tag named main",
           i.token(changed(c, ref_type="tag", ref_path="refs/tags/main",
                           sub="project_path:acme/deploy:ref_type:tag:ref:main")), "user_not_allowed")
    i.case("an unprotected branch",
           i.token(changed(c, ref="feature", ref_path="refs/heads/feature", ref_protected="false",
                           sub="project_path:acme/deploy:ref_type:branch:ref:feature")), "user_not_allowed")
    i.case("main after its protection was removed", i.token(changed(c, ref_protected="false")), "user_not_allowed")
    i.case("a merge-request pipeline", i.token(changed(c, pipeline_source="merge_request_event")),
           "user_not_allowed")
    i.case("another project with the same path", i.token(changed(c, project_id="43")), "user_not_allowed")
    i.case("another project path",
           i.token(changed(c, project_id="43", project_path="acme/deploy-tools",
                           sub="project_path:acme/deploy-tools:ref_type:branch:ref:main")), "user_not_allowed")
    i.case("another job's login name", i.token(), "user_not_allowed", user="gl-303")
    return i


def kubernetes(guide):
    i = Issuer("kubernetes", guide, jc.keygen("RSA"), kubernetes_jwks, "k8s-deployer", "k8s-ci")
    c = i.claims

    def k8s(**changes):
        """Changes inside the "kubernetes.io" object; None removes a member."""
        def apply(claims):
            for name, value in changes.items():
                if value is None:
                    claims["kubernetes.io"].pop(name, None)
                else:
                    claims["kubernetes.io"][name] = value
        return apply

    i.allow("the example projected token (1h, jti, pod and node)", i.token())
    i.allow("a cluster before 1.30: no jti, no node", i.token(changed(c, jti=None, k=k8s(node=None))))
    i.allow("the runner service account as k8s-runner",
            i.token(changed(c, sub="system:serviceaccount:ci:runner",
                            k=k8s(serviceaccount={"name": "runner", "uid": "5e0c6a2f-1b7d-4c3e-9a8f-2d4b6c8e0f13"},
                                  pod={"name": "runner-5c8d7f9b4-q7wzt",
                                       "uid": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"}))), user="k8s-runner")
    i.near_misses(wrong_aud=["https://kubernetes.default.svc.cluster.local"], too_long=7200)
    i.case("the pod's default token (API audience, extended to a year)",
           i.token(changed(lifetime(c, 365 * 86400), aud=["https://kubernetes.default.svc.cluster.local"],
                           k=k8s(warnafter=c["iat"] + 3607))), "lifetime_too_long")
    legacy = {"iss": "kubernetes/serviceaccount", "kubernetes.io/serviceaccount/namespace": "ci",
              "kubernetes.io/serviceaccount/secret.name": "deployer-token-pnj77",
              "kubernetes.io/serviceaccount/service-account.name": "deployer",
              "kubernetes.io/serviceaccount/service-account.uid": "a709ef71-30e2-489a-bd19-ade97031b9db",
              "sub": "system:serviceaccount:ci:deployer"}
    i.case("a legacy secret-based token (no exp)", i.token(legacy), "issuer_unknown")
    i.case("another namespace",
           i.token(changed(c, sub="system:serviceaccount:default:deployer", k=k8s(namespace="default"))),
           "user_not_allowed")
    i.case("another service account of namespace ci, under its own name",
           i.token(changed(c, sub="system:serviceaccount:ci:builder",
                           k=k8s(serviceaccount={"name": "builder", "uid": "77c1f0d2-6b8e-4f3a-a5d9-3c2e1b0a9f88"}))),
           "user_not_allowed", user="k8s-builder")
    i.case("the deployer's token for k8s-runner", i.token(), "user_not_allowed", user="k8s-runner")
    return i


def keycloak(guide):
    i = Issuer("keycloak", guide, jc.keygen("RSA"), keycloak_jwks, "kc-jdoe", "keycloak-oncall")
    c = i.claims
    i.allow("the example access token (Audience mapper, realm role host-login)", i.token())
    i.near_misses(wrong_aud="account", too_long=1800)
    i.case("no aud (no Audience mapper, no client roles)", i.token(changed(c, aud=None)), "claim_missing")
    i.case("the realm under /auth/realms/",
           i.token(changed(c, iss="https://kc.example.com/auth/realms/ops")), "issuer_unknown")
    i.case("another client's token (azp grafana)", i.token(changed(c, azp="grafana")), "user_not_allowed")
    i.case("a user without the host-login role",
           i.token(changed(c, realm_access={"roles": ["default-roles-ops", "offline_access", "uma_authorization"]})),
           "user_not_allowed")
    id_token = changed(c, typ="ID", aud="ssh-login", nonce="n-0S6_WzA2Mj", at_hash="77QmUPtjPfzWtF2AnpK9RQ",
                       realm_access=None, resource_access=None, scope=None)
    i.case("an ID token (aud is the client id)", i.token(id_token), "audience_mismatch")
    i.case("an ID token whose aud is this host (a client named after it; roles mapped into ID tokens)",
           i.token(changed(id_token, aud=AUDIENCE, realm_access=c["realm_access"])), "user_not_allowed")
    i.case("the username j.doe (not a user-name value)", i.token(changed(c, preferred_username="j.doe")),
           "user_not_allowed")
    i.case("another login name", i.token(), "user_not_allowed", user="kc-admin")
    refresh = {"exp": c["iat"] + 1800, "iat": c["iat"], "jti": "0f5e4d3c-2b1a-4c9d-8e7f-6a5b4c3d2e1f",
               "iss": c["iss"], "aud": c["iss"], "sub": c["sub"], "typ": "Refresh", "azp": "ssh-login",
               "sid": c["sid"], "scope": c["scope"]}
    i.case("a refresh token (HS512, the realm's secret)",
           jc.token({"alg": "HS512", "typ": "JWT", "kid": "3a2b1c0d-9e8f-4a7b-b6c5-d4e3f2a1b0c9"}, refresh,
                    signature=secrets.token_bytes(64)), "alg_unsupported")
    return i


# ---- running ephemctl ---------------------------------------------------------------------

def judge(ephemctl, config, user, token, expect):
    rc, reason, out = jc.policy_test(ephemctl, config, user, token, now=NOW)
    if expect.startswith("allow:"):
        m = ALLOW.search(out)
        return rc == 0 and m is not None and m.group(1) == expect[6:], out
    return rc != 0 and reason == expect and ALLOW.search(out) is None, out


def policy_check(ephemctl, config):
    p = subprocess.run([ephemctl, "policy", "check", "--config", config], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode(errors="replace")
    return p.returncode, re.search(r": (\d+) error\(s\)", out), out


def run_issuer(tap, ephemctl, guide, name):
    host = Host(guide, [name])
    try:
        issuer = globals()[name](guide)
        host.write(host.keys[name], issuer.jwks)

        rc, errors, out = policy_check(ephemctl, host.config)
        tap.check(rc == 0 and errors is not None and errors.group(1) == "0",
                  f"{name}: the guide's configuration passes 'ephemctl policy check'", out)

        for description, token, expect, user in issuer.cases:
            ok, out = judge(ephemctl, host.config, user, token, expect)
            verdict = expect.replace("allow:", "allowed by rule ") if expect.startswith("allow:") else expect
            tap.check(ok, f"{name}: {description}: {user}: {verdict}", out)

        if name == "spire":
            # The SPIFFE trust bundle format as key file: the jwt-svid key is used,
            # the x509-svid one skipped without a warning.
            bundle = os.path.join(host.dir, "spire.bundle")
            host.write(bundle, spiffe_bundle(issuer.key, issuer.kid))
            config = host.write_config("bundle.conf", (host.keys[name], bundle))
            ok, out = judge(ephemctl, config, issuer.user, issuer.token(), issuer.cases[0][2])
            tap.check(ok, f"{name}: the SPIFFE bundle format (use jwt-svid) as key file is accepted", out)
            rc, errors, out = policy_check(ephemctl, config)
            tap.check(rc == 0 and errors is not None and errors.group(1) == "0" and " 0 warning(s)" in out,
                      f"{name}: 'ephemctl policy check' takes the SPIFFE bundle without errors or warnings", out)
    finally:
        host.close()


def run_all(tap, ephemctl, guide):
    host = Host(guide, ISSUERS)
    try:
        issuers = [globals()[name](guide) for name in ISSUERS]
        for issuer in issuers:
            host.write(host.keys[issuer.name], issuer.jwks)
        rc, errors, out = policy_check(ephemctl, host.config)
        tap.check(rc == 0 and errors is not None and errors.group(1) == "0",
                  "all six fragments on one host pass 'ephemctl policy check'", out)
        for issuer in issuers:
            ok, out = judge(ephemctl, host.config, issuer.user, issuer.token(), "allow:" + issuer.rule)
            tap.check(ok, f"{issuer.name}: the example token, among all six: {issuer.user}: "
                          f"allowed by rule {issuer.rule}", out)
            for other in issuers:
                if other is not issuer:
                    ok, out = judge(ephemctl, host.config, other.user, issuer.token(), "user_not_allowed")
                    tap.check(ok, f"{issuer.name}: the example token for {other.name}'s login {other.user}: "
                                  "user_not_allowed", out)
    finally:
        host.close()


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ISSUERS + ("all",):
        print(__doc__, file=sys.stderr)
        return 2
    ephemctl, guide_path, name = sys.argv[1:]
    tap = jc.Tap()
    guide = Guide(guide_path)
    missing = [n for n in ("host",) + ISSUERS if n not in guide.configs] + \
              [n for n in ISSUERS if n not in guide.tokens]
    if not tap.check(not missing, "the guide has the host part and every issuer's fragment and example token",
                     f"missing: {missing}"):
        return tap.done()
    if name == "all":
        run_all(tap, ephemctl, guide)
    else:
        run_issuer(tap, ephemctl, guide, name)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
