import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { type Pool, recreateRelaySlot, setupRelaySlot } from '@settle/db';
import { testStack, sleep } from '@settle/testkit';
import type { Relay } from '../src/relay';
import { commitRows, metricValue, probe, startCollecting, uniqueSlot, waitFor, useRelaySource, startTestRelay } from './helpers';

async function slotExists(pool: Pool, slot: string): Promise<boolean> {
  const { rowCount } = await pool.query(`SELECT 1 FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
  return rowCount === 1;
}

/** Drops a slot even while a relay streams from it (terminating its walsender first, as an operator would). */
async function dropSlotUnderRelay(pool: Pool, slot: string): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    await pool.query(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`, [
      slot,
    ]);
    try {
      await pool.query(`SELECT pg_drop_replication_slot($1)`, [slot]);
      return;
    } catch (error) {
      if (attempt > 100 || !String(error).includes('is active')) throw error;
      await sleep(20);
    }
  }
}

describe('the replication slot: created by setup, never silently re-created', () => {
  const source = useRelaySource('relay_slot', { poolMax: 4, withSlot: false });
  const relays: Relay[] = [];

  afterAll(async () => {
    for (const relay of relays) await relay.stop();
  });

  async function start(slot: string): Promise<Relay> {
    const relay = await startTestRelay(source, { RELAY_SLOT: slot }, { port: 0, slotRecheckMs: 200, lagIntervalMs: 200 });
    relays.push(relay);
    return relay;
  }

  it('creates the slot the first time, records it, leaves it alone afterwards and adopts an unrecorded one', async () => {
    const slot = uniqueSlot('relay_setup');
    expect(await setupRelaySlot(source.pool, slot, 'settle_outbox_pub')).toBe('created');
    expect(await setupRelaySlot(source.pool, slot, 'settle_outbox_pub')).toBe('exists');
    const recorded = await source.pool.query(`SELECT publication FROM relay_slots WHERE slot_name = $1`, [slot]);
    expect(recorded.rows).toEqual([{ publication: 'settle_outbox_pub' }]);

    const manual = uniqueSlot('relay_manual');
    await source.pool.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [manual]);
    expect(await setupRelaySlot(source.pool, manual, 'settle_outbox_pub')).toBe('adopted');
    await expect(setupRelaySlot(source.pool, uniqueSlot('relay_nopub'), 'no_such_publication')).rejects.toThrow(
      /publication "no_such_publication" does not exist/,
    );
  });

  it('refuses to stream from a slot setup never created and says so in /health', async () => {
    const slot = uniqueSlot('relay_never');
    const relay = await start(slot);
    await waitFor(async () => (await probe(relay.port ?? 0, '/health')).status === 503, '/health to fail');
    const health = JSON.parse((await probe(relay.port ?? 0, '/health')).body) as { problem: { code: string; message: string } };
    expect(health.problem.code).toBe('SLOT_NOT_SET_UP');
    expect(health.problem.message).toContain(slot);
    expect(metricValue((await probe(relay.port ?? 0, '/metrics')).body, 'settle_relay_slot_missing')).toBe(1);
    expect(await slotExists(source.pool, slot)).toBe(false);
    await relay.stop();
  });

  it('refuses to run on when its slot is dropped: /health 503 with the reason and the slot-missing metric, nothing re-creates it, and the explicit recreate brings it back', async () => {
    const slot = uniqueSlot('relay_dropped');
    expect(await setupRelaySlot(source.pool, slot, 'settle_outbox_pub')).toBe('created');
    const relay = await start(slot);
    const port = relay.port ?? 0;
    await waitFor(async () => (await probe(port, '/ready')).status === 200, 'the relay to stream');

    await dropSlotUnderRelay(source.pool, slot);
    await waitFor(async () => (await probe(port, '/health')).status === 503, '/health to report the lost slot');
    const health = JSON.parse((await probe(port, '/health')).body) as { problem: { code: string; message: string } };
    expect(health.problem.code).toBe('SLOT_MISSING');
    expect(health.problem.message).toMatch(/no longer exists.*will not re-create it/);
    expect((await probe(port, '/ready')).status).toBe(503);
    expect(metricValue((await probe(port, '/metrics')).body, 'settle_relay_slot_missing')).toBe(1);
    expect(relay.status().problem?.code).toBe('SLOT_MISSING');

    // Neither the running relay nor a later setup brings the slot back by itself.
    expect(await setupRelaySlot(source.pool, slot, 'settle_outbox_pub')).toBe('missing');
    await sleep(1_000);
    expect(await slotExists(source.pool, slot)).toBe(false);

    // The ops action does, and the relay resumes on its own.
    expect(await recreateRelaySlot(source.pool, slot, 'settle_outbox_pub')).toBe(true);
    expect(await recreateRelaySlot(source.pool, slot, 'settle_outbox_pub')).toBe(false);
    await waitFor(
      async () => (await probe(port, '/health')).status === 200 && (await probe(port, '/ready')).status === 200,
      '/health and /ready to recover',
    );
    expect(metricValue((await probe(port, '/metrics')).body, 'settle_relay_slot_missing')).toBe(0);
    const recorded = await source.pool.query<{ recreate_count: number }>(`SELECT recreate_count FROM relay_slots WHERE slot_name = $1`, [
      slot,
    ]);
    expect(recorded.rows[0]?.recreate_count).toBe(1);

    const collector = await startCollecting(testStack().kafkaBrokers, [source.topic]);
    try {
      const [row] = await commitRows(source.pool, [randomUUID()], new Map());
      await waitFor(
        () => collector.messages.some((message) => message.id === row?.id),
        'the row committed after the recreate to reach Kafka',
      );
    } finally {
      await collector.stop();
    }
  });
});
