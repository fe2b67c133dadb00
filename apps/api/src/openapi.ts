import { OpenApiGeneratorV31, OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import {
  bookList,
  bookSummary,
  network,
  profileWallets,
  walletBody,
  createOrderBody,
  devTokenBody,
  eventList,
  legacyEscrowPatchBody,
  listOrdersQuery,
  merchantSummary,
  notificationFeed,
  notificationFeedQuery,
  orderList,
  orderView,
  problem,
  registerWebhookBody,
  webhookDeliveryList,
  webhookEndpointCreated,
  webhookEndpointList,
  z,
} from '@settle/contracts';
import { ACTION_ROUTES } from './routes/orders';

const problems = (codes: number[]) =>
  Object.fromEntries(codes.map((code) => [String(code), { description: 'problem', content: { 'application/problem+json': { schema: problem } } }]));
const orderResponse = { description: 'the order', headers: { ETag: { schema: { type: 'string' as const }, description: 'the order version, for If-Match' } }, content: { 'application/json': { schema: orderView } } };
const idParam = z.object({ id: z.uuid() });
const transitionHeaders = z.object({
  'if-match': z.string().optional().openapi({ description: 'the orderVersion you last saw; a stale one answers 412 and changes nothing' }),
  'idempotency-key': z.string().optional().openapi({ description: 'a unique key; a retry with the same key and body returns the stored response' }),
});

function registerWebhookPaths(registry: OpenAPIRegistry, security: Array<Record<string, string[]>>, json: (schema: z.ZodType, description: string) => object): void {
  const webhookId = z.object({ id: z.uuid() });
  registry.registerPath({ method: 'post', path: '/v1/webhooks', summary: 'Register an HTTPS endpoint for your order events (Standard Webhooks signatures; the secret is shown once)', security, request: { body: { content: { 'application/json': { schema: registerWebhookBody } } } }, responses: { 201: json(webhookEndpointCreated, 'the endpoint and its signing secret'), ...problems([400, 401, 403]) } });
  registry.registerPath({ method: 'get', path: '/v1/webhooks', summary: 'Your webhook endpoints', security, responses: { 200: json(webhookEndpointList, 'endpoints'), ...problems([401, 403]) } });
  registry.registerPath({ method: 'delete', path: '/v1/webhooks/{id}', summary: 'Remove an endpoint', security, request: { params: webhookId }, responses: { 204: { description: 'removed' }, ...problems([400, 401, 403, 404]) } });
  registry.registerPath({ method: 'get', path: '/v1/webhooks/{id}/deliveries', summary: 'The delivery log of an endpoint, with every attempt', security, request: { params: webhookId }, responses: { 200: json(webhookDeliveryList, 'deliveries'), ...problems([400, 401, 403, 404]) } });
}

/** The OpenAPI 3.1 document, generated from the same zod schemas the routes validate with. */
export function openApiDocument(options: { devAuth: boolean }): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  const security = [{ [bearer.name]: [] }];

  registry.registerPath({ method: 'post', path: '/v1/orders', summary: 'Create an order (without merchantId it goes to the order book)', security, request: { body: { content: { 'application/json': { schema: createOrderBody } } } }, responses: { 201: orderResponse, ...problems([400, 401, 403, 422]) } });
  registry.registerPath({ method: 'get', path: '/v1/orders', summary: 'Your orders, newest first', security, request: { query: listOrdersQuery }, responses: { 200: { description: 'a page', content: { 'application/json': { schema: orderList } } }, ...problems([400, 401]) } });
  registry.registerPath({ method: 'get', path: '/v1/orders/book', summary: 'Open book orders you may accept (merchants; public summaries) with the current bookSeq', security, responses: { 200: { description: 'the book snapshot', content: { 'application/json': { schema: bookList } } }, ...problems([401, 403]) } });
  registry.registerPath({
    method: 'get',
    path: '/v1/orders/{id}',
    summary: 'One order (ETag = orderVersion): the whole order for its parties and compliance; for another merchant, an open book order\'s public summary',
    security,
    request: { params: idParam },
    responses: { 200: { ...orderResponse, content: { 'application/json': { schema: z.union([orderView, bookSummary]) } } }, 304: { description: 'not modified' }, ...problems([400, 401, 404]) },
  });
  registry.registerPath({ method: 'get', path: '/v1/orders/{id}/events', summary: 'The order\'s events in version order (its parties and compliance only)', security, request: { params: idParam }, responses: { 200: { description: 'events', content: { 'application/json': { schema: eventList } } }, ...problems([400, 401, 404]) } });
  for (const route of ACTION_ROUTES) {
    registry.registerPath({
      method: 'post',
      path: `/v1/orders/{id}/${route.path}`,
      summary: route.summary,
      security,
      request: { params: idParam, headers: transitionHeaders, body: { content: { 'application/json': { schema: route.body } } } },
      responses: { 200: orderResponse, ...problems([400, 401, 403, 404, 409, 412, 422]) },
    });
  }
  registry.registerPath({ method: 'patch', path: '/api/orders/{id}/escrow', summary: 'Compatibility: the original client\'s release ({tx_hash}); actor fields in the body are ignored', security, request: { params: idParam, body: { content: { 'application/json': { schema: legacyEscrowPatchBody } } } }, responses: { 200: orderResponse, ...problems([400, 401, 403, 404, 409]) } });
  const account = z.object({ kind: z.enum(['user', 'merchant']), id: z.string(), name: z.string().nullable(), wallets: profileWallets }).openapi('Account');
  const networkParam = z.object({ network });
  registry.registerPath({ method: 'get', path: '/v1/account', summary: 'Your account and profile wallets (one per network)', security, responses: { 200: { description: 'your account', content: { 'application/json': { schema: account } } }, ...problems([401, 403]) } });
  registry.registerPath({ method: 'put', path: '/v1/account/wallets/{network}', summary: 'Set your profile wallet on a network (validated and stored in its canonical form; orders already escrowed keep the wallet frozen then)', security, request: { params: networkParam, body: { content: { 'application/json': { schema: walletBody } } } }, responses: { 200: { description: 'your account', content: { 'application/json': { schema: account } } }, ...problems([400, 401, 403]) } });
  registry.registerPath({ method: 'delete', path: '/v1/account/wallets/{network}', summary: 'Remove your profile wallet on a network', security, request: { params: networkParam }, responses: { 204: { description: 'removed' }, ...problems([400, 401, 403, 404]) } });
  registry.registerPath({ method: 'get', path: '/v1/merchants', summary: 'Merchants you can address orders to (wallets only in your own entry)', security, responses: { 200: { description: 'merchants', content: { 'application/json': { schema: z.object({ items: z.array(merchantSummary) }) } } }, ...problems([401]) } });
  const json = (schema: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema } } });
  registerWebhookPaths(registry, security, json);
  registry.registerPath({ method: 'get', path: '/v1/notifications', summary: 'Your notifications after a seq, in seq order: the socket\'s `notification` messages for integrations without a socket (reading acknowledges nothing)', security, request: { query: notificationFeedQuery }, responses: { 200: json(notificationFeed, 'a page; pass nextAfter as after for the next'), ...problems([400, 401, 403]) } });
  if (options.devAuth) {
    registry.registerPath({ method: 'post', path: '/v1/dev/tokens', summary: 'Development only: a token for any role and id (creates the account)', request: { body: { content: { 'application/json': { schema: devTokenBody } } } }, responses: { 200: { description: 'token', content: { 'application/json': { schema: z.object({ token: z.string() }) } } }, ...problems([400]) } });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Settle Order API', version: '1.0.0', description: 'Every state change writes the order, its event and its outbox row in one transaction. Errors are application/problem+json.' },
    servers: [{ url: '/' }],
  });
}
