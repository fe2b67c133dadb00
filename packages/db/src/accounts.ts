import type { Network, Party } from '@settle/domain';
import type { Queryable } from './pool';

export type AccountKind = 'user' | 'merchant' | 'compliance';

/** Profile wallets by network (canonical addresses). */
export type WalletsByNetwork = Partial<Record<Network, string>>;

export interface Account {
  kind: AccountKind;
  id: string;
  name: string | null;
  wallets: WalletsByNetwork;
}

/**
 * Creates the account when missing; a given name replaces the stored one, a given wallet (canonical address on
 * its network) becomes the profile wallet on that network.
 */
export async function upsertAccount(
  db: Queryable,
  account: { kind: AccountKind; id: string; name?: string | undefined; wallet?: { network: Network; address: string } | undefined },
): Promise<Account> {
  await db.query(
    `WITH account AS (
       INSERT INTO accounts (kind, id, name) VALUES ($1, $2, $3)
       ON CONFLICT (kind, id) DO UPDATE SET name = COALESCE(EXCLUDED.name, accounts.name)
       RETURNING kind, id
     )
     INSERT INTO account_wallets (kind, id, network, address)
     SELECT kind, id, $4, $5 FROM account WHERE $4::text IS NOT NULL
     ON CONFLICT (kind, id, network) DO UPDATE SET address = EXCLUDED.address, updated_at = now()`,
    [account.kind, account.id, account.name ?? null, account.wallet?.network ?? null, account.wallet?.address ?? null],
  );
  const found = await getAccount(db, account.kind, account.id);
  if (found === null) throw new Error('upsert left no account');
  return found;
}

/** One account with its profile wallets; null when it does not exist. */
export async function getAccount(db: Queryable, kind: AccountKind, id: string): Promise<Account | null> {
  const result = await db.query<{ name: string | null; wallets: WalletsByNetwork }>(
    `SELECT a.name, (SELECT coalesce(json_object_agg(w.network, w.address), '{}'::json) FROM account_wallets w WHERE w.kind = a.kind AND w.id = a.id) AS wallets
       FROM accounts a WHERE a.kind = $1 AND a.id = $2`,
    [kind, id],
  );
  const row = result.rows[0];
  return row === undefined ? null : { kind, id, name: row.name, wallets: row.wallets };
}

/** Removes a profile wallet; true when there was one. */
export async function removeProfileWallet(db: Queryable, party: Party, network: Network): Promise<boolean> {
  const result = await db.query(`DELETE FROM account_wallets WHERE kind = $1 AND id = $2 AND network = $3`, [
    party.kind,
    party.id,
    network,
  ]);
  return (result.rowCount ?? 0) > 0;
}

/** Every merchant, by id, with its wallets (callers show them to that merchant only). */
export async function listMerchants(db: Queryable): Promise<Array<{ id: string; name: string | null; wallets: WalletsByNetwork }>> {
  const result = await db.query<{ id: string; name: string | null; wallets: WalletsByNetwork }>(
    `SELECT a.id, a.name, (SELECT coalesce(json_object_agg(w.network, w.address), '{}'::json) FROM account_wallets w WHERE w.kind = a.kind AND w.id = a.id) AS wallets
       FROM accounts a WHERE a.kind = 'merchant' ORDER BY a.id`,
  );
  return result.rows;
}
