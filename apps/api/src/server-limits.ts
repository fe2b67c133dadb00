import type http from 'node:http';
import type { ApiConfig } from '@settle/config';

/** Keep-alive idle time: above the 60 s idle timeout of common load balancers, so they close first. */
const KEEP_ALIVE_MS = 65_000;

/**
 * Bounds what a client can hold on the API's HTTP server: the time to send a request's headers
 * (API_HEADERS_TIMEOUT_MS, against slowloris) and the whole request (API_REQUEST_TIMEOUT_MS, against slow
 * bodies), and the open connections (API_MAX_CONNECTIONS). Call right after `listen` returns, before the
 * server is listening: node arms its timeout sweep on 'listening', at a tenth of the shorter timeout here
 * (node's own default sweep is every 30 s, which would let a slow client outlive a short timeout).
 */
export function applyServerLimits(
  server: http.Server,
  config: Pick<ApiConfig, 'API_HEADERS_TIMEOUT_MS' | 'API_REQUEST_TIMEOUT_MS' | 'API_MAX_CONNECTIONS'>,
): void {
  server.headersTimeout = config.API_HEADERS_TIMEOUT_MS;
  // node requires requestTimeout ≥ headersTimeout (0 disables it, which is not offered).
  server.requestTimeout = Math.max(config.API_REQUEST_TIMEOUT_MS, config.API_HEADERS_TIMEOUT_MS);
  server.maxConnections = config.API_MAX_CONNECTIONS;
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  const sweep = Math.max(50, Math.min(1_000, Math.floor(Math.min(config.API_HEADERS_TIMEOUT_MS, config.API_REQUEST_TIMEOUT_MS) / 10)));
  (server as http.Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = sweep;
}
