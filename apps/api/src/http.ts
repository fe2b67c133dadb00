import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { SettleError, type OrderView } from '@settle/domain';
import type { TransitionResult } from '@settle/db';

/** The `If-Match` version: a bare or quoted integer (`3`, `"3"`, `W/"3"`); absent → undefined. */
export function ifMatchVersion(request: Request): number | undefined {
  const header = request.get('if-match');
  if (header === undefined) return undefined;
  const match = header.trim().match(/^(?:W\/)?"?(\d{1,9})"?$/);
  if (match?.[1] === undefined) throw new SettleError('INVALID_INPUT', `If-Match must be the order's version as returned in ETag, e.g. "3" (got ${JSON.stringify(header.slice(0, 40))})`);
  return Number(match[1]);
}

const KEY_PATTERN = /^[A-Za-z0-9_.:-]{8,128}$/;

/** The `Idempotency-Key` of a request with a hash of what it asks for (method, path, body). */
export function idempotencyOf(request: Request, body: unknown, required: boolean): { key: string; requestHash: string } | undefined {
  const key = request.get('idempotency-key');
  if (key === undefined) {
    if (required) throw new SettleError('INVALID_INPUT', 'header Idempotency-Key is required for this action: send a unique key (e.g. a UUID) and reuse it only to retry the same request');
    return undefined;
  }
  if (!KEY_PATTERN.test(key)) throw new SettleError('INVALID_INPUT', 'header Idempotency-Key must be 8–128 characters of letters, digits and _ . : -');
  const requestHash = createHash('sha256').update(`${request.method} ${request.baseUrl}${request.path}\n${JSON.stringify(body)}`).digest('hex');
  return { key, requestHash };
}

/**
 * Sends JSON text straight through node:http. Order responses are the API's hot path, and Express's
 * res.json (content-type lookup, ETag hashing, freshness check) costs more CPU than the rest of a response;
 * headers set earlier on `response` (Location, Idempotent-Replayed) are kept.
 */
function sendJson(response: Response, status: number, json: string, etag: string): void {
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(json), ETag: etag }).end(json);
}

/** Sends an order with its version as ETag (`json`: the order already as JSON text). */
export function sendOrder(response: Response, status: number, order: OrderView, json = JSON.stringify(order)): void {
  sendJson(response, status, json, `"${order.orderVersion}"`);
}

/** Sends a transition's outcome; a replay answers with the stored status and body. */
export function sendTransition(response: Response, result: TransitionResult, successStatus = 200): void {
  if (result.kind === 'replayed') {
    const body = result.body as OrderView;
    response.setHeader('Idempotent-Replayed', 'true');
    sendJson(response, result.status, JSON.stringify(body), `"${body.orderVersion}"`);
    return;
  }
  if (result.kind === 'unchanged') {
    sendOrder(response, 200, result.order);
    return;
  }
  if (successStatus === 201) response.location(`/v1/orders/${result.order.id}`);
  sendOrder(response, successStatus, result.order, result.json);
}
