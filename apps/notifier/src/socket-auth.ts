import { createTokenVerifier, type Principal, type TokenVerifier } from '@settle/auth';
import type { NotifierConfig } from '@settle/config';
import { handshakeAuth } from '@settle/contracts';
import type { NotifierServer, NotifierSocket } from './socket-types';

// setTimeout overflows above 2^31-1 ms (~24.8 days); longer expiries are re-armed.
const MAX_TIMER = 2_147_483_647;

/** The inbox of a principal: `merchant:<id>`, `user:<id>` or `compliance:compliance`. */
export const recipientOf = (principal: Principal): string =>
  principal.role === 'compliance' ? 'compliance:compliance' : `${principal.role}:${principal.id}`;

/** The token verifier; without JWT_SECRET/JWKS_URL every handshake is refused with the reason (the process still runs). */
export function safeVerifier(config: NotifierConfig): TokenVerifier {
  try {
    return createTokenVerifier(config);
  } catch (error) {
    return () => Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/** Every handshake must carry a valid token (`auth.token`, and `auth.lastSeq` to resume); the socket's data is its principal's. */
export function authenticate(io: NotifierServer, verify: TokenVerifier): void {
  io.use((socket, next) => {
    const auth = handshakeAuth.safeParse(socket.handshake.auth);
    if (!auth.success) {
      next(
        Object.assign(new Error(`unauthorized: ${auth.error.issues[0]?.message ?? 'auth.token is required'}`), {
          data: { code: 'UNAUTHENTICATED' },
        }),
      );
      return;
    }
    verify(auth.data.token).then(
      (principal) => {
        socket.data = { principal, recipient: recipientOf(principal), lastSeq: auth.data.lastSeq };
        next();
      },
      (error: unknown) => {
        const detail = error instanceof Error ? error.message : String(error);
        next(Object.assign(new Error(`unauthorized: ${detail}`), { data: { code: 'UNAUTHENTICATED' } }));
      },
    );
  });
}

/** Disconnects the socket (after `session_expired`) when its token expires; the returned timer is cleared on disconnect. */
export function armExpiry(socket: NotifierSocket): { timer: NodeJS.Timeout | undefined } {
  const holder: { timer: NodeJS.Timeout | undefined } = { timer: undefined };
  const exp = socket.data.principal.exp;
  if (exp === undefined) return holder;
  const arm = (): void => {
    const left = exp * 1000 - Date.now();
    if (left <= 0) {
      socket.emit('session_expired');
      socket.disconnect(true);
      return;
    }
    holder.timer = setTimeout(arm, Math.min(left, MAX_TIMER));
  };
  arm();
  return holder;
}

/**
 * Disconnects a socket that sends more than `perSecond` events within a second (join_order reads the orders table,
 * so a flood costs the database). Only client events pass socket.use; acks of notifications are not counted.
 */
export function guardEventRate(socket: NotifierSocket, perSecond: number, onExceeded: () => void): void {
  let windowStart = 0;
  let count = 0;
  socket.use((_packet, next) => {
    const now = Date.now();
    if (now - windowStart >= 1_000) {
      windowStart = now;
      count = 0;
    }
    count += 1;
    if (count <= perSecond) {
      next();
      return;
    }
    if (socket.connected) {
      onExceeded();
      socket.disconnect(true);
    }
  });
}
