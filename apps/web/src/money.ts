import Decimal from 'decimal.js';
import { fiatMinorUnits } from '@settle/contracts/browser';

const decimals = (value: string): number => value.split('.')[1]?.length ?? 0;
const formats = new Map<string, Intl.NumberFormat>();

function formatter(minimum: number, maximum: number): Intl.NumberFormat {
  const key = `${minimum}:${maximum}`;
  let format = formats.get(key);
  if (format === undefined) {
    format = new Intl.NumberFormat(undefined, { minimumFractionDigits: minimum, maximumFractionDigits: maximum });
    formats.set(key, format);
  }
  return format;
}

/**
 * A decimal string for display, grouped for the reader's locale. Intl.NumberFormat formats the string itself (an
 * exact decimal), so no digit goes through a float. Fiat shows its ISO 4217 minor units; crypto as many as it has.
 */
export function formatAmount(value: string, currency: string): string {
  const minor = fiatMinorUnits(currency);
  const places = decimals(value);
  return `${formatter(minor ?? places, Math.max(minor ?? 0, places)).format(value as Intl.StringNumericLiteral)} ${currency}`;
}

export function formatRate(value: string): string {
  return formatter(0, 18).format(value as Intl.StringNumericLiteral);
}

/**
 * cryptoAmount × rate in the fiat currency's minor units, rounded half-even like the API's check: the fiatAmount to
 * suggest. Undefined while an input is not a positive decimal or the currency is unknown.
 */
export function suggestFiatAmount(cryptoAmount: string, rate: string, fiatCurrency: string): string | undefined {
  const minor = fiatMinorUnits(fiatCurrency);
  if (minor === undefined || !DECIMAL.test(cryptoAmount) || !DECIMAL.test(rate)) return undefined;
  return new Decimal(cryptoAmount).times(rate).toDecimalPlaces(minor, Decimal.ROUND_HALF_EVEN).toFixed(minor);
}

const DECIMAL = /^\d{1,20}(\.\d{1,18})?$/;
