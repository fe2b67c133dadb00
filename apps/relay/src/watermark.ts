import type { Lsn } from './lsn';

/**
 * One unit of the replication stream in stream order: a transaction (acknowledgeable at its commit end LSN once
 * every message of it is acknowledged by Kafka) or a heartbeat (no messages, acknowledgeable at once).
 */
export interface StreamEntry {
  /** Messages handed to Kafka and not yet acknowledged. */
  pending: number;
  /** Where Postgres may resume after this entry; null while the transaction's commit has not arrived. */
  endLsn: Lsn | null;
  /** Commit time in ms since the epoch (latency metric); null for heartbeats. */
  commitTimeMs: number | null;
  /** When the relay received the transaction from the WAL (ms since the epoch). */
  receivedAtMs: number;
  /**
   * Postgres time (µs since the epoch) of this entry: a transaction's commit time, or when a heartbeat was written.
   * Once the watermark passes it, every commit up to that time is acknowledged.
   */
  timeUs: bigint | null;
}

/**
 * The LSN up to which everything is acknowledged by Kafka. Entries are kept in stream (commit) order; the
 * watermark only moves past an entry when it and every entry before it are closed and fully acknowledged, so a
 * fast later transaction never lets the slot skip a slow earlier one.
 */
export class Watermark {
  private readonly entries: StreamEntry[] = [];
  private head = 0;
  private current: Lsn;
  private currentTimeUs: bigint | null = null;

  /** @param start the slot's confirmed position when streaming began (nothing before it is ever re-acked). */
  constructor(start: Lsn) {
    this.current = start;
  }

  /** The acknowledgeable position. */
  get lsn(): Lsn {
    return this.current;
  }

  /** Postgres time (µs since the epoch) of the latest entry passed, or null when none with a time was passed yet. */
  get timeUs(): bigint | null {
    return this.currentTimeUs;
  }

  /** Entries not yet passed by the watermark. */
  get open(): number {
    return this.entries.length - this.head;
  }

  /** Starts a transaction at the tail of the stream; close it with `commit`. */
  begin(commitTimeMs: number | null, timeUs: bigint | null = null): StreamEntry {
    const entry: StreamEntry = { pending: 0, endLsn: null, commitTimeMs, receivedAtMs: Date.now(), timeUs };
    this.entries.push(entry);
    return entry;
  }

  /** Marks a transaction's commit (its end LSN); returns the watermark after advancing. */
  commit(entry: StreamEntry, endLsn: Lsn): Lsn {
    entry.endLsn = endLsn;
    return this.advance();
  }

  /** A heartbeat or other message without Kafka output at `lsn`; returns the watermark after advancing. */
  mark(lsn: Lsn, timeUs: bigint | null = null): Lsn {
    this.entries.push({ pending: 0, endLsn: lsn, commitTimeMs: null, receivedAtMs: Date.now(), timeUs });
    return this.advance();
  }

  /** Kafka acknowledged `count` messages of `entry`; returns the watermark after advancing. */
  acknowledge(entry: StreamEntry, count = 1): Lsn {
    entry.pending -= count;
    if (entry.pending < 0) throw new Error('watermark: more acknowledgements than messages');
    return this.advance();
  }

  private advance(): Lsn {
    while (this.head < this.entries.length) {
      const entry = this.entries[this.head];
      if (entry === undefined || entry.endLsn === null || entry.pending > 0) break;
      // Never move backwards: an LSN at or below the start was confirmed before this stream began.
      if (entry.endLsn > this.current) this.current = entry.endLsn;
      if (entry.timeUs !== null && (this.currentTimeUs === null || entry.timeUs > this.currentTimeUs)) this.currentTimeUs = entry.timeUs;
      this.head += 1;
    }
    // Compact now and then so a long stream does not keep every passed entry alive.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
    return this.current;
  }
}
