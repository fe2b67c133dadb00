import type { Logger } from '@settle/observability';
import { RelayError } from './errors';
import { formatLsn, type Lsn } from './lsn';
import type { RelayMetrics } from './metrics';

export type RelayRole = 'starting' | 'standby' | 'active' | 'stopped';

export interface RelayStatus {
  role: RelayRole;
  mode: 'wal' | 'poll';
  /** Active and streaming (WAL) or polling (poll mode). */
  streaming: boolean;
  /** The last failure not yet cleared by progress. */
  problem: { code: RelayError['code']; message: string; retryable: boolean } | null;
  /** WAL mode: the position last acknowledged to Postgres. */
  watermark: string | null;
}

/** What /health, /ready and `status()` report, kept up to date by the relay's loop; logs each change once. */
export class RelayState {
  readonly status: RelayStatus;
  private lastLogged = { message: '', at: 0 };

  constructor(
    mode: RelayStatus['mode'],
    private readonly logger: Logger,
    private readonly metrics: RelayMetrics,
  ) {
    this.status = { role: 'starting', mode, streaming: false, problem: null, watermark: null };
  }

  /** A failure: kept as the problem until progress clears it. The same lasting one is logged when it starts, then once a minute. */
  fail(error: RelayError): void {
    this.status.problem = { code: error.code, message: error.message, retryable: error.retryable };
    const now = Date.now();
    if (error.message === this.lastLogged.message && now - this.lastLogged.at < 60_000) return;
    this.lastLogged = { message: error.message, at: now };
    if (error.retryable) this.logger.warn({ err: error, code: error.code }, 'relay failure; restarting from the slot');
    else this.logger.error({ err: error, code: error.code }, 'relay cannot proceed until this is fixed');
  }

  /** The loop itself failed (a bug): the relay reports it for good. */
  crashed(error: unknown): void {
    this.fail(new RelayError('REPLICATION_FAILED', 'the relay loop crashed', { cause: error }));
    this.status.problem = { code: 'REPLICATION_FAILED', message: `the relay loop crashed: ${String(error)}`, retryable: false };
  }

  /** Events reached Kafka (and, in WAL mode, the position acknowledged): any problem is over. */
  progressed(watermark: Lsn | null): void {
    if (watermark !== null) this.status.watermark = formatLsn(watermark);
    if (this.status.problem !== null) {
      this.logger.info({ cleared: this.status.problem.code }, 'relay recovered');
      this.status.problem = null;
    }
  }

  /** The slot that was missing (or not set up) exists again. */
  slotFound(): void {
    const code = this.status.problem?.code;
    if (code === 'SLOT_MISSING' || code === 'SLOT_NOT_SET_UP') this.progressed(null);
  }

  setStreaming(streaming: boolean): void {
    this.status.streaming = streaming;
    this.metrics.streaming.set(streaming ? 1 : 0);
  }

  /** Healthy while no problem needs a person (a retryable one heals by itself). */
  healthy(): boolean {
    return this.status.problem === null || this.status.problem.retryable;
  }

  /** Ready when active and streaming with no problem a person must fix. */
  ready(): boolean {
    return this.status.role === 'active' && this.status.streaming && this.healthy();
  }

  snapshot(): RelayStatus {
    return { ...this.status, problem: this.status.problem === null ? null : { ...this.status.problem } };
  }
}
