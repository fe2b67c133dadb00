import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disableWebhookEndpoint, nonPublicAddress } from '@settle/db';
import { startApi, type Harness } from './harness';

interface Problem {
  status: number;
  detail: string;
  type: string;
}

describe('webhook URLs must resolve to public addresses (registration)', () => {
  let api: Harness;
  let merchant: string;
  beforeAll(async () => {
    api = await startApi({ WEBHOOK_ALLOWED_HOSTS: '' });
    merchant = await api.token('merchant', 'm-addr');
  });
  afterAll(async () => {
    await api.close();
  });

  const refused: Array<[string, string]> = [
    ['https://169.254.169.254/latest/meta-data/', 'the host 169.254.169.254 is a cloud metadata address'],
    ['https://127.0.0.1:5433/', 'the host 127.0.0.1 is a loopback address'],
    ['https://10.0.0.1/', 'the host 10.0.0.1 is a private address'],
    ['https://172.16.4.2/', 'the host 172.16.4.2 is a private address'],
    ['https://192.168.1.1/', 'the host 192.168.1.1 is a private address'],
    ['https://100.64.0.1/', 'the host 100.64.0.1 is a shared (CGNAT) address'],
    ['https://169.254.10.10/', 'the host 169.254.10.10 is a link-local address'],
    ['https://0.0.0.0/', 'the host 0.0.0.0 is an unspecified address'],
    ['https://224.0.0.1/', 'the host 224.0.0.1 is a multicast address'],
    ['https://255.255.255.255/', 'the host 255.255.255.255 is the broadcast address'],
    ['https://203.0.113.7/', 'the host 203.0.113.7 is a documentation address'],
    // WHATWG URL parsing turns hex and decimal forms into dotted quads before the check.
    ['https://0x7f.1/', 'the host 127.0.0.1 is a loopback address'],
    ['https://2130706433/', 'the host 127.0.0.1 is a loopback address'],
    ['https://[::1]:3000/hooks', 'the host ::1 is a loopback address'],
    ['https://[::]/', 'the host :: is an unspecified address'],
    ['https://[fe80::1]/', 'the host fe80::1 is a link-local address'],
    ['https://[fd12:3456::1]/', 'the host fd12:3456::1 is a unique local address'],
    ['https://[fd00:ec2::254]/', 'the host fd00:ec2::254 is a cloud metadata address'],
    ['https://[ff02::1]/', 'the host ff02::1 is a multicast address'],
    ['https://[2001:db8::1]/', 'the host 2001:db8::1 is a documentation address'],
    ['https://[::ffff:10.0.0.1]/', 'the host ::ffff:a00:1 is a private address'],
    ['https://[::ffff:169.254.169.254]/', 'the host ::ffff:a9fe:a9fe is a cloud metadata address'],
    ['https://[64:ff9b::127.0.0.1]/', 'the host 64:ff9b::7f00:1 is a loopback address'],
    ['https://[64:ff9b::10.1.2.3]/', 'the host 64:ff9b::a01:203 is a private address'],
    ['https://localhost:3000/hooks', 'the host localhost resolves to 127.0.0.1, which is a loopback address'],
  ];

  it.each(refused)('%s answers 400 problem+json naming why', async (url, why) => {
    const response = await api.call<Problem>('POST', '/v1/webhooks', { token: merchant, body: { url } });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body.detail).toBe(`url is not allowed: ${why}; webhook URLs must resolve to public internet addresses only`);
  });

  it('a host that does not resolve answers 400 saying so, and no refused URL was registered', async () => {
    const response = await api.call<Problem>('POST', '/v1/webhooks', {
      token: merchant,
      body: { url: 'https://no-such-host.invalid/hooks' },
    });
    expect(response.status).toBe(400);
    expect(response.body.detail).toMatch(/^url is not allowed: the host no-such-host\.invalid does not resolve \(/);
    expect((await api.call<{ items: unknown[] }>('GET', '/v1/webhooks', { token: merchant })).body.items).toEqual([]);
  });

  it('public addresses pass the address check, whatever their form', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'])
      expect({ address, why: nonPublicAddress(address) }).toEqual({ address, why: undefined });
  });
});

describe('WEBHOOK_ALLOWED_HOSTS lets named local destinations through', () => {
  let api: Harness;
  let merchant: string;
  beforeAll(async () => {
    api = await startApi({ WEBHOOK_ALLOWED_HOSTS: 'localhost,10.1.0.0/16' });
    merchant = await api.token('merchant', 'm-allowed');
  });
  afterAll(async () => {
    await api.close();
  });

  it('an allow-listed host name and an address inside an allow-listed CIDR register (201); an address outside it does not', async () => {
    expect((await api.call('POST', '/v1/webhooks', { token: merchant, body: { url: 'https://localhost:8443/hooks' } })).status).toBe(201);
    expect((await api.call('POST', '/v1/webhooks', { token: merchant, body: { url: 'https://10.1.2.3/hooks' } })).status).toBe(201);
    const outside = await api.call<Problem>('POST', '/v1/webhooks', { token: merchant, body: { url: 'https://10.2.0.1/hooks' } });
    expect(outside.status).toBe(400);
    expect(outside.body.detail).toContain('the host 10.2.0.1 is a private address');
    // 127.0.0.1 itself is not on the list: only the name localhost is.
    expect((await api.call('POST', '/v1/webhooks', { token: merchant, body: { url: 'https://127.0.0.1/hooks' } })).status).toBe(400);
  });

  it('GET /v1/webhooks shows why an endpoint was disabled', async () => {
    const created = await api.call<{ id: string }>('POST', '/v1/webhooks', {
      token: merchant,
      body: { url: 'https://localhost:9443/disabled' },
    });
    await disableWebhookEndpoint(api.pool, created.body.id, 'the host localhost resolves to 10.9.9.9, which is a private address');
    const list = await api.call<{
      items: Array<{ id: string; enabled: boolean; disabledReason: string | null; disabledAt: string | null }>;
    }>('GET', '/v1/webhooks', { token: merchant });
    const entry = list.body.items.find((item) => item.id === created.body.id);
    expect(entry).toMatchObject({ enabled: false, disabledReason: 'the host localhost resolves to 10.9.9.9, which is a private address' });
    expect(Date.parse(entry?.disabledAt ?? '')).not.toBeNaN();
    expect(
      list.body.items.filter((item) => item.id !== created.body.id).every((item) => item.enabled && item.disabledReason === null),
    ).toBe(true);
  });
});
