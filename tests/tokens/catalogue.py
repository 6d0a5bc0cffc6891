#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The catalogue of malicious tokens: each is refused, for the right reason.

Every token is crafted here with python3-cryptography (independently of ephem's
code) as a minimal deviation from a valid one, then judged by
`ephemctl policy test` (token on standard input) at a fixed time; the reason
identifier it prints must be exactly the expected one. Tokens that only a login
can judge (replay, an answer of 1 MiB) go through the PAM module with
ephem-pam-login. Output is TAP.

Usage: catalogue.py EPHEMCTL PAM_EPHEM_SO EPHEM_PAM_LOGIN
"""

import json
import sys
import time

import jwtcraft as jc

NOW = 1900000000  # every ephemctl verdict is given at this time (--now)


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    ephemctl, module, pam_login = sys.argv[1:]
    host = jc.Host()
    try:
        return run(host, ephemctl, module, pam_login)
    finally:
        host.close()


def catalogue(h):
    """(description, token, expected reason, login name) for ephemctl policy test."""
    k1, r1, e1 = h.keys["k1"], h.keys["r1"], h.keys["e1"]
    attacker = jc.keygen("P-256")
    p384 = jc.keygen("P-384")

    def c(**kw):
        return jc.claims(NOW, **kw)

    def es256(payload, **kw):
        return h.sign(payload, **kw)

    hdr = {"alg": "ES256", "typ": "JWT", "kid": "k1"}

    def header(**kw):
        d = dict(hdr)
        d.update(kw)
        return {k: v for k, v in d.items() if v is not None}

    def with_header(**kw):
        return jc.token(header(**kw), c(), k1, "ES256")

    def raw_payload(text):
        return jc.token(hdr, text, k1, "ES256")

    def unsigned(alg):
        return jc.token({"alg": alg, "typ": "JWT"}, c(), signature="")

    valid = es256(c())
    head, body, sig = valid.split(".")
    pem = jc.public_pem(k1)

    def std_alphabet_token():
        # Sign until the signature holds '-' or '_', then write it in the standard alphabet.
        while True:
            t = es256(c())
            s = t.rsplit(".", 1)[1]
            if "-" in s or "_" in s:
                return t.rsplit(".", 1)[0] + "." + s.replace("-", "+").replace("_", "/")

    def noncanonical_signature():
        # 64 bytes -> 86 characters: the last one carries 4 unused bits, set one.
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        s = sig[:-1] + alphabet[alphabet.index(sig[-1]) | 1]
        assert jc.b64url_decode(s) == jc.b64url_decode(sig)  # a lax decoder sees the same bytes
        return f"{head}.{body}.{s}"

    def altered_payload():
        p = json.loads(jc.b64url_decode(body))
        p["sub"] = "agent-2"
        return f"{head}.{jc.b64url(json.dumps(p, separators=(',', ':')))}.{sig}"

    def zero_signature():
        return f"{head}.{body}.{jc.b64url(bytes(64))}"

    def der_signature():
        return jc.token(hdr, c(), k1, "ES256-DER")

    def jwk_embedded():
        return jc.token(header(kid=None, jwk=jc.public_jwk(attacker)), c(), attacker, "ES256")

    deep = '{"a":' + "[" * 19 + "1" + "]" * 19 + "}"
    base = json.dumps(c(), separators=(",", ":"))[:-1]  # without the closing brace

    def with_raw(member):
        return raw_payload(base + "," + member + "}")

    pad_9k = "p" * 7000

    cases = [
        # the algorithm is the key's, never the token's
        ("alg none, empty signature", unsigned("none"), "alg_none"),
        ("alg None", unsigned("None"), "alg_none"),
        ("alg NONE", unsigned("NONE"), "alg_none"),
        ("alg nOnE", unsigned("nOnE"), "alg_none"),
        ("alg none with a valid ES256 signature", jc.token({"alg": "none", "kid": "k1"}, c(), k1, "ES256"), "alg_none"),
        ("HS256 keyed with the public PEM (key confusion)", jc.token({"alg": "HS256", "typ": "JWT"}, c(), pem, "HS256"),
         "alg_unsupported"),
        ("HS256 keyed with the PEM, naming the key", jc.token({"alg": "HS256", "kid": "k1"}, c(), pem, "HS256"),
         "alg_unsupported"),
        ("HS384", jc.token({"alg": "HS384"}, c(), b"secret", "HS384"), "alg_unsupported"),
        ("RS512", jc.token({"alg": "RS512", "kid": "r1"}, c(), signature=b"x" * 256), "alg_unsupported"),
        ("ES512", jc.token({"alg": "ES512"}, c(), signature=b"x" * 132), "alg_unsupported"),
        ("lowercase es256", jc.token({"alg": "es256", "kid": "k1"}, c(), k1, "ES256"), "alg_unsupported"),
        ("no alg", jc.token({"typ": "JWT", "kid": "k1"}, c(), k1, "ES256"), "header_invalid"),
        ("alg as an array", jc.token({"alg": ["ES256"], "kid": "k1"}, c(), k1, "ES256"), "header_invalid"),
        ("ES384 header on the P-256 key", jc.token(header(alg="ES384"), c(), p384, "ES384"), "alg_key_mismatch"),
        ("ES256 header on the RSA key", jc.token(header(kid="r1"), c(), k1, "ES256"), "alg_key_mismatch"),
        ("RS256 header on the EC key", jc.token(header(alg="RS256"), c(), r1, "RS256"), "alg_key_mismatch"),
        ("PS256 header on the Ed25519 key", jc.token(header(alg="PS256", kid="e1"), c(), r1, "PS256"),
         "alg_key_mismatch"),
        ("EdDSA header on the EC key", jc.token(header(alg="EdDSA"), c(), e1, "EdDSA"), "alg_key_mismatch"),
        ("ES384 without kid, no P-384 key", jc.token({"alg": "ES384"}, c(), p384, "ES384"), "alg_key_mismatch"),
        ("unknown kid", jc.token(header(kid="k9"), c(), k1, "ES256"), "kid_unknown"),
        ("kid as a number", jc.token(header(kid=1), c(), k1, "ES256"), "header_invalid"),
        ("empty kid", jc.token(header(kid=""), c(), k1, "ES256"), "header_invalid"),
        # header parameters that would choose keys or processing
        ("crit", with_header(crit=["exp"], exp=0), "header_forbidden"),
        ("jku", with_header(jku="https://attacker.example/jwks.json"), "header_forbidden"),
        ("x5u", with_header(x5u="https://attacker.example/cert.pem"), "header_forbidden"),
        ("jwk: the attacker's key embedded", jwk_embedded(), "header_forbidden"),
        ("x5c", with_header(x5c=["MIIBszCCAVmgAwIBAgIU"]), "header_forbidden"),
        ("zip", with_header(zip="DEF"), "header_forbidden"),
        ("b64 false", with_header(b64=False), "header_forbidden"),
        ("cty JWT (nested token)", with_header(cty="JWT"), "header_forbidden"),
        ("typ dpop+jwt", with_header(typ="dpop+jwt"), "typ_invalid"),
        ("typ revocation+jwt", with_header(typ="revocation+jwt"), "typ_invalid"),
        # encodings
        ("padding '=' on the header", head + "==." + body + "." + sig, "base64_invalid"),
        ("padding '=' on the signature", valid + "==", "base64_invalid"),
        ("standard alphabet + and / in the signature", std_alphabet_token(), "base64_invalid"),
        ("non-canonical trailing bits in the signature", noncanonical_signature(), "base64_invalid"),
        ("a space inside the token", head + ". " + body + "." + sig, "base64_invalid"),
        ("a line break inside the token", head + "." + body[:20] + "\n" + body[20:] + "." + sig, "base64_invalid"),
        ("two parts", head + "." + body, "token_malformed"),
        ("four parts", valid + "." + sig, "token_malformed"),
        ("empty token", "", "token_empty"),
        # JSON
        ("duplicate exp", with_raw('"exp":4102444800'), "json_duplicate_key"),
        ("escaped duplicate e\\u0078p", with_raw('"e\\u0078p":4102444800'), "json_duplicate_key"),
        ("duplicate alg in the header", jc.token('{"alg":"none","alg":"ES256","kid":"k1"}', c(), k1, "ES256"),
         "json_duplicate_key"),
        ("20 levels of nesting", with_raw('"deep":' + deep), "json_too_deep"),
        ("payload is an array", raw_payload("[" + json.dumps(c()) + "]"), "json_invalid"),
        ("NUL escape in sub", raw_payload(base.replace('"sub":"agent-1"', '"sub":"agent-1\\u0000root"') + "}"),
         "json_invalid"),
        ("trailing garbage after the payload", raw_payload(base + "}x"), "json_invalid"),
        ("invalid UTF-8 in a claim", invalid_utf8(base, k1), "json_invalid"),
        # sizes
        ("a 9 KB token", es256(c(note=pad_9k)), "token_too_long"),
        ("a 5000-byte claim", es256(c(note="x" * 5000)), "claim_too_long"),
        ("an array of 300 groups", es256(c(groups=["g"] * 300)), "claim_too_long"),
        # time claims: integers, present, in range
        ("exp as a float", es256(c(exp=NOW + 300.5)), "claim_type"),
        ("exp as a string", es256(c(exp=str(NOW + 300))), "claim_type"),
        ("exp as a boolean", es256(c(exp=True)), "claim_type"),
        ("exp negative", es256(c(exp=-1)), "claim_type"),
        ("exp 1e20", es256(c(exp=1e20)), "claim_type"),
        ("exp 99999999999999999999", raw_payload(json.dumps(c(exp=None), separators=(",", ":"))[:-1]
                                                 + ',"exp":99999999999999999999}'), "json_invalid"),
        ("exp beyond year 9999", es256(c(exp=253402300800)), "claim_type"),
        ("exp as an array", es256(c(exp=[NOW + 300])), "claim_type"),
        ("exp null", raw_payload(json.dumps(c(exp=None), separators=(",", ":"))[:-1] + ',"exp":null}'), "claim_type"),
        ("exp missing", es256(c(exp=None)), "claim_missing"),
        ("iat as a float", es256(c(iat=NOW + 0.5)), "claim_type"),
        ("iat as a string", es256(c(iat=str(NOW))), "claim_type"),
        ("iat as a boolean", es256(c(iat=False)), "claim_type"),
        ("iat negative", es256(c(iat=-NOW)), "claim_type"),
        ("iat 1e20", es256(c(iat=1e20)), "claim_type"),
        ("iat missing", es256(c(iat=None)), "claim_missing"),
        ("nbf as a float", es256(c(nbf=NOW - 0.5)), "claim_type"),
        ("nbf as a string", es256(c(nbf=str(NOW))), "claim_type"),
        ("nbf as a boolean", es256(c(nbf=True)), "claim_type"),
        ("nbf negative", es256(c(nbf=-5)), "claim_type"),
        ("nbf 1e20", es256(c(nbf=1e20)), "claim_type"),
        ("lifetime one second over the maximum", es256(c(exp=NOW + jc.MAX_LIFETIME + 1)), "lifetime_too_long"),
        ("lifetime of a day", es256(c(iat=NOW - 3600, exp=NOW + 82800)), "lifetime_too_long"),
        ("iat in the future", es256(c(iat=NOW + 3600, exp=NOW + 3900)), "iat_future"),
        ("iat just beyond the leeway", es256(c(iat=NOW + jc.LEEWAY + 1, exp=NOW + 600)), "iat_future"),
        ("expired", es256(c(iat=NOW - 600, exp=NOW - 300)), "expired"),
        ("expired just beyond the leeway", es256(c(iat=NOW - 600, exp=NOW - jc.LEEWAY - 1)), "expired"),
        ("nbf in the future", es256(c(nbf=NOW + 120)), "not_yet_valid"),
        ("exp equal to iat", es256(c(exp=NOW)), "claim_type"),
        # audience and issuer, exactly
        ("another host's aud", es256(c(aud="host-8.example.net")), "audience_mismatch"),
        ("aud with a trailing slash", es256(c(aud=jc.AUD + "/")), "audience_mismatch"),
        ("aud in another case", es256(c(aud=jc.AUD.upper())), "audience_mismatch"),
        ("aud a prefix of ours", es256(c(aud=jc.AUD[:-1])), "audience_mismatch"),
        ("aud with a suffix", es256(c(aud=jc.AUD + ".evil.example")), "audience_mismatch"),
        ("aud array without ours", es256(c(aud=["host-8.example.net", "api.example.net"])), "audience_mismatch"),
        ("aud missing", es256(c(aud=None)), "claim_missing"),
        ("aud an empty array", es256(c(aud=[])), "claim_type"),
        ("aud a number", es256(c(aud=7)), "claim_type"),
        ("iss with a trailing slash", es256(c(iss=jc.ISS + "/")), "issuer_unknown"),
        ("iss in another case", es256(c(iss=jc.ISS.upper())), "issuer_unknown"),
        ("iss a prefix of a trusted one", es256(c(iss=jc.ISS[:-4])), "issuer_unknown"),
        ("iss with a suffix", es256(c(iss=jc.ISS + ".evil.example")), "issuer_unknown"),
        ("iss missing", es256(c(iss=None)), "claim_missing"),
        ("iss an array", es256(c(iss=[jc.ISS])), "claim_type"),
        ("sub missing", es256(c(sub=None)), "claim_missing"),
        ("jti missing", es256(c(jti=None)), "claim_missing"),
        ("jti a number", es256(c(jti=12345)), "claim_type"),
        # signatures
        ("empty signature", f"{head}.{body}.", "signature_invalid"),
        ("signature one byte short", f"{head}.{body}.{jc.b64url(jc.b64url_decode(sig)[:-1])}", "signature_invalid"),
        ("signature one byte long", f"{head}.{body}.{jc.b64url(jc.b64url_decode(sig) + b'x')}", "signature_invalid"),
        ("DER-encoded ECDSA signature", der_signature(), "signature_invalid"),
        ("r = s = 0 (psychic signature)", zero_signature(), "signature_invalid"),
        ("signed by another issuer's key", jc.token(hdr, c(), h.other_key, "ES256"), "signature_invalid"),
        ("signed by an attacker's key under kid k1", jc.token(hdr, c(), attacker, "ES256"), "signature_invalid"),
        ("payload altered after signing", altered_payload(), "signature_invalid"),
        ("signature of another token", f"{head}.{es256(c()).split('.')[1]}.{sig}", "signature_invalid"),
        ("RS256 token with a PS256 signature", jc.token(header(alg="RS256", kid="r1"), c(), r1, "PS256"),
         "signature_invalid"),
        ("an untrusted issuer with its own key", jc.token(hdr, c(iss="https://evil.example"), attacker, "ES256"),
         "issuer_unknown"),
    ]
    out = [(d, t, r, "agent-1") for d, t, r in cases]

    # who may log in
    users = [
        ("a transient name no rule allows", "ci-1", "user_not_allowed"),
        ("root", "root", "user_not_allowed"),
        ("'/'", "/", "user_invalid"),
        ("':'", ":", "user_invalid"),
        ("a name with a newline", "agent-1\nroot", "user_invalid"),
        ("a name ending in a newline", "agent-1\n", "user_invalid"),
        ("'..'", "..", "user_invalid"),
        ("a leading '-'", "-agent-1", "user_invalid"),
        ("33 characters", "agent-" + "1" * 27, "user_invalid"),
        ("Cyrillic look-alike \u0430gent-1", "\u0430gent-1", "user_invalid"),
        ("uppercase", "Agent-1", "user_invalid"),
        ("a passwd line", "agent-1:x:0:0::/root:/bin/sh", "user_invalid"),
        ("a path", "../../etc/agent-1", "user_invalid"),
    ]
    for d, user, r in users:
        out.append((f"login name: {d}", valid, r, user))
    out.append(("claims that do not satisfy the rule (agent_type human)", es256(c(agent_type="human")),
                "user_not_allowed", "agent-1"))
    out.append(("the other issuer's token for a name only the broker's rule allows",
                jc.token({"alg": "ES256", "kid": "o1"}, c(iss="https://other.example.net"), h.other_key, "ES256"),
                "user_not_allowed", "agent-1"))
    return out


def invalid_utf8(base, key):
    """A payload holding the byte 0xff inside a string, properly signed."""
    header = jc.b64url(json.dumps({"alg": "ES256", "kid": "k1"}))
    payload = jc.b64url(base.encode() + b',"note":"\xff"}')
    signing_input = f"{header}.{payload}"
    return signing_input + "." + jc.b64url(jc.sign("ES256", key, signing_input.encode()))


def run(h, ephemctl, module, pam_login):
    tap = jc.Tap()
    k1 = h.keys["k1"]

    # The controls: without them every refusal below could be a broken setup.
    for desc, tok in [("control: a valid ES256 token is allowed", h.sign(jc.claims(NOW))),
                      ("control: a valid RFC 9068 access token (typ at+jwt) is allowed",
                       jc.token({"alg": "ES256", "typ": "at+jwt", "kid": "k1"}, jc.claims(NOW), k1)),
                      ("control: a valid EdDSA token without kid is allowed",
                       jc.token({"alg": "EdDSA"}, jc.claims(NOW), h.keys["e1"]))]:
        code, reason, out = jc.policy_test(ephemctl, h.config, "agent-1", tok, NOW)
        tap.check(code == 0 and "decision: ALLOW" in out, desc, out)

    cases = catalogue(h)
    for desc, tok, expected, user in cases:
        code, reason, out = jc.policy_test(ephemctl, h.config, user, tok, NOW)
        tap.check(code == 1 and reason == expected, f"{desc} -> {expected}",
                  f"exit {code}, reason {reason}\n{out}")
    n_tokens = len(cases)

    # Through the PAM module, at the real time.
    confdir = h.pam_service(module=module)
    now = int(time.time())
    tok = h.sign(jc.claims(now))
    code, auth, reason = jc.pam_login(pam_login, confdir, "agent-1", tok, account=True)
    tap.check(code == 0 and auth == "PAM_SUCCESS", "PAM: the token logs in once", f"{code} {auth} {reason}")
    code, auth, reason = jc.pam_login(pam_login, confdir, "agent-1", tok)
    tap.check(auth == "PAM_AUTH_ERR" and reason == "replay", "PAM: the same token again -> replay",
              f"{code} {auth} {reason}")
    code, auth, reason = jc.pam_login(pam_login, confdir, "agent-2", tok)
    tap.check(auth == "PAM_AUTH_ERR" and reason == "replay", "PAM: the same token for another name -> replay",
              f"{code} {auth} {reason}")
    n_tokens += 1
    big = "eyJ" + "A" * (1024 * 1024)
    code, auth, reason = jc.pam_login(pam_login, confdir, "agent-1", big)
    tap.check(auth == "PAM_AUTH_ERR" and reason == "token_too_long", "PAM: a 1 MiB token -> token_too_long",
              f"{code} {auth} {reason}")
    n_tokens += 1
    forged = jc.token({"alg": "HS256", "typ": "JWT"}, jc.claims(now), jc.public_pem(k1), "HS256")
    code, auth, reason = jc.pam_login(pam_login, confdir, "agent-1", forged)
    tap.check(auth == "PAM_AUTH_ERR" and reason == "alg_unsupported", "PAM: key confusion HS256 -> alg_unsupported",
              f"{code} {auth} {reason}")

    # ephemctl must not judge a truncated copy of an over-long token.
    code, reason, out = jc.policy_test(ephemctl, h.config, "agent-1", big, NOW)
    tap.check(code == 2 and reason is None and "longer than" in out,
              "ephemctl refuses an over-long token on standard input instead of truncating it",
              f"exit {code}, reason {reason}\n{out}")

    tap.check(n_tokens >= 40, f"the catalogue holds {n_tokens} malicious tokens (at least 40)")
    print(f"# {n_tokens} malicious tokens")
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
