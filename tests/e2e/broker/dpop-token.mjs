// SPDX-License-Identifier: LGPL-2.1-or-later
// Obtains a DPoP-bound access token from the broker the way an agent would, with
// jose: node dpop-token.mjs TOKEN_ENDPOINT CLIENT_ID SECRET KEY_OUT.pem
// Prints the access token; writes the agent's private key (PKCS#8 PEM, 0600).
import * as jose from 'jose';
import { writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';

const [endpoint, id, secret, keyOut] = process.argv.slice(2);
const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
const jwk = await jose.exportJWK(publicKey);
const proof = await new jose.SignJWT({ htm: 'POST', htu: endpoint, jti: randomUUID() })
  .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
  .setIssuedAt()
  .sign(privateKey);
const res = await fetch(endpoint, {
  method: 'POST',
  headers: {
    authorization: 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64'),
    'content-type': 'application/x-www-form-urlencoded',
    dpop: proof,
  },
  body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'login', resource: 'urn:ephem:hosts' }),
});
const body = await res.json();
if (!res.ok) {
  console.error(JSON.stringify(body));
  process.exit(1);
}
writeFileSync(keyOut, await jose.exportPKCS8(privateKey), { mode: 0o600 });
console.log(body.access_token);
