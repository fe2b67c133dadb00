import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderEvent, OrderView } from '@settle/domain';
import { sellOrderPaid, stageOrder, startApi, type Harness } from './harness';
import { testAddress, testTxHash } from '@settle/testkit';

let api: Harness;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api.close();
});

const release = (id: string, token: string, txHash: string, key: string = randomUUID(), headers: Record<string, string> = {}) =>
  api.call<OrderView & { detail?: string; orderVersion: number; orderStatus?: string }>('POST', `/v1/orders/${id}/release`, {
    token,
    body: { txHash },
    headers: { 'idempotency-key': key, ...headers },
  });

describe('confirm and release', () => {
  it('completes the order, bumps the version and writes exactly one event and one outbox row, atomically', async () => {
    const { order, user } = await sellOrderPaid(api, 'r1');
    const before = await api.counts();
    const response = await release(order.id, user, testTxHash('releaser1'));

    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe(`"${order.orderVersion + 1}"`);
    expect(response.body).toMatchObject({
      status: 'completed',
      minimalStatus: 'completed',
      releaseTxHash: testTxHash('releaser1'),
      orderVersion: order.orderVersion + 1,
      recipientWallet: testAddress('merchant-r1'),
    });
    expect(response.body.completedAt).not.toBeNull();
    expect(response.body.paymentConfirmedAt).toBe(response.body.completedAt);
    expect(await api.counts()).toEqual({ ...before, events: before.events + 1, outbox: before.outbox + 1 });

    const row = await api.pool.query(
      `SELECT status, release_tx_hash, order_version, completed_at, payment_confirmed_at FROM orders WHERE id = $1`,
      [order.id],
    );
    expect(row.rows[0]).toMatchObject({
      status: 'completed',
      release_tx_hash: testTxHash('releaser1'),
      order_version: order.orderVersion + 1,
    });
    const outbox = await api.pool.query(
      `SELECT aggregatetype, aggregateid, type, order_version, payload FROM outbox WHERE aggregateid = $1 ORDER BY order_version DESC LIMIT 1`,
      [order.id],
    );
    expect(outbox.rows[0]).toMatchObject({
      aggregatetype: 'order',
      aggregateid: order.id,
      type: 'order.completed',
      order_version: order.orderVersion + 1,
    });
    const event = outbox.rows[0].payload as OrderEvent;
    expect(event).toMatchObject({
      type: 'order.completed',
      orderId: order.id,
      orderVersion: order.orderVersion + 1,
      status: 'completed',
      previousStatus: 'payment_sent',
      actor: { role: 'user', id: 'u-r1' },
    });
    expect(event.order.releaseTxHash).toBe(testTxHash('releaser1'));
    // The event in order_events is the same event as in the outbox.
    const stored = await api.pool.query(`SELECT id, payload FROM order_events WHERE order_id = $1 AND order_version = $2`, [
      order.id,
      order.orderVersion + 1,
    ]);
    expect(stored.rows[0].id).toBe(event.eventId);
  });

  it('a second release answers 409 with the current version and writes no event', async () => {
    const { order, user } = await sellOrderPaid(api, 'r2');
    expect((await release(order.id, user, testTxHash('releaser2'))).status).toBe(200);
    const before = await api.counts();
    const second = await release(order.id, user, testTxHash('releaser2b'));
    expect(second.status).toBe(409);
    expect(second.headers.get('content-type')).toContain('application/problem+json');
    expect(second.body).toMatchObject({
      type: 'https://settle.dev/problems/conflict',
      status: 409,
      orderVersion: order.orderVersion + 1,
      orderStatus: 'completed',
    });
    expect(second.body.detail).toBe('cannot confirm and release an order that is completed');
    expect(await api.counts()).toEqual(before);
  });

  it('the same Idempotency-Key and body replays the stored response; another body answers 422', async () => {
    const { order, user } = await sellOrderPaid(api, 'r3');
    const key = randomUUID();
    const first = await release(order.id, user, testTxHash('releaser3'), key);
    const before = await api.counts();
    const again = await release(order.id, user, testTxHash('releaser3'), key);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    const other = await release(order.id, user, testTxHash('releaser3other'), key);
    expect(other.status).toBe(422);
    expect(other.body.detail).toMatch(/already used with a different request/);
    expect(await api.counts()).toEqual(before);
  });

  it('release without an Idempotency-Key answers 400 naming the header and changes nothing', async () => {
    const { order, user } = await sellOrderPaid(api, 'r4');
    const before = await api.counts();
    const response = await api.call('POST', `/v1/orders/${order.id}/release`, { token: user, body: { txHash: testTxHash('releaser4') } });
    expect(response.status).toBe(400);
    expect(response.body['detail']).toMatch(/Idempotency-Key is required/);
    expect(await api.counts()).toEqual(before);
  });

  it('a stale If-Match answers 412 and changes nothing', async () => {
    const { order, user } = await sellOrderPaid(api, 'r5');
    const before = await api.counts();
    const stale = await release(order.id, user, testTxHash('releaser5'), randomUUID(), { 'if-match': `"${order.orderVersion - 1}"` });
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ orderVersion: order.orderVersion, orderStatus: 'payment_sent' });
    expect(await api.counts()).toEqual(before);
    const fresh = await release(order.id, user, testTxHash('releaser5'), randomUUID(), { 'if-match': `"${order.orderVersion}"` });
    expect(fresh.status).toBe(200);
  });

  it('only the escrow funder may release: the buyer gets 403, a stranger 404', async () => {
    const { order, merchant } = await sellOrderPaid(api, 'r6');
    expect((await release(order.id, merchant, testTxHash('releaser6'))).status).toBe(403);
    const stranger = await api.token('user', 'u-stranger-r6');
    expect((await release(order.id, stranger, testTxHash('releaser6'))).status).toBe(404);
  });

  it('a fault after the event insert (failing outbox insert) leaves order, events and outbox untouched', async () => {
    const { order, user } = await sellOrderPaid(api, 'r7');
    await api.pool.query(`
      CREATE FUNCTION fail_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.type = 'order.completed' THEN RAISE EXCEPTION 'injected outbox failure'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER fail_outbox BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION fail_outbox();`);
    try {
      const before = await api.counts();
      const rowBefore = await api.pool.query(`SELECT * FROM orders WHERE id = $1`, [order.id]);
      const response = await release(order.id, user, testTxHash('releaser7'));
      expect(response.status).toBe(500);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(await api.counts()).toEqual(before);
      const rowAfter = await api.pool.query(`SELECT * FROM orders WHERE id = $1`, [order.id]);
      expect(rowAfter.rows[0]).toEqual(rowBefore.rows[0]);
      const hashes = await api.pool.query(`SELECT count(*)::int AS n FROM tx_hashes WHERE hash = $1`, [testTxHash('releaser7')]);
      expect(hashes.rows[0].n).toBe(0);
    } finally {
      await api.pool.query(`DROP TRIGGER fail_outbox ON outbox; DROP FUNCTION fail_outbox();`);
    }
    expect((await release(order.id, user, testTxHash('releaser7'))).status).toBe(200);
  });

  it('100 concurrent releases: exactly one 200 per distinct outcome, the rest 409 or the idempotent replay; one event', async () => {
    const { order, user } = await sellOrderPaid(api, 'r8');
    const before = await api.counts();
    const sharedKey = randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        index % 2 === 0
          ? release(order.id, user, testTxHash('releaser8'), sharedKey)
          : release(order.id, user, testTxHash(`releaser8x${index}`)),
      ),
    );
    const ok = responses.filter((response) => response.status === 200);
    const replays = ok.filter((response) => response.headers.get('idempotent-replayed') === 'true');
    const conflicts = responses.filter((response) => response.status === 409);
    expect(ok.length - replays.length).toBe(1);
    expect(ok.length + conflicts.length).toBe(100);
    expect(new Set(ok.map((response) => response.body.releaseTxHash)).size).toBe(1);
    expect(await api.counts()).toEqual({ ...before, events: before.events + 1, outbox: before.outbox + 1 });
    const events = await api.pool.query(`SELECT count(*)::int AS n FROM order_events WHERE order_id = $1 AND type = 'order.completed'`, [
      order.id,
    ]);
    expect(events.rows[0].n).toBe(1);
  });

  it("the original client's PATCH /api/orders/:id/escrow releases through the same path and ignores actor fields", async () => {
    const { order, user, merchant } = await sellOrderPaid(api, 'r9');
    // The body claims to be the merchant; the token (the buyer) decides, so this is the buyer's side: 403.
    const spoofed = await api.call('PATCH', `/api/orders/${order.id}/escrow`, {
      token: merchant,
      body: { tx_hash: testTxHash('releaser9'), actor_type: 'user', actor_id: 'u-r9' },
    });
    expect(spoofed.status).toBe(403);
    const response = await api.call<OrderView>('PATCH', `/api/orders/${order.id}/escrow`, {
      token: user,
      body: { tx_hash: testTxHash('releaser9'), actor_type: 'merchant', actor_id: 'm-r9' },
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'completed', releaseTxHash: testTxHash('releaser9') });
    const event = await api.pool.query(`SELECT actor_role, actor_id FROM order_events WHERE order_id = $1 AND type = 'order.completed'`, [
      order.id,
    ]);
    expect(event.rows[0]).toEqual({ actor_role: 'user', actor_id: 'u-r9' });
  });
});

