import type { OrderRulesConfig } from './parts';

/**
 * The order rules of the configuration in the shape of the domain's OrderPolicy (checked where it is passed):
 * timers, default network, tradable crypto currencies and fees.
 */
export function orderPolicy(config: OrderRulesConfig) {
  const window = config.TIMER_PAYMENT_WINDOW;
  return {
    timers: {
      openMinutes: config.TIMER_OPEN,
      acceptedMinutes: config.TIMER_ACCEPTED,
      paymentWindowMinutes: { cash: window['cash'] ?? 60, upi: window['upi'] ?? 60, bank_transfer: window['bank_transfer'] ?? 240 },
      confirmMinutes: config.TIMER_CONFIRM,
      disputeSlaMinutes: config.TIMER_DISPUTE_SLA,
      maxExtensions: config.MAX_EXTENSIONS,
    },
    defaultNetwork: config.DEFAULT_NETWORK,
    cryptoCurrencies: config.CRYPTO_CURRENCIES,
    feeBps: (merchantId: string | null): number =>
      (merchantId === null ? undefined : config.MERCHANT_FEE_BPS[merchantId]) ?? config.PLATFORM_FEE_BPS,
  };
}
