import { eventType, network, orderType, partyKind, paymentMethod, ROLES, status } from './enums';
import { isoTime, uuid } from './scalars';
import { z } from './zod';

const nullableTime = isoTime.nullable();

/** One side of a trade. */
export const party = z.object({ kind: partyKind, id: z.string() }).openapi('Party');
export type Party = z.infer<typeof party>;

/**
 * Who made a change, as events carry it. The published schema lets a system actor carry any id (v1 said so); the
 * domain's Actor is narrower (a system actor's id is always `system`) and every domain actor is a wire actor.
 */
export const actor = z
  .object({ role: z.enum([...ROLES, 'system']), id: z.string() })
  .openapi('Actor', { description: 'who made the change: from the verified token, or the system' });
export type WireActor = z.infer<typeof actor>;

export const disputeSchema = z
  .object({
    reason: z.string(),
    openedBy: z.union([party, z.literal('system')]),
    evidence: z.array(z.string()),
    openedAt: isoTime,
    resolution: z.enum(['release', 'refund']).nullable(),
    note: z.string().nullable(),
    resolvedBy: z.string().nullable(),
    resolvedAt: nullableTime,
  })
  .openapi('Dispute');
export type Dispute = z.infer<typeof disputeSchema>;

/** A compliance force action: who ended the order outside the normal flow, and why. */
export const forcedSchema = z
  .object({ action: z.enum(['force_cancel', 'force_complete']), reason: z.string(), by: z.string(), at: isoTime })
  .openapi('Forced', { description: 'a compliance force action that ended the order, with who and why' });
export type Forced = z.infer<typeof forcedSchema>;

/**
 * An order as every client sees it (REST responses and, without the payment details, event snapshots). Money and
 * rates are exact decimal strings; times are ISO-8601 strings. `merchantId` is null for a BUY/SELL book order until
 * a merchant accepts; `buyerMerchantId` likewise for M2M.
 */
export const orderView = z
  .object({
    id: uuid,
    orderNumber: z.string().openapi({ example: 'BM-261125-7KQ2M9XD' }),
    type: orderType,
    status,
    minimalStatus: status,
    orderVersion: z.number().int().positive(),
    /** The chain the escrow lives on; hashes and addresses are stored in its canonical form. */
    network,
    /** Created without a named merchant: any merchant may accept it from the order book. */
    bookOrder: z.boolean(),
    merchantId: z.string().nullable(),
    userId: z.string().nullable(),
    buyerMerchantId: z.string().nullable(),
    seller: party.nullable(),
    buyer: party.nullable(),
    /** Derived from the order and the buyer's profile wallet (the domain's recipientWallet), not stored. */
    recipientWallet: z
      .string()
      .nullable()
      .openapi({ description: "where released crypto goes (always the buyer's wallet); fixed when the escrow is locked" }),
    cryptoAmount: z.string(),
    cryptoCurrency: z.string(),
    fiatAmount: z.string(),
    fiatCurrency: z.string(),
    rate: z.string(),
    feeBps: z.number().int(),
    paymentMethod,
    paymentDetails: z.record(z.string(), z.unknown()).nullable(),
    paymentReference: z.string().nullable(),
    buyerWalletAddress: z.string().nullable(),
    acceptorWalletAddress: z.string().nullable(),
    escrowTxHash: z.string().nullable(),
    escrowFunder: party.nullable(),
    escrowFunderWallet: z.string().nullable(),
    /** Where released crypto goes, fixed when the escrow is locked: later profile changes never move it. */
    escrowRecipientWallet: z
      .string()
      .nullable()
      .openapi({ description: 'the recipient wallet frozen when the escrow was locked (null before)' }),
    releaseTxHash: z.string().nullable(),
    refundTxHash: z.string().nullable(),
    extensionCount: z.number().int(),
    extensionRequestedBy: party.nullable(),
    cancelRequestedBy: party.nullable(),
    cancelReason: z.string().nullable(),
    dispute: disputeSchema.nullable(),
    forced: forcedSchema.nullable(),
    expiresAt: nullableTime,
    paymentDeadline: nullableTime,
    /** When the timer engine must act on this order next (expire, escalate or alert); null when none. */
    timerAt: nullableTime.openapi({ description: "the current status's deadline: expiry, escalation, or a dispute's compliance SLA" }),
    createdAt: isoTime,
    acceptedAt: nullableTime,
    escrowedAt: nullableTime,
    paymentSentAt: nullableTime,
    paymentConfirmedAt: nullableTime,
    completedAt: nullableTime,
    cancelledAt: nullableTime,
    expiredAt: nullableTime,
    disputedAt: nullableTime,
    updatedAt: isoTime,
  })
  .openapi('Order');
/** An order as its parties see it over REST: the stored order plus the derived `minimalStatus` and `recipientWallet`. */
export type OrderView = z.infer<typeof orderView>;

/** The order snapshot every event carries: the view without payment details (shown to the parties over REST only). */
export const eventOrderView = orderView.omit({ paymentDetails: true }).openapi('EventOrder');
export type EventOrder = z.infer<typeof eventOrderView>;

/** The public face of an open book order: what any merchant may see before accepting. */
export const bookSummary = z
  .object({
    id: uuid,
    orderNumber: z.string(),
    type: orderType,
    network,
    status,
    orderVersion: z.number().int(),
    cryptoAmount: z.string(),
    cryptoCurrency: z.string(),
    fiatAmount: z.string(),
    fiatCurrency: z.string(),
    rate: z.string(),
    paymentMethod,
    createdAt: isoTime,
    expiresAt: nullableTime,
  })
  .openapi('BookOrder', { description: 'the public summary of an open book order: no parties, wallets or payment details' });
export type BookSummary = z.infer<typeof bookSummary>;

/**
 * One per transition: the value of every message on the order events topic, of `order_events.payload` and of the
 * outbox row (same transaction).
 */
export const orderEvent = z
  .object({
    eventId: uuid,
    type: eventType,
    orderId: uuid,
    orderNumber: z.string(),
    /** The version after the change; `(orderId, orderVersion)` is unique and orders events per order. */
    orderVersion: z.number().int().positive(),
    status,
    minimalStatus: status,
    previousStatus: status.nullable(),
    actor,
    occurredAt: isoTime,
    order: eventOrderView,
  })
  .openapi('OrderEvent');
export type OrderEvent = z.infer<typeof orderEvent>;
