import http from 'node:http';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { testAddress, testTxHash } from '@settle/testkit';

// Malformed requests generated from the API's own OpenAPI document: every operation, its path parameters, query and
// body schema. Each request with a body is broken in at least one way (a field of the wrong type, a lone surrogate,
// JSON nested too deep, an unknown field where none is allowed, a body that does not decode), so none may change an
// order; requests without a body may succeed. Used by fuzz.test.ts (a few thousand cases, fixed seed) and by
// bench/fuzz (`npm run fuzz`, longer).

interface Schema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  example?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
}
interface Operation {
  parameters?: Array<{ in: string; name: string; required?: boolean; schema?: Schema }>;
  requestBody?: { content: Record<string, { schema: Schema }> };
}
export interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

/** What the fuzz runs against: orders it must leave unchanged and tokens of their parties (and others). */
export interface FuzzFixtures {
  orderIds: string[];
  tokens: string[];
}

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** The request in a line, for a report. */
  text: string;
}

export interface FuzzAnswer {
  status: number;
  contentType: string | null;
  body: string;
}

const LONE_SURROGATES = ['\ud800', 'x\udbff', '\udc00y', 'paid \ud83d'];
// JSON nested thousands of levels deep stays a placeholder until it is written as text: as a value, it would overflow
// the stack of every recursive walk, the generator's own included.
const deepArray = (levels: number): string => `\u0001deep:${levels}\u0001`;
const DEEP_PLACEHOLDER = /"\\u0001deep:(\d+)\\u0001"/g;
const jsonText = (value: unknown): string =>
  (JSON.stringify(value) ?? 'null').replace(
    DEEP_PLACEHOLDER,
    (_match, levels: string) => `${'['.repeat(Number(levels))}${']'.repeat(Number(levels))}`,
  );

/** Forged cursors: base64url of JSON a client might hand-craft. */
export const FORGED_CURSORS = [
  { createdAt: '2020-01-01T00:00:00Z', id: 'not-a-uuid' },
  { createdAt: '+275760-09-13T00:00:00Z', id: '00000000-0000-4000-8000-000000000000' },
  '0',
  { createdAt: '0000-01-01T00:00:00.000Z', id: '00000000-0000-4000-8000-000000000000' },
  { createdAt: '2020-02-30T00:00:00.000Z', id: '00000000-0000-4000-8000-000000000000' },
  { createdAt: '\ud800', id: '\ud800' },
  null,
].map((value) => Buffer.from(JSON.stringify(value)).toString('base64url'));

function resolve(document: OpenApi, schema: Schema | undefined): Schema {
  if (schema?.$ref === undefined) return schema ?? {};
  return document.components?.schemas?.[schema.$ref.replace('#/components/schemas/', '')] ?? {};
}

const typeOf = (schema: Schema): string | undefined =>
  Array.isArray(schema.type) ? schema.type.find((type) => type !== 'null') : schema.type;

/** A value of the schema's shape, valid or nearly: the base a mutation then breaks. */
function sample(document: OpenApi, raw: Schema): unknown {
  const schema = resolve(document, raw);
  if (schema.example !== undefined) return schema.example;
  if (schema.enum !== undefined) return schema.enum[0];
  switch (typeOf(schema)) {
    case 'string':
      return 'x';
    case 'integer':
    case 'number':
      return 1;
    case 'boolean':
      return true;
    case 'array':
      return [];
    case 'object':
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([key, value]) => [key, sample(document, value)]));
    default:
      return 'x';
  }
}

/** A value the schema refuses whatever else the request holds. */
function poison(document: OpenApi, raw: Schema): fc.Arbitrary<unknown> {
  const schema = resolve(document, raw);
  const deep = fc.integer({ min: 17, max: 5000 }).map(deepArray);
  switch (typeOf(schema)) {
    case 'string':
      return fc.oneof(
        fc.constantFrom(...LONE_SURROGATES),
        fc.constantFrom(null, 0, true, [], {}),
        deep,
        fc.string().map((text) => `${text}\u0000`),
      );
    case 'integer':
    case 'number':
      return fc.oneof(fc.constantFrom('1', null, true, [], {}, 'NaN'), deep);
    case 'boolean':
      return fc.oneof(fc.constantFrom('true', 0, null, []), deep);
    case 'array':
      return fc.oneof(
        fc.constantFrom('x', 0, null, {}),
        deep,
        fc.constantFrom(...LONE_SURROGATES).map((text) => [text]),
      );
    case 'object':
      return fc.oneof(
        fc.constantFrom('x', 0, null, []),
        deep,
        fc.constantFrom(...LONE_SURROGATES).map((text) => ({ [text]: 'x' })),
      );
    default:
      return deep;
  }
}

