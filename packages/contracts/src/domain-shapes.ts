import type { BookSummary, EventOrder, OrderEvent, OrderView } from '@settle/domain';
import type { z } from './zod';
import type { bookSummary, eventOrderView, orderEvent, orderView } from './orders';

/**
 * The wire schemas (zod: the source of the OpenAPI, AsyncAPI and JSON Schema documents, and what the notifier and
 * consumers validate with) and the domain's types of the same values must be one shape: each line below stops the
 * build when a field is added, removed or retyped on one side only. The domain builds these values and the write
 * path serialises them with JSON.stringify, so what is written is what the schemas describe.
 */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

export const ORDER_VIEW_MATCHES_DOMAIN: Same<z.infer<typeof orderView>, OrderView> = true;
export const EVENT_ORDER_MATCHES_DOMAIN: Same<z.infer<typeof eventOrderView>, EventOrder> = true;
export const BOOK_SUMMARY_MATCHES_DOMAIN: Same<z.infer<typeof bookSummary>, BookSummary> = true;
// The one deliberate difference: the published schema lets a system actor carry any id (v1 said so), while the
// domain only ever writes `system`; every domain actor is a valid wire actor.
export const ORDER_EVENT_MATCHES_DOMAIN: Same<Omit<z.infer<typeof orderEvent>, 'actor'>, Omit<OrderEvent, 'actor'>> = true;
export const EVENT_ACTOR_IS_WIRE_ACTOR: [OrderEvent['actor']] extends [z.infer<typeof orderEvent>['actor']] ? true : false = true;
