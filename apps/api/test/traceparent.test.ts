import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTraceparent } from '@settle/contracts';
import { parseTraceparent } from '@settle/observability';
import { buyOrderBody } from '@settle/testkit';
import { startApi, type Harness } from './harness';
import { startLoggedApp, type LoggedApp } from './logged-app';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

const buyOrder = (merchantId: string) => buyOrderBody(merchantId, 'trace');

/** Tracing off (the default): the traceparent still travels from the request into the outbox row's headers. */
describe('W3C traceparent from the HTTP request into the outbox', () => {
  let api: Harness;
  let logged: LoggedApp;
  let user: string;
  let merchant: string;

  beforeAll(async () => {
    api = await startApi();
    logged = await startLoggedApp(api);
    user = await api.token('user', 'u-trace');
    merchant = await api.token('merchant', 'm-trace');
  });
  afterAll(async () => {
    await logged.close();
    await api.close();
  });

  const outboxHeaders = async (orderId: string): Promise<Array<Record<string, string>>> =>
    (
      await api.pool.query<{ headers: Record<string, string> }>(
        `SELECT headers FROM outbox WHERE aggregateid = $1 ORDER BY order_version`,
        [orderId],
      )
    ).rows.map((row) => row.headers);

  it("continues the caller's trace: the outbox row's traceparent has its trace id and the API's own span id", async () => {
    const created = await api.call<{ id: string }>('POST', '/v1/orders', {
      token: user,
      body: buyOrder('m-trace'),
      headers: { traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01`, 'x-request-id': 'my-request-1' },
    });
    expect(created.status).toBe(201);
    // Tracing off: the caller's request id is kept; traceresponse names the API's span.
    expect(created.headers.get('x-request-id')).toBe('my-request-1');
    const answered = parseTraceparent(created.headers.get('traceresponse'));
    expect(answered).toMatchObject({ traceId: TRACE_ID, traceFlags: 1 });
    expect(answered?.spanId).not.toBe(CALLER_SPAN);

    const accepted = await api.call('POST', `/v1/orders/${created.body.id}/accept`, {
      token: merchant,
      body: {},
      headers: { traceparent: `00-${TRACE_ID}-${'1'.repeat(16)}-00` },
    });
    expect(accepted.status).toBe(200);
    const [first, second] = await outboxHeaders(created.body.id);
    expect(first?.['traceparent']).toBe(created.headers.get('traceresponse'));
    expect(parseTraceparent(second?.['traceparent'])).toMatchObject({ traceId: TRACE_ID, traceFlags: 0 });
    expect(second?.['traceparent']).toBe(accepted.headers.get('traceresponse'));
  });

  it('starts a new trace for a request without a traceparent, or with one that is not valid, and still answers', async () => {
    for (const header of [
      undefined,
      'garbage',
      `00-${'0'.repeat(32)}-${CALLER_SPAN}-01`,
      `ff-${TRACE_ID}-${CALLER_SPAN}-01`,
      `00-${TRACE_ID.toUpperCase()}-${CALLER_SPAN}-01`,
    ]) {
      const created = await api.call<{ id: string }>('POST', '/v1/orders', {
        token: user,
        body: buyOrder('m-trace'),
        headers: header === undefined ? {} : { traceparent: header },
      });
      expect(created.status).toBe(201);
      const stored = (await outboxHeaders(created.body.id))[0]?.['traceparent'];
      const parsed = parseTraceparent(stored);
      // The form the relay and consumers accept (lower-case hex), or ce_traceparent would be left out.
      expect(isTraceparent(stored)).toBe(true);
      expect(parsed?.traceId).not.toBe(TRACE_ID);
      expect(stored).toBe(created.headers.get('traceresponse'));
    }
  });

  it("puts the trace id in the request's access-log line", async () => {
    const created = await fetch(`${logged.url}/v1/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user}`, 'content-type': 'application/json', traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` },
      body: JSON.stringify(buyOrder('m-trace')),
    });
    expect(created.status).toBe(201);
    const line = logged.lines().find((entry) => entry['msg'] === 'request' && entry['method'] === 'POST' && entry['status'] === 201);
    expect(line).toMatchObject({ traceId: TRACE_ID });
    // Tracing off: the request id is its own (a UUID here), not the trace id.
    expect(line?.['requestId']).toBe(created.headers.get('x-request-id'));
    expect(line?.['requestId']).not.toBe(TRACE_ID);
  });
});
