export { ensureDatabase, ForeignMigrationsError, migrate, migrationsDir } from './migrate';
export { createPool, inTransaction, isConnectionError, unavailableFromConnection } from './pool';
export type { Pool, PoolClient, PoolOptions, Queryable } from './pool';
export { inspectRelaySlot, recreateRelaySlot, setupRelaySlot } from './relay-slot';
export type { RelaySlotSetup, RelaySlotState } from './relay-slot';
export { findStuckOrders } from './reconcile';
export { auditTrail, monitoringFigures } from './monitoring';
export type { AuditEntry, AuditFilter, MonitoringFigures } from './monitoring';
export type { StuckFinding } from './reconcile';
export { getAccount, listMerchants, removeProfileWallet, upsertAccount } from './accounts';
export type { Account, AccountKind, WalletsByNetwork } from './accounts';
export { getOrder, listBook, listOrderEvents, listOrders } from './orders/read';
export type { ListOrdersFilter } from './orders/read';
export { orderFromRow } from './orders/rows';
export type { OrderRow } from './orders/rows';
export {
  applyTransition,
  applyTransitionWith,
  createOrderRecord,
  isUniqueViolation,
  ORDER_AGGREGATE,
  profileWallets,
} from './orders/write';
export type { TransitionRequest, TransitionResult } from './orders/write';
export { currentBookSeq, markBookEventsEmitted, storeBookEvents } from './book';
export type { BookEventInput, StoredBookEvent } from './book';
export {
  advanceReplayCursor,
  claimDeadLetterReplay,
  countDeadLetters,
  deadLetterAudit,
  finishReplayCursor,
  getDeadLetter,
  listDeadLetters,
  mirrorDeadLetter,
  openReplayCursor,
  replayFilterKey,
  resolveDeadLetter,
} from './dead-letters';
export type { DeadLetter, DeadLetterAuditEntry, DeadLetterFilter, DeadLetterRecord, DeadLetterStatus, ReplayCursor } from './dead-letters';
export {
  deleteDeliveredNotifications,
  eventContext,
  isOrderParty,
  lastNotificationSeq,
  markNotificationsDelivered,
  notificationsAfter,
  storeNotifications,
} from './notifications';
export type { EventContext, NotificationInput, StoredNotification } from './notifications';
export { notificationFeed } from './notification-feed';
export { deleteEmittedBookEvents, deleteFinishedWebhookDeliveries, deleteResolvedDeadLetters } from './retention';
export {
  checkWebhookDestination,
  checkWebhookUrl,
  claimDueWebhookDeliveries,
  deleteWebhookEndpoint,
  disableWebhookEndpoint,
  enqueueWebhookDeliveries,
  listWebhookDeliveries,
  listWebhookEndpoints,
  recordWebhookAttempt,
  registerWebhookEndpoint,
  resetDeadWebhookDelivery,
} from './webhooks';
export type {
  DueWebhookDelivery,
  WebhookAttemptView,
  WebhookEndpoint,
  WebhookEventInput,
  WebhookOutcome,
  WebhookUrlPolicy,
} from './webhooks';
export { addressAllowList, checkPublicHost, nonPublicAddress } from './public-address';
export type { AddressAllowList, HostCheck, ResolvedAddress, Resolver } from './public-address';
export {
  advanceRepublishRun,
  countRepublishEvents,
  findUnfinishedRepublishRun,
  finishRepublishRun,
  nextRepublishEvents,
  republishFilterKey,
  startRepublishRun,
} from './republish';
export type { RepublishEvent, RepublishFilter, RepublishRun } from './republish';
