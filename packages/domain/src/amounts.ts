import currencyCodes from 'currency-codes';
import Decimal from 'decimal.js';
import { SettleError } from './errors';

/**
 * The ISO 4217 minor units of a fiat currency (0, 2 or 3 decimals), or undefined when the code is not an
 * ISO 4217 currency. Funds and precious-metal codes (XAU, XDR…) have no minor units and are not fiat here.
 */
export function fiatMinorUnits(code: string): number | undefined {
  const digits = currencyCodes.code(code)?.digits;
  return digits === undefined || digits === null || !Number.isInteger(digits) || code.startsWith('X') ? undefined : digits;
}

const decimalPlaces = (value: string): number => value.split('.')[1]?.length ?? 0;

/**
 * Checks that `fiatAmount` is `cryptoAmount × rate` within one minor unit of `fiatCurrency`, in exact decimal
 * arithmetic, and that it has no more decimals than the currency has. The client's amount is kept as sent.
 * Throws INVALID_INPUT with the expected amount.
 */
export function assertAmountsAddUp(input: { cryptoAmount: string; rate: string; fiatAmount: string; fiatCurrency: string }): void {
  const digits = fiatMinorUnits(input.fiatCurrency);
  if (digits === undefined) {
    throw new SettleError('INVALID_INPUT', `fiatCurrency ${input.fiatCurrency} is not an ISO 4217 currency code (e.g. AED, INR, USD)`);
  }
  if (decimalPlaces(input.fiatAmount) > digits) {
    throw new SettleError('INVALID_INPUT', `fiatAmount ${input.fiatAmount} has more decimals than ${input.fiatCurrency} has (${digits})`);
  }
  const expected = new Decimal(input.cryptoAmount).times(input.rate);
  const tolerance = new Decimal(10).pow(-digits);
  if (expected.minus(input.fiatAmount).abs().greaterThan(tolerance)) {
    const rounded = expected.toDecimalPlaces(digits, Decimal.ROUND_HALF_EVEN).toFixed(digits);
    throw new SettleError(
      'INVALID_INPUT',
      `fiatAmount ${input.fiatAmount} does not match cryptoAmount × rate = ${input.cryptoAmount} × ${input.rate} = ${expected.toFixed()}: expected ${rounded} ${input.fiatCurrency} (± one minor unit)`,
      { extra: { expectedFiatAmount: rounded } },
    );
  }
}
