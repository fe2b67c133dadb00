import type { Network } from '@settle/wire';
import { DEFAULT_TIMERS, type TimerSettings } from './timers';

/** The configured rules an order is made under: timers, networks, currencies and fees. */
export interface OrderPolicy {
  timers: TimerSettings;
  /** The network of an order whose client names none. @default tron */
  defaultNetwork: Network;
  /** The crypto currencies an order may trade. @default USDT, USDC */
  cryptoCurrencies: readonly string[];
  /** The platform fee on orders of a merchant (its own rate, else the platform default), in basis points. */
  feeBps: (merchantId: string | null) => number;
}

export const DEFAULT_POLICY: OrderPolicy = {
  timers: DEFAULT_TIMERS,
  defaultNetwork: 'tron',
  cryptoCurrencies: ['USDT', 'USDC'],
  feeBps: () => 0,
};
