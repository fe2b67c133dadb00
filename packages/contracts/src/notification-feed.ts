import { z } from './zod';
import { notificationPayload } from './socket';

/** Page sizes of GET /v1/notifications. */
export const NOTIFICATION_FEED_LIMIT = { default: 100, max: 500 } as const;

// Digits only: a coerced number would also take "", "1e3" or " 7", and a cursor that is not what the client meant
// is worse than a 400.
const wholeNumber = (what: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,16}$/, `${what} must be a whole number`)
    .transform(Number)
    .pipe(z.number().min(min, `${what} is at least ${min}`).max(max, `${what} is at most ${max}`));

/** GET /v1/notifications query: the caller's notifications with seq above `after`, at most `limit` of them. */
export const notificationFeedQuery = z
  .strictObject({
    after: wholeNumber('after', 0, Number.MAX_SAFE_INTEGER).default(0).openapi({
      type: 'integer',
      minimum: 0,
      default: 0,
      description: "the highest seq you hold (the socket handshake's lastSeq); 0 for everything",
    }),
    limit: wholeNumber('limit', 1, NOTIFICATION_FEED_LIMIT.max).default(NOTIFICATION_FEED_LIMIT.default).openapi({
      type: 'integer',
      minimum: 1,
      maximum: NOTIFICATION_FEED_LIMIT.max,
      default: NOTIFICATION_FEED_LIMIT.default,
      description: 'at most this many notifications',
    }),
  })
  .openapi('NotificationFeedQuery');
export type NotificationFeedQuery = z.infer<typeof notificationFeedQuery>;

/**
 * A page of the caller's notifications: the messages the socket sends as `notification` (same seq, same payload), in
 * seq order. Reading it acknowledges nothing.
 */
export const notificationFeed = z
  .object({
    items: z.array(notificationPayload),
    nextAfter: z
      .number()
      .int()
      .min(0)
      .openapi({ description: "pass as `after` for the next page: the last item's seq, or the `after` asked for when the page is empty" }),
    hasMore: z.boolean().openapi({ description: 'more notifications follow this page' }),
  })
  .openapi('NotificationFeed');
export type NotificationFeed = z.infer<typeof notificationFeed>;
