import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay, sleep } from '../src';

describe('backoff', () => {
  it('full jitter by default: attempt n waits within [0, min(cap, base·factorⁿ⁻¹)]', () => {
    const policy = { baseMs: 100, factor: 2, capMs: 5_000 };
    expect([1, 2, 3, 7, 40].map((attempt) => backoffDelay(attempt, policy, () => 0))).toEqual([100, 200, 400, 5_000, 5_000]);
    expect(backoffDelay(3, policy, () => 0.999_999)).toBe(0);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, random) => {
        const delay = backoffDelay(attempt, policy, () => random);
        return delay >= 0 && delay <= Math.min(5_000, 100 * 2 ** (attempt - 1));
      }),
    );
  });

  it('a small jitter keeps every delay longer than the one before until the cap', () => {
    const policy = { baseMs: 50, factor: 2, capMs: 30_000, jitter: 0.2 };
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 9, maxLength: 9 }), (randoms) => {
        const delays = randoms.map((random, index) => backoffDelay(index + 1, policy, () => random));
        return delays.every((delay, index) => index === 0 || delay > (delays[index - 1] ?? 0));
      }),
    );
  });

  it('Backoff counts consecutive failures, takes a different cap per call and starts over after reset', () => {
    const backoff = new Backoff({ baseMs: 100, factor: 2, capMs: 1_000, jitter: 0 });
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next(30_000)]).toEqual([100, 200, 400, 800, 1_600]);
    expect(backoff.failures).toBe(5);
    backoff.reset();
    expect(backoff.next()).toBe(100);
  });

  it('sleep resolves early when its signal aborts, and at once when it already had', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const sleeping = sleep(60_000, controller.signal);
    controller.abort();
    await sleeping;
    await sleep(60_000, controller.signal);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
