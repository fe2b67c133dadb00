import { fiatMinorUnits } from '@settle/domain';
import { z } from './zod';

// The schemas of the wire values the domain builds, defined once in @settle/wire.
export { actor, eventType, isoTime, network, orderType, party, paymentMethod, role, status, uuid } from '@settle/wire';

const MAX_DIGITS = 30;

/** An exact positive decimal as a string (never a JS number): up to 20 integer and 18 fractional digits. */
export const decimalString = (what: string) =>
  z
    .string({ error: `${what} must be a decimal string such as "100.50"` })
    .regex(
      /^\d{1,20}(\.\d{1,18})?$/,
      `${what} must be a positive decimal string such as "100.50" (digits, one optional dot, no sign or exponent)`,
    )
    .refine((value) => value.replace('.', '').length <= MAX_DIGITS, `${what} has too many digits`)
    .refine((value) => /[1-9]/.test(value), `${what} must be greater than zero`)
    .openapi({ type: 'string', example: '100.00' });

export const currency = (what: string) =>
  z
    .string()
    .regex(/^[A-Z][A-Z0-9]{1,9}$/, `${what} must be an upper-case currency code such as USDT or AED`)
    .openapi({ example: 'USDT' });

/** An ISO 4217 fiat currency code; its minor units (0, 2 or 3) bound the fiat amount's decimals. */
export const fiatCurrency = z
  .string()
  .regex(/^[A-Z]{3}$/, 'fiatCurrency must be a three-letter ISO 4217 code such as AED or INR')
  .refine((code) => fiatMinorUnits(code) !== undefined, 'fiatCurrency must be an ISO 4217 fiat currency code such as AED or INR')
  .openapi({ example: 'AED', description: 'ISO 4217 code; fiatAmount has at most its minor units of decimals' });

/** An identifier of a party (user or merchant). */
export const partyId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:@-]+$/, 'ids use letters, digits and _ . : @ - only')
  .openapi({ example: 'merchant-alpha' });

/**
 * A wallet address: EVM `0x` + 40 hex (EIP-55 checksum when mixed case) or a base58check Tron `T…` address. Which
 * form, and the checksum, are checked against the order's network; the stored form is EIP-55 (EVM) or as given (Tron).
 */
export const walletAddress = z
  .string()
  .regex(
    /^(0x[0-9a-fA-F]{40}|T[1-9A-HJ-NP-Za-km-z]{33})$/,
    'a wallet address is 0x followed by 40 hex digits (EVM) or a base58check Tron address starting with T (34 characters)',
  )
  .openapi({ example: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t' });

/**
 * A transaction hash: 64 hex digits, optionally `0x`-prefixed, in either case. It is stored in the network's one
 * canonical form (EVM `0x` + lower-case hex, Tron lower-case hex), so every spelling of a hash is the same hash.
 */
export const txHash = z
  .string()
  .regex(/^(0[xX])?[0-9a-fA-F]{64}$/, 'a transaction hash is 64 hex digits, optionally 0x-prefixed (EVM: 0x + 64 hex; Tron: 64 hex)')
  .openapi({ example: '0x4f1c9e2a7b3d5f60a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718' });

/**
 * Whether `text` is well-formed UTF-16, i.e. has no lone surrogate (`"\ud800"` in JSON). Postgres text and jsonb
 * cannot store one, and no character is meant by it.
 */
export const isWellFormedText = (text: string): boolean => (text as string & { isWellFormed(): boolean }).isWellFormed();

/** A string of well-formed Unicode (see isWellFormedText): the rule for every free-text field. */
export const wellFormedString = (what: string) =>
  z.string().refine(isWellFormedText, `${what} must be well-formed Unicode text (no lone UTF-16 surrogate such as \\ud800)`);

export const shortText = (what: string, max = 1000) =>
  wellFormedString(what).trim().min(1, `${what} must not be empty`).max(max, `${what} is at most ${max} characters`);

/** A W3C Trace Context `traceparent` (version 00 layout, lower-case hex, ids not all zero). */
const TRACEPARENT = /^[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;
export const isTraceparent = (value: unknown): value is string =>
  typeof value === 'string' && TRACEPARENT.test(value) && !value.startsWith('ff');
export const traceparent = z
  .string()
  .refine(isTraceparent, 'must be a W3C traceparent: 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>')
  .openapi({
    description: 'the W3C traceparent of the change (its trace id finds it in every log, message and request)',
    example: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  });
