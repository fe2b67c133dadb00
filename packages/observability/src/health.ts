import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthReport {
  /** false when the process is alive but something needs a person (e.g. a lost replication slot). */
  ok: boolean;
  details?: Record<string, unknown>;
}

export interface OpsServerOptions {
  port: number;
  registry: Registry;
  /** Liveness + problems worth an alert. @default always ok */
  health?: () => HealthReport | Promise<HealthReport>;
  /** Ready to do its job (connected, elected, caught up). @default same as health */
  ready?: () => HealthReport | Promise<HealthReport>;
  host?: string | undefined;
}

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/** A dependency check for `/ready`: resolves when the dependency answers, rejects (or times out) when not. */
export type DependencyCheck = () => Promise<unknown>;

/**
 * A readiness probe over named dependency checks, run side by side, each cut off after `timeoutMs`: ok when all
 * answered; the details name each dependency with `ok` or why not. Nothing is cached, so the report turns ok
 * again by itself once a dependency is back.
 */
export function dependencyReadiness(checks: Record<string, DependencyCheck>, timeoutMs = 2_000): () => Promise<HealthReport> {
  const entries = Object.entries(checks);
  return async () => {
    const results = await Promise.all(
      entries.map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        });
        try {
          await Promise.race([check(), timeout]);
          return [name, 'ok'] as const;
        } catch (error) {
          return [name, error instanceof Error ? error.message : String(error)] as const;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return { ok: results.every(([, result]) => result === 'ok'), details: Object.fromEntries(results) };
  };
}

/**
 * The ops routes as a request handler for a server of the app's own (the notifier shares its port with socket.io):
 * answers `/metrics`, `/health` and `/ready` and returns true, or returns false for any other path. A probe that
 * throws answers 503: an app that cannot tell whether it is ready is not.
 */
export function opsRoutes(
  options: Omit<OpsServerOptions, 'port' | 'host'>,
): (request: http.IncomingMessage, response: http.ServerResponse) => boolean {
  const health = options.health ?? ((): HealthReport => ({ ok: true }));
  const ready = options.ready ?? health;
  return (request, response) => {
    const path = request.url?.split('?')[0];
    const probe = path === '/health' ? health : path === '/ready' ? ready : undefined;
    if (path !== '/metrics' && probe === undefined) return false;
    void (async () => {
      if (probe === undefined) {
        const text = await options.registry.metrics();
        response.writeHead(200, { 'content-type': options.registry.contentType });
        response.end(text);
        return;
      }
      const report = await Promise.resolve()
        .then(probe)
        .catch((error: unknown): HealthReport => ({ ok: false, details: { error: String(error) } }));
      response.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: report.ok ? 'ok' : 'unhealthy', ...report.details }));
    })().catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: 'error', error: String(error) }));
    });
    return true;
  };
}

/** A small HTTP server with `/metrics` (Prometheus), `/health` and `/ready` (200 or 503 with JSON details). */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const routes = opsRoutes(options);
  const server = http.createServer((request, response) => {
    if (routes(request, response)) return;
    response.writeHead(404, { 'content-type': 'application/problem+json' });
    response.end(JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, detail: `no route ${request.url}` }));
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host ?? '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