/** A body the operation's schema refuses: one field poisoned, an unknown field, or the whole body wrong. */
function brokenBody(document: OpenApi, raw: Schema): fc.Arbitrary<unknown> {
  const schema = resolve(document, raw);
  const base = sample(document, schema) as Record<string, unknown>;
  const properties = Object.entries(schema.properties ?? {});
  const whole = fc.oneof(
    fc.integer({ min: 17, max: 5000 }).map((levels) => ({ ...base, nested: deepArray(levels) })),
    fc.constantFrom(...LONE_SURROGATES).map((text) => ({ ...base, [text]: 'x' })),
    fc.constantFrom([], [base], 'a string', 42, null),
  );
  const options: Array<fc.Arbitrary<unknown>> = [whole];
  if (properties.length > 0) {
    options.push(
      fc.constantFrom(...properties).chain(([key, property]) => poison(document, property).map((value) => ({ ...base, [key]: value }))),
    );
  }
  if (schema.additionalProperties === false) {
    options.push(
      fc
        .string({ minLength: 1, maxLength: 12 })
        .filter((key) => !(key in base) && key !== '__proto__')
        .map((key) => ({ ...base, [key]: 'x' })),
    );
  }
  return fc.oneof(...options);
}

type Encoded = { headers: Record<string, string>; body: Buffer; how: string };

/** The JSON text of `value` as one of the ways a client may send it, or bytes that do not decode at all. */
const encoded = (value: unknown): fc.Arbitrary<Encoded> => {
  const text = jsonText(value);
  const json = { 'content-type': 'application/json' };
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant({ headers: json, body: Buffer.from(text), how: 'json' }) },
    fc.constant({ headers: { ...json, 'content-encoding': 'gzip' }, body: gzipSync(text), how: 'gzip' }),
    fc.constant({ headers: { 'content-type': 'application/json; charset=utf-16le' }, body: Buffer.from(text, 'utf16le'), how: 'utf-16le' }),
    fc.constant({ headers: { ...json, 'content-encoding': 'gzip' }, body: Buffer.from('not gzip!!'), how: 'corrupt gzip' }),
    fc.constant({ headers: { ...json, 'content-encoding': 'gzip' }, body: gzipSync(text).subarray(0, 12), how: 'truncated gzip' }),
    fc.constant({ headers: json, body: Buffer.concat([Buffer.from(text.slice(0, 10)), Buffer.from([0xff, 0xc3])]), how: 'invalid UTF-8' }),
    fc.constant({ headers: json, body: Buffer.from(text.slice(0, Math.max(1, text.length - 1))), how: 'truncated JSON' }),
    fc.constant({ headers: { 'content-type': 'text/plain' }, body: Buffer.from(text), how: 'text/plain' }),
  );
};

const pathValue = (name: string, schema: Schema, fixtures: FuzzFixtures): fc.Arbitrary<string> => {
  const bad = fc.constantFrom('not-a-uuid', '%E0%A4%A', '%ED%A0%80', '%00', '..', '00000000-0000-0000-0000-00000000000g');
  if (schema.enum !== undefined) return fc.oneof(fc.constantFrom(...schema.enum.map(String)), bad);
  if (name === 'id') return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...fixtures.orderIds) }, fc.uuid(), bad);
  return bad;
};

const queryValue = (name: string, schema: Schema): fc.Arbitrary<string> => {
  const base: Array<fc.Arbitrary<string>> = [
    fc.constantFrom('', '-1', '0', '1e3', 'x', '%ED%A0%80', '9'.repeat(30)),
    fc.string({ maxLength: 10 }).map(encodeURIComponent),
  ];
  if (schema.enum !== undefined) base.push(fc.constantFrom(...schema.enum.map(String)));
  if (name === 'cursor') base.push(fc.constantFrom(...FORGED_CURSORS));
  return fc.oneof(...base);
};

const headerValues = fc.record(
  {
    'idempotency-key': fc.constantFrom('fuzz-key-0001', '"fuzz-key-0002"', '"short"', '"unterminated', 'has space', 'x'.repeat(200)),
    'if-match': fc.constantFrom('"1"', 'W/"1"', '*', 'banana', '"1", "2"', '"999999999"'),
    'x-request-id': fc.constantFrom('fuzz-1', 'has space', 'x'.repeat(200), ''),
  },
  { requiredKeys: [] },
);

