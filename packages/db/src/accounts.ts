import type { Queryable } from './pool';

export type AccountKind = 'user' | 'merchant' | 'compliance';

export interface Account {
  kind: AccountKind;
  id: string;
  name: string | null;
  walletAddress: string | null;
}

/** Creates the account when missing; a given wallet or name replaces the stored one. */
export async function upsertAccount(db: Queryable, account: { kind: AccountKind; id: string; name?: string | undefined; walletAddress?: string | undefined }): Promise<Account> {
  const result = await db.query<{ kind: AccountKind; id: string; name: string | null; wallet_address: string | null }>(
    `INSERT INTO accounts (kind, id, name, wallet_address) VALUES ($1, $2, $3, $4)
     ON CONFLICT (kind, id) DO UPDATE SET name = COALESCE(EXCLUDED.name, accounts.name), wallet_address = COALESCE(EXCLUDED.wallet_address, accounts.wallet_address)
     RETURNING kind, id, name, wallet_address`,
    [account.kind, account.id, account.name ?? null, account.walletAddress ?? null],
  );
  const row = result.rows[0];
  if (row === undefined) throw new Error('upsert returned no row');
  return { kind: row.kind, id: row.id, name: row.name, walletAddress: row.wallet_address };
}

/** Every merchant, by id. */
export async function listMerchants(db: Queryable): Promise<Array<{ id: string; name: string | null; walletAddress: string | null }>> {
  const result = await db.query<{ id: string; name: string | null; wallet_address: string | null }>(`SELECT id, name, wallet_address FROM accounts WHERE kind = 'merchant' ORDER BY id`);
  return result.rows.map((row) => ({ id: row.id, name: row.name, walletAddress: row.wallet_address }));
}
