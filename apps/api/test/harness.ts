import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import { createTokenVerifier, signToken } from '@settle/auth';
import { loadConfig, type Config } from '@settle/config';
import { createPool, currentBookSeq, upsertAccount, type Pool } from '@settle/db';
import type { OrderView } from '@settle/domain';
import { createLogger, createRegistry } from '@settle/observability';
import { createTestDatabase, testAddress, testTxHash, type TestDatabase } from '@settle/testkit';
import { ALL_BENDS, createApp, type AppDependencies, type AppOptions, type ExpressBends } from '../src/app';
import { applyServerLimits } from '../src/server-limits';

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

export interface Harness {
  url: string;
  pool: Pool;
  db: TestDatabase;
  config: Config;
  /** A token for `role`/`id`, creating the account (with an optional profile wallet on tron, the default network). */
  token(role: 'user' | 'merchant' | 'compliance', id: string, walletAddress?: string): Promise<string>;
  call<T = Record<string, unknown>>(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string>; raw?: string },
  ): Promise<ApiResponse<T>>;
  /** Row counts of orders, order_events and outbox (what "nothing changed" is checked against). */
  counts(): Promise<{ orders: number; events: number; outbox: number }>;
  close(): Promise<void>;
}

/** The app as main.ts wires it (a silent logger, the config's token verifier, a registry of its own), plus `deps`. */
export function testApp(config: Config, pool: Pool, deps: Partial<AppDependencies> = {}, options: AppOptions = {}): Express {
  return createApp(
    {
      config,
      pool,
      logger: createLogger('api', 'silent'),
      verify: createTokenVerifier(config),
      registry: createRegistry('api'),
      bookSeq: () => currentBookSeq(pool),
      ...deps,
    },
    options,
  );
}

/** Every Express bend off: stock Express 5's own paths. */
export const NO_BENDS: ExpressBends = { fastJsonBody: false };

/** The API as shipped and on stock Express 5, for describe.each: each bend's behaviour is tested in both. */
export const BEND_SETTINGS: Array<[string, ExpressBends]> = [
  ['with the Express bends', ALL_BENDS],
  ['on stock Express 5 (every bend off)', NO_BENDS],
];

/** Property tests send thousands of requests a minute with one token; rate-limit tests set their own limits. */
const GENEROUS_LIMITS = { API_RATE_LIMIT_PRINCIPAL: '1000000', API_RATE_LIMIT_ANONYMOUS: '1000000' };

/**
 * The API in-process on its own test database, on a free port, with main.ts's server limits; `env` adds settings
 * (e.g. fees, timers), `deps` shared rate-limit counters, `options` the Express bends to turn off.
 */
export async function startApi(
  env: Record<string, string> = {},
  deps: Pick<AppDependencies, 'redis'> = {},
  options: AppOptions = {},
): Promise<Harness> {
  const db = await createTestDatabase('api');
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: db.url,
    DEV_AUTH: '1',
    JWT_SECRET: `test-secret-${randomUUID()}`,
    LOG_LEVEL: 'silent',
    ...GENEROUS_LIMITS,
    ...env,
  });
  const pool = createPool(db.url, { max: 40 });
  const app = testApp(config, pool, deps, options);
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    applyServerLimits(listening, config);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    pool,
    db,
    config,
    async token(role, id, walletAddress) {
      await upsertAccount(pool, {
        kind: role,
        id,
        wallet: walletAddress === undefined ? undefined : { network: 'tron', address: walletAddress },
      });
      return signToken(config, { role, id });
    },
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
      let body: string | undefined = options.raw;
      if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
      const response = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? null : JSON.parse(text);
      } catch {
        // keep the text
      }
      return { status: response.status, body: parsed as never, headers: response.headers };
    },
    async counts() {
      const result = await pool.query<{ orders: string; events: string; outbox: string }>(
        `SELECT (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM order_events) AS events, (SELECT count(*) FROM outbox) AS outbox`,
      );
      const row = result.rows[0];
      return { orders: Number(row?.orders), events: Number(row?.events), outbox: Number(row?.outbox) };
    },
    async close() {
      await new Promise((resolve) => server.close(resolve));
      await pool.end();
      await db.drop();
    },
  };
}

