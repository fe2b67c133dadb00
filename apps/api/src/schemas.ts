import { Router } from 'express';
import { dataSchemaUri, EVENT_TYPES, eventJsonSchema, schemaName } from '@settle/contracts';
import { SettleError } from '@settle/domain';

/** The schemas change only with a release: a day in caches, revalidated after. */
const CACHE = 'public, max-age=86400';

/**
 * The JSON Schema of each order event type's current version at `/schemas/<type>.v<n>.json` (the file name in
 * docs/schemas and the last segment of each message's `ce_dataschema`), and their list at `/schemas`. Public: the
 * event contract is, and a validator given a message's `ce_dataschema` fetches the document from here.
 */
export function schemaRoutes(): Router {
  const documents = new Map(EVENT_TYPES.map((type) => [`${schemaName(type)}.json`, eventJsonSchema(type)]));
  const list = EVENT_TYPES.map((type) => ({
    type,
    name: schemaName(type),
    id: dataSchemaUri(type),
    path: `/schemas/${schemaName(type)}.json`,
  }));
  const router = Router();
  router.get('/schemas', (_request, response) => void response.set('cache-control', CACHE).json({ schemas: list }));
  router.get('/schemas/:file', (request, response) => {
    const document = documents.get(request.params.file);
    if (document === undefined)
      throw new SettleError('NOT_FOUND', `no schema ${request.params.file}; GET /schemas lists them (e.g. order.completed.v1.json)`);
    response.set('cache-control', CACHE).type('application/schema+json').send(JSON.stringify(document));
  });
  return router;
}
