import { OpenApiGeneratorV31, OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import {
  accountView,
  bookList,
  bookSummary,
  network,
  walletBody,
  createOrderBody,
  deskConfig,
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

/** Descriptions of every problem status the API answers (each as application/problem+json). */
const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'invalid input (the detail names the field), a body that does not decode, or JSON nested too deep',
  401: 'no, invalid or expired bearer token',
  403: "the other side's action, or not your role",
  404: 'not found, or not yours to see',
  409: "not allowed in the order's status, a hash already used, or a lost race",
  412: "If-Match does not match the order's current ETag (a weak tag never does)",
  413: 'the request body is larger than 64 KB',
  415: 'the request body is not UTF-8 JSON',
  422: 'the Idempotency-Key was used with another request',
  429: 'too many requests: wait as Retry-After says',
  500: 'an internal error; nothing was changed',
  503: 'a dependency (the database) is unavailable: retry after Retry-After',
};

const problems = (codes: number[]) =>
  Object.fromEntries(
    codes.map((code) => [
      String(code),
      { description: PROBLEM_DESCRIPTIONS[code] ?? 'problem', content: { 'application/problem+json': { schema: problem } } },
    ]),
  );
/** Problems any request can meet: a body (any method may send one) that does not decode or is too large, the server's own failures. */
const ANY = [400, 413, 500];
/** Problems of a route under /v1 or /api: rate limits and the database too. */
const API = [...ANY, 429, 503];
/** Problems of an authenticated route. */
const AUTHENTICATED = [...API, 401];
/** Problems of a route that takes a JSON body. */
const WITH_BODY = [415];

const requestIdHeader = {
  description:
    "the request's id: the X-Request-Id sent (1–128 of A–Z a–z 0–9 . _ : -) or a generated UUID (with tracing on, OTEL_TRACES_EXPORTER=otlp: the trace id); it is in every log line of the request",
  schema: { type: 'string' as const },
};
const traceResponseHeader = {
  description:
    "W3C Trace Context level 2: the traceparent of the API's span for this request; a change it made carries it as ce_traceparent on Kafka, in socket payloads and as the webhook traceparent",
  schema: { type: 'string' as const },
};
const responseHeaders = { 'X-Request-Id': requestIdHeader, traceresponse: traceResponseHeader };
const orderResponse = {
  description: 'the order',
  headers: { ETag: { schema: { type: 'string' as const }, description: 'the order version, for If-Match' }, ...responseHeaders },
  content: { 'application/json': { schema: orderView } },
};
const idParam = z.object({ id: z.uuid() });
const requestIdParam = z.string().optional().openapi({
  description:
    'your id for this request (1–128 of A–Z a–z 0–9 . _ : -), echoed in X-Request-Id; another value is replaced by a generated UUID',
});
const traceparentParam = z.string().optional().openapi({
  description: 'W3C traceparent of your span: the request continues your trace (a missing or malformed one starts a new trace)',
  example: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
});
const requestHeaders = z.object({ 'x-request-id': requestIdParam, traceparent: traceparentParam });
const ifMatch = z.string().optional().openapi({
  description: 'the ETag you last saw ("3"), or *; compared strongly: a stale or weak (W/"3") tag answers 412 and changes nothing',
});
const idempotencyKey = (required: boolean) =>
  z.string().openapi({
    description: `a unique key, 8–128 of A–Z a–z 0–9 _ . : -, bare or as a quoted sf-string ("…"); a retry with the same key and body returns the stored response${required ? '' : ' (optional here)'}`,
    example: '"8e03978e-40d5-43e8-bc93-6894a57f9324"',
  });
const transitionHeaders = (required: boolean) =>
  z.object({
    'if-match': ifMatch,
    'idempotency-key': required ? idempotencyKey(true) : idempotencyKey(false).optional(),
    'x-request-id': requestIdParam,
    traceparent: traceparentParam,
  });
const json = (schema: z.ZodType, description: string) => ({
  description,
  headers: responseHeaders,
  content: { 'application/json': { schema } },
});
const noContent = (description: string) => ({ description, headers: responseHeaders });

function registerWebhookPaths(registry: OpenAPIRegistry, security: Array<Record<string, string[]>>): void {
  const webhookId = z.object({ id: z.uuid() });
  const tags = ['webhooks'];
  registry.registerPath({
    method: 'post',
    path: '/v1/webhooks',
    operationId: 'registerWebhook',
    tags,
    summary: 'Register an HTTPS endpoint for your order events (Standard Webhooks signatures; the secret is shown once)',
    security,
    request: { headers: requestHeaders, body: { content: { 'application/json': { schema: registerWebhookBody } } } },
    responses: {
      201: json(webhookEndpointCreated, 'the endpoint and its signing secret'),
      ...problems([...AUTHENTICATED, ...WITH_BODY, 403]),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/webhooks',
    operationId: 'listWebhooks',
    tags,
    summary: 'Your webhook endpoints',
    security,
    request: { headers: requestHeaders },
    responses: { 200: json(webhookEndpointList, 'endpoints'), ...problems([...AUTHENTICATED, 403]) },
  });
  registry.registerPath({
    method: 'delete',
    path: '/v1/webhooks/{id}',
    operationId: 'deleteWebhook',
    tags,
    summary: 'Remove an endpoint',
    security,
    request: { params: webhookId, headers: requestHeaders },
    responses: { 204: noContent('removed'), ...problems([...AUTHENTICATED, 403, 404]) },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/webhooks/{id}/deliveries',
    operationId: 'listWebhookDeliveries',
    tags,
    summary: 'The delivery log of an endpoint, with every attempt',
    security,
    request: { params: webhookId, headers: requestHeaders },
    responses: { 200: json(webhookDeliveryList, 'deliveries'), ...problems([...AUTHENTICATED, 403, 404]) },
  });
}

/** `dispute/resolve` → `DisputeResolve`: the operationId of an action route is `order` + this. */
const pascal = (path: string): string =>
  path
    .split(/[-/]/)
    .map((word) => `${word.charAt(0).toUpperCase()}${word.slice(1)}`)
    .join('');

/** The unauthenticated routes: health, readiness, metrics and these docs. */
function registerPublicPaths(registry: OpenAPIRegistry): void {
  const tags = ['service'];
  const status = z.object({ status: z.literal('ok') });
  registry.registerPath({
    method: 'get',
    path: '/health',
    operationId: 'health',
    tags,
    summary: 'The process is up',
    security: [],
    responses: { 200: json(status, 'up'), ...problems(ANY) },
  });
  registry.registerPath({
    method: 'get',
    path: '/ready',
    operationId: 'ready',
    tags,
    summary: 'The database answers',
    security: [],
    responses: { 200: json(status, 'ready'), ...problems([...ANY, 503]) },
  });
  registry.registerPath({
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    tags,
    summary: 'Prometheus metrics',
    security: [],
    responses: {
      200: { description: 'metrics in the Prometheus text format', content: { 'text/plain': { schema: z.string() } } },
      ...problems(ANY),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/openapi.json',
    operationId: 'openApiDocument',
    tags,
    summary: 'This OpenAPI 3.1 document',
    security: [],
    responses: { 200: json(z.record(z.string(), z.unknown()), 'the document'), ...problems(ANY) },
  });
  registry.registerPath({
    method: 'get',
    path: '/docs',
    operationId: 'docs',
    tags,
    summary: 'This document, browsable (Swagger UI)',
    security: [],
    responses: { 200: { description: 'an HTML page', content: { 'text/html': { schema: z.string() } } }, ...problems(ANY) },
  });
  const schemaList = z.object({
    schemas: z.array(
      z.object({
        type: z.string(),
        name: z.string().describe('`order.completed.v1`'),
        id: z.string().describe('the `$id` and `ce_dataschema`'),
        path: z.string(),
      }),
    ),
  });
  registry.registerPath({
    method: 'get',
    path: '/schemas',
    operationId: 'listEventSchemas',
    tags,
    summary: "The JSON Schema of each order event type's current version",
    security: [],
    responses: { 200: json(schemaList, 'the schemas'), ...problems(ANY) },
  });
  registry.registerPath({
    method: 'get',
    path: '/schemas/{file}',
    operationId: 'eventSchema',
    tags,
    summary: "One event type's JSON Schema (draft-07): the document a message's `ce_dataschema` names",
    security: [],
    request: { params: z.object({ file: z.string().openapi({ example: 'order.completed.v1.json' }) }) },
    responses: {
      200: { description: 'the schema', content: { 'application/schema+json': { schema: z.record(z.string(), z.unknown()) } } },
      ...problems([...ANY, 404]),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/desk/config',
    operationId: 'deskConfig',
    tags,
    summary: "What the merchant desk (served at /) needs before sign-in: the notifier's URL, whether dev tokens are served",
    security: [],
    responses: { 200: json(deskConfig, "the desk's settings"), ...problems(ANY) },
  });
}

/** The OpenAPI 3.1 document, generated from the same zod schemas the routes validate with. */
export function openApiDocument(options: { devAuth: boolean }): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  const security = [{ [bearer.name]: [] }];
  const orders = ['orders'];
  const accounts = ['accounts'];

  registry.registerPath({
    method: 'post',
    path: '/v1/orders',
    operationId: 'createOrder',
    tags: orders,
    summary: 'Create an order (without merchantId it goes to the order book)',
    security,
    request: {
      headers: transitionHeaders(false).omit({ 'if-match': true }),
      body: { content: { 'application/json': { schema: createOrderBody } } },
    },
    responses: {
      201: {
        ...orderResponse,
        headers: { ...orderResponse.headers, Location: { schema: { type: 'string' as const }, description: "the new order's URL" } },
      },
      200: { ...orderResponse, description: 'a retry with the same Idempotency-Key: the stored response (Idempotent-Replayed: true)' },
      ...problems([...AUTHENTICATED, ...WITH_BODY, 403, 404, 409, 422]),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/orders',
    operationId: 'listOrders',
    tags: orders,
    summary: 'Your orders, newest first or nearest deadline first (sort=deadline), by status (one or several), side and creation time',
    security,
    request: { query: listOrdersQuery, headers: requestHeaders },
    responses: { 200: json(orderList, 'a page'), ...problems(AUTHENTICATED) },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/orders/book',
    operationId: 'getOrderBook',
    tags: orders,
    summary: 'Open book orders you may accept (merchants; public summaries) with the current bookSeq',
    security,
    request: { headers: requestHeaders },
    responses: { 200: json(bookList, 'the book snapshot'), ...problems([...AUTHENTICATED, 403]) },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/orders/{id}',
    operationId: 'getOrder',
    tags: orders,
    summary:
      "One order (ETag = orderVersion): the whole order for its parties and compliance; for another merchant, an open book order's public summary",
    security,
    request: {
      params: idParam,
      headers: requestHeaders.extend({
        'if-none-match': z.string().optional().openapi({ description: 'the ETag you hold: unchanged → 304' }),
      }),
    },
    responses: {
      200: { ...orderResponse, content: { 'application/json': { schema: z.union([orderView, bookSummary]) } } },
      304: noContent('not modified'),
      ...problems([...AUTHENTICATED, 404]),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/orders/{id}/events',
    operationId: 'listOrderEvents',
    tags: orders,
    summary: "The order's events in version order (its parties and compliance only)",
    security,
    request: { params: idParam, headers: requestHeaders },
    responses: { 200: json(eventList, 'events'), ...problems([...AUTHENTICATED, 404]) },
  });
  for (const route of ACTION_ROUTES) {
    registry.registerPath({
      method: 'post',
      path: `/v1/orders/{id}/${route.path}`,
      operationId: `order${pascal(route.path)}`,
      tags: orders,
      summary: route.summary,
      security,
      request: {
        params: idParam,
        headers: transitionHeaders(route.idempotencyRequired === true),
        body: { content: { 'application/json': { schema: route.body } } },
      },
      responses: { 200: orderResponse, ...problems([...AUTHENTICATED, ...WITH_BODY, 403, 404, 409, 412, 422]) },
    });
  }
  registry.registerPath({
    method: 'patch',
    path: '/api/orders/{id}/escrow',
    operationId: 'legacyReleaseEscrow',
    tags: orders,
    summary: "Compatibility: the original client's release ({tx_hash}); actor fields in the body are ignored",
    security,
    request: {
      params: idParam,
      headers: transitionHeaders(false),
      body: { content: { 'application/json': { schema: legacyEscrowPatchBody } } },
    },
    responses: { 200: orderResponse, ...problems([...AUTHENTICATED, ...WITH_BODY, 403, 404, 409, 412, 422]) },
  });
  const account = accountView;
  const networkParam = z.object({ network });
  registry.registerPath({
    method: 'get',
    path: '/v1/account',
    operationId: 'getAccount',
    tags: accounts,
    summary: 'Your account and profile wallets (one per network)',
    security,
    request: { headers: requestHeaders },
    responses: { 200: json(account, 'your account'), ...problems([...AUTHENTICATED, 403]) },
  });
  registry.registerPath({
    method: 'put',
    path: '/v1/account/wallets/{network}',
    operationId: 'setProfileWallet',
    tags: accounts,
    summary:
      'Set your profile wallet on a network (validated and stored in its canonical form; orders already escrowed keep the wallet frozen then)',
    security,
    request: { params: networkParam, headers: requestHeaders, body: { content: { 'application/json': { schema: walletBody } } } },
    responses: { 200: json(account, 'your account'), ...problems([...AUTHENTICATED, ...WITH_BODY, 403]) },
  });
  registry.registerPath({
    method: 'delete',
    path: '/v1/account/wallets/{network}',
    operationId: 'removeProfileWallet',
    tags: accounts,
    summary: 'Remove your profile wallet on a network',
    security,
    request: { params: networkParam, headers: requestHeaders },
    responses: { 204: noContent('removed'), ...problems([...AUTHENTICATED, 403, 404]) },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/merchants',
    operationId: 'listMerchants',
    tags: accounts,
    summary: 'Merchants you can address orders to (wallets only in your own entry)',
    security,
    request: { headers: requestHeaders },
    responses: { 200: json(z.object({ items: z.array(merchantSummary) }), 'merchants'), ...problems(AUTHENTICATED) },
  });
  registerWebhookPaths(registry, security);
  registry.registerPath({
    method: 'get',
    path: '/v1/notifications',
    operationId: 'listNotifications',
    tags: ['notifications'],
    summary:
      "Your notifications after a seq, in seq order: the socket's `notification` messages for integrations without a socket (reading acknowledges nothing)",
    security,
    request: { query: notificationFeedQuery, headers: requestHeaders },
    responses: { 200: json(notificationFeed, 'a page; pass nextAfter as after for the next'), ...problems([...AUTHENTICATED, 403]) },
  });
  if (options.devAuth) {
    registry.registerPath({
      method: 'post',
      path: '/v1/dev/tokens',
      operationId: 'createDevToken',
      tags: ['service'],
      summary: 'Development only: a token for any role and id (creates the account)',
      security: [],
      request: { headers: requestHeaders, body: { content: { 'application/json': { schema: devTokenBody } } } },
      responses: { 200: json(z.object({ token: z.string() }), 'token'), ...problems([...API, ...WITH_BODY]) },
    });
  }
  registerPublicPaths(registry);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Settle Order API',
      version: '1.0.0',
      description:
        'Every state change writes the order, its event and its outbox row in one transaction. Errors are application/problem+json.',
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'orders', description: 'Orders and their transitions' },
      { name: 'accounts', description: 'Your account, profile wallets and the merchants' },
      { name: 'webhooks', description: "Merchants' webhook endpoints and their delivery logs" },
      { name: 'notifications', description: 'Your notification feed' },
      { name: 'service', description: 'Health, readiness, metrics, these docs, development tokens' },
    ],
  });
}
