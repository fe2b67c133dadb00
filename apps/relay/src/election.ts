import pg from 'pg';
import type { Logger } from '@settle/observability';
import { sleep } from './backoff';
import { databaseError, RelayError } from './errors';

export interface Leadership {
  /** Aborts when the lock's connection is lost: another instance may be active from then on. */
  lost: AbortSignal;
  /** Releases the lock (closing its connection). */
  release(): Promise<void>;
}

export interface ElectionOptions {
  databaseUrl: string;
  /** Instances with the same key compete; the relay uses its slot name. */
  key: string;
  /** How often a standby retries. */
  pollMs: number;
  logger: Logger;
}

/**
 * Waits until this instance holds the session-level advisory lock for `key` on a dedicated connection and returns
 * it; resolves null when `signal` aborts first. Postgres frees the lock when the holder's session ends, so a
 * crashed (even SIGKILLed) active relay is replaced within one poll interval of its connection closing.
 */
export async function becomeLeader(options: ElectionOptions, signal: AbortSignal, onStandby: () => void): Promise<Leadership | null> {
  let announced = false;
  while (!signal.aborted) {
    const client = new pg.Client({ connectionString: options.databaseUrl, application_name: 'settle-relay-lock', keepAlive: true });
    // Until the lock is ours an error only means "try again"; afterwards it means the lock is gone.
    const early = (error: Error): void => options.logger.debug({ err: error }, 'election connection error');
    client.on('error', early);
    try {
      await client.connect();
      while (!signal.aborted) {
        const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked`, [
          lockName(options.key),
        ]);
        if (rows[0]?.locked === true) {
          client.off('error', early);
          return holdLock(client, options);
        }
        if (!announced) {
          announced = true;
          onStandby();
          options.logger.info({ key: options.key }, 'another relay is active: waiting as standby');
        }
        await sleep(options.pollMs, signal);
      }
    } catch (error) {
      const wrapped = databaseError(error, 'DATABASE_UNAVAILABLE', 'taking the relay advisory lock');
      options.logger.warn({ err: wrapped }, 'relay election failed; retrying');
      await sleep(Math.max(options.pollMs, 500), signal);
    }
    await client.end().catch(() => undefined);
  }
  return null;
}

function holdLock(client: pg.Client, options: ElectionOptions): Leadership {
  const controller = new AbortController();
  let released = false;
  const lose = (reason: unknown): void => {
    if (released || controller.signal.aborted) return;
    const error = new RelayError('LOCK_LOST', 'the advisory lock connection was lost', { cause: reason });
    options.logger.error({ err: error }, 'lost the relay advisory lock: stepping down');
    controller.abort(error);
  };
  client.on('error', lose);
  client.on('end', () => lose(new Error('connection ended')));
  // A query now and then notices a half-open connection that would otherwise keep us "active" forever.
  const probe = setInterval(() => {
    client.query('SELECT 1').catch(lose);
  }, 2_000);
  probe.unref();
  return {
    lost: controller.signal,
    async release() {
      released = true;
      clearInterval(probe);
      await client.end().catch(() => undefined);
    },
  };
}

function lockName(key: string): string {
  return `settle-relay:${key}`;
}
