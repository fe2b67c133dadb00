import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import type { AuthConfig } from '@settle/config';
import { ROLES, SettleError, type Role } from '@settle/domain';

/** The verified identity behind a request or socket. */
export interface Principal {
  role: Role;
  id: string;
  /** Expiry, seconds since the epoch. */
  exp: number | undefined;
}

export type TokenVerifier = (token: string) => Promise<Principal>;

/** HS256 only with a shared secret; a JWKS or public key never accepts HS256 (a public key used as an HMAC secret). */
const SYMMETRIC = ['HS256'];
const ASYMMETRIC = ['RS256', 'ES256', 'EdDSA'];

export type VerifierConfig = Pick<AuthConfig, 'JWT_SECRET' | 'JWKS_URL' | 'JWT_ISSUER'> &
  Partial<Pick<AuthConfig, 'JWT_PUBLIC_KEY' | 'JWT_AUDIENCE'>>;

/**
 * Verifies Settle JWTs with the keys of JWKS_URL, else JWT_PUBLIC_KEY (RS256, ES256, EdDSA), else HS256 with
 * JWT_SECRET; `iss` must be JWT_ISSUER and `aud` JWT_AUDIENCE when those are set. Claims: `sub` = id,
 * `role` = user|merchant|compliance. Every failure is a SettleError('UNAUTHENTICATED') whose detail says what is
 * wrong, never the token.
 */
export function createTokenVerifier(config: VerifierConfig): TokenVerifier {
  const { key, algorithms } =
    config.JWKS_URL !== undefined
      ? { key: createRemoteJWKSet(new URL(config.JWKS_URL)) as JWTVerifyGetKey | KeyObject | Uint8Array, algorithms: ASYMMETRIC }
      : config.JWT_PUBLIC_KEY !== undefined
        ? { key: createPublicKey(config.JWT_PUBLIC_KEY), algorithms: ASYMMETRIC }
        : { key: secretKey(config.JWT_SECRET), algorithms: SYMMETRIC };
  // A verified token is remembered until it expires (at most a minute), so a busy client does not pay a
  // WebCrypto signature check on every request. Failures are never cached.
  const verified = new Map<string, { principal: Principal; until: number }>();
  const CACHE_LIMIT = 10_000;
  return async (token) => {
    const cached = verified.get(token);
    if (cached !== undefined && cached.until > Date.now()) return cached.principal;
    const principal = await verifyOnce(token);
    if (verified.size >= CACHE_LIMIT) verified.clear();
    verified.set(token, { principal, until: Math.min(Date.now() + 60_000, (principal.exp ?? Infinity) * 1000) });
    return principal;
  };

  async function verifyOnce(token: string): Promise<Principal> {
    try {
      const { payload } = await jwtVerify(token, key as Uint8Array, {
        algorithms,
        ...(config.JWT_ISSUER !== undefined ? { issuer: config.JWT_ISSUER } : {}),
        ...(config.JWT_AUDIENCE !== undefined ? { audience: config.JWT_AUDIENCE } : {}),
      });
      const role = payload['role'];
      if (typeof payload.sub !== 'string' || payload.sub === '') throw new SettleError('UNAUTHENTICATED', 'the token has no subject (sub)');
      if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
        throw new SettleError('UNAUTHENTICATED', `the token's role must be one of ${ROLES.join(', ')}`);
      }
      return { role: role as Role, id: payload.sub, exp: payload.exp };
    } catch (error) {
      if (error instanceof SettleError) throw error;
      if (error instanceof errors.JWTExpired)
        throw new SettleError('UNAUTHENTICATED', 'the token has expired; get a new one', { cause: error });
      if (error instanceof errors.JWTClaimValidationFailed && (error.claim === 'iss' || error.claim === 'aud')) {
        throw new SettleError(
          'UNAUTHENTICATED',
          `the token's ${error.claim === 'iss' ? 'issuer' : 'audience'} is not the one this service accepts`,
          { cause: error },
        );
      }
      throw new SettleError('UNAUTHENTICATED', 'the token is invalid (bad signature, format or claims)', { cause: error });
    }
  }
}

/** Signs an HS256 token for local use (dev tokens, tests, `settle-ops token`). @default ttl 12 h */
export async function signToken(
  config: Pick<AuthConfig, 'JWT_SECRET' | 'JWT_ISSUER'> & Partial<Pick<AuthConfig, 'JWT_AUDIENCE'>>,
  principal: { role: Role; id: string },
  ttlSeconds = 12 * 3600,
): Promise<string> {
  const jwt = new SignJWT({ role: principal.role })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(principal.id)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds);
  if (config.JWT_ISSUER !== undefined) jwt.setIssuer(config.JWT_ISSUER);
  if (config.JWT_AUDIENCE !== undefined) jwt.setAudience(config.JWT_AUDIENCE);
  return jwt.sign(secretKey(config.JWT_SECRET));
}

function secretKey(secret: string | undefined): Uint8Array {
  if (secret === undefined || secret.length < 16) {
    throw new SettleError(
      'UNAVAILABLE',
      'JWT_SECRET (at least 16 characters), JWT_PUBLIC_KEY or JWKS_URL must be configured to verify tokens',
      { retryable: false },
    );
  }
  return new TextEncoder().encode(secret);
}

/** The bearer token of an Authorization header value, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}
