import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { SettleError, type OrderView } from '@settle/domain';
import type { TransitionResult } from '@settle/db';

/** One entity tag of an If-Match list: `"3"`, `W/"3"`, or the bare `3` clients sent before ETags were quoted. */
const ENTITY_TAG = /^(W\/)?(?:"(\d{1,9})"|(\d{1,9}))$/;

/**
 * The order version `If-Match` requires, by strong comparison (RFC 9110 13.1.1); undefined when the header is
 * absent or `*` (any existing order matches; a missing one is still 404). A weak tag (`W/"3"`) never matches
 * strongly: a list of weak tags only answers 412 without looking at the order.
 */
export function ifMatchVersion(request: Request): number | undefined {
  const header = request.get('if-match');
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === '*') return undefined;
  const strong = new Set<number>();
  let weak: string | undefined;
  for (const element of value.split(',')) {
    const match = ENTITY_TAG.exec(element.trim());
    if (match === null)
      throw new SettleError(
        'INVALID_INPUT',
        `If-Match must be the order's ETag as returned, e.g. "3", or * (got ${JSON.stringify(header.slice(0, 40))})`,
      );
    if (match[1] !== undefined) weak ??= element.trim();
    else strong.add(Number(match[2] ?? match[3]));
  }
  if (strong.size > 1) throw new SettleError('INVALID_INPUT', 'If-Match names more than one version: send the one ETag you last read');
  const [version] = strong;
  if (version !== undefined) return version;
  throw new SettleError(
    'PRECONDITION_FAILED',
    `If-Match ${weak ?? value} is a weak entity tag, which never matches under strong comparison: send the ETag as returned, e.g. "3"`,
  );
}

/**
 * Whether `If-None-Match` names the representation tagged `etag` (RFC 9110 13.1.2): `*`, or a list of entity tags
 * compared weakly (`W/"3"` matches `"3"`). A request's `Cache-Control: no-cache`, which fetch adds to every conditional
 * request, is for caches on the way and does not change the answer here (Express's req.fresh would answer 200).
 */
export function noneMatch(request: Request, etag: string): boolean {
  const header = request.get('if-none-match');
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/** An Idempotency-Key's value: 8–128 of these characters. */
const KEY = /^[A-Za-z0-9_.:-]{8,128}$/;

/**
 * The key of an `Idempotency-Key` header: the IETF draft's sf-string (`"8e03…"`) or, as clients sent before,
 * the bare token; both spell the same key.
 */
function idempotencyKeyOf(header: string): string | undefined {
  const value = header.trim();
  const key = value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  return KEY.test(key) ? key : undefined;
}

/** The `Idempotency-Key` of a request with a hash of what it asks for (method, path, body). */
export function idempotencyOf(request: Request, body: unknown, required: boolean): { key: string; requestHash: string } | undefined {
  const header = request.get('idempotency-key');
  if (header === undefined) {
    if (required)
      throw new SettleError(
        'INVALID_INPUT',
        'header Idempotency-Key is required for this action: send a unique key (e.g. a UUID) and reuse it only to retry the same request',
      );
    return undefined;
  }
  const key = idempotencyKeyOf(header);
  if (key === undefined)
    throw new SettleError(
      'INVALID_INPUT',
      'header Idempotency-Key must be 8–128 characters of letters, digits and _ . : -, bare or as a quoted string ("…")',
    );
  const requestHash = createHash('sha256')
    .update(`${request.method} ${request.baseUrl}${request.path}\n${JSON.stringify(body)}`)
    .digest('hex');
  return { key, requestHash };
}

/**
 * Writes JSON text with its status and ETag through res.send (res.json would stringify the order again); headers set
 * earlier on `response` (Location, Idempotent-Replayed) are kept.
 */
function sendJson(response: Response, status: number, json: string, etag: string): void {
  response.status(status).set({ 'Content-Type': 'application/json', ETag: etag }).send(json);
}

export interface OrderResponses {
  /** Sends an order with its version as ETag (`json`: the order already as JSON text). */
  sendOrder: (response: Response, status: number, order: OrderView, json?: string) => void;
  /** Sends a transition's outcome; a replay answers with the stored status and body. */
  sendTransition: (response: Response, result: TransitionResult, successStatus?: number) => void;
}

/** How order responses are written: the order's JSON text as it is, its version as ETag. */
export function orderResponses(): OrderResponses {
  const sendOrder: OrderResponses['sendOrder'] = (response, status, order, json = JSON.stringify(order)) =>
    sendJson(response, status, json, `"${order.orderVersion}"`);
  return {
    sendOrder,
    sendTransition: (response, result, successStatus = 200) => {
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
    },
  };
}