describe('a write that loses a race is decided again on the new state', () => {
  it('both parties ask to cancel at once: one request, then the other becomes the agreement; both 200, two events', async () => {
    const staged = await stageOrder(api, 'sell', 'escrowed');
    const id = staged.order.id;
    // Hold the order row so both requests read version v, decide, and then queue their writes behind us.
    const blocker = await api.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM orders WHERE id = $1 FOR UPDATE', [id]);
      const buyer = api.call<OrderView>('POST', `/v1/orders/${id}/cancel-request`, {
        token: staged.tokens.buyer,
        body: { reason: 'changed my mind', refundTxHash: testTxHash(`race-refund-buyer-${id}`) },
      });
      const seller = api.call<OrderView>('POST', `/v1/orders/${id}/cancel-request`, {
        token: staged.tokens.seller,
        body: { reason: 'me too', refundTxHash: testTxHash(`race-refund-seller-${id}`) },
      });
      for (let waited = 0; ; waited += 1) {
        const waiting = await api.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND locktype IN ('transactionid', 'tuple')`,
        );
        if ((waiting.rows[0]?.n ?? 0) >= 2) break;
        if (waited > 200) throw new Error('the two writes never queued behind the row lock');
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      await blocker.query('COMMIT');
      const answers = await Promise.all([buyer, seller]);
      expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
      expect(answers.map((answer) => answer.body.status).sort()).toEqual(['cancelled', 'escrowed']);
    } finally {
      blocker.release();
    }
    const events = await api.pool.query<{ type: string; order_version: number }>(
      `SELECT type, order_version FROM order_events WHERE order_id = $1 ORDER BY order_version`,
      [id],
    );
    expect(events.rows.slice(-2)).toEqual([
      { type: 'order.cancel_requested', order_version: staged.order.orderVersion + 1 },
      { type: 'order.cancelled', order_version: staged.order.orderVersion + 2 },
    ]);
  });
});
