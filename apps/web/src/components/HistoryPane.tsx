import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ProblemError, type Api, type Order } from '../api';
import { FINISHED_STATUSES, STATUS_LABELS } from '../orders';
import { OrderCard } from './OrderCard';

const PAGE = 20;

/** A date input's day as the instant it starts in the reader's time zone. */
const startOf = (day: string): string => new Date(`${day}T00:00:00`).toISOString();
const dayAfter = (day: string): string => {
  const date = new Date(`${day}T00:00:00`);
  date.setDate(date.getDate() + 1);
  return date.toISOString();
};

/** Completed, cancelled and expired orders, newest first, filtered and paged with the API's cursors. */
export function HistoryPane({ api, me }: { api: Api; me: string }) {
  const [status, setStatus] = useState<string>('');
  const [role, setRole] = useState<string>('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [applied, setApplied] = useState<URLSearchParams>(() => query('', '', '', ''));
  // cursors[i] is the cursor that reads page i (undefined: the first page).
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const [page, setPage] = useState<{ items: Order[]; nextCursor: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(
    async (cursor: string | undefined) => {
      const params = new URLSearchParams(applied);
      if (cursor !== undefined) params.set('cursor', cursor);
      setError(null);
      try {
        setPage(await api.orders(params));
      } catch (caught) {
        setError(caught instanceof ProblemError ? caught.problem.detail : String(caught));
      }
    },
    [api, applied],
  );

  useEffect(() => {
    void load(cursors.at(-1));
  }, [load, cursors]);

  const apply = (event: FormEvent): void => {
    event.preventDefault();
    setApplied(query(status, role, from, to));
    setCursors([undefined]);
  };

  return (
    <>
      <form className="filters" onSubmit={apply} aria-label="History filters">
        <div className="form-field">
          <label htmlFor="history-status">Status</label>
          <select id="history-status" value={status} onChange={(event) => setStatus(event.target.value)}>
            <option value="">Completed, cancelled and expired</option>
            {FINISHED_STATUSES.map((value) => (
              <option key={value} value={value}>
                {STATUS_LABELS[value]}
              </option>
            ))}
          </select>
        </div>
        <div className="form-field">
          <label htmlFor="history-role">My side</label>
          <select id="history-role" value={role} onChange={(event) => setRole(event.target.value)}>
            <option value="">Either</option>
            <option value="seller">I sold</option>
            <option value="buyer">I bought</option>
          </select>
        </div>
        <div className="form-field">
          <label htmlFor="history-from">Created from</label>
          <input id="history-from" type="date" value={from} onChange={(event) => setFrom(event.target.value)} />
        </div>
        <div className="form-field">
          <label htmlFor="history-to">Created to (inclusive)</label>
          <input id="history-to" type="date" value={to} onChange={(event) => setTo(event.target.value)} />
        </div>
        <button type="submit">Apply filters</button>
      </form>
      {error !== null && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {page !== null && page.items.length === 0 && <p className="empty">No orders match these filters.</p>}
      {page !== null && page.items.length > 0 && (
        <ul className="cards" aria-label="Order history">
          {page.items.map((order) => (
            <OrderCard key={order.id} order={order} me={me} />
          ))}
        </ul>
      )}
      <nav className="button-row pager" aria-label="History pages">
        <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <span>Page {cursors.length}</span>
        <button
          type="button"
          disabled={page?.nextCursor == null}
          onClick={() => page?.nextCursor != null && setCursors([...cursors, page.nextCursor])}
        >
          Older
        </button>
      </nav>
    </>
  );
}

function query(status: string, role: string, from: string, to: string): URLSearchParams {
  const params = new URLSearchParams({ status: status === '' ? FINISHED_STATUSES.join(',') : status, limit: String(PAGE) });
  if (role !== '') params.set('role', role);
  if (from !== '') params.set('from', startOf(from));
  if (to !== '') params.set('to', dayAfter(to));
  return params;
}
