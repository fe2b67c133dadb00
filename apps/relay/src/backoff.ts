import { Backoff } from '@settle/backoff';

export { sleep } from '@settle/backoff';

/**
 * The relay's restarts: exponential from 100 ms with "equal jitter" (each wait in [c/2, c]), so restarts spread out
 * but never hammer; capped at 5 s, or 30 s for failures that waiting alone cannot fix (`next(false)`).
 */
export class RelayBackoff {
  private readonly backoff = new Backoff({ baseMs: 100, factor: 2, capMs: 5_000, jitter: 0.5 });

  next(retryable: boolean): number {
    return this.backoff.next(retryable ? 5_000 : 30_000);
  }

  reset(): void {
    this.backoff.reset();
  }
}
