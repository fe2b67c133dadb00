import type { NotificationFeed, NotificationPayload } from '@settle/contracts';
import { notificationsAfter } from './notifications';
import type { Queryable } from './pool';

/**
 * A page of a recipient's inbox (`merchant:<id>`, `user:<id>`, `compliance:compliance`) for GET /v1/notifications:
 * the rows with seq above `after`, read with the socket replay's own query, each as the `notification` message the
 * socket sends. Read only: delivered_at is set by socket acks alone.
 */
export async function notificationFeed(db: Queryable, recipient: string, after: number, limit: number): Promise<NotificationFeed> {
  // One row more than the page tells whether another page follows without a count.
  const rows = await notificationsAfter(db, recipient, after, limit + 1);
  const page = rows.slice(0, limit);
  return {
    // The stored payload is the socket message without its seq (the notifier wrote it from the same schema).
    items: page.map((row) => ({ ...(row.payload as Omit<NotificationPayload, 'seq'>), seq: row.seq })),
    nextAfter: page.at(-1)?.seq ?? after,
    hasMore: rows.length > limit,
  };
}
