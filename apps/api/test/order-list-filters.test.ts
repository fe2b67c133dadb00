import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testAddress, testTxHash } from '@settle/testkit';
import { deskRoutes } from '../src/desk';
import { startApi, type Harness } from './harness';

interface Page {
  items: Array<{ id: string; status: string; timerAt: string | null; createdAt: string }>;
  nextCursor: string | null;
}

describe('GET /v1/orders: several statuses, deadline order, creation range', () => {
  let api: Harness;
  let merchant: string;
  let user: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    api = await startApi();
    merchant = await api.token('merchant', 'm-filters', testAddress('m-filters'));
    user = await api.token('user', 'u-filters', testAddress('u-filters'));
    const create = async (label: string): Promise<string> => {
      const created = await api.call<{ id: string }>('POST', '/v1/orders', {
        token: user,
        body: {
          type: 'buy',
          merchantId: 'm-filters',
          cryptoAmount: '10',
          fiatAmount: '36.73',
          fiatCurrency: 'AED',
          rate: '3.6725',
          paymentMethod: label === 'cash' ? 'cash' : 'bank_transfer',
          buyerWalletAddress: testAddress('u-filters'),
        },
      });
      expect(created.status).toBe(201);
      return created.body.id;
    };
    // open (expires in 15 min), accepted (2 h), escrowed with a cash window (60 min) and with a bank window (4 h), cancelled.
    ids['open'] = await create('open');
    ids['accepted'] = await create('accepted');
    ids['cash'] = await create('cash');
    ids['bank'] = await create('bank');
    ids['cancelled'] = await create('cancelled');
    for (const key of ['accepted', 'cash', 'bank'])
      expect((await api.call('POST', `/v1/orders/${ids[key]}/accept`, { token: merchant, body: {} })).status).toBe(200);
    for (const key of ['cash', 'bank'])
      expect(
        (await api.call('POST', `/v1/orders/${ids[key]}/escrow`, { token: merchant, body: { txHash: testTxHash(`filters-${key}`) } }))
          .status,
      ).toBe(200);
    expect((await api.call('POST', `/v1/orders/${ids['cancelled']}/cancel`, { token: user, body: {} })).status).toBe(200);
  });
  afterAll(async () => {
    await api?.close();
  });

  it('status=escrowed,payment_sent answers the orders in either status; status=open (one) still works', async () => {
    const both = await api.call<Page>('GET', '/v1/orders?status=escrowed,payment_sent', { token: merchant });
    expect(both.status).toBe(200);
    expect(new Set(both.body.items.map((order) => order.id))).toEqual(new Set([ids['cash'], ids['bank']]));
    const one = await api.call<Page>('GET', '/v1/orders?status=open', { token: merchant });
    expect(one.body.items.map((order) => order.id)).toEqual([ids['open']]);
  });

  it('sort=deadline puts the nearest timerAt first and pages through with its own cursor, orders without a deadline last', async () => {
    const seen: Page['items'] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: Page } = await api.call<Page>(
        'GET',
        `/v1/orders?sort=deadline&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`,
        { token: merchant },
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(seen.map((order) => order.id)).toEqual([ids['open'], ids['cash'], ids['accepted'], ids['bank'], ids['cancelled']]);
    expect(seen.at(-1)?.timerAt).toBeNull();
    // A cursor of the newest-first list is not one of the deadline list.
    const newest = await api.call<Page>('GET', '/v1/orders?limit=1', { token: merchant });
    const mixed = await api.call<{ detail: string }>('GET', `/v1/orders?sort=deadline&cursor=${newest.body.nextCursor}`, {
      token: merchant,
    });
    expect(mixed.status).toBe(400);
    expect(mixed.body.detail).toMatch(/same sort/);
  });

  it('from/to bound the creation time (from inclusive, to exclusive)', async () => {
    const all = await api.call<Page>('GET', '/v1/orders?limit=10', { token: merchant });
    const times = all.body.items.map((order) => order.createdAt).sort();
    const [first, , third] = times;
    const window = await api.call<Page>('GET', `/v1/orders?from=${first}&to=${third}`, { token: merchant });
    expect(window.status).toBe(200);
    expect(window.body.items.map((order) => order.createdAt).sort()).toEqual(times.slice(0, 2));
    const future = await api.call<Page>('GET', '/v1/orders?from=2999-01-01T00:00:00Z', { token: merchant });
    expect(future.body.items).toEqual([]);
  });

  it.each([
    ['a status that does not exist among several', 'status=escrowed,shipped', /status/],
    ['an empty status in the list', 'status=escrowed,', /status/],
    ['status given twice', 'status=open&status=accepted', /status/],
    ['an unknown sort', 'sort=amount', /sort/],
    ['a date without a time zone', 'from=2026-11-25T10:00:00', /from/],
    ['a day that does not exist', 'to=2026-02-30T00:00:00Z', /to names a day/],
    ['year 0000', 'from=0000-01-01T00:00:00Z', /from names a day/],
    ['from after to', 'from=2026-11-26T00:00:00Z&to=2026-11-25T00:00:00Z', /from must be before to/],
  ])('%s answers 400 problem+json naming it', async (_what, query, detail) => {
    const answer = await api.call<{ detail: string }>('GET', `/v1/orders?${query}`, { token: merchant });
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(answer.body.detail).toMatch(detail);
  });

  it('GET /desk/config tells the desk where the notifier is and whether dev tokens are served', async () => {
    const answer = await api.call<{ notifierUrl: string; devAuth: boolean }>('GET', '/desk/config');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ notifierUrl: api.config.NOTIFIER_PUBLIC_URL, devAuth: true });
  });
});

describe('the desk at /', () => {
  it('serves index.html revalidated on every load and hashed assets as immutable for a year', async () => {
    const dist = await fs.mkdtemp(path.join(os.tmpdir(), 'desk-'));
    await fs.mkdir(path.join(dist, 'assets'));
    await fs.writeFile(path.join(dist, 'index.html'), '<!doctype html><title>desk</title>');
    await fs.writeFile(path.join(dist, 'assets', 'index-abc123.js'), 'console.log(1)');
    const app = express().use(deskRoutes({ NOTIFIER_PUBLIC_URL: 'http://localhost:3001', DEV_AUTH: false }, dist));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const index = await fetch(`${base}/`);
      expect(index.status).toBe(200);
      expect(index.headers.get('cache-control')).toBe('no-cache');
      expect(await index.text()).toContain('<title>desk</title>');
      const asset = await fetch(`${base}/assets/index-abc123.js`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await fetch(`${base}/assets/missing.js`)).status).toBe(404);
    } finally {
      server.close();
      await fs.rm(dist, { recursive: true, force: true });
    }
  });
});
