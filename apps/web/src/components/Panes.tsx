import type { Order } from '../api';
import { ACTION_LABELS, ACTIVE_STATUSES, availableActions, byDeadline, FINISHED_STATUSES, STATUS_LABELS } from '../orders';
import type { DeskState } from '../store';
import type { ActionTarget } from './ActionDialog';
import { BookCard, OrderCard } from './OrderCard';

type Open = (target: ActionTarget) => void;

export function ActionButtons({ order, me, open }: { order: Order; me: string; open: Open }) {
  return (
    <>
      {availableActions(order, me).map((action) => (
        <button
          key={action}
          type="button"
          className={action === 'confirm_and_release' || action === 'accept' ? 'primary' : undefined}
          onClick={() => open({ kind: 'order', order, action })}
          aria-label={`${ACTION_LABELS[action]} ${order.orderNumber}`}
        >
          {ACTION_LABELS[action]}
        </button>
      ))}
    </>
  );
}

/** Open book orders any merchant may accept, oldest first. */
export function BookPane({ state, wallets, open }: { state: DeskState; wallets: Partial<Record<Order['network'], string>>; open: Open }) {
  if (state.book.length === 0) return <p className="empty">The book is empty. New book orders appear here as they are created.</p>;
  return (
    <ul className="cards" aria-label="Open book orders">
      {state.book.map((order) => (
        <BookCard
          key={order.id}
          order={order}
          myWallet={wallets[order.network] ?? null}
          actions={
            <button
              type="button"
              className="primary"
              onClick={() => open({ kind: 'book', order, action: 'accept' })}
              aria-label={`Accept ${order.orderNumber}`}
            >
              Accept
            </button>
          }
        />
      ))}
    </ul>
  );
}

/** My active orders grouped by status, the nearest deadline first in each group; then those finished just now. */
export function ActivePane({ state, me, open }: { state: DeskState; me: string; open: Open }) {
  const orders = [...state.orders.values()].sort(byDeadline);
  const groups: Array<[string, string, Order[]]> = ACTIVE_STATUSES.map((status) => [
    status,
    STATUS_LABELS[status],
    orders.filter((order) => order.status === status),
  ]);
  groups.push([
    'finished',
    'Finished just now',
    orders
      .filter((order) => (FINISHED_STATUSES as readonly string[]).includes(order.status))
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)),
  ]);
  const shown = groups.filter(([, , items]) => items.length > 0);
  if (shown.length === 0) return <p className="empty">No active orders. Accept one from the book, or create an M2M order.</p>;
  return (
    <>
      {shown.map(([key, label, items]) => (
        <section key={key} aria-labelledby={`group-${key}`} className="group">
          <h2 id={`group-${key}`}>
            {label} <span className="count">({items.length})</span>
          </h2>
          <ul className="cards">
            {items.map((order) => (
              <OrderCard key={order.id} order={order} me={me} actions={<ActionButtons order={order} me={me} open={open} />} />
            ))}
          </ul>
        </section>
      ))}
    </>
  );
}
