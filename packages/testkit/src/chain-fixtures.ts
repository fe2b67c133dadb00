import { createHash } from 'node:crypto';
import bs58check from 'bs58check';
import { getAddress } from 'viem';

type Network = 'ethereum' | 'bsc' | 'polygon' | 'tron';

const digest = (label: string): Buffer => createHash('sha256').update(label).digest();

/** A valid, canonical tx hash derived from `label` (the same label always gives the same hash). @default tron */
export function testTxHash(label: string, network: Network = 'tron'): string {
  const hex = digest(`tx:${label}`).toString('hex');
  return network === 'tron' ? hex : `0x${hex}`;
}

/** A valid, canonical wallet address derived from `label`: base58check `T…` on Tron, EIP-55 on EVM. @default tron */
export function testAddress(label: string, network: Network = 'tron'): string {
  const account = digest(`address:${label}`).subarray(0, 20);
  if (network !== 'tron') return getAddress(`0x${account.toString('hex')}`);
  return bs58check.encode(Buffer.concat([Buffer.from([0x41]), account]));
}
