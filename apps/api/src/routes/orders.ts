import { Router, type Request } from 'express';
import {
  acceptBody,
  cancelBody,
  cancelRequestBody,
  createOrderBody,
  disputeBody,
  emptyBody,
  escrowBody,
  forceCancelBody,
  forceCompleteBody,
  legacyEscrowPatchBody,
  listOrdersQuery,
  paymentSentBody,
  releaseBody,
  resolveDisputeBody,
  uuid,
  type z,
} from '@settle/contracts';
import { applyTransition, createOrderRecord, getOrder, listBook, listOrderEvents, listOrders, type Pool } from '@settle/db';
import { SettleError, type Command, type OrderPolicy } from '@settle/domain';
import { traceOf } from '../access-log';
import { actorOf } from '../auth';
import { idempotencyOf, ifMatchVersion, noneMatch, type OrderResponses } from '../http';
import { parse } from '../validation';

/** One order action over HTTP: its path, body schema and how the body becomes a domain command. */
export interface ActionRoute<S extends z.ZodType = z.ZodType> {
  path: string;
  summary: string;
  body: S;
  idempotencyRequired?: boolean;
  command: (body: z.infer<S>) => Command;
}

const action = <S extends z.ZodType>(route: ActionRoute<S>): ActionRoute => route;

/** Every order action route (POST /v1/orders/:id/<path>); also the source of the OpenAPI document. */
export const ACTION_ROUTES: ActionRoute[] = [
  action({
    path: 'accept',
    summary: 'Accept an open order (the counterparty merchant; any merchant for a book order)',
    body: acceptBody,
    command: (b) => ({ action: 'accept', walletAddress: b.walletAddress }),
  }),
  action({
    path: 'escrow',
    summary: "Record the seller's escrow lock (same hash again is a no-op)",
    body: escrowBody,
    command: (b) => ({ action: 'lock_escrow', txHash: b.txHash, funderWallet: b.funderWallet }),
  }),
  action({
    path: 'payment-sent',
    summary: 'The buyer marks the fiat payment sent',
    body: paymentSentBody,
    command: (b) => ({ action: 'mark_paid', paymentReference: b.paymentReference }),
  }),
  action({
    path: 'release',
    summary: 'The escrow funder confirms the payment and releases (Idempotency-Key required)',
    body: releaseBody,
    idempotencyRequired: true,
    command: (b) => ({ action: 'confirm_and_release', txHash: b.txHash }),
  }),
  action({
    path: 'cancel',
    summary:
      "Cancel (creator while open; either party once accepted; the buyer after escrow, with refundTxHash; the seller only to agree to the buyer's request)",
    body: cancelBody,
    command: (b) => ({ action: 'cancel', reason: b.reason, refundTxHash: b.refundTxHash }),
  }),
  action({
    path: 'cancel-request',
    summary: 'Ask the other party to cancel after escrow; the other party asking too cancels the order (then with refundTxHash)',
    body: cancelRequestBody,
    command: (b) => ({ action: 'request_cancel', reason: b.reason, refundTxHash: b.refundTxHash }),
  }),
  action({
    path: 'cancel-agree',
    summary: "Agree to the other party's cancel request (refundTxHash required: crypto is locked)",
    body: cancelBody.pick({ refundTxHash: true }),
    command: (b) => ({ action: 'agree_cancel', refundTxHash: b.refundTxHash }),
  }),
  action({
    path: 'extension-request',
    summary: 'Ask for one more payment window (at most 3)',
    body: emptyBody,
    command: () => ({ action: 'request_extension' }),
  }),
  action({
    path: 'extension-accept',
    summary: "Accept the other party's extension request",
    body: emptyBody,
    command: () => ({ action: 'agree_extension' }),
  }),
  action({
    path: 'dispute',
    summary: 'Open a dispute after escrow',
    body: disputeBody,
    command: (b) => ({ action: 'dispute', reason: b.reason, evidence: b.evidence }),
  }),
  action({
    path: 'dispute/resolve',
    summary: 'Compliance resolves a dispute: release to the buyer or refund the seller',
    body: resolveDisputeBody,
    command: (b) => ({ action: 'resolve_dispute', outcome: b.outcome, txHash: b.txHash, note: b.note }),
  }),
  action({
    path: 'force-cancel',
    summary: 'Compliance cancels any non-terminal order, with a reason (and refundTxHash when crypto is locked); audited',
    body: forceCancelBody,
    idempotencyRequired: true,
    command: (b) => ({ action: 'force_cancel', reason: b.reason, refundTxHash: b.refundTxHash }),
  }),
  action({
    path: 'force-complete',
    summary: 'Compliance completes any non-terminal order with its releaseTxHash and a reason; audited',
    body: forceCompleteBody,
    idempotencyRequired: true,
    command: (b) => ({ action: 'force_complete', reason: b.reason, releaseTxHash: b.releaseTxHash }),
  }),
];

