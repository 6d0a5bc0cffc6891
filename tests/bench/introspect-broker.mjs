// SPDX-License-Identifier: LGPL-2.1-or-later
//
// The alternative to ephem's offline check that bench-auth measures: a broker asked
// about every token at login (RFC 7662 token introspection), as PAM modules that
// call their broker do. node-oidc-provider (unmodified, the version tests/e2e/broker
// pins; `npm ci` there first) with client_credentials and introspection; opaque
// access tokens, which only the broker can judge.
//
//   node introspect-broker.mjs PORT
//
// Listens on 127.0.0.1 only. Client: bench-host / bench-secret (a test fixture).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'e2e', 'broker', 'package.json'));
const { default: Provider } = await import(require.resolve('oidc-provider'));
const jose = await import(require.resolve('jose'));

const port = Number(process.argv[2]);
if (!port) {
  console.error('usage: node introspect-broker.mjs PORT');
  process.exit(2);
}

const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
const signing = { ...(await jose.exportJWK(privateKey)), kid: 'bench-es256', alg: 'ES256', use: 'sig' };
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'bench-host',
    client_secret: 'bench-secret',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [signing] },
  scopes: ['login'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
  },
  ttl: { ClientCredentials: 3600 },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => {
  console.log(`introspection broker listening on ${issuer}`);
});
