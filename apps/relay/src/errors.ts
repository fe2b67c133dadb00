/**
 * The relay's failures, one closed code union with one table that says whether waiting and retrying can fix
 * it. Non-retryable failures still get retried (slowly) because a person may fix the cause while the relay
 * runs, but they turn /health red and name the reason.
 */
export type RelayErrorCode =
  /** The recorded slot vanished or was invalidated: events may be lost, ops must act. */
  | 'SLOT_MISSING'
  /** Setup never created the slot. */
  | 'SLOT_NOT_SET_UP'
  /** The replication connection failed or ended (server restart, network, slot busy). */
  | 'REPLICATION_FAILED'
  /** Postgres unreachable for ordinary queries (poll mode, heartbeats, lag). */
  | 'DATABASE_UNAVAILABLE'
  /** Kafka unreachable, timed out, leader moving, producer state lost: a fresh producer will do. */
  | 'KAFKA_UNAVAILABLE'
  /** Kafka refused the records themselves (too large, not authorised, invalid topic). */
  | 'KAFKA_REJECTED'
  /** An outbox row the relay cannot turn into a Kafka message. */
  | 'INVALID_ROW'
  /** The advisory lock connection dropped: another relay may be active now. */
  | 'LOCK_LOST';

const RETRYABLE: Record<RelayErrorCode, boolean> = {
  SLOT_MISSING: false,
  SLOT_NOT_SET_UP: false,
  REPLICATION_FAILED: true,
  DATABASE_UNAVAILABLE: true,
  KAFKA_UNAVAILABLE: true,
  KAFKA_REJECTED: false,
  INVALID_ROW: false,
  LOCK_LOST: true,
};

export class RelayError extends Error {
  override name = 'RelayError';
  readonly retryable: boolean;

  constructor(
    readonly code: RelayErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.retryable = RETRYABLE[code];
  }
}

/** Kafka protocol errors that a new producer or more waiting cannot fix. */
const PERMANENT_KAFKA_TYPES = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'INVALID_TOPIC_EXCEPTION',
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'POLICY_VIOLATION',
  'INVALID_REQUIRED_ACKS',
  'UNSUPPORTED_VERSION',
]);

/** Wraps a kafkajs failure, classifying it by the innermost kafkajs error (retries-exceeded wraps the real one). */
export function kafkaError(error: unknown, doing: string): RelayError {
  if (error instanceof RelayError) return error;
  const root = innermost(error);
  const type = typeof root === 'object' && root !== null && 'type' in root ? String(root.type) : undefined;
  const name = root instanceof Error ? root.name : '';
  const permanent = (type !== undefined && PERMANENT_KAFKA_TYPES.has(type)) || name === 'KafkaJSSASLAuthenticationError';
  const detail = root instanceof Error ? root.message : String(root);
  return new RelayError(permanent ? 'KAFKA_REJECTED' : 'KAFKA_UNAVAILABLE', `${doing}: ${detail}`, { cause: error });
}

/** Wraps a failure of the replication connection or an ordinary query. */
export function databaseError(error: unknown, code: 'REPLICATION_FAILED' | 'DATABASE_UNAVAILABLE', doing: string): RelayError {
  if (error instanceof RelayError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new RelayError(code, `${doing}: ${detail}`, { cause: error });
}

function innermost(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 10; depth += 1) {
    if (typeof current !== 'object' || current === null) return current;
    const next =
      'originalError' in current && current.originalError !== undefined
        ? current.originalError
        : 'cause' in current
          ? current.cause
          : undefined;
    if (next === undefined || next === null || next === current) return current;
    current = next;
  }
  return current;
}
