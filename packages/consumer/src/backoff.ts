import { backoffDelay } from '@settle/backoff';

export { sleep } from '@settle/backoff';

/** Retry delays: attempt n waits a random time in [0, min(capMs, baseMs·factorⁿ⁻¹)] ("full jitter"). */
export interface RetryPolicy {
  /** @default 200 */
  baseMs: number;
  /** @default 2 */
  factor: number;
  /** @default 30000 */
  capMs: number;
  /** Attempts before a transiently failing message is dead-lettered. @default 10 */
  maxAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 200, factor: 2, capMs: 30_000, maxAttempts: 10 };

/** The wait before retry `attempt` (1 = the first retry). */
export function retryDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  return backoffDelay(attempt, policy, random);
}
