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

/**
 * Exponential backoff with "equal jitter": attempt n waits a random time in [c/2, c] where
 * c = min(cap, base * 2^n), so restarts spread out but never hammer. Failures that waiting alone cannot fix
 * use the longer cap.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs = 100,
    private readonly retryableCapMs = 5_000,
    private readonly nonRetryableCapMs = 30_000,
  ) {}

  /** The next delay; grows with every call until `reset`. */
  next(retryable: boolean): number {
    const cap = retryable ? this.retryableCapMs : this.nonRetryableCapMs;
    const ceiling = Math.min(cap, this.baseMs * 2 ** Math.min(this.attempt, 20));
    this.attempt += 1;
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  /** Called after progress: the next failure starts small again. */
  reset(): void {
    this.attempt = 0;
  }
}
