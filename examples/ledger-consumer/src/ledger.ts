import type pg from 'pg';
import type { EventHandler } from '@settle/consumer';

/** The ledger's own table: completed volume per merchant, fiat currency and UTC day. */
export const LEDGER_DDL = `
CREATE TABLE IF NOT EXISTS merchant_daily_volume (
  merchant_id text NOT NULL,
  day date NOT NULL,
  fiat_currency text NOT NULL,
  crypto_currency text NOT NULL,
  fiat_volume numeric NOT NULL,
  crypto_volume numeric NOT NULL,
  orders integer NOT NULL,
  PRIMARY KEY (merchant_id, day, fiat_currency, crypto_currency)
);`;

export async function migrateLedger(db: pg.Pool): Promise<void> {
  await db.query(LEDGER_DDL);
}

/**
 * Adds each completed order to its merchant's day. The kit runs this in the transaction that records the event in
 * the inbox, so a redelivered, replayed or re-published event never counts twice.
 */
export const ledgerHandler: EventHandler = async (event, { client }) => {
  if (event.type !== 'order.completed' && !(event.type === 'order.dispute_resolved' && event.status === 'completed')) return;
  const { order } = event;
  const merchant = order.merchantId ?? order.buyerMerchantId;
  if (merchant === null) return;
  await client.query(
    `INSERT INTO merchant_daily_volume (merchant_id, day, fiat_currency, crypto_currency, fiat_volume, crypto_volume, orders)
     VALUES ($1, ($2::timestamptz AT TIME ZONE 'UTC')::date, $3, $4, $5, $6, 1)
     ON CONFLICT (merchant_id, day, fiat_currency, crypto_currency) DO UPDATE
       SET fiat_volume = merchant_daily_volume.fiat_volume + EXCLUDED.fiat_volume,
           crypto_volume = merchant_daily_volume.crypto_volume + EXCLUDED.crypto_volume,
           orders = merchant_daily_volume.orders + 1`,
    [merchant, order.completedAt ?? event.occurredAt, order.fiatCurrency, order.cryptoCurrency, order.fiatAmount, order.cryptoAmount],
  );
};