const orderId = (request: Request): string => parse(uuid, request.params['id'], 'path');
/** An absent body (no Content-Type) is an empty object: many actions take no fields. */
const bodyOf = (request: Request): unknown => request.body ?? {};

export function orderRoutes(pool: Pool, bookSeq: () => Promise<number>, policy: OrderPolicy, responses: OrderResponses): Router {
  const { sendOrder, sendTransition } = responses;
  const router = Router();

  router.post('/v1/orders', async (request, response) => {
    const body = parse(createOrderBody, bodyOf(request), 'body');
    const result = await createOrderRecord(pool, body, actorOf(request), {
      idempotency: idempotencyOf(request, body, false),
      policy,
      traceparent: traceOf(response)?.traceparent,
    });
    sendTransition(response, result, 201);
  });

  router.get('/v1/orders', async (request, response) => {
    const query = parse(listOrdersQuery, request.query, 'query');
    response.json(await listOrders(pool, actorOf(request), query));
  });

  router.get('/v1/orders/book', async (request, response) => {
    const actor = actorOf(request);
    if (actor.role !== 'merchant') throw new SettleError('FORBIDDEN', 'the order book is for merchants');
    // Read the sequence first: a snapshot is then at least as new as the bookSeq it reports.
    const seq = await bookSeq();
    response.json({ items: await listBook(pool, actor.id), bookSeq: seq });
  });

  router.get('/v1/orders/:id', async (request, response) => {
    // Another merchant sees an open book order as its public summary, like the book shows it.
    const { kind, order } = await getOrder(pool, orderId(request), actorOf(request));
    const etag = `"${order.orderVersion}"`;
    if (noneMatch(request, etag)) {
      response.status(304).set('ETag', etag).end();
      return;
    }
    if (kind === 'summary') response.set('ETag', etag).json(order);
    else sendOrder(response, 200, order);
  });

  router.get('/v1/orders/:id/events', async (request, response) => {
    response.json({ items: await listOrderEvents(pool, orderId(request), actorOf(request)) });
  });

  for (const route of ACTION_ROUTES) {
    router.post(`/v1/orders/:id/${route.path}`, async (request, response) => {
      const id = orderId(request);
      const body = parse(route.body, bodyOf(request), 'body');
      const result = await applyTransition(pool, {
        orderId: id,
        command: route.command(body),
        actor: actorOf(request),
        ifMatch: ifMatchVersion(request),
        idempotency: idempotencyOf(request, body, route.idempotencyRequired === true),
        policy,
        traceparent: traceOf(response)?.traceparent,
      });
      sendTransition(response, result);
    });
  }

  // The original client's release call; its actor_type/actor_id are ignored: the actor is the token's.
  router.patch('/api/orders/:id/escrow', async (request, response) => {
    const id = orderId(request);
    const body = parse(legacyEscrowPatchBody, bodyOf(request), 'body');
    const result = await applyTransition(pool, {
      orderId: id,
      command: { action: 'confirm_and_release', txHash: body.tx_hash },
      actor: actorOf(request),
      ifMatch: ifMatchVersion(request),
      idempotency: idempotencyOf(request, { tx_hash: body.tx_hash }, false),
      policy,
      traceparent: traceOf(response)?.traceparent,
    });
    sendTransition(response, result);
  });

  return router;
}
