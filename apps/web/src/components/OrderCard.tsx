import type { ReactNode } from 'react';
import type { BookOrder, Order } from '../api';
import { formatAmount, formatRate } from '../money';
import { counterparty, METHOD_LABELS, mySide, TYPE_LABELS } from '../orders';
import { Countdown, Fields, StatusBadge, Wallet } from './common';

/** One of my orders: every field a merchant acts on, and its action buttons. */
export function OrderCard({ order, me, actions }: { order: Order; me: string; actions?: ReactNode }) {
  return (
    <li className="card" data-order-id={order.id} data-order-number={order.orderNumber} aria-labelledby={`order-${order.id}`}>
      <header className="card-head">
        <h3 id={`order-${order.id}`} className="order-number">
          {order.orderNumber}
        </h3>
        <StatusBadge status={order.status} />
        <Countdown at={order.timerAt} />
      </header>
      <Fields
        items={[
          ['Network', order.network],
          ['Type', TYPE_LABELS[order.type]],
          ['My side', mySide(order, me) ?? '—'],
          ['Crypto', formatAmount(order.cryptoAmount, order.cryptoCurrency)],
          ['Fiat', formatAmount(order.fiatAmount, order.fiatCurrency)],
          ['Rate', formatRate(order.rate)],
          ['Payment', METHOD_LABELS[order.paymentMethod]],
          ['Counterparty', counterparty(order, me)],
          ['Recipient wallet', <Wallet key="wallet" address={order.recipientWallet} />],
          [
            'Version',
            <span key="version" data-field="version">
              {order.orderVersion}
            </span>,
          ],
        ]}
      />
      {order.cancelRequestedBy !== null && order.status !== 'cancelled' && (
        <p className="hint">Cancel requested by {order.cancelRequestedBy.id}</p>
      )}
      {order.extensionRequestedBy !== null && <p className="hint">Extension requested by {order.extensionRequestedBy.id}</p>}
      <div className="card-actions">{actions}</div>
    </li>
  );
}

/**
 * An open book order as every merchant sees it (the public summary): whoever accepts a SELL or M2M order
 * receives the crypto in its own wallet; a BUY order's recipient is the user's wallet, shown once accepted.
 */
export function BookCard({ order, myWallet, actions }: { order: BookOrder; myWallet: string | null; actions: ReactNode }) {
  const buying = order.type !== 'buy';
  return (
    <li className="card" data-order-id={order.id} data-order-number={order.orderNumber} aria-labelledby={`book-${order.id}`}>
      <header className="card-head">
        <h3 id={`book-${order.id}`} className="order-number">
          {order.orderNumber}
        </h3>
        <StatusBadge status={order.status} />
        <Countdown at={order.expiresAt} />
      </header>
      <Fields
        items={[
          ['Network', order.network],
          ['Type', TYPE_LABELS[order.type]],
          ['My side', buying ? 'I buy' : 'I sell'],
          ['Crypto', formatAmount(order.cryptoAmount, order.cryptoCurrency)],
          ['Fiat', formatAmount(order.fiatAmount, order.fiatCurrency)],
          ['Rate', formatRate(order.rate)],
          ['Payment', METHOD_LABELS[order.paymentMethod]],
          ['Counterparty', 'order book'],
          [
            'Recipient wallet',
            buying ? (
              <Wallet key="wallet" address={myWallet} />
            ) : (
              <span key="wallet" className="muted">
                the buyer's, shown once accepted
              </span>
            ),
          ],
          [
            'Version',
            <span key="version" data-field="version">
              {order.orderVersion}
            </span>,
          ],
        ]}
      />
      <div className="card-actions">{actions}</div>
    </li>
  );
}
