import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import type { AccountView } from '@settle/contracts/browser';
import { Api } from '../api';
import { ACTIVE_STATUSES } from '../orders';
import type { Session } from '../session';
import { DeskStore, type Connection } from '../store';
import { ActionDialog, type ActionTarget } from './ActionDialog';
import { HistoryPane } from './HistoryPane';
import { NewOrderPane } from './NewOrderPane';
import { ActivePane, BookPane } from './Panes';
import { SettingsPane } from './SettingsPane';

const TABS = [
  ['book', 'Order book'],
  ['active', 'My active orders'],
  ['history', 'History'],
  ['new', 'New M2M order'],
  ['settings', 'Settings'],
] as const;
type Tab = (typeof TABS)[number][0];

const CONNECTION_LABELS: Record<Connection, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};
const CONNECTION_ICONS: Record<Connection, string> = { connecting: '…', live: '●', reconnecting: '↻', offline: '✕' };

export function Desk({ session, notifierUrl, onSignOut }: { session: Session; notifierUrl: string; onSignOut: (reason?: string) => void }) {
  const store = useMemo(() => {
    const expired = (): void => onSignOut('Your session expired. Sign in again.');
    return new DeskStore(new Api(session.token, expired), session.merchantId, notifierUrl, expired);
  }, [session, notifierUrl, onSignOut]);
  const state = useSyncExternalStore(store.subscribe, store.getState);
  const [tab, setTab] = useState<Tab>('book');
  const [target, setTarget] = useState<ActionTarget | null>(null);
  const [account, setAccount] = useState<AccountView | null>(null);

  useEffect(() => {
    store.start();
    store.api.account().then(setAccount, () => undefined);
    return () => store.stop();
  }, [store]);

  const me = session.merchantId;
  const active = [...state.orders.values()].filter((order) => (ACTIVE_STATUSES as readonly string[]).includes(order.status)).length;
  const counts: Partial<Record<Tab, number>> = { book: state.book.length, active };

  return (
    <div className="desk">
      <header className="topbar">
        <h1>Settle desk</h1>
        <p className="whoami">
          Signed in as <strong>{me}</strong>
        </p>
        <p className={`connection connection-${state.connection}`} role="status" aria-live="polite" data-connection={state.connection}>
          <span aria-hidden="true">{CONNECTION_ICONS[state.connection]}</span> {CONNECTION_LABELS[state.connection]}
        </p>
        <button type="button" aria-pressed={state.sound} onClick={() => store.toggleSound()}>
          Sound {state.sound ? 'on' : 'off'}
        </button>
        <button type="button" onClick={() => onSignOut()}>
          Sign out
        </button>
      </header>
      <nav className="tabs" role="tablist" aria-label="Desk">
        {TABS.map(([id, label]) => (
          <button
            key={id}
            id={`tab-${id}`}
            type="button"
            role="tab"
            aria-selected={tab === id}
            aria-controls={`panel-${id}`}
            className="tab"
            onClick={() => setTab(id)}
            onKeyDown={(event) => {
              const index = TABS.findIndex(([candidate]) => candidate === id);
              const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
              if (step === 0) return;
              const next = TABS[(index + step + TABS.length) % TABS.length];
              if (next !== undefined) {
                setTab(next[0]);
                document.getElementById(`tab-${next[0]}`)?.focus();
              }
            }}
          >
            {label}
            {counts[id] !== undefined && <span className="count"> ({counts[id]})</span>}
          </button>
        ))}
      </nav>
      <div className="notices" aria-live="polite">
        {state.notices.map((notice) => (
          <p key={notice.id} className={`notice notice-${notice.tone}`} role="status">
            {notice.text}
            <button type="button" className="link" onClick={() => store.dismiss(notice.id)} aria-label={`Dismiss: ${notice.text}`}>
              Dismiss
            </button>
          </p>
        ))}
      </div>
      <main id={`panel-${tab}`} role="tabpanel" aria-labelledby={`tab-${tab}`} className="panel-body">
        {tab === 'book' && <BookPane state={state} wallets={account?.wallets ?? {}} open={setTarget} />}
        {tab === 'active' && <ActivePane state={state} me={me} open={setTarget} />}
        {tab === 'history' && <HistoryPane api={store.api} me={me} />}
        {tab === 'new' && <NewOrderPane api={store.api} store={store} me={me} onCreated={() => setTab('active')} />}
        {tab === 'settings' && <SettingsPane api={store.api} account={account} onAccount={setAccount} />}
      </main>
      {target !== null && (
        <ActionDialog
          key={`${target.order.id}-${target.action}`}
          target={target}
          store={store}
          myWallet={account?.wallets[target.order.network] ?? null}
          onClose={() => setTarget(null)}
        />
      )}
    </div>
  );
}
