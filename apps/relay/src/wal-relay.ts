import { inspectRelaySlot, type Pool } from '@settle/db';
import { RelayBackoff, sleep } from './backoff';
import { databaseError, RelayError } from './errors';
import { type Lsn, parseLsn } from './lsn';
import { streamFromSlot, type WalStreamOptions } from './wal-stream';

/** The stream's options (each session gets them), plus what the relay needs across sessions. */
export interface WalRelayOptions extends WalStreamOptions {
  pool: Pool;
  /** How often a missing slot is looked for again. */
  slotRecheckMs: number;
  /** Every failure, classified; non-retryable ones (a lost slot) make /health fail. */
  onFailure(error: RelayError): void;
  onSlotOk(): void;
}

/**
 * The active WAL relay: checks the slot, streams from it with a fresh session, and after any failure backs off
 * and starts another fresh session from the slot's confirmed position. It never creates a slot: a slot that
 * setup recorded and that has vanished stops it here, loudly, until an operator acts.
 */
export async function runWalRelay(options: WalRelayOptions, signal: AbortSignal): Promise<void> {
  const backoff = new RelayBackoff();
  let busySince: number | null = null;
  while (!signal.aborted) {
    let start: Lsn;
    try {
      const slot = await inspectRelaySlot(options.pool, options.slot).catch((error: unknown) => {
        throw databaseError(error, 'DATABASE_UNAVAILABLE', 'looking up the replication slot');
      });
      if (slot.status !== 'ok') {
        options.metrics.slotMissing.set(1);
        throw new RelayError(slot.status === 'missing' ? 'SLOT_MISSING' : 'SLOT_NOT_SET_UP', slot.reason);
      }
      options.metrics.slotMissing.set(0);
      options.onSlotOk();
      if (slot.active) {
        // Usually the walsender of a relay that just died, which Postgres notices within moments.
        busySince ??= Date.now();
        if (Date.now() - busySince > 10_000) {
          options.logger.warn({ slot: options.slot }, 'the replication slot is still in use by another connection');
          busySince = Date.now();
        }
        await sleep(200, signal);
        continue;
      }
      busySince = null;
      start = parseLsn(slot.confirmedFlushLsn ?? '0/0');
    } catch (error) {
      const failure = error instanceof RelayError ? error : databaseError(error, 'DATABASE_UNAVAILABLE', 'checking the slot');
      options.onFailure(failure);
      await sleep(
        failure.code === 'SLOT_MISSING' || failure.code === 'SLOT_NOT_SET_UP' ? options.slotRecheckMs : backoff.next(failure.retryable),
        signal,
      );
      continue;
    }

    let progressed = false;
    try {
      await streamFromSlot(
        {
          ...options,
          onProgress: (watermark) => {
            progressed = true;
            options.onProgress(watermark);
          },
        },
        start,
        signal,
      );
    } catch (error) {
      const failure = error instanceof RelayError ? error : new RelayError('REPLICATION_FAILED', 'replication session', { cause: error });
      options.metrics.restarts.inc({ code: failure.code });
      options.onFailure(failure);
      if (progressed) backoff.reset();
      await sleep(backoff.next(failure.retryable), signal);
    }
  }
}
