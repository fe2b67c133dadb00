import { Router, type Request } from 'express';
import type { ApiConfig } from '@settle/config';
import { registerWebhookBody, uuid } from '@settle/contracts';
import {
  addressAllowList,
  checkWebhookDestination,
  deleteWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  registerWebhookEndpoint,
  type Pool,
} from '@settle/db';
import { SettleError } from '@settle/domain';
import { actorOf } from '../auth';
import { parse } from '../validation';

/** The calling merchant's id; webhooks are a merchant feature. */
function merchantOf(request: Request): string {
  const actor = actorOf(request);
  if (actor.role !== 'merchant') throw new SettleError('FORBIDDEN', 'webhook endpoints belong to merchants');
  return actor.id;
}

/**
 * Merchants' webhook endpoints (the notifier delivers to them, signed per Standard Webhooks):
 * POST /v1/webhooks (201, the secret is shown once; 400 when the host resolves to a non-public address that
 * WEBHOOK_ALLOWED_HOSTS does not allow), GET /v1/webhooks (with why an endpoint was disabled),
 * DELETE /v1/webhooks/:id (204), GET /v1/webhooks/:id/deliveries (the delivery log with every attempt).
 */
export function webhookRoutes(pool: Pool, config: Pick<ApiConfig, 'NODE_ENV' | 'WEBHOOK_ALLOW_HTTP' | 'WEBHOOK_ALLOWED_HOSTS'>): Router {
  const router = Router();
  const policy = {
    production: config.NODE_ENV === 'production',
    allowHttp: config.WEBHOOK_ALLOW_HTTP,
    allow: addressAllowList(config.WEBHOOK_ALLOWED_HOSTS),
  };

  router.post('/v1/webhooks', async (request, response) => {
    const merchantId = merchantOf(request);
    const body = parse(registerWebhookBody, request.body ?? {}, 'body');
    await checkWebhookDestination(body.url, policy);
    const endpoint = await registerWebhookEndpoint(
      pool,
      { merchantId, url: body.url, eventTypes: body.eventTypes, description: body.description },
      policy,
    );
    response.status(201).location(`/v1/webhooks/${endpoint.id}`).json(endpoint);
  });

  router.get('/v1/webhooks', async (request, response) => {
    response.json({ items: await listWebhookEndpoints(pool, merchantOf(request)) });
  });

  router.delete('/v1/webhooks/:id', async (request, response) => {
    await deleteWebhookEndpoint(pool, merchantOf(request), parse(uuid, request.params['id'], 'path'));
    response.status(204).end();
  });

  router.get('/v1/webhooks/:id/deliveries', async (request, response) => {
    response.json({ items: await listWebhookDeliveries(pool, merchantOf(request), parse(uuid, request.params['id'], 'path')) });
  });
  return router;
}
