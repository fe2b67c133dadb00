/**
 * The one retry-delay rule of every Settle process (relay, notifier, webhooks, the consumer kit, the supervisor):
 * attempt n waits c = min(cap, base·factorⁿ⁻¹), shortened at random by up to `jitter`·c. `jitter: 1` ("full
 * jitter", the default) spreads retries over [0, c], which keeps many clients that failed together from retrying
 * together; a small jitter (the notifier's 0.2) keeps each delay longer than the one before.
 */
export interface BackoffPolicy {
  baseMs: number;
  factor: number;
  capMs: number;
  /** 0..1: the largest share of a delay taken off at random. @default 1 (full jitter) */
  jitter?: number;
}

/** The wait before retry number `attempt` (1 = the first retry). */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * policy.factor ** Math.min(Math.max(0, attempt - 1), 64));
  return Math.round(ceiling * (1 - (policy.jitter ?? 1) * random()));
}

/** A run of consecutive failures: each `next()` is the delay of the next attempt, `reset()` after progress. */
export class Backoff {
  private attempt = 0;

  constructor(private readonly policy: BackoffPolicy) {}

  /** The next delay (a different cap, e.g. for failures that waiting alone cannot fix, when given). */
  next(capMs: number = this.policy.capMs): number {
    this.attempt += 1;
    return backoffDelay(this.attempt, { ...this.policy, capMs });
  }

  /** Consecutive failures so far. */
  get failures(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after `ms`, or early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
