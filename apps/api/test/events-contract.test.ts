import fs from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Parser } from '@asyncapi/parser';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, repoRoot } from '@settle/config';
import { EVENT_TYPES, orderEventSchemas, type EventType } from '@settle/contracts';
import { applyTransition, setupRelaySlot } from '@settle/db';
import { createKafka, headersAsText } from '@settle/kafka';
import { startRelay, type Relay } from '@settle/relay';
import { createTestTopics, testStack, testTxHash, uniqueSuffix } from '@settle/testkit';
import { stageOrder, startApi, type Harness } from './harness';

interface WireMessage {
  key: string;
  headers: Record<string, string>;
  value: string;
}

type Validators = Map<string, { headers: ValidateFunction; payload: ValidateFunction }>;
let parsed: Promise<Validators> | undefined;

/** The validators of each order-event message in asyncapi.yaml, keyed by its ce_type, as @asyncapi/parser reads them. */
function documentValidators(): Promise<Validators> {
  parsed ??= readValidators();
  return parsed;
}

async function readValidators(): Promise<Validators> {
  const { document, diagnostics } = await new Parser().parse(await fs.readFile(path.join(repoRoot, 'asyncapi.yaml'), 'utf8'));
  if (document === undefined) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  const validators: Validators = new Map();
  const channel = document
    .channels()
    .all()
    .find((candidate) => candidate.address() === 'settle.order.events');
  for (const message of channel?.messages().all() ?? []) {
    const headers = message.headers()?.json() as { properties: { ce_type: { const: string } } };
    validators.set(headers.properties.ce_type.const, {
      headers: ajv.compile(headers),
      payload: ajv.compile(message.payload()?.json() as object),
    });
  }
  return validators;
}

