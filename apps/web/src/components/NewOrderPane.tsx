import { useEffect, useState, type FormEvent } from 'react';
import { createOrderBody, network as networkSchema, paymentMethod as paymentMethodSchema } from '@settle/contracts/browser';
import { ProblemError, type Api } from '../api';
import { suggestFiatAmount } from '../money';
import { METHOD_LABELS } from '../orders';
import type { DeskStore } from '../store';

interface Merchant {
  id: string;
  name: string | null;
}

/** A new M2M order: I sell crypto to another merchant (or to the book). fiatAmount is suggested as cryptoAmount × rate. */
export function NewOrderPane({ api, store, me, onCreated }: { api: Api; store: DeskStore; me: string; onCreated: () => void }) {
  const [merchants, setMerchants] = useState<Merchant[]>([]);
  const [form, setForm] = useState({
    merchantId: '',
    network: 'tron',
    cryptoAmount: '',
    cryptoCurrency: 'USDT',
    rate: '',
    fiatCurrency: 'AED',
    fiatAmount: '',
    paymentMethod: 'bank_transfer',
  });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api.request<{ items: Merchant[] }>('GET', '/v1/merchants').then(
      (page) => setMerchants(page.items.filter((merchant) => merchant.id !== me)),
      () => setMerchants([]),
    );
  }, [api, me]);

  const suggestion = suggestFiatAmount(form.cryptoAmount.trim(), form.rate.trim(), form.fiatCurrency.trim());
  const change = (name: keyof typeof form) => (event: { target: { value: string } }) => setForm({ ...form, [name]: event.target.value });

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setError(null);
    const body = {
      type: 'm2m',
      ...(form.merchantId !== '' ? { merchantId: form.merchantId } : {}),
      network: form.network,
      cryptoAmount: form.cryptoAmount.trim(),
      cryptoCurrency: form.cryptoCurrency.trim(),
      rate: form.rate.trim(),
      fiatCurrency: form.fiatCurrency.trim(),
      fiatAmount: form.fiatAmount.trim() === '' ? (suggestion ?? '') : form.fiatAmount.trim(),
      paymentMethod: form.paymentMethod,
    };
    const parsed = createOrderBody.safeParse(body);
    if (!parsed.success) {
      setError(parsed.error.issues.map((issue) => issue.message).join('; '));
      return;
    }
    setBusy(true);
    try {
      const created = await store.createOrder(body);
      store.notify(`${created.orderNumber} created`, 'success');
      onCreated();
    } catch (caught) {
      setError(caught instanceof ProblemError ? caught.problem.detail : String(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="panel new-order" onSubmit={(event) => void submit(event)} aria-labelledby="new-order-heading">
      <h2 id="new-order-heading">New M2M order</h2>
      <p className="hint">I sell crypto to another merchant: I lock the escrow, they pay fiat, I release.</p>
      <div className="form-grid">
        <div className="form-field">
          <label htmlFor="m2m-merchant">Buying merchant</label>
          <select id="m2m-merchant" value={form.merchantId} onChange={change('merchantId')}>
            <option value="">Any merchant (order book)</option>
            {merchants.map((merchant) => (
              <option key={merchant.id} value={merchant.id}>
                {merchant.name !== null ? `${merchant.name} (${merchant.id})` : merchant.id}
              </option>
            ))}
          </select>
        </div>
        <div className="form-field">
          <label htmlFor="m2m-network">Network</label>
          <select id="m2m-network" value={form.network} onChange={change('network')}>
            {networkSchema.options.map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </select>
        </div>
        <div className="form-field">
          <label htmlFor="m2m-crypto">Crypto amount</label>
          <input
            id="m2m-crypto"
            inputMode="decimal"
            required
            value={form.cryptoAmount}
            onChange={change('cryptoAmount')}
            autoComplete="off"
          />
        </div>
        <div className="form-field">
          <label htmlFor="m2m-crypto-currency">Crypto currency</label>
          <input id="m2m-crypto-currency" required value={form.cryptoCurrency} onChange={change('cryptoCurrency')} autoComplete="off" />
        </div>
        <div className="form-field">
          <label htmlFor="m2m-rate">Rate (fiat per crypto unit)</label>
          <input id="m2m-rate" inputMode="decimal" required value={form.rate} onChange={change('rate')} autoComplete="off" />
        </div>
        <div className="form-field">
          <label htmlFor="m2m-fiat-currency">Fiat currency (ISO 4217)</label>
          <input
            id="m2m-fiat-currency"
            required
            value={form.fiatCurrency}
            onChange={change('fiatCurrency')}
            autoComplete="off"
            maxLength={3}
          />
        </div>
        <div className="form-field">
          <label htmlFor="m2m-fiat">Fiat amount</label>
          <input
            id="m2m-fiat"
            inputMode="decimal"
            value={form.fiatAmount}
            onChange={change('fiatAmount')}
            placeholder={suggestion ?? ''}
            aria-describedby="m2m-fiat-hint"
            autoComplete="off"
          />
          <p className="hint" id="m2m-fiat-hint">
            {suggestion === undefined
              ? "cryptoAmount × rate, in the currency's minor units"
              : `cryptoAmount × rate = ${suggestion} (used when left empty)`}
            {suggestion !== undefined && form.fiatAmount !== suggestion && (
              <>
                {' '}
                <button type="button" className="link" onClick={() => setForm({ ...form, fiatAmount: suggestion })}>
                  Use {suggestion}
                </button>
              </>
            )}
          </p>
        </div>
        <div className="form-field">
          <label htmlFor="m2m-method">Payment method</label>
          <select id="m2m-method" value={form.paymentMethod} onChange={change('paymentMethod')}>
            {paymentMethodSchema.options.map((value) => (
              <option key={value} value={value}>
                {METHOD_LABELS[value]}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div className="dialog-error" role="alert">
        {error}
      </div>
      <button type="submit" className="primary" disabled={busy}>
        Create M2M order
      </button>
    </form>
  );
}
