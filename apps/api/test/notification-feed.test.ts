import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notificationFeed, notificationPayload, orderEvent, type NotificationFeed, type NotificationPayload } from '@settle/contracts';
import { markNotificationsDelivered, storeNotifications, type NotificationInput } from '@settle/db';
import { audienceOf, recipientKey } from '@settle/domain';
import { testAddress, testTxHash } from '@settle/testkit';
import { startApi, type Harness } from './harness';

let api: Harness;
const tokens: Record<'merchantA' | 'merchantB' | 'userA' | 'userB' | 'compliance', string> = {
  merchantA: '',
  merchantB: '',
  userA: '',
  userB: '',
  compliance: '',
};
/** What the socket sends each recipient as `notification`, by recipient key, in seq order. */
const socketMessages = new Map<string, NotificationPayload[]>();

async function step(orderId: string, path: string, token: string, body: unknown): Promise<void> {
  const response = await api.call('POST', `/v1/orders/${orderId}/${path}`, { token, body });
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${JSON.stringify(response.body)}`);
}

async function sellOrder(user: string, merchantId: string): Promise<string> {
  const created = await api.call<{ id: string }>('POST', '/v1/orders', {
    token: user,
    body: {
      type: 'sell',
      merchantId,
      cryptoAmount: '100',
      fiatAmount: '367.25',
      fiatCurrency: 'AED',
      rate: '3.6725',
      paymentMethod: 'upi',
    },
  });
  if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
  return created.body.id;
}

/**
 * Stores the notifications of every event in the outbox the way the notifier does: each event parsed with the
 * contract's schema, its audience from the domain, one row per recipient through storeNotifications, in one group.
 * Returns the socket messages, `{...payload, seq}` as the notifier emits them.
 */
async function notifyOutbox(): Promise<void> {
  const outbox = await api.pool.query<{ payload: unknown }>(`SELECT payload FROM outbox ORDER BY created_at, order_version`);
  const inputs: NotificationInput[] = outbox.rows.flatMap((row) => {
    const event = orderEvent.parse(row.payload);
    return audienceOf(event).recipients.map((recipient) => ({
      recipient: recipientKey(recipient),
      eventId: event.eventId,
      orderId: event.orderId,
      orderVersion: event.orderVersion,
      type: event.type,
      payload: event,
    }));
  });
  const stored = await storeNotifications(api.pool, inputs);
  for (const row of stored) {
    const messages = socketMessages.get(row.recipient) ?? [];
    messages.push({ ...(row.payload as Omit<NotificationPayload, 'seq'>), seq: row.seq });
    socketMessages.set(row.recipient, messages);
  }
  for (const messages of socketMessages.values()) messages.sort((a, b) => a.seq - b.seq);
}

const feed = (token: string, query = '') => api.call<NotificationFeed>('GET', `/v1/notifications${query}`, { token });
const messagesOf = (recipient: string): NotificationPayload[] => socketMessages.get(recipient) ?? [];
const undelivered = async (): Promise<{ total: number; delivered: number }> => {
  const result = await api.pool.query<{ total: string; delivered: string }>(
    `SELECT count(*) AS total, count(delivered_at) AS delivered FROM notifications`,
  );
  return { total: Number(result.rows[0]?.total), delivered: Number(result.rows[0]?.delivered) };
};

beforeAll(async () => {
  api = await startApi();
  tokens.merchantA = await api.token('merchant', 'm-feed-a');
  tokens.merchantB = await api.token('merchant', 'm-feed-b');
  tokens.userA = await api.token('user', 'u-feed-a');
  tokens.userB = await api.token('user', 'u-feed-b');
  tokens.compliance = await api.token('compliance', 'c-feed');
  // Merchant A: four orders (created, accepted; one escrowed and disputed, one cancelled) = 10 events.
  for (let n = 0; n < 4; n += 1) {
    const id = await sellOrder(tokens.userA, 'm-feed-a');
    if (n === 3) {
      await step(id, 'cancel', tokens.userA, { reason: 'changed my mind' });
      continue;
    }
    await step(id, 'accept', tokens.merchantA, { walletAddress: testAddress(`feed-a-${n}`) });
    if (n === 0) {
      await step(id, 'escrow', tokens.userA, { txHash: testTxHash(`feed-a-escrow-${n}`) });
      await step(id, 'dispute', tokens.userA, { reason: 'the merchant does not answer' });
    }
  }
  // Merchant B: one order of another user, accepted.
  const other = await sellOrder(tokens.userB, 'm-feed-b');
  await step(other, 'accept', tokens.merchantB, { walletAddress: testAddress('feed-b') });
  await notifyOutbox();
});
afterAll(async () => {
  await api.close();
});

describe('GET /v1/notifications', () => {
  it('gives a merchant exactly its own notifications in seq order, each the message the socket sends', async () => {
    const expected = messagesOf('merchant:m-feed-a');
    expect(expected).toHaveLength(10);
    const response = await feed(tokens.merchantA);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ items: expected, nextAfter: expected.at(-1)?.seq, hasMore: false });
    expect(response.body.items.map((item) => item.seq)).toEqual(Array.from({ length: 10 }, (_, index) => index + 1));
    expect(notificationFeed.parse(response.body)).toEqual(response.body);
    for (const item of response.body.items) expect(notificationPayload.parse(item)).toEqual(item);
    // Nothing of merchant B's order reaches merchant A, and B's own feed is B's alone.
    const mine = new Set(response.body.items.map((item) => item.orderId));
    const other = await feed(tokens.merchantB);
    expect(other.body.items).toEqual(messagesOf('merchant:m-feed-b'));
    expect(other.body.items).toHaveLength(2);
    expect(other.body.items.some((item) => mine.has(item.orderId))).toBe(false);
  });

  it('pages through everything with after and limit, with no gap and no duplicate', async () => {
    const expected = messagesOf('merchant:m-feed-a');
    const seen: NotificationPayload[] = [];
    let after = 0;
    for (let pages = 0; pages < 10; pages += 1) {
      const page = await feed(tokens.merchantA, `?after=${after}&limit=3`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.items);
      after = page.body.nextAfter;
      if (!page.body.hasMore) break;
    }
    expect(seen).toEqual(expected);
    expect(after).toBe(expected.at(-1)?.seq);
    // Past the end: an empty page that keeps the cursor where it was.
    expect((await feed(tokens.merchantA, `?after=${after}`)).body).toEqual({ items: [], nextAfter: after, hasMore: false });
    // From the middle: exactly the rows above `after`.
    const rest = await feed(tokens.merchantA, '?after=7');
    expect(rest.body.items).toEqual(expected.filter((item) => item.seq > 7));
  });

  it('reading marks nothing delivered, and a delivered notification is still in the feed', async () => {
    await feed(tokens.merchantA);
    await feed(tokens.userA, '?limit=1');
    await feed(tokens.compliance);
    const after = await undelivered();
    expect(after.total).toBeGreaterThan(0);
    expect(after.delivered).toBe(0);
    // A socket ack does set delivered_at; the feed is the same sequence either way.
    const first = messagesOf('merchant:m-feed-b')[0];
    if (first === undefined) throw new Error('merchant B has no notification');
    expect(await markNotificationsDelivered(api.pool, [{ recipient: 'merchant:m-feed-b', seq: first.seq }])).toHaveLength(1);
    expect((await feed(tokens.merchantB)).body.items).toEqual(messagesOf('merchant:m-feed-b'));
    expect((await undelivered()).delivered).toBe(1);
  });

  it('gives a user its own notifications and compliance the desk inbox (disputes), whatever the compliance id', async () => {
    const user = await feed(tokens.userA);
    expect(user.body.items).toEqual(messagesOf('user:u-feed-a'));
    expect(user.body.items).toHaveLength(10);
    expect((await feed(tokens.userB)).body.items).toEqual(messagesOf('user:u-feed-b'));
    const desk = messagesOf('compliance:compliance');
    expect(desk.map((item) => item.type)).toEqual(['order.disputed']);
    expect((await feed(tokens.compliance)).body).toEqual({ items: desk, nextAfter: desk[0]?.seq, hasMore: false });
    const otherOfficer = await api.token('compliance', 'c-feed-2');
    expect((await feed(otherOfficer)).body.items).toEqual(desk);
  });

  it('answers 100 by default and at most `limit`, telling whether more follow', async () => {
    const template = messagesOf('merchant:m-feed-a')[0];
    if (template === undefined) throw new Error('no template notification');
    const { seq: _seq, ...payload } = template;
    const inputs: NotificationInput[] = Array.from({ length: 120 }, () => {
      const eventId = randomUUID();
      return {
        recipient: 'merchant:m-feed-many',
        eventId,
        orderId: payload.orderId,
        orderVersion: payload.orderVersion,
        type: payload.type,
        payload: { ...payload, eventId },
      };
    });
    await storeNotifications(api.pool, inputs);
    const many = await api.token('merchant', 'm-feed-many');
    const first = await feed(many);
    expect(first.body.items.map((item) => item.seq)).toEqual(Array.from({ length: 100 }, (_, index) => index + 1));
    expect(first.body).toMatchObject({ nextAfter: 100, hasMore: true });
    const all = await feed(many, '?limit=500');
    expect(all.body.items).toHaveLength(120);
    expect(all.body.items.map((item) => item.eventId)).toEqual(inputs.map((input) => input.eventId));
    expect(all.body.hasMore).toBe(false);
    const exact = await feed(many, '?after=100&limit=20');
    expect(exact.body).toMatchObject({ nextAfter: 120, hasMore: false });
    expect(exact.body.items).toHaveLength(20);
  });

  it('bad after or limit answers 400 problem+json naming the parameter, and changes nothing', async () => {
    const before = { counts: await api.counts(), notifications: await undelivered() };
    const cases: Array<[string, string]> = [
      ['?after=-1', 'query.after'],
      ['?after=abc', 'query.after'],
      ['?after=1.5', 'query.after'],
      ['?after=', 'query.after'],
      ['?after=1e3', 'query.after'],
      ['?after=1&after=2', 'query.after'],
      ['?limit=0', 'query.limit'],
      ['?limit=501', 'query.limit'],
      ['?limit=ten', 'query.limit'],
      ['?cursor=5', 'query'],
    ];
    for (const [query, path] of cases) {
      const response = await api.call<{ type: string; status: number; errors: Array<{ path: string }> }>(
        'GET',
        `/v1/notifications${query}`,
        { token: tokens.merchantA },
      );
      expect({ query, status: response.status, type: response.headers.get('content-type') }).toEqual({
        query,
        status: 400,
        type: expect.stringContaining('application/problem+json'),
      });
      expect(response.body).toMatchObject({ type: 'https://settle.dev/problems/invalid-input', status: 400 });
      expect(response.body.errors.map((error) => error.path)).toContain(path);
    }
    expect({ counts: await api.counts(), notifications: await undelivered() }).toEqual(before);
    expect((await api.call('GET', '/v1/notifications')).status).toBe(401);
  });

  it('is in the OpenAPI document with its query and the feed schema built on the socket message', async () => {
    const document = await api.call<{
      paths: Record<string, Record<string, { parameters: Array<{ name: string }> }>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    }>('GET', '/openapi.json');
    expect(document.body.paths['/v1/notifications']?.['get']?.parameters.map((parameter) => parameter.name)).toEqual(
      expect.arrayContaining(['after', 'limit']),
    );
    expect(document.body.components.schemas['NotificationFeed']?.properties?.['items']).toEqual({
      type: 'array',
      items: { $ref: '#/components/schemas/NotificationMessage' },
    });
  });
});
