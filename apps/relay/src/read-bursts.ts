import net from 'node:net';
import type { Duplex } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { LogicalReplicationService } from 'pg-logical-replication';

/** The parts of pg-logical-replication 2.5 this module reads; they are not in its typings. */
interface ServiceInternals {
  /** Decoded messages waiting for the `data` handler while flow control is on. */
  _messageQueue?: unknown[];
  /** The pg connection; its `stream` is the replication socket. */
  _connection?: { stream?: Duplex } | null;
}

/**
 * Tells the WAL relay when it has handled everything Postgres has sent, so it can send what gathered in one produce
 * request and then leave the replication socket unread for the linger. At a steady load that makes one read, one
 * produce request and one acknowledgement per linger instead of per transaction; draining a backlog, there is always
 * more to read and nothing waits.
 *
 * Two bends make this work, both measured in bench:relay (RELAY_LINGER_MS=0 turns them off):
 * - The replication socket is made with a one-byte readable high-water mark (pg's `stream` option). The library
 *   pauses the socket while the relay handles messages; with Node's default mark a paused socket still reads every
 *   arriving segment into its buffer (a wakeup per transaction), with this one it stops reading after the first and
 *   the kernel holds the rest until the relay reads again.
 * - pg-logical-replication's flow-control queue (`_messageQueue`) and socket are read, though the library does not
 *   expose them (2.5.0, pinned in package-lock.json). When a later version lacks them, `attach` answers false and
 *   the relay sends every event at once, as with RELAY_LINGER_MS=0; it never waits on a signal that cannot come.
 */
export class ReadBursts {
  private internals: ServiceInternals | null = null;

  /** Client options for the replication connection: a socket that stops reading while it is paused. */
  static clientOptions(): { stream: () => Duplex } {
    // net.Socket passes its options on to stream.Duplex, whose readableHighWaterMark @types/node leaves out here.
    return { stream: () => new net.Socket({ readableHighWaterMark: 1 } as net.SocketConstructorOpts) };
  }

  /** Starts watching `service` (call once streaming started); false when its internals are not as expected. */
  attach(service: LogicalReplicationService): boolean {
    const internals = service as unknown as ServiceInternals;
    if (internals._connection?.stream === undefined || !Array.isArray(internals._messageQueue)) return false;
    this.internals = internals;
    return true;
  }

  /**
   * Resolves true when every message read so far was handled and the socket holds nothing more. Called from the
   * `data` handler after a message: the first await lets the rest of the current read be decoded into the queue,
   * the second gives the event loop one turn to read what the kernel holds.
   */
  async ended(): Promise<boolean> {
    await Promise.resolve();
    if (this.pending()) return false;
    await nextTurn();
    return !this.pending();
  }

  private pending(): boolean {
    const internals = this.internals;
    if (internals === null) return true;
    return (internals._messageQueue?.length ?? 0) > 0 || (internals._connection?.stream?.readableLength ?? 0) > 0;
  }
}
