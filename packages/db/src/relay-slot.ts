import type { Pool, PoolClient, Queryable } from './pool';

/** What the relay finds when it looks for its replication slot. */
export type RelaySlotState =
  | { status: 'ok'; active: boolean; confirmedFlushLsn: string | null }
  /** Setup recorded the slot but it is gone or unusable: events since its last position may be lost. */
  | { status: 'missing'; reason: string }
  /** Setup never ran for this slot name: nothing to stream from yet. */
  | { status: 'not-set-up'; reason: string };

/** What `setupRelaySlot` did. `missing`: the recorded slot vanished and setup deliberately did not re-create it. */
export type RelaySlotSetup = 'created' | 'exists' | 'adopted' | 'missing';

interface SlotRow {
  recorded: string | null;
  recorded_at: Date | null;
  present: string | null;
  database: string | null;
  plugin: string | null;
  wal_status: string | null;
  active: boolean | null;
  confirmed_flush_lsn: string | null;
  current_db: string;
}

const INSPECT_SQL = `
SELECT r.slot_name AS recorded, r.created_at AS recorded_at,
       s.slot_name AS present, s.database, s.plugin, s.wal_status, s.active,
       s.confirmed_flush_lsn::text AS confirmed_flush_lsn, current_database() AS current_db
  FROM (SELECT $1::text AS name) AS wanted
  LEFT JOIN relay_slots AS r ON r.slot_name = wanted.name
  LEFT JOIN pg_replication_slots AS s ON s.slot_name = wanted.name`;

/** Looks up the relay's slot and the setup record of it; never changes anything. */
export async function inspectRelaySlot(db: Queryable, slot: string): Promise<RelaySlotState> {
  const { rows } = await db.query<SlotRow>(INSPECT_SQL, [slot]);
  const row = rows[0];
  if (row === undefined) throw new Error('inspectRelaySlot: the lookup returned no row');
  if (row.present === null) {
    if (row.recorded === null) {
      return {
        status: 'not-set-up',
        reason: `replication slot "${slot}" was never created by setup (run the relay setup, e.g. npm start)`,
      };
    }
    return {
      status: 'missing',
      reason:
        `replication slot "${slot}" was created by setup at ${row.recorded_at?.toISOString() ?? '?'} but no longer exists; ` +
        'the relay will not re-create it by itself because events committed since its last position would be skipped. ' +
        'Re-publish the affected outbox rows, then run `settle-ops relay recreate-slot`.',
    };
  }
  if (row.database !== row.current_db) {
    return {
      status: 'missing',
      reason: `replication slot "${slot}" belongs to database "${row.database ?? '?'}", not "${row.current_db}"`,
    };
  }
  if (row.plugin !== 'pgoutput') {
    return { status: 'missing', reason: `replication slot "${slot}" uses plugin "${row.plugin ?? '?'}", not pgoutput` };
  }
  if (row.wal_status === 'lost') {
    return {
      status: 'missing',
      reason: `replication slot "${slot}" was invalidated (its WAL was removed); events since its last position are lost`,
    };
  }
  return { status: 'ok', active: row.active === true, confirmedFlushLsn: row.confirmed_flush_lsn };
}

/**
 * The relay's setup step (`npm start`, deployments): creates the logical replication slot the first time and
 * records that it did. Later runs leave an existing slot alone and never re-create a recorded slot that vanished
 * (that returns `missing`; the relay then refuses to start and says why). A slot that exists without a record is
 * adopted. Serialised by an advisory lock so concurrent setups cannot race.
 */
export async function setupRelaySlot(pool: Pool, slot: string, publication: string): Promise<RelaySlotSetup> {
  return withSetupLock(pool, slot, async (client) => {
    await requirePublication(client, publication);
    const state = await inspectRelaySlot(client, slot);
    if (state.status === 'missing') return 'missing';
    if (state.status === 'ok') {
      const recorded = await client.query(
        `INSERT INTO relay_slots (slot_name, publication) VALUES ($1, $2) ON CONFLICT (slot_name) DO NOTHING`,
        [slot, publication],
      );
      return recorded.rowCount === 1 ? 'adopted' : 'exists';
    }
    await createSlot(client, slot);
    await client.query(`INSERT INTO relay_slots (slot_name, publication) VALUES ($1, $2)`, [slot, publication]);
    return 'created';
  });
}

/**
 * The explicit ops action for a lost slot (`settle-ops relay recreate-slot`): creates the slot again from the
 * current WAL position and records when. Events committed while the slot was missing are NOT streamed; re-publish
 * them from the outbox first. Returns false when the slot already exists (nothing done).
 */
export async function recreateRelaySlot(pool: Pool, slot: string, publication: string): Promise<boolean> {
  return withSetupLock(pool, slot, async (client) => {
    await requirePublication(client, publication);
    const present = await client.query(`SELECT 1 FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
    if (present.rowCount !== 0) return false;
    await createSlot(client, slot);
    await client.query(
      `INSERT INTO relay_slots (slot_name, publication, recreated_at, recreate_count) VALUES ($1, $2, now(), 1)
       ON CONFLICT (slot_name) DO UPDATE SET recreated_at = now(), recreate_count = relay_slots.recreate_count + 1,
                                             publication = EXCLUDED.publication`,
      [slot, publication],
    );
    return true;
  });
}

async function createSlot(client: PoolClient, slot: string): Promise<void> {
  // Autocommit on purpose: a logical slot cannot be created in a transaction that has written anything.
  await client.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
}

async function requirePublication(client: PoolClient, publication: string): Promise<void> {
  const found = await client.query(`SELECT 1 FROM pg_publication WHERE pubname = $1`, [publication]);
  if (found.rowCount === 0) throw new Error(`publication "${publication}" does not exist: run the migrations first`);
}

async function withSetupLock<T>(pool: Pool, slot: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  const key = `settle-relay-setup:${slot}`;
  // A connection whose unlock failed is destroyed rather than returned: closing the session frees the lock.
  let broken: Error | undefined;
  try {
    await client.query(`SELECT pg_advisory_lock(hashtextextended($1, 0))`, [key]);
    try {
      return await work(client);
    } finally {
      await client.query(`SELECT pg_advisory_unlock(hashtextextended($1, 0))`, [key]).catch((error: unknown) => {
        broken = error instanceof Error ? error : new Error(String(error));
      });
    }
  } finally {
    client.release(broken);
  }
}
