import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzRequests, fuzzViolation, sendFuzz, stageFuzzFixtures, type FuzzAnswer, type FuzzFixtures, type OpenApi } from './fuzz-cases';
import { NO_BENDS, startApi, type Harness } from './harness';
import { startSecondApp, type SecondApp } from './logged-app';

// Malformed requests generated from /openapi.json (see fuzz-cases.ts) against a real API and database. A fixed seed
// keeps a failure reproducible; `npm run fuzz` runs the same generators longer with a random seed. Each request also
// goes to the same API on stock Express 5 (every Express bend off), which must answer it the same way.

const SEED = 20_260_705;
const CASES = 3000;

let api: Harness;
let stock: SecondApp;
let fixtures: FuzzFixtures;
let document: OpenApi;
beforeAll(async () => {
  api = await startApi();
  stock = await startSecondApp(api, {}, { expressBends: NO_BENDS });
  fixtures = await stageFuzzFixtures(api.url, (role, id) => api.token(role, id), 'test');
  document = (await api.call<OpenApi>('GET', '/openapi.json')).body;
});
afterAll(async () => {
  await stock.close();
  await api.close();
});

describe('schema-driven fuzz of every documented operation', () => {
  it(`${CASES} malformed requests: no 5xx, every 4xx a problem document, the same answer without the Express bends, the fixture orders unchanged`, async () => {
    const orders = async (): Promise<unknown[]> =>
      (await api.pool.query('SELECT * FROM orders WHERE id = ANY($1::uuid[]) ORDER BY id', [fixtures.orderIds])).rows;
    const before = { rows: await orders(), counts: await api.counts() };
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fuzzRequests(document, fixtures), async (request) => {
        const [answer, stockAnswer] = await Promise.all([sendFuzz(api.url, request), sendFuzz(stock.url, request)]);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        expect(fuzzViolation(answer), request.text).toBeUndefined();
        // Each app has its own metrics registry: /metrics bodies differ by design.
        const shown = ({ body, ...rest }: FuzzAnswer) => (request.path.startsWith('/metrics') ? rest : { ...rest, body });
        expect(shown(stockAnswer), request.text).toEqual(shown(answer));
      }),
      { numRuns: CASES, seed: SEED, endOnFailure: true },
    );
    expect(await orders()).toEqual(before.rows);
    expect(await api.counts()).toEqual(before.counts);
    // The generators reach past the parsers: validation, authentication and authorization each answer some cases.
    expect([...statuses.keys()]).toEqual(expect.arrayContaining([400, 401, 415]));
  });
});
