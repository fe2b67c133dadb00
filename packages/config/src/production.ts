import { ConfigError } from './errors';
import type { AuthConfig, RuntimeConfig } from './parts';

/** Secrets that are examples, not secrets (compared in lower case, as a part of the value). */
const PLACEHOLDER_SECRETS = [
  'change-me',
  'changeme',
  'change_me',
  'replace-me',
  'replaceme',
  'placeholder',
  'your-secret',
  'example',
  'secret',
  'password',
];

/** What the production profile reads: the environment profile and how tokens are verified. */
export type ProfileConfig = Pick<RuntimeConfig, 'NODE_ENV'> & AuthConfig;

/**
 * What keeps `config` from running in production (NODE_ENV=production), one sentence each; empty outside production.
 * Dev auth hands out tokens for anyone, and a short or well-known HS256 secret lets anyone sign them.
 */
export function productionProblems(config: ProfileConfig): string[] {
  if (config.NODE_ENV !== 'production') return [];
  const problems: string[] = [];
  if (config.DEV_AUTH) problems.push('DEV_AUTH is on (it lets anyone mint tokens); unset it');
  const asymmetric = config.JWKS_URL !== undefined || config.JWT_PUBLIC_KEY !== undefined;
  if (config.JWKS_URL !== undefined && !config.JWKS_URL.startsWith('https:')) problems.push('JWKS_URL must be an https URL');
  if (!asymmetric) {
    const secret = config.JWT_SECRET;
    if (secret === undefined) problems.push('no token verification key: set JWKS_URL, JWT_PUBLIC_KEY or JWT_SECRET');
    else if (Buffer.byteLength(secret, 'utf8') < 32) problems.push('JWT_SECRET is shorter than 32 bytes');
    else if (PLACEHOLDER_SECRETS.some((word) => secret.toLowerCase().includes(word)) || new Set(secret).size < 8) {
      problems.push('JWT_SECRET is a placeholder; generate one (openssl rand -base64 48)');
    }
  }
  return problems;
}

/** Throws a ConfigError naming every productionProblems of `config`; returns it otherwise. */
export function checkProductionProfile<T extends ProfileConfig>(config: T): T {
  const problems = productionProblems(config);
  if (problems.length > 0) throw new ConfigError(`refusing to start in production: ${problems.join('; ')}`);
  return config;
}
