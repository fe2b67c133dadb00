import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ProblemError, type BookOrder, type Order } from '../api';
import { formatAmount } from '../money';
import { ACTION_LABELS, cryptoLocked, type DeskAction } from '../orders';
import type { DeskStore } from '../store';
import { randomKey, Wallet } from './common';

/** What a dialog acts on: one of my orders, or an open book order (accept only). */
export type ActionTarget = { kind: 'order'; order: Order; action: DeskAction } | { kind: 'book'; order: BookOrder; action: 'accept' };

interface FieldSpec {
  name: string;
  label: string;
  required: boolean;
  multiline?: boolean;
  hint?: string;
}

function fieldsOf(target: ActionTarget): FieldSpec[] {
  const locked = target.kind === 'order' && cryptoLocked(target.order);
  switch (target.action) {
    case 'accept':
      return target.order.type === 'buy'
        ? []
        : [{ name: 'walletAddress', label: 'My receiving wallet', required: false, hint: 'empty: my profile wallet on this network' }];
    case 'lock_escrow':
      return [
        { name: 'txHash', label: 'Escrow tx hash', required: true },
        { name: 'funderWallet', label: 'Funding wallet', required: false },
      ];
    case 'mark_paid':
      return [{ name: 'paymentReference', label: 'Payment reference', required: false }];
    case 'confirm_and_release':
      return [{ name: 'txHash', label: 'Release tx hash', required: true }];
    case 'cancel':
    case 'request_cancel':
      return [
        { name: 'reason', label: 'Reason', required: false },
        ...(target.action === 'cancel' && locked ? [{ name: 'refundTxHash', label: 'Refund tx hash', required: true }] : []),
      ];
    case 'agree_cancel':
      return [{ name: 'refundTxHash', label: 'Refund tx hash', required: true }];
    case 'dispute':
      return [
        { name: 'reason', label: 'Reason', required: true },
        { name: 'evidence', label: 'Evidence (one reference per line)', required: false, multiline: true },
      ];
    default:
      return [];
  }
}

function bodyOf(target: ActionTarget, values: Record<string, string>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const field of fieldsOf(target)) {
    const value = (values[field.name] ?? '').trim();
    if (value === '') continue;
    body[field.name] =
      field.name === 'evidence'
        ? value
            .split('\n')
            .map((line) => line.trim())
            .filter((line) => line !== '')
        : value;
  }
  return body;
}

/**
 * The confirm dialog of an action: it repeats the amounts, the network and the recipient wallet, sends If-Match
 * with the version shown when it opened, and for a release one Idempotency-Key per body, kept across retries of
 * the same confirmation. A refusal shows the API's detail here; the row stays as the API has it.
 */
export function ActionDialog({
  target,
  store,
  myWallet,
  onClose,
}: {
  target: ActionTarget;
  store: DeskStore;
  myWallet: string | null;
  onClose: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [values, setValues] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const keys = useRef(new Map<string, string>());
  const order = target.order;
  const fields = fieldsOf(target);

  useEffect(() => {
    const element = dialog.current;
    if (element !== null && !element.open) element.showModal();
  }, []);

  const recipient =
    target.kind === 'order'
      ? target.order.recipientWallet
      : target.order.type === 'buy'
        ? null
        : values['walletAddress']?.trim() || myWallet;

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    const body = bodyOf(target, values);
    let key: string | undefined;
    if (target.action === 'confirm_and_release') {
      const identity = JSON.stringify(body);
      key = keys.current.get(identity) ?? randomKey();
      keys.current.set(identity, key);
    }
    try {
      await store.act(order, target.action, body, key);
      onClose();
    } catch (caught) {
      const problem = caught instanceof ProblemError ? caught : undefined;
      if (target.kind === 'book' && problem !== undefined && (problem.status === 409 || problem.status === 404)) {
        // Another merchant was quicker (or the order left the book): nothing to fix, the row just goes.
        store.dropFromBook(order.id);
        const status = problem.problem.orderStatus;
        store.notify(
          status === undefined || status === 'accepted'
            ? `${order.orderNumber} was taken by another merchant`
            : `${order.orderNumber} is no longer on the book (${status})`,
          'calm',
        );
        onClose();
        return;
      }
      setError(problem !== undefined ? problem.problem.detail : caught instanceof Error ? caught.message : String(caught));
      setBusy(false);
    }
  };

  const title = `${ACTION_LABELS[target.action]} ${order.orderNumber}`;
  return (
    <dialog ref={dialog} className="dialog" aria-labelledby="dialog-title" onClose={onClose} onCancel={onClose}>
      <form onSubmit={(event) => void submit(event)}>
        <h2 id="dialog-title">{title}</h2>
        <dl className="fields confirm-fields">
          <div className="field">
            <dt>Network</dt>
            <dd data-confirm="network">{order.network}</dd>
          </div>
          <div className="field">
            <dt>Crypto</dt>
            <dd data-confirm="crypto">{formatAmount(order.cryptoAmount, order.cryptoCurrency)}</dd>
          </div>
          <div className="field">
            <dt>Fiat</dt>
            <dd data-confirm="fiat">{formatAmount(order.fiatAmount, order.fiatCurrency)}</dd>
          </div>
          <div className="field wide">
            <dt>Recipient wallet</dt>
            <dd data-confirm="recipient">
              {target.kind === 'book' && target.order.type === 'buy' ? (
                <span className="muted">the buyer's wallet</span>
              ) : (
                <Wallet address={recipient ?? null} />
              )}
            </dd>
          </div>
          <div className="field">
            <dt>Version</dt>
            <dd>{order.orderVersion}</dd>
          </div>
        </dl>
        {fields.map((field) => {
          const id = `field-${field.name}`;
          const common = {
            id,
            name: field.name,
            required: field.required,
            value: values[field.name] ?? '',
            autoComplete: 'off',
            spellCheck: false,
            'aria-describedby': field.hint !== undefined ? `${id}-hint` : undefined,
          };
          return (
            <div className="form-field" key={field.name}>
              <label htmlFor={id}>
                {field.label}
                {field.required ? '' : ' (optional)'}
              </label>
              {field.multiline === true ? (
                <textarea {...common} rows={3} onChange={(event) => setValues({ ...values, [field.name]: event.target.value })} />
              ) : (
                <input {...common} onChange={(event) => setValues({ ...values, [field.name]: event.target.value })} />
              )}
              {field.hint !== undefined && (
                <p className="hint" id={`${id}-hint`}>
                  {field.hint}
                </p>
              )}
            </div>
          );
        })}
        <div className="dialog-error" role="alert">
          {error}
        </div>
        <div className="button-row">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Sending…' : ACTION_LABELS[target.action]}
          </button>
          <button type="button" onClick={() => dialog.current?.close()}>
            Close
          </button>
        </div>
      </form>
    </dialog>
  );
}
