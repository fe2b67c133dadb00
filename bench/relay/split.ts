/**
 * Our relay's commit → ack split where it received each event (settle_relay_commit_to_receive_seconds and
 * settle_relay_receive_to_ack_seconds): read from its /metrics before and after a window, so a p99 can be placed on
 * the Postgres side (WAL flush, walsender, decoding) or the relay's (linger, produce request, ack).
 */

/** One histogram's cumulative bucket counts (upper bound in seconds → count) in a Prometheus text exposition. */
function bucketsOf(metrics: string, name: string): Array<[number, number]> {
  const buckets: Array<[number, number]> = [];
  for (const match of metrics.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"[^}]*\\} (\\S+)$`, 'gm'))) {
    buckets.push([match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]), Number(match[2])]);
  }
  return buckets.sort((a, b) => a[0] - b[0]);
}

/**
 * The q-quantile, in ms, of the observations a histogram gained between two scrapes, interpolated linearly inside
 * its bucket (so within a bucket's width of the true value); undefined when none was observed.
 */
export function quantileBetween(before: string, after: string, name: string, q: number): number | undefined {
  const start = new Map(bucketsOf(before, name));
  const gained = bucketsOf(after, name).map(([le, count]) => [le, count - (start.get(le) ?? 0)] as const);
  const total = gained.at(-1)?.[1] ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, count] of gained) {
    if (count >= rank) {
      if (!Number.isFinite(le)) return lower * 1000;
      return (lower + ((le - lower) * (rank - below)) / Math.max(1, count - below)) * 1000;
    }
    lower = le;
    below = count;
  }
  return undefined;
}

/** `commit → received p50/p99 2/9 ms, received → ack 21/48 ms` between two scrapes of the relay's metrics. */
export function describeSplit(before: string, after: string): string {
  const pair = (name: string): string =>
    [0.5, 0.99].map((q) => quantileBetween(before, after, `settle_relay_${name}_seconds`, q)?.toFixed(0) ?? '–').join('/');
  return `commit → relay received p50/p99 ${pair('commit_to_receive')} ms, received → Kafka ack ${pair('receive_to_ack')} ms`;
}

/** A process's Prometheus metrics text, when it serves any (undefined without a URL or on an error answer). */
export async function scrapeMetrics(url: string | undefined): Promise<string | undefined> {
  if (url === undefined) return undefined;
  const response = await fetch(url);
  return response.ok ? await response.text() : undefined;
}
