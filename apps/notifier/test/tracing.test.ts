import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { KafkaMessage } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNotifier, type NotificationPayload, type NotifierClient } from '@settle/contracts';
import { createPool, registerWebhookEndpoint, type Pool } from '@settle/db';
import { createKafka, headerText } from '@settle/kafka';
import { parseTraceparent, startTracing, type Tracing } from '@settle/observability';
import type { Relay } from '@settle/relay';
import {
  buyOrderBody,
  createTestDatabase,
  startWebhookReceiver,
  testStack,
  type TestDatabase,
  type WebhookReceiver,
} from '@settle/testkit';
import { startNotifier, type Notifier } from '../src/notifier';
import { spawnApi, startPipelineRelay, type ApiProcess } from './pipeline';
import { createTopics, testConfig, waitFor } from './support';

interface ExportedSpan {
  service: string;
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string;
}

/** OTLP/HTTP JSON ids are hex; some exporters send base64. */
const hexId = (id: unknown): string =>
  typeof id !== 'string' || id === '' ? '' : /^[0-9a-f]+$/.test(id) ? id : Buffer.from(id, 'base64').toString('hex');

/** An OTLP/HTTP trace receiver (what a collector listens with on :4318): keeps every span it is sent. */
async function otlpReceiver(): Promise<{ url: string; spans: ExportedSpan[]; close(): Promise<void> }> {
  const spans: ExportedSpan[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      if (request.url === '/v1/traces') {
        const parsed = JSON.parse(body) as {
          resourceSpans?: Array<{
            resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> };
            scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }>;
          }>;
        };
        for (const resource of parsed.resourceSpans ?? []) {
          const service = resource.resource?.attributes?.find((attribute) => attribute.key === 'service.name')?.value.stringValue ?? '';
          for (const scope of resource.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) {
              spans.push({
                service,
                name: String(span['name']),
                kind: Number(span['kind']),
                traceId: hexId(span['traceId']),
                spanId: hexId(span['spanId']),
                parentSpanId: hexId(span['parentSpanId']),
              });
            }
          }
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const TRACE_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const CALLER_SPAN = 'b7ad6b7169203331';

/**
 * One id finds a transition everywhere: a caller's traceparent goes API → outbox → Kafka (`ce_traceparent`) →
 * notifier (logs, socket payload, webhook `traceparent`), and with OTEL_TRACES_EXPORTER=otlp the API's and the
 * notifier's spans reach an OTLP receiver as one trace. The API runs as its own process (main.ts's wiring).
 */
describe('tracing: a traceparent travels from the HTTP request to the screen and the webhook', () => {
  let db: TestDatabase;
  let pool: Pool;
  let topic: string;
  let relay: Relay;
  let notifier: Notifier;
  let tracing: Tracing;
  let api: ApiProcess;
  let otlp: Awaited<ReturnType<typeof otlpReceiver>>;
  let hook: WebhookReceiver;
  const notifierLog: Array<Record<string, unknown>> = [];
  const consumed: KafkaMessage[] = [];
  let stopConsumer: () => Promise<void> = () => Promise.resolve();

  beforeAll(async () => {
    otlp = await otlpReceiver();
    hook = await startWebhookReceiver();
    db = await createTestDatabase('notifier_tracing');
    pool = createPool(db.url, { max: 3 });
    ({ events: topic = '' } = await createTopics('tracing', [{ name: 'events', numPartitions: 3 }]));
    relay = await startPipelineRelay(pool, db.url, topic, 'tracing');
    // The exporter reads the standard OTLP variables, as it would in a deployment.
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = otlp.url;
    tracing = await startTracing({ OTEL_TRACES_EXPORTER: 'otlp' }, 'notifier');
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
          notifierLog.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    notifier = await startNotifier({
      config: testConfig(db.url, topic, { WEBHOOK_POLL_MS: '50' }),
      logger: pino({ level: 'debug' }, sink),
      tracing,
      port: 0,
      host: '127.0.0.1',
    });
    await registerWebhookEndpoint(pool, { merchantId: 'm-trace', url: hook.url }, { allowHttp: true });

    const kafka = createKafka({ brokers: testStack().kafkaBrokers, clientId: 'tracing-test' });
    const consumer = kafka.consumer({ groupId: `tracing-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void consumed.push(message) });
    stopConsumer = () => consumer.disconnect();

    api = await spawnApi(db.url, { LOG_LEVEL: 'info', OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url });
  }, 120_000);

  afterAll(async () => {
    await api?.stop();
    await stopConsumer();
    await notifier?.stop();
    await tracing?.shutdown();
    await relay?.stop();
    await pool?.end();
    await db?.drop();
    await hook?.close();
    await otlp?.close();
    delete process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
  });

  const call = <T>(method: string, route: string, token: string | undefined, body?: unknown, headers?: Record<string, string>) =>
    api.call<T>(method, route, token, body, headers);
  const devToken = (role: 'user' | 'merchant', id: string): Promise<string> => api.devToken(role, id);
  const order = (merchantId: string) => buyOrderBody(merchantId, 'tracing');

  function connect(token: string, shown: NotificationPayload[]): Promise<NotifierClient> {
    const client = connectNotifier({
      url: `http://127.0.0.1:${notifier.port}`,
      token,
      onNotification: (payload) => shown.push(payload),
      socketOptions: { reconnection: false, forceNew: true },
    });
    return new Promise((resolve, reject) => {
      client.socket.once('synced', () => resolve(client));
      client.socket.once('connect_error', reject);
    });
  }

  it("keeps the caller's trace id in the outbox, on Kafka, in the notifier's logs, on the socket and in the webhook request; the spans form one trace", async () => {
    const merchant = await devToken('merchant', 'm-trace');
    const user = await devToken('user', 'u-trace');
    const shown: NotificationPayload[] = [];
    const client = await connect(merchant, shown);
    try {
      const created = await call<{ id: string }>('POST', '/v1/orders', user, order('m-trace'), {
        traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01`,
        'x-request-id': 'ignored-when-tracing',
      });
      expect(created.status).toBe(201);
      const id = created.body.id;
      // Tracing on: the request id is the trace id.
      expect(created.headers.get('x-request-id')).toBe(TRACE_ID);
      const apiSpan = parseTraceparent(created.headers.get('traceresponse'));
      expect(apiSpan?.traceId).toBe(TRACE_ID);
      const apiSpanId = apiSpan?.spanId ?? '';
      expect(apiSpanId).not.toBe(CALLER_SPAN);

      const outbox = await pool.query<{ headers: Record<string, string> }>(`SELECT headers FROM outbox WHERE aggregateid = $1`, [id]);
      expect(outbox.rows[0]?.headers['traceparent']).toBe(`00-${TRACE_ID}-${apiSpanId}-01`);

      await waitFor(() => consumed.some((message) => message.key?.toString() === id), 'the event on Kafka');
      const message = consumed.find((candidate) => candidate.key?.toString() === id);
      expect(headerText(message?.headers, 'ce_traceparent')).toBe(`00-${TRACE_ID}-${apiSpanId}-01`);

      await waitFor(() => shown.some((notification) => notification.orderId === id), 'the notification on the merchant socket');
      expect(shown.find((notification) => notification.orderId === id)?.traceparent).toBe(`00-${TRACE_ID}-${apiSpanId}-01`);

      await waitFor(() => hook.received.length === 1, 'the webhook request');
      const webhookParent = parseTraceparent(hook.received[0]?.headers['traceparent']);
      expect(webhookParent?.traceId).toBe(TRACE_ID);

      await waitFor(
        () => notifierLog.some((line) => line['msg'] === 'webhook attempt' && line['traceId'] === TRACE_ID),
        'the webhook attempt log line with the trace id',
      );
      expect(notifierLog.find((line) => line['msg'] === 'event delivered to screens' && line['orderId'] === id)).toMatchObject({
        traceId: TRACE_ID,
      });
      await waitFor(() => api.log.some((line) => line.includes('"msg":"request"') && line.includes(`"status":201`)), 'the access-log line');
      const access = JSON.parse(
        api.log.find((line) => line.includes('"msg":"request"') && line.includes(`"status":201`)) ?? '{}',
      ) as Record<string, unknown>;
      expect(access).toMatchObject({ requestId: TRACE_ID, traceId: TRACE_ID });

      // The exported spans: the API's server span under the caller's; under the API's, the notifier's consumer span
      // and the webhook client span (sent later, from the stored message; its id is what the receiver was sent).
      await waitFor(
        () => otlp.spans.filter((span) => span.traceId === TRACE_ID).length >= 3,
        () => `3 spans of the trace at the OTLP receiver (have ${JSON.stringify(otlp.spans)})`,
      );
      const spans = otlp.spans.filter((span) => span.traceId === TRACE_ID);
      const server = spans.find((span) => span.service === 'settle-api');
      expect(server).toMatchObject({ spanId: apiSpanId, parentSpanId: CALLER_SPAN, kind: 2 });
      const consumer = spans.find((span) => span.service === 'settle-notifier' && span.name === 'process order.created');
      expect(consumer).toMatchObject({ parentSpanId: apiSpanId, kind: 5 });
      const webhook = spans.find((span) => span.service === 'settle-notifier' && span.name === 'webhook POST');
      expect(webhook).toMatchObject({ parentSpanId: apiSpanId, spanId: webhookParent?.spanId, kind: 3 });
    } finally {
      client.close();
    }
  });

  it('starts a trace of its own for a request without a traceparent: the same new id reaches Kafka and the socket', async () => {
    const merchant = await devToken('merchant', 'm-trace-new');
    const user = await devToken('user', 'u-trace-new');
    const shown: NotificationPayload[] = [];
    const client = await connect(merchant, shown);
    try {
      const created = await call<{ id: string }>('POST', '/v1/orders', user, order('m-trace-new'));
      expect(created.status).toBe(201);
      const traceId = created.headers.get('x-request-id') ?? '';
      expect(parseTraceparent(created.headers.get('traceresponse'))?.traceId).toBe(traceId);
      expect(traceId).not.toBe(TRACE_ID);
      await waitFor(() => shown.some((notification) => notification.orderId === created.body.id), 'the notification');
      expect(parseTraceparent(shown.find((notification) => notification.orderId === created.body.id)?.traceparent)?.traceId).toBe(traceId);
      const message = consumed.find((candidate) => candidate.key?.toString() === created.body.id);
      expect(parseTraceparent(headerText(message?.headers, 'ce_traceparent'))?.traceId).toBe(traceId);
      await waitFor(
        () => otlp.spans.some((span) => span.traceId === traceId && span.service === 'settle-api' && span.parentSpanId === ''),
        'the root server span',
      );
    } finally {
      client.close();
    }
  });
});
