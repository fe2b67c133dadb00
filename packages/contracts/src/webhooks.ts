import { z } from './zod';
import { eventType, isoTime, shortText, uuid } from './common';

/** POST /v1/webhooks — a merchant registers an HTTPS endpoint (http only on localhost outside production). */
export const registerWebhookBody = z
  .strictObject({
    url: z.string().min(8).max(2000).openapi({ example: 'https://merchant.example/settle/webhooks' }),
    eventTypes: z.array(eventType).min(1).max(20).optional().openapi({ description: 'only these event types; omit for all' }),
    description: shortText('description', 200).optional(),
  })
  .openapi('RegisterWebhook');

export const webhookEndpoint = z
  .object({
    id: uuid,
    merchantId: z.string(),
    url: z.string(),
    eventTypes: z.array(z.string()).nullable(),
    description: z.string().nullable(),
    enabled: z.boolean(),
    disabledReason: z.string().nullable().openapi({
      description: 'why deliveries stopped (e.g. the host came to resolve to a private address); register the endpoint again once fixed',
    }),
    disabledAt: isoTime.nullable(),
    createdAt: isoTime,
  })
  .openapi('WebhookEndpoint');

/** The answer to a registration: the only time the signing secret (`whsec_…`, Standard Webhooks) is shown. */
export const webhookEndpointCreated = webhookEndpoint.extend({ secret: z.string() }).openapi('WebhookEndpointCreated');
export const webhookEndpointList = z.object({ items: z.array(webhookEndpoint) }).openapi('WebhookEndpointList');

export const webhookDelivery = z
  .object({
    id: uuid,
    eventId: uuid,
    eventType: z.string(),
    status: z.enum(['pending', 'delivered', 'dead']),
    attempts: z.array(
      z.object({
        attempt: z.number().int(),
        startedAt: isoTime,
        durationMs: z.number().int(),
        statusCode: z.number().int().nullable(),
        error: z.string().nullable(),
      }),
    ),
    createdAt: isoTime,
    deliveredAt: isoTime.nullable(),
  })
  .openapi('WebhookDelivery');
export const webhookDeliveryList = z.object({ items: z.array(webhookDelivery) }).openapi('WebhookDeliveryList');
