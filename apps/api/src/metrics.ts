import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Express, Request } from 'express';
import { Histogram, type Registry } from 'prom-client';

const STARTED = Symbol('settle.requestStartedAt');
type Stamped = IncomingMessage & { [STARTED]?: number };

let stamping = false;
/** Stamps each HTTP request's start time as node:http receives it (one subscription per process). */
function stampRequestStarts(): void {
  if (stamping) return;
  stamping = true;
  subscribe('http.server.request.start', (message) => {
    (message as { request: Stamped }).request[STARTED] = performance.now();
  });
}

/**
 * Records `settle_api_http_request_duration_seconds{method,route,status}` for every request `app` answers.
 * It reads node:http's diagnostics channels (request start, response finish) instead of using a middleware
 * with a 'finish' listener per request. That middleware cost ~20 µs of the API's CPU per request in bench/api.
 */
export function recordRequestDurations(app: Express, registry: Registry): void {
  const duration = new Histogram({
    name: 'settle_api_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  stampRequestStarts();
  subscribe('http.server.response.finish', (message) => {
    const { request, response } = message as { request: Request & Stamped; response: ServerResponse };
    // Every server in the process publishes here: only this app's requests count (Express sets request.app).
    const started = request[STARTED];
    if (request.app !== app || started === undefined) return;
    const route = (request.route as { path?: string } | undefined)?.path ?? 'unmatched';
    duration.observe({ method: request.method, route, status: String(response.statusCode) }, (performance.now() - started) / 1000);
  });
}
