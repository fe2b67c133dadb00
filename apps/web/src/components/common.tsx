import { useEffect, useState, type ReactNode } from 'react';
import type { Order } from '../api';
import { STATUS_LABELS } from '../orders';

/** A shape per status, so a status reads without its colour. */
const STATUS_ICONS: Record<Order['status'], string> = {
  open: '○',
  accepted: '◔',
  escrowed: '◑',
  payment_sent: '◕',
  completed: '✓',
  cancelled: '✕',
  expired: '⌛',
  disputed: '⚠',
};

export function StatusBadge({ status }: { status: Order['status'] }) {
  return (
    <span className={`badge badge-${status}`} data-status={status}>
      <span aria-hidden="true">{STATUS_ICONS[status]}</span> {STATUS_LABELS[status]}
    </span>
  );
}

let now = Date.now();
const ticking = new Set<(time: number) => void>();
let timer: ReturnType<typeof setInterval> | undefined;

/** The current time, re-rendered once a second by one shared timer. */
export function useNow(): number {
  const [time, setTime] = useState(now);
  useEffect(() => {
    ticking.add(setTime);
    timer ??= setInterval(() => {
      now = Date.now();
      for (const tick of ticking) tick(now);
    }, 1_000);
    return () => {
      ticking.delete(setTime);
      if (ticking.size === 0 && timer !== undefined) {
        clearInterval(timer);
        timer = undefined;
      }
    };
  }, []);
  return time;
}

const pad = (value: number): string => String(value).padStart(2, '0');

/** Time left until `at` as h:mm:ss (or "overdue"), with the deadline itself for screen readers and hover. */
export function Countdown({ at }: { at: string | null }) {
  const time = useNow();
  if (at === null) return <span className="countdown">—</span>;
  const left = Math.round((Date.parse(at) - time) / 1000);
  const label = left <= 0 ? 'overdue' : `${Math.floor(left / 3600)}:${pad(Math.floor((left % 3600) / 60))}:${pad(left % 60)}`;
  const deadline = new Date(at).toLocaleString();
  return (
    <time className={`countdown${left <= 300 ? ' countdown-soon' : ''}`} dateTime={at} title={`deadline ${deadline}`}>
      {label}
      <span className="visually-hidden"> left, deadline {deadline}</span>
    </time>
  );
}

/** A row's fields as a description list. */
export function Fields({ items }: { items: Array<[string, ReactNode]> }) {
  return (
    <dl className="fields">
      {items.map(([label, value]) => (
        <div key={label} className="field">
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Wallet({ address }: { address: string | null }) {
  return address === null ? <span className="muted">not set yet</span> : <code className="wallet">{address}</code>;
}

/** A 32-hex-digit random key; crypto.randomUUID needs a secure context, getRandomValues does not. */
export function randomKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}
