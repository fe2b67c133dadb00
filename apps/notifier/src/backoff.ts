/** Exponential backoff with jitter: attempt n waits min(cap, base·factorⁿ⁻¹), shortened by up to `jitter` at random. */
export interface BackoffSettings {
  baseMs: number;
  factor: number;
  capMs: number;
  /** 0..0.2: with factor ≥ 1.25 each delay stays longer than the one before until the cap. */
  jitter: number;
}

/** The wait before retry number `attempt` (1 = the first retry). */
export function backoffDelay(attempt: number, settings: BackoffSettings, random: () => number = Math.random): number {
  const exponential = Math.min(settings.capMs, settings.baseMs * settings.factor ** Math.max(0, attempt - 1));
  return Math.round(exponential * (1 - settings.jitter * random()));
}
