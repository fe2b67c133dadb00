import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type Harness } from './harness';

let api: Harness;
beforeAll(async () => {
  api = await startApi({ NOTIFIER_PUBLIC_URL: 'https://notify.settle.example' });
});
afterAll(() => api?.close());

/** The Content-Security-Policy header as directive → sources. */
function policyOf(headers: Headers): Map<string, string[]> {
  const header = headers.get('content-security-policy') ?? '';
  return new Map(
    header
      .split(';')
      .map((directive) => directive.trim().split(/\s+/))
      .filter((parts) => parts[0] !== '')
      .map(([name = '', ...sources]) => [name, sources]),
  );
}

/** Whether a CSP source list allows `url` loaded by a page of `pageOrigin` (the subset of CSP the API uses). */
function allows(sources: string[] | undefined, url: URL, pageOrigin: string): boolean {
  return (sources ?? []).some((source) => (source === "'self'" && url.origin === pageOrigin) || source === url.origin);
}

describe('security headers', () => {
  it('the /docs page loads: every script and stylesheet it names is allowed by its CSP and served as what it is', async () => {
    const page = await fetch(`${api.url}/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const policy = policyOf(page.headers);
    const scripts = [...html.matchAll(/<script src="([^"]+)"/g)].map((match) => new URL(match[1] ?? '', api.url));
    const styles = [...html.matchAll(/<link rel="stylesheet" href="([^"]+)"/g)].map((match) => new URL(match[1] ?? '', api.url));
    expect(scripts.length).toBeGreaterThan(0);
    expect(styles.length).toBeGreaterThan(0);
    for (const url of scripts) expect(allows(policy.get('script-src'), url, api.url), url.href).toBe(true);
    for (const url of styles) expect(allows(policy.get('style-src'), url, api.url), url.href).toBe(true);
    for (const [url, type] of [...scripts.map((url) => [url, 'javascript'] as const), ...styles.map((url) => [url, 'text/css'] as const)]) {
      const asset = await fetch(url);
      expect(asset.status, url.href).toBe(200);
      expect(asset.headers.get('content-type')).toContain(type);
      expect(asset.headers.get('x-content-type-options')).toBe('nosniff');
    }
    // The inline bootstrap script runs because its hash is listed (no 'unsafe-inline' for scripts).
    const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1] ?? '');
    expect(inline.length).toBe(1);
    for (const script of inline)
      expect(policy.get('script-src')).toContain(`'sha256-${createHash('sha256').update(script).digest('base64')}'`);
    expect(policy.get('script-src')).not.toContain("'unsafe-inline'");
    // Swagger UI fetches the document from the same origin.
    expect(allows(policy.get('connect-src'), new URL('/openapi.json', api.url), api.url)).toBe(true);
  });

  it('pages may connect to the notifier (http and ws), may not be framed, send no referrer and are not sniffed', async () => {
    const response = await fetch(`${api.url}/docs`);
    const policy = policyOf(response.headers);
    expect(policy.get('connect-src')).toEqual(
      expect.arrayContaining(["'self'", 'https://notify.settle.example', 'wss://notify.settle.example']),
    );
    expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
    expect(policy.get('default-src')).toEqual(["'self'"]);
    expect(policy.get('object-src')).toEqual(["'none'"]);
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  it('every response under /v1 and /api says Cache-Control: no-store (answers, errors, dev tokens); docs assets stay cacheable', async () => {
    const token = await api.token('merchant', 'm-headers');
    const responses = [
      await api.call('GET', '/v1/merchants', { token }),
      await api.call('GET', '/v1/orders'),
      await api.call('GET', '/V1/merchants', { token }),
      await api.call('GET', '/v1/orders/00000000-0000-4000-8000-000000000000', { token }),
      await api.call('PATCH', '/api/orders/00000000-0000-4000-8000-000000000000/escrow', { token, body: { tx_hash: 'x' } }),
      await api.call('POST', '/v1/dev/tokens', { body: { role: 'user', id: 'u-headers' } }),
    ];
    expect(responses.map((response) => response.status)).toEqual([200, 401, 200, 404, 400, 200]);
    for (const response of responses) expect(response.headers.get('cache-control')).toBe('no-store');
    expect((await fetch(`${api.url}/docs/assets/swagger-ui.css`)).headers.get('cache-control')).not.toBe('no-store');
    expect((await fetch(`${api.url}/health`)).headers.get('cache-control')).not.toBe('no-store');
  });
});
