import { InvalidArgumentError } from 'commander';

/** The UUID form of an order id. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An argument parser for a whole number of at least 1, named `what` in its error. */
export function positiveInt(what: string) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError(`${what} must be a positive whole number`);
    return number;
  };
}

/** Messages per second: `10` or `10/s`. */
export function rate(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(?:\/s)?$/.exec(value);
  const number = Number(match?.[1]);
  if (match === null || !(number > 0)) throw new InvalidArgumentError('rate is messages per second, e.g. 10 or 10/s');
  return number;
}

/** An ISO time, or a duration back from now: 30m, 2h, 7d. */
export function since(value: string, now = Date.now()): Date {
  const relative = /^(\d+)\s*([smhd])$/.exec(value);
  if (relative !== null) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now - Number(relative[1]) * unit);
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new InvalidArgumentError('since is an ISO time (2026-11-25T10:00:00Z) or a duration back from now (30m, 2h, 7d)');
  return date;
}
