import type { OrderView, Role, Status } from '@settle/wire';

export const TERMINAL_STATUSES: readonly Status[] = ['completed', 'cancelled', 'expired'];

/** Who performs a change: from a verified token, or the system (timers, repairs); never from a request body. */
export type Actor = { role: Role; id: string } | { role: 'system'; id: 'system' };

export const SYSTEM_ACTOR: Actor = { role: 'system', id: 'system' };

/**
 * An order as the domain sees it and stores it: the wire's order view without the fields derived from it
 * (`minimalStatus`, `recipientWallet`; see toView), so a field added to the view must be built here too.
 */
export type Order = Omit<OrderView, 'minimalStatus' | 'recipientWallet'>;
