/**
 * The entry for browsers (`@settle/contracts/browser`): the wire schemas and their types, the socket contract and
 * the notifier client. Nothing here needs Node; the OpenAPI/AsyncAPI generation stays in the main entry.
 */
export * from './common';
export * from './orders';
export { z } from './zod';
export * from './socket';
export * from './notification-feed';
export * from './socket-client';
export * from './webhooks';
export * from './desk';
// The minor units the API checks fiatAmount against, so a client's suggestion is rounded the same way.
export { fiatMinorUnits } from '@settle/domain';
// The state machine's table, so the desk offers exactly the actions the API would take.
export { TRANSITIONS } from '@settle/domain';
export type { Action, TransitionRule, Who } from '@settle/domain';
