import { Router } from 'express';
import { notificationFeedQuery } from '@settle/contracts';
import { notificationFeed, type Pool } from '@settle/db';
import { recipientKey, SettleError, type Actor, type Recipient } from '@settle/domain';
import { actorOf } from '../auth';
import { parse } from '../validation';

/** The inbox an actor reads: its own (the notifier's socket joins the same one); compliance shares one desk inbox. */
function recipientOf(actor: Actor): Recipient {
  switch (actor.role) {
    case 'compliance':
      return { kind: 'compliance', id: 'compliance' };
    case 'user':
    case 'merchant':
      return { kind: actor.role, id: actor.id };
    default:
      throw new SettleError('FORBIDDEN', 'only users, merchants and compliance have notifications');
  }
}

/**
 * GET /v1/notifications?after=&limit= — the caller's notifications with seq above `after`, in seq order, as the
 * socket sends them: for integrations without a socket. Reading acknowledges nothing.
 */
export function notificationRoutes(pool: Pool): Router {
  const router = Router();
  router.get('/v1/notifications', async (request, response) => {
    const actor = actorOf(request);
    const query = parse(notificationFeedQuery, request.query, 'query');
    response.json(await notificationFeed(pool, recipientKey(recipientOf(actor)), query.after, query.limit));
  });
  return router;
}
