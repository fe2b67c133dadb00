import type { Kafka } from 'kafkajs';
import type { Pool, PoolClient } from '@settle/db';
import type { Logger } from '@settle/observability';
import { RelayBackoff, sleep } from './backoff';
import { databaseError, RelayError } from './errors';
import type { RelayMetrics } from './metrics';
import { type OutboxRow, toOutboundRecord, type TopicRouter } from './outbox-message';
import { Publisher } from './publisher';

export interface PollRelayOptions {
  pool: Pool;
  kafka: Kafka;
  route: TopicRouter;
  batchSize: number;
  pollIntervalMs: number;
  sendTimeoutMs: number;
  logger: Logger;
  metrics: RelayMetrics;
  onPolling(): void;
  onProgress(): void;
  onFailure(error: RelayError): void;
}

const CLAIM_SQL = `
SELECT id, aggregatetype, aggregateid, type, payload::text AS payload, headers::text AS headers, order_version, created_at
  FROM outbox
 WHERE published_at IS NULL
 ORDER BY created_at, id
 LIMIT $1
   FOR UPDATE SKIP LOCKED`;

const MARK_SQL = `UPDATE outbox SET published_at = now() WHERE id = ANY($1::uuid[])`;

/**
 * RELAY_MODE=poll: the baseline and the fallback where logical replication is unavailable. Each round claims
 * the oldest unpublished rows (FOR UPDATE SKIP LOCKED), publishes them, and marks them published in the same
 * transaction, so a crash between the Kafka ack and the commit re-sends them (at-least-once). Order is
 * `created_at, id`, i.e. transaction start time: two transactions that commit in the opposite order of their
 * start can be published out of commit order, one of the reasons the WAL relay is the default.
 */
export async function runPollRelay(options: PollRelayOptions, signal: AbortSignal): Promise<void> {
  const backoff = new RelayBackoff();
  let publisher: Publisher | null = null;
  let announced = false;
  while (!signal.aborted) {
    try {
      publisher ??= await Publisher.connect(options.kafka, { sendTimeoutMs: options.sendTimeoutMs });
      if (!announced) {
        announced = true;
        options.onPolling();
      }
      const published = await pollOnce(options, publisher);
      options.onProgress();
      backoff.reset();
      if (published === 0) await sleep(options.pollIntervalMs, signal);
    } catch (error) {
      const failure = error instanceof RelayError ? error : databaseError(error, 'DATABASE_UNAVAILABLE', 'polling the outbox');
      options.onFailure(failure);
      if (failure.code === 'KAFKA_UNAVAILABLE' || failure.code === 'KAFKA_REJECTED') {
        await publisher?.close();
        publisher = null;
      }
      await sleep(backoff.next(failure.retryable), signal);
    }
  }
  await publisher?.close();
}

async function pollOnce(options: PollRelayOptions, publisher: Publisher): Promise<number> {
  let client: PoolClient;
  try {
    client = await options.pool.connect();
  } catch (error) {
    throw databaseError(error, 'DATABASE_UNAVAILABLE', 'connecting to Postgres');
  }
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<OutboxRow>(CLAIM_SQL, [options.batchSize]);
    const claimedAt = Date.now();
    if (rows.length === 0) {
      await client.query('COMMIT');
      return 0;
    }
    // Poll mode cannot know the commit LSN; the header is left out rather than invented.
    const records = rows.map((row) => toOutboundRecord(row, null, options.route));
    options.metrics.inFlight.set(records.length);
    await publisher.publish(records);
    await client.query(MARK_SQL, [rows.map((row) => row.id)]);
    await client.query('COMMIT');
    const now = Date.now();
    const receivedToAckMs = now - claimedAt;
    const perTopic = new Map<string, number>();
    for (const [index, record] of records.entries()) {
      perTopic.set(record.topic, (perTopic.get(record.topic) ?? 0) + 1);
      const created = rows[index]?.created_at.getTime();
      if (created !== undefined) options.metrics.observeCommitToAck({ commitToAckMs: Math.max(0, now - created), receivedToAckMs });
    }
    for (const [topic, count] of perTopic) options.metrics.published.inc({ topic }, count);
    options.metrics.batchSize.observe(records.length);
    return records.length;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error instanceof RelayError ? error : databaseError(error, 'DATABASE_UNAVAILABLE', 'claiming outbox rows');
  } finally {
    options.metrics.inFlight.set(0);
    client.release(broken);
  }
}
