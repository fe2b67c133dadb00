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
  host?: string;
}

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/** A small HTTP server with `/metrics` (Prometheus), `/health` and `/ready` (200 or 503 with JSON details). */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const health = options.health ?? ((): HealthReport => ({ ok: true }));
  const ready = options.ready ?? health;
  const server = http.createServer((request, response) => {
    void (async () => {
      try {
        if (request.url === '/metrics') {
          response.writeHead(200, { 'content-type': options.registry.contentType });
          response.end(await options.registry.metrics());
          return;
        }
        const probe = request.url === '/health' ? health : request.url === '/ready' ? ready : undefined;
        if (probe === undefined) {
          response.writeHead(404, { 'content-type': 'application/problem+json' });
          response.end(JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, detail: `no route ${request.url}` }));
          return;
        }
        const report = await probe();
        response.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ status: report.ok ? 'ok' : 'unhealthy', ...report.details }));
      } catch (error) {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ status: 'error', error: String(error) }));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host ?? '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