/** Every documented operation as an arbitrary of malformed requests to it. */
export function fuzzRequests(document: OpenApi, fixtures: FuzzFixtures): fc.Arbitrary<FuzzRequest> {
  const perOperation = Object.entries(document.paths).flatMap(([template, methods]) =>
    Object.entries(methods).map(([method, operation]) => {
      const params = operation.parameters ?? [];
      const pathParams = params.filter((param) => param.in === 'path');
      const queryParams = params.filter((param) => param.in === 'query');
      const bodySchema = operation.requestBody?.content['application/json']?.schema;
      const path = fc
        .tuple(...pathParams.map((param) => pathValue(param.name, resolve(document, param.schema), fixtures)))
        .map((values) => pathParams.reduce((route, param, index) => route.replace(`{${param.name}}`, values[index] ?? ''), template));
      const query = fc
        .subarray(queryParams)
        .chain((chosen) =>
          fc
            .tuple(
              ...chosen.map((param) => queryValue(param.name, resolve(document, param.schema)).map((value) => `${param.name}=${value}`)),
            )
            .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.join('&')}`)),
        );
      // Without a body schema the request may be valid (a GET, a DELETE): it gets a body only sometimes.
      const body: fc.Arbitrary<Encoded | undefined> =
        bodySchema !== undefined
          ? brokenBody(document, bodySchema).chain(encoded)
          : fc.option(encoded({ a: deepArray(40) }), { nil: undefined, freq: 3 });
      const token = fc.option(fc.oneof(fc.constantFrom(...fixtures.tokens), fc.constant('not.a.jwt')), { nil: undefined, freq: 6 });
      return fc
        .record({ path, query, body, token, headers: headerValues })
        .map(({ path: route, query: search, body: sent, token: bearer, headers }): FuzzRequest => {
          const all: Record<string, string> = {
            ...headers,
            ...(sent?.headers ?? {}),
            ...(bearer !== undefined ? { authorization: `Bearer ${bearer}` } : {}),
          };
          const url = `${route}${search}`;
          const shown = sent === undefined ? '' : ` ${sent.how} ${sent.body.length} B: ${sent.body.subarray(0, 80).toString('latin1')}`;
          return {
            method: method.toUpperCase(),
            path: url,
            headers: all,
            ...(sent !== undefined ? { body: sent.body } : {}),
            text: `${method.toUpperCase()} ${url} ${JSON.stringify({ ...headers, ...(sent?.headers ?? {}) })}${shown}`,
          };
        });
    }),
  );
  return fc.oneof(...perOperation);
}

/** Sends one request as written (node:http: a GET may carry a body, a path is not normalised); the answer as a client reads it. */
export function sendFuzz(baseUrl: string, request: FuzzRequest): Promise<FuzzAnswer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      {
        hostname,
        port,
        method: request.method,
        path: request.path,
        headers: { ...request.headers, ...(request.body !== undefined ? { 'content-length': String(request.body.length) } : {}) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            contentType: response.headers['content-type'] ?? null,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}

/** What is wrong with an answer, or undefined: a 5xx, or a 4xx that is not a problem document of that status. */
export function fuzzViolation(answer: FuzzAnswer): string | undefined {
  if (answer.status >= 500) return `answered ${answer.status}: ${answer.body.slice(0, 300)}`;
  if (answer.status < 400) return undefined;
  if (answer.contentType !== 'application/problem+json; charset=utf-8')
    return `answered ${answer.status} as ${answer.contentType ?? 'no content type'}`;
  const problem = JSON.parse(answer.body) as { status?: unknown; detail?: unknown };
  if (problem.status !== answer.status || typeof problem.detail !== 'string' || problem.detail.length < 5)
    return `answered ${answer.status} with a problem missing status or detail: ${answer.body.slice(0, 300)}`;
  return undefined;
}

/**
 * Orders in several statuses, made over HTTP by their parties (`token` makes an account's token), for the fuzz to
 * aim at: returns their ids and the parties' and compliance's tokens.
 */
export async function stageFuzzFixtures(
  baseUrl: string,
  token: (role: 'user' | 'merchant' | 'compliance', id: string) => Promise<string>,
  label: string,
): Promise<FuzzFixtures> {
  const post = async (path: string, bearer: string, body: unknown, headers: Record<string, string> = {}): Promise<{ id: string }> => {
    const response = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    if (response.status >= 300) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as { id: string };
  };
  const user = await token('user', `u-fuzz-${label}`);
  const merchant = await token('merchant', `m-fuzz-${label}`);
  const compliance = await token('compliance', `c-fuzz-${label}`);
  const steps: Array<[string, string, unknown]> = [
    ['accept', merchant, { walletAddress: testAddress(`fuzz-acceptor-${label}`) }],
    ['escrow', user, { txHash: testTxHash(`fuzz-escrow-${label}`) }],
    ['payment-sent', merchant, {}],
  ];
  const orderIds: string[] = [];
  for (let stop = 0; stop <= steps.length; stop += 1) {
    const { id } = await post('/v1/orders', user, {
      type: 'sell',
      merchantId: `m-fuzz-${label}`,
      cryptoAmount: '100',
      fiatAmount: '367.25',
      fiatCurrency: 'AED',
      rate: '3.6725',
      paymentMethod: 'upi',
    });
    for (const [action, bearer, body] of steps.slice(0, stop)) {
      const unique =
        action === 'escrow'
          ? { txHash: testTxHash(`fuzz-escrow-${label}-${stop}`) }
          : action === 'accept'
            ? { walletAddress: testAddress(`fuzz-acceptor-${label}-${stop}`) }
            : body;
      await post(`/v1/orders/${id}/${action}`, bearer, unique);
    }
    orderIds.push(id);
  }
  return { orderIds, tokens: [user, merchant, compliance] };
}
