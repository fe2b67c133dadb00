import { Router, type Request } from 'express';
import { network as networkSchema, walletBody } from '@settle/contracts';
import { getAccount, listMerchants, removeProfileWallet, upsertAccount, type Pool } from '@settle/db';
import { canonicalAddress, SettleError, type Network, type OrderPolicy, type Party } from '@settle/domain';
import { actorOf } from '../auth';
import { parse } from '../validation';

/** The caller as a party: profile wallets belong to users and merchants. */
function partyOf(request: Request): Party {
  const actor = actorOf(request);
  if (actor.role !== 'user' && actor.role !== 'merchant')
    throw new SettleError('FORBIDDEN', 'only users and merchants have profile wallets');
  return { kind: actor.role, id: actor.id };
}

const networkParam = (request: Request): Network => parse(networkSchema, request.params['network'], 'path');

/** GET /v1/merchants, and the caller's own account and profile wallets (one per network). */
export function accountRoutes(pool: Pool, policy: OrderPolicy): Router {
  const router = Router();

  // Wallets are private: each merchant sees only its own.
  router.get('/v1/merchants', async (request, response) => {
    const actor = actorOf(request);
    const merchants = await listMerchants(pool);
    response.json({
      items: merchants.map((merchant) => {
        const own = actor.role === 'merchant' && actor.id === merchant.id;
        return {
          id: merchant.id,
          name: merchant.name,
          walletAddress: own ? (merchant.wallets[policy.defaultNetwork] ?? null) : null,
          wallets: own ? merchant.wallets : null,
        };
      }),
    });
  });

  router.get('/v1/account', async (request, response) => {
    const party = partyOf(request);
    const account = (await getAccount(pool, party.kind, party.id)) ?? { kind: party.kind, id: party.id, name: null, wallets: {} };
    response.json(account);
  });

  // Sets the profile wallet on a network: the fallback recipient until an order's escrow is locked (then frozen).
  router.put('/v1/account/wallets/:network', async (request, response) => {
    const party = partyOf(request);
    const network = networkParam(request);
    const body = parse(walletBody, request.body ?? {}, 'body');
    const address = canonicalAddress(network, body.address, 'address');
    response.json(await upsertAccount(pool, { kind: party.kind, id: party.id, wallet: { network, address } }));
  });

  router.delete('/v1/account/wallets/:network', async (request, response) => {
    const party = partyOf(request);
    const network = networkParam(request);
    if (!(await removeProfileWallet(pool, party, network))) throw new SettleError('NOT_FOUND', `you have no ${network} profile wallet`);
    response.status(204).end();
  });

  return router;
}
