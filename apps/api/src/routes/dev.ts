import { Router } from 'express';
import { signToken } from '@settle/auth';
import type { ApiConfig } from '@settle/config';
import { devTokenBody } from '@settle/contracts';
import { upsertAccount, type Pool } from '@settle/db';
import { canonicalAddress } from '@settle/domain';
import { parse } from '../validation';

/** POST /v1/dev/tokens — only mounted when DEV_AUTH is on (it is in `npm start`, off by default). */
export function devRoutes(pool: Pool, config: ApiConfig): Router {
  const router = Router();
  router.post('/v1/dev/tokens', async (request, response) => {
    const body = parse(devTokenBody, request.body ?? {}, 'body');
    const network = body.network ?? config.DEFAULT_NETWORK;
    const wallet = body.walletAddress === undefined ? undefined : { network, address: canonicalAddress(network, body.walletAddress) };
    await upsertAccount(pool, { kind: body.role, id: body.id, name: body.name, wallet });
    response.json({ token: await signToken(config, { role: body.role, id: body.id }) });
  });
  return router;
}
