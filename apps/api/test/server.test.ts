import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '@settle/config';
import { createPool } from '@settle/db';
import { serveWithAppPrototypes } from '../src/server';
import { BEND_SETTINGS, testApp } from './harness';

describe('serveWithAppPrototypes', () => {
  it("has node:http build each request and response with the app's prototypes, and Express works as before", async () => {
    const app = express();
    serveWithAppPrototypes(app);
    app.get(
      '/echo',
      (request, response) => void response.set('x-host', request.get('host')).json({ query: request.query, path: request.path }),
    );
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    // Ahead of Express's own listener: the objects exactly as node:http built them.
    const built: boolean[] = [];
    server.prependListener(
      'request',
      (request, response) =>
        void built.push(Object.getPrototypeOf(request) === app.request, Object.getPrototypeOf(response) === app.response),
    );
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const response = await fetch(`${url}/echo?a=1`);
      expect(response.status).toBe(200);
      expect(response.headers.get('x-host')).toBe(new URL(url).host);
      expect(await response.json()).toEqual({ query: { a: '1' }, path: '/echo' });
      expect((await fetch(`${url}/missing`)).status).toBe(404);
      expect(built).toEqual([true, true, true, true]);
    } finally {
      server.close();
    }
  });

  it('hands a listen error to the callback, as Express does', async () => {
    const taken = net.createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    try {
      const app = express();
      serveWithAppPrototypes(app);
      const error = await new Promise((resolve) => app.listen((taken.address() as AddressInfo).port, '127.0.0.1', resolve));
      expect(error).toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      taken.close();
    }
  });
});

describe.each(BEND_SETTINGS)('the app %s', (_setting, expressBends) => {
  it('is served through objects node:http built with its prototypes exactly when the appPrototypes bend is on', async () => {
    // /health reads no database: the pool is never connected.
    const config = loadConfig({
      ...process.env,
      DATABASE_URL: 'postgres://127.0.0.1:1/none',
      JWT_SECRET: 'x'.repeat(32),
      LOG_LEVEL: 'silent',
    });
    const pool = createPool(config.DATABASE_URL ?? '', { max: 1 });
    const app = testApp(config, pool, {}, { expressBends });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const built: boolean[] = [];
    server.prependListener('request', (request) => void built.push(Object.getPrototypeOf(request) === app.request));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/health`);
      expect({ status: response.status, body: await response.json() }).toEqual({ status: 200, body: { status: 'ok' } });
      expect(built).toEqual([expressBends.appPrototypes]);
    } finally {
      server.close();
      await pool.end();
    }
  });
});
