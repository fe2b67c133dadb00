import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '@settle/auth';
import { startApi, type Harness } from './harness';

const ISSUER = 'https://id.settle.test/';
const AUDIENCE = 'settle-api';

function token(key: CryptoKey, alg: string, claims: { iss?: string; aud?: string; kid?: string } = {}): Promise<string> {
  const jwt = new SignJWT({ role: 'user' })
    .setProtectedHeader({ alg, ...(claims.kid !== undefined ? { kid: claims.kid } : {}) })
    .setSubject('u-asym')
    .setIssuedAt()
    .setExpirationTime('10m')
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? AUDIENCE);
  return jwt.sign(key);
}

describe('tokens signed with ES256, verified through a JWKS URL', () => {
  let api: Harness;
  let jwks: http.Server;
  let jwksRequests = 0;
  let privateKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' };
    jwks = http.createServer((_request, response) => {
      jwksRequests += 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
    api = await startApi({ JWKS_URL: url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
  });
  afterAll(async () => {
    await api.close();
    await new Promise((resolve) => jwks.close(resolve));
  });

  it('a token with the right issuer and audience is accepted (200), the key read from the JWKS', async () => {
    const response = await api.call('GET', '/v1/notifications', { token: await token(privateKey, 'ES256', { kid: 'key-1' }) });
    expect(response.status).toBe(200);
    expect(jwksRequests).toBeGreaterThan(0);
  });

  it('a wrong issuer or audience answers 401 naming the claim', async () => {
    const wrongIssuer = await api.call<{ detail: string }>('GET', '/v1/notifications', {
      token: await token(privateKey, 'ES256', { kid: 'key-1', iss: 'https://evil.test/' }),
    });
    expect(wrongIssuer.status).toBe(401);
    expect(wrongIssuer.body.detail).toBe("the token's issuer is not the one this service accepts");
    const wrongAudience = await api.call<{ detail: string }>('GET', '/v1/notifications', {
      token: await token(privateKey, 'ES256', { kid: 'key-1', aud: 'another-service' }),
    });
    expect(wrongAudience.status).toBe(401);
    expect(wrongAudience.body.detail).toBe("the token's audience is not the one this service accepts");
  });

  it('a key not in the JWKS and an HS256 token (even with the configured JWT_SECRET) answer 401', async () => {
    const stranger = (await generateKeyPair('ES256')).privateKey;
    expect((await api.call('GET', '/v1/notifications', { token: await token(stranger, 'ES256', { kid: 'key-1' }) })).status).toBe(401);
    const hs256 = await signToken({ ...api.config, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE }, { role: 'user', id: 'u-asym' });
    expect((await api.call('GET', '/v1/notifications', { token: hs256 })).status).toBe(401);
  });
});

describe('tokens verified with a PEM public key (JWT_PUBLIC_KEY)', () => {
  let api: Harness;
  let privateKey: CryptoKey;
  beforeAll(async () => {
    const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    privateKey = pair.privateKey;
    // As an env file holds it: one line with \n escapes.
    api = await startApi({
      JWT_PUBLIC_KEY: (await exportSPKI(pair.publicKey)).trim().replaceAll('\n', '\\n'),
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
    });
  });
  afterAll(async () => {
    await api.close();
  });

  it('an EdDSA token is accepted, one signed by another key is not (401)', async () => {
    expect((await api.call('GET', '/v1/notifications', { token: await token(privateKey, 'EdDSA') })).status).toBe(200);
    const other = (await generateKeyPair('EdDSA', { crv: 'Ed25519' })).privateKey;
    expect((await api.call('GET', '/v1/notifications', { token: await token(other, 'EdDSA') })).status).toBe(401);
  });
});

describe('docs in production', () => {
  it('API_DOCS=1 serves /docs and /openapi.json in production; /metrics stays off the public port', async () => {
    const api = await startApi({ NODE_ENV: 'production', API_DOCS: '1' });
    try {
      expect((await api.call('GET', '/openapi.json')).status).toBe(200);
      expect((await api.call('GET', '/docs')).status).toBe(200);
      expect((await api.call('GET', '/metrics')).status).toBe(404);
    } finally {
      await api.close();
    }
  });

  it('without API_DOCS production serves neither; outside production both are served', async () => {
    const production = await startApi({ NODE_ENV: 'production' });
    const development = await startApi({ NODE_ENV: 'development' });
    try {
      expect((await production.call('GET', '/openapi.json')).status).toBe(404);
      expect((await production.call('GET', '/docs')).status).toBe(404);
      expect((await development.call('GET', '/openapi.json')).status).toBe(200);
      expect((await development.call('GET', '/metrics')).status).toBe(200);
    } finally {
      await production.close();
      await development.close();
    }
  });
});