describe('every event the API produces, as the relay publishes it, matches its published schema and asyncapi.yaml', () => {
  let api: Harness;
  let relay: Relay;
  let topic: string;
  const messages: WireMessage[] = [];
  let stopConsumer: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    api = await startApi();
    ({ events: topic = '' } = await createTestTopics('contract', [{ name: 'events', numPartitions: 3 }]));
    const slot = `contract_${uniqueSuffix()}`;
    await setupRelaySlot(api.pool, slot, 'settle_outbox_pub');
    const brokers = testStack().kafkaBrokers;
    relay = await startRelay({
      config: loadConfig({
        LOG_LEVEL: 'error',
        DATABASE_URL: api.db.url,
        KAFKA_BROKERS: brokers.join(','),
        ORDER_EVENTS_TOPIC: topic,
        RELAY_SLOT: slot,
        RELAY_HEARTBEAT_MS: '250',
      }),
      port: null,
    });
    const consumer = createKafka({ brokers, clientId: 'contract-test' }).consumer({
      groupId: `contract-${randomUUID()}`,
      maxWaitTimeInMs: 100,
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }: { message: KafkaMessage }) => {
        messages.push({ key: String(message.key), headers: headersAsText(message.headers), value: String(message.value) });
      },
    });
    stopConsumer = () => consumer.disconnect();
  });

  afterAll(async () => {
    await stopConsumer();
    await relay?.stop();
    await api?.close();
  });

  it('full lifecycles of buy, sell and m2m, every cancel path, an extension, expiry, escalation and a dispute resolved both ways', async () => {
    const compliance = await api.token('compliance', `c-${uniqueSuffix()}`);
    const post = async (id: string, action: string, token: string, body: unknown, headers: Record<string, string> = {}): Promise<void> => {
      const response = await api.call('POST', `/v1/orders/${id}/${action}`, { token, body, headers });
      expect(response.status, `${action}: ${JSON.stringify(response.body)}`).toBe(200);
    };
    const ids: string[] = [];
    const stage = async (...args: Parameters<typeof stageOrder> extends [unknown, ...infer R] ? R : never) => {
      const staged = await stageOrder(api, ...args);
      ids.push(staged.order.id);
      return staged;
    };
    const hash = (label: string) => testTxHash(`${label}-${uniqueSuffix()}`);

    for (const type of ['buy', 'sell', 'm2m'] as const) await stage(type, 'completed');
    await stage('sell', 'cancelled'); // open → cancelled by its creator
    const accepted = await stage('buy', 'accepted');
    await post(accepted.order.id, 'cancel', accepted.tokens.seller, { reason: 'changed my mind' });
    const escrowed = await stage('sell', 'escrowed');
    await post(escrowed.order.id, 'cancel', escrowed.tokens.buyer, { refundTxHash: hash('buyer-cancel') });
    const mutual = await stage('m2m', 'payment_sent');
    await post(mutual.order.id, 'cancel-request', mutual.tokens.buyer, { reason: 'wrong amount' });
    await post(mutual.order.id, 'cancel-agree', mutual.tokens.seller, { refundTxHash: hash('mutual') });
    const forced = await stage('buy', 'escrowed');
    await post(
      forced.order.id,
      'force-cancel',
      compliance,
      { reason: 'sanctions hit', refundTxHash: hash('forced') },
      { 'idempotency-key': randomUUID() },
    );
    const extended = await stage('sell', 'escrowed');
    await post(extended.order.id, 'extension-request', extended.tokens.buyer, {});
    await post(extended.order.id, 'extension-accept', extended.tokens.seller, {});
    for (const outcome of ['release', 'refund'] as const) {
      const disputed = await stage('buy', 'disputed');
      await post(disputed.order.id, 'dispute/resolve', compliance, { outcome, txHash: hash(outcome), note: `resolved: ${outcome}` });
    }
    // The timers' transitions, as the worker makes them once a deadline has passed.
    const later = new Date(Date.now() + 6 * 3_600_000).toISOString();
    const byTimer = async (orderId: string, action: 'expire' | 'escalate'): Promise<void> => {
      const result = await applyTransition(api.pool, { orderId, command: { action }, actor: { role: 'system', id: 'system' }, now: later });
      expect(result.kind, action).toBe('applied');
    };
    await byTimer((await stage('sell', 'open')).order.id, 'expire');
    await byTimer((await stage('m2m', 'payment_sent')).order.id, 'escalate');

    const expected = Number((await api.pool.query<{ n: string }>('SELECT count(*) AS n FROM order_events')).rows[0]?.n);
    const deadline = Date.now() + 30_000;
    while (messages.length < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(messages).toHaveLength(expected);

    const validators = await documentValidators();
    const seen = new Set<EventType>();
    for (const message of messages) {
      const payload = JSON.parse(message.value) as { type: EventType; orderId: string; orderVersion: number; eventId: string };
      seen.add(payload.type);
      expect(message.headers['ce_type']).toBe(`settle.${payload.type}.v1`);
      expect(message.headers['ce_dataschema']).toBe(`https://settle.dev/schemas/${payload.type}.v1.json`);
      expect(message.key).toBe(payload.orderId);
      expect(message.headers['orderVersion']).toBe(String(payload.orderVersion));
      // The zod schema of its type, then the published JSON Schema and headers through the AsyncAPI document.
      expect(orderEventSchemas[payload.type].safeParse(payload).error?.issues ?? []).toEqual([]);
      const validator = validators.get(message.headers['ce_type'] ?? '');
      expect(validator, message.headers['ce_type']).toBeDefined();
      expect(validator!.payload(payload), JSON.stringify(validator!.payload.errors)).toBe(true);
      expect(validator!.headers(message.headers), JSON.stringify(validator!.headers.errors)).toBe(true);
    }
    expect([...seen].sort()).toEqual([...EVENT_TYPES].sort());
    expect(new Set(messages.map((message) => message.key))).toEqual(new Set(ids));
  });

  it('the document rejects a message whose headers or payload break the contract', async () => {
    const validators = await documentValidators();
    const sample = messages.find((message) => message.headers['ce_type'] === 'settle.order.completed.v1');
    expect(sample).toBeDefined();
    const validator = validators.get('settle.order.completed.v1')!;
    const { orderNumber: _dropped, ...headers } = sample!.headers;
    expect(validator.headers(headers)).toBe(false);
    const payload = JSON.parse(sample!.value) as Record<string, unknown>;
    expect(validator.payload({ ...payload, status: 'open' })).toBe(false);
  });
});
