import {
  advanceReplayCursor,
  claimDeadLetterReplay,
  finishReplayCursor,
  inTransaction,
  listDeadLetters,
  openReplayCursor,
  type DeadLetter,
  type DeadLetterFilter,
  type Pool,
} from '@settle/db';
import { REPLAY_HEADERS } from '@settle/kafka';
import type { Producer } from 'kafkajs';

export interface ReplayOptions {
  pool: Pool;
  /** Absent for a dry run. */
  producer: Producer | undefined;
  filter: DeadLetterFilter;
  /** Only these ids (still subject to the filter). */
  ids?: number[] | undefined;
  limit: number;
  /** Messages per second at most; undefined = as fast as Kafka acknowledges. */
  rate?: number | undefined;
  maxReplays: number;
  actor: string;
  reason: string;
  dryRun: boolean;
  restart: boolean;
  onStart?: (total: number) => void;
  onProgress?: (done: number, letter: DeadLetter, action: 'replay' | 'park' | 'skip') => void;
}

export interface ReplaySummary {
  dryRun: boolean;
  considered: number;
  replayed: number[];
  parked: number[];
  skipped: number[];
  /** Where a later run with the same filter continues. */
  cursor: number;
  finished: boolean;
}

/**
 * Re-publishes open dead letters to their original topic (same key, value and headers, plus settle-replay-of and
 * settle-replay-count), one transaction per message: claim (count the replay, or park a message replayed too
 * often), publish, move the cursor, audit. A dry run reads only.
 */
export async function replayDeadLetters(options: ReplayOptions): Promise<ReplaySummary> {
  const summary: ReplaySummary = {
    dryRun: options.dryRun,
    considered: 0,
    replayed: [],
    parked: [],
    skipped: [],
    cursor: 0,
    finished: false,
  };
  // Named ids are a one-off; a filter replay keeps a resumable cursor.
  const useCursor = !options.dryRun && options.ids === undefined;
  const cursor = useCursor
    ? await openReplayCursor(options.pool, options.filter, options.actor, options.restart)
    : { filterKey: '', lastId: 0 };
  summary.cursor = cursor.lastId;
  const candidates =
    options.ids === undefined
      ? await listDeadLetters(options.pool, { ...options.filter, statuses: ['open'], afterId: cursor.lastId, limit: options.limit + 1 })
      : (
          await Promise.all(
            options.ids.map((id) => listDeadLetters(options.pool, { ...options.filter, statuses: ['open'], afterId: id - 1, limit: 1 })),
          )
        )
          .flat()
          .filter((letter) => options.ids?.includes(letter.id));
  const batch = candidates.slice(0, options.limit);
  const more = candidates.length > options.limit;
  summary.considered = batch.length;
  options.onStart?.(batch.length);

  if (options.dryRun) {
    for (const [index, letter] of batch.entries()) {
      (letter.replayCount >= options.maxReplays ? summary.parked : summary.replayed).push(letter.id);
      options.onProgress?.(index + 1, letter, letter.replayCount >= options.maxReplays ? 'park' : 'replay');
    }
    summary.finished = !more;
    return summary;
  }
  const producer = options.producer;
  if (producer === undefined) throw new Error('a replay needs a Kafka producer');

  const interval = options.rate === undefined ? 0 : 1000 / options.rate;
  let next = Date.now();
  for (const [index, candidate] of batch.entries()) {
    if (interval > 0) {
      const wait = next - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      next = Math.max(next, Date.now()) + interval;
    }
    const action = await inTransaction(options.pool, async (client) => {
      const claim = await claimDeadLetterReplay(client, candidate.id, options.actor, options.reason, options.maxReplays);
      if (claim.action === 'replay') {
        const letter = claim.letter;
        const headers: Record<string, string> = {
          ...letter.originalHeaders,
          [REPLAY_HEADERS.replayOf]: String(letter.id),
          [REPLAY_HEADERS.replayCount]: String(letter.replayCount),
        };
        if (letter.channel === 'webhook' && letter.webhookEndpointId !== null) {
          headers[REPLAY_HEADERS.channel] = 'webhook';
          headers[REPLAY_HEADERS.webhookEndpoint] = letter.webhookEndpointId;
        } else {
          delete headers[REPLAY_HEADERS.channel];
          delete headers[REPLAY_HEADERS.webhookEndpoint];
        }
        await producer.send({ topic: letter.originalTopic, acks: -1, messages: [{ key: letter.key, value: letter.value, headers }] });
      }
      if (useCursor) await advanceReplayCursor(client, cursor.filterKey, candidate.id, claim.action === 'replay' ? 1 : 0);
      return claim.action;
    });
    summary[action === 'replay' ? 'replayed' : action === 'park' ? 'parked' : 'skipped'].push(candidate.id);
    summary.cursor = candidate.id;
    options.onProgress?.(index + 1, candidate, action);
  }
  if (!more) {
    if (useCursor) await finishReplayCursor(options.pool, cursor.filterKey);
    summary.finished = true;
  }
  return summary;
}
