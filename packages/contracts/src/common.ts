import { EVENT_TYPES, ORDER_TYPES, PARTY_KINDS, PAYMENT_METHODS, ROLES, STATUSES } from '@settle/domain';
import { z } from './zod';

const MAX_DIGITS = 30;

/** An exact positive decimal as a string (never a JS number): up to 20 integer and 18 fractional digits. */
export const decimalString = (what: string) =>
  z
    .string({ error: `${what} must be a decimal string such as "100.50"` })
    .regex(/^\d{1,20}(\.\d{1,18})?$/, `${what} must be a positive decimal string such as "100.50" (digits, one optional dot, no sign or exponent)`)
    .refine((value) => value.replace('.', '').length <= MAX_DIGITS, `${what} has too many digits`)
    .refine((value) => /[1-9]/.test(value), `${what} must be greater than zero`)
    .openapi({ type: 'string', example: '100.00' });

export const currency = (what: string) =>
  z
    .string()
    .regex(/^[A-Z][A-Z0-9]{1,9}$/, `${what} must be an upper-case currency code such as USDT or AED`)
    .openapi({ example: 'USDT' });

/** An identifier of a party (user or merchant). */
export const partyId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:@-]+$/, 'ids use letters, digits and _ . : @ - only')
  .openapi({ example: 'merchant-alpha' });

export const walletAddress = z
  .string()
  .min(8, 'a wallet address has at least 8 characters')
  .max(128)
  .regex(/^[A-Za-z0-9]+$/, 'a wallet address is letters and digits only')
  .openapi({ example: 'TXYZ1234567890abcdef' });

export const txHash = z
  .string()
  .min(8, 'a transaction hash has at least 8 characters')
  .max(128)
  .regex(/^(0x)?[A-Za-z0-9]+$/, 'a transaction hash is letters and digits (optionally 0x-prefixed)')
  .openapi({ example: '0x9f2c4e7a1b3d5f60' });

export const shortText = (what: string, max = 1000) => z.string().trim().min(1, `${what} must not be empty`).max(max, `${what} is at most ${max} characters`);

export const uuid = z.uuid({ error: 'must be a UUID' });
export const isoTime = z.string().openapi({ format: 'date-time', example: '2026-11-25T10:00:00.000Z' });

export const orderType = z.enum(ORDER_TYPES);
export const status = z.enum(STATUSES);
export const paymentMethod = z.enum(PAYMENT_METHODS);
export const role = z.enum(ROLES);
export const eventType = z.enum(EVENT_TYPES);

export const party = z.object({ kind: z.enum(PARTY_KINDS), id: z.string() }).openapi('Party');
export const actor = z
  .object({ role: z.enum([...ROLES, 'system']), id: z.string() })
  .openapi('Actor', { description: 'who made the change: from the verified token, or the system' });