/** Walks a SELL order (user sells to merchant) to `payment_sent` over HTTP; returns it and the tokens. */
export async function sellOrderPaid(api: Harness, suffix: string): Promise<{ order: OrderView; user: string; merchant: string }> {
  const user = await api.token('user', `u-${suffix}`);
  const merchant = await api.token('merchant', `m-${suffix}`);
  const created = await api.call<OrderView>('POST', '/v1/orders', {
    token: user,
    body: {
      type: 'sell',
      merchantId: `m-${suffix}`,
      cryptoAmount: '250.50',
      cryptoCurrency: 'USDT',
      fiatAmount: '920.01',
      fiatCurrency: 'AED',
      rate: '3.6727',
      paymentMethod: 'bank_transfer',
    },
  });
  if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
  const id = created.body.id;
  const steps: Array<[string, string, unknown]> = [
    ['accept', merchant, { walletAddress: testAddress(`merchant-${suffix}`) }],
    ['escrow', user, { txHash: testTxHash(`escrow-${suffix}`) }],
    ['payment-sent', merchant, { paymentReference: 'UTR-1' }],
  ];
  let order = created.body;
  for (const [path, token, body] of steps) {
    const step = await api.call<OrderView>('POST', `/v1/orders/${id}/${path}`, { token, body });
    if (step.status !== 200) throw new Error(`${path}: ${step.status} ${JSON.stringify(step.body)}`);
    order = step.body;
  }
  return { order, user, merchant };
}

export type Cast = 'creator' | 'counterparty';
export interface StagedOrder {
  order: OrderView;
  tokens: Record<'creator' | 'counterparty' | 'seller' | 'buyer', string>;
}

let stagedCount = 0;

/**
 * An order of `type` brought to `status` over HTTP by its real parties (users create BUY/SELL, merchants M2M).
 * Every call uses fresh ids, so orders never share parties or hashes.
 */
export async function stageOrder(api: Harness, type: 'buy' | 'sell' | 'm2m', status: OrderView['status']): Promise<StagedOrder> {
  const n = `${type}${(stagedCount += 1)}x${Math.random().toString(36).slice(2, 7)}`;
  const creatorId = type === 'm2m' ? `mc-${n}` : `u-${n}`;
  const counterpartyId = `m-${n}`;
  const creator = await api.token(type === 'm2m' ? 'merchant' : 'user', creatorId);
  const counterparty = await api.token('merchant', counterpartyId);
  const seller = type === 'buy' ? counterparty : creator;
  const buyer = type === 'buy' ? creator : counterparty;
  const created = await api.call<OrderView>('POST', '/v1/orders', {
    token: creator,
    body: {
      type,
      merchantId: counterpartyId,
      cryptoAmount: '100',
      fiatAmount: '367.25',
      fiatCurrency: 'AED',
      rate: '3.6725',
      paymentMethod: 'upi',
      ...(type === 'buy' ? { buyerWalletAddress: testAddress(`buyer-${n}`) } : {}),
    },
  });
  if (created.status !== 201) throw new Error(`create ${type}: ${created.status} ${JSON.stringify(created.body)}`);
  const id = created.body.id;
  const plan: Array<[OrderView['status'], string, string, unknown, Record<string, string>?]> = [
    ['accepted', 'accept', counterparty, { walletAddress: testAddress(`acceptor-${n}`) }],
    ['escrowed', 'escrow', seller, { txHash: testTxHash(`escrow-${n}`) }],
    ['payment_sent', 'payment-sent', buyer, {}],
    ['completed', 'release', seller, { txHash: testTxHash(`release-${n}`) }, { 'idempotency-key': `key-${n}-release` }],
  ];
  const detours: Partial<Record<OrderView['status'], [string, string, unknown]>> = {
    cancelled: ['cancel', creator, { reason: 'staged' }],
    disputed: ['dispute', buyer, { reason: 'staged dispute' }],
  };
  let order = created.body;
  const call = async (path: string, token: string, body: unknown, headers?: Record<string, string>): Promise<void> => {
    const step = await api.call<OrderView>('POST', `/v1/orders/${id}/${path}`, {
      token,
      body,
      ...(headers !== undefined ? { headers } : {}),
    });
    if (step.status !== 200) throw new Error(`${path}: ${step.status} ${JSON.stringify(step.body)}`);
    order = step.body;
  };
  if (status === 'cancelled') await call(...(detours.cancelled as [string, string, unknown]));
  else if (status !== 'open') {
    const target = status === 'disputed' ? 'escrowed' : status;
    for (const [reached, path, token, body, headers] of plan) {
      await call(path, token, body, headers);
      if (reached === target) break;
    }
    if (status === 'disputed') await call(...(detours.disputed as [string, string, unknown]));
  }
  return { order, tokens: { creator, counterparty, seller, buyer } };
}
