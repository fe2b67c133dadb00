import { STATUSES, type Status } from '@settle/wire';

/** Legacy status names older clients still send or show, mapped to the 8 statuses. */
export const LEGACY_STATUS_ALIASES: Readonly<Record<string, Status>> = {
  pending: 'open',
  escrow_pending: 'accepted',
  payment_pending: 'escrowed',
  payment_confirmed: 'payment_sent',
  releasing: 'completed',
};

/** The 8-value status for a current or legacy status name; undefined for anything else. */
export function minimalStatus(status: string): Status | undefined {
  if ((STATUSES as readonly string[]).includes(status)) return status as Status;
  return LEGACY_STATUS_ALIASES[status];
}
