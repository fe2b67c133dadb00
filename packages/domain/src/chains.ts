import type { Network } from '@settle/wire';
import bs58check from 'bs58check';
import { getAddress, isAddress } from 'viem/utils';
import { SettleError } from './errors';

const EVM_NETWORKS: ReadonlySet<Network> = new Set(['ethereum', 'bsc', 'polygon']);
export const isEvm = (network: Network): boolean => EVM_NETWORKS.has(network);

/** Tron addresses are base58check of 21 bytes: the 0x41 mainnet prefix and the 20-byte account. */
const TRON_ADDRESS_PREFIX = 0x41;

const HASH = /^(?:0x|0X)?([0-9a-fA-F]{64})$/;

/** What a canonical tx hash looks like on `network`, for error details. */
export function txHashForm(network: Network): string {
  return isEvm(network) ? '0x followed by 64 hex digits' : '64 hex digits (no 0x prefix)';
}

/**
 * The one stored spelling of a transaction hash on `network`: EVM `0x` + 64 lower-case hex, Tron 64 lower-case
 * hex. Both accept either case and an optional `0x`, so two spellings of one hash are the same hash.
 * Throws INVALID_INPUT naming `field` and the expected form.
 */
export function canonicalTxHash(network: Network, value: string, field = 'txHash'): string {
  const hex = HASH.exec(value)?.[1];
  if (hex === undefined) {
    throw new SettleError('INVALID_INPUT', `${field} is not a ${network} transaction hash: expected ${txHashForm(network)}`, {
      extra: { errors: [{ path: field, message: `expected ${txHashForm(network)}` }] },
    });
  }
  const lower = hex.toLowerCase();
  return isEvm(network) ? `0x${lower}` : lower;
}

/** What a canonical wallet address looks like on `network`, for error details. */
export function addressForm(network: Network): string {
  return isEvm(network)
    ? '0x followed by 40 hex digits (mixed case must be a valid EIP-55 checksum)'
    : 'a base58check Tron address starting with T (34 characters)';
}

/**
 * The one stored spelling of a wallet address on `network`: EVM addresses EIP-55 checksummed (all-lower or
 * all-upper input is accepted; mixed case must carry a valid checksum), Tron base58check `T…` addresses as given.
 * Throws INVALID_INPUT naming `field` and the expected form.
 */
export function canonicalAddress(network: Network, value: string, field = 'walletAddress'): string {
  const invalid = (): SettleError =>
    new SettleError('INVALID_INPUT', `${field} is not a ${network} address: expected ${addressForm(network)}`, {
      extra: { errors: [{ path: field, message: `expected ${addressForm(network)}` }] },
    });
  if (isEvm(network)) {
    if (!isAddress(value, { strict: false })) throw invalid();
    const body = value.slice(2);
    const singleCase = body === body.toLowerCase() || body === body.toUpperCase();
    if (!singleCase && !isAddress(value, { strict: true })) throw invalid();
    return getAddress(value.toLowerCase());
  }
  if (!/^T[1-9A-HJ-NP-Za-km-z]{33}$/.test(value)) throw invalid();
  let bytes: Uint8Array;
  try {
    bytes = bs58check.decode(value);
  } catch {
    throw invalid();
  }
  if (bytes.length !== 21 || bytes[0] !== TRON_ADDRESS_PREFIX) throw invalid();
  return value;
}
