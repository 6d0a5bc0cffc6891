// SPDX-License-Identifier: LGPL-2.1-or-later
//
// A real OAuth 2.0 / OpenID Connect provider (node-oidc-provider, unmodified) for
// ephem's tests: client_credentials grants issue RFC 9068 JWT access tokens
// (typ at+jwt, ES256) for the resource "urn:ephem:hosts", whose audience is the
// host's audience; DPoP-bound when the client sends a proof.
//
//   node broker.mjs PORT AUDIENCE
//
// Listens on 127.0.0.1 only. Test clients: ci-runner-1 / ci-runner-2 with the
// secrets "secret-1" / "secret-2" (test fixtures, not secrets of anything real).
import Provider from 'oidc-provider';
import * as jose from 'jose';

const port = Number(process.argv[2]);
const audience = process.argv[3];
if (!port || !audience) {
  console.error('usage: node broker.mjs PORT AUDIENCE');
  process.exit(2);
}

const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
const signing = { ...(await jose.exportJWK(privateKey)), kid: 'broker-es256', alg: 'ES256', use: 'sig' };
const issuer = `http://127.0.0.1:${port}`;

const client = (id, secret) => ({
  client_id: id,
  client_secret: secret,
  grant_types: ['client_credentials'],
  redirect_uris: [],
  response_types: [],
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: 'ES256',
});

const provider = new Provider(issuer, {
  clients: [client('ci-runner-1', 'secret-1'), client('ci-runner-2', 'secret-2')],
  jwks: { keys: [signing] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    dPoP: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:ephem:hosts',
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'login',
        audience,
        accessTokenTTL: 60,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  // What a broker adds for its agents: here, a constant agent type.
  extraTokenClaims: (ctx, token) => (token.kind === 'ClientCredentials' ? { agent_type: 'ci' } : undefined),
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => {
  console.log(`broker listening on ${issuer}`);
});
