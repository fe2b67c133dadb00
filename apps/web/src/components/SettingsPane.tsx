import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { network as networkSchema, type AccountView } from '@settle/contracts/browser';
import { ProblemError, type Api, type WebhookDelivery, type WebhookEndpoint, type WebhookEndpointCreated } from '../api';

const NETWORKS = networkSchema.options;
const detailOf = (caught: unknown): string => (caught instanceof ProblemError ? caught.problem.detail : String(caught));

/** My profile wallet per network, and my webhook endpoints with their recent deliveries. */
export function SettingsPane({
  api,
  account,
  onAccount,
}: {
  api: Api;
  account: AccountView | null;
  onAccount: (account: AccountView) => void;
}) {
  return (
    <div className="settings">
      <Wallets api={api} account={account} onAccount={onAccount} />
      <Webhooks api={api} />
    </div>
  );
}

function Wallets({ api, account, onAccount }: { api: Api; account: AccountView | null; onAccount: (account: AccountView) => void }) {
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const [messages, setMessages] = useState<Record<string, { text: string; error: boolean }>>({});
  const say = (network: string, text: string, error = false): void =>
    setMessages((current) => ({ ...current, [network]: { text, error } }));

  const save = async (event: FormEvent, network: (typeof NETWORKS)[number]): Promise<void> => {
    event.preventDefault();
    try {
      onAccount(
        await api.request<AccountView>('PUT', `/v1/account/wallets/${network}`, { body: { address: (drafts[network] ?? '').trim() } }),
      );
      setDrafts((current) => ({ ...current, [network]: '' }));
      say(network, 'Saved');
    } catch (caught) {
      say(network, detailOf(caught), true);
    }
  };
  const remove = async (network: (typeof NETWORKS)[number]): Promise<void> => {
    try {
      await api.request('DELETE', `/v1/account/wallets/${network}`);
      onAccount(await api.account());
      say(network, 'Removed');
    } catch (caught) {
      say(network, detailOf(caught), true);
    }
  };

  return (
    <section aria-labelledby="wallets-heading" className="panel">
      <h2 id="wallets-heading">My wallets</h2>
      <p className="hint">
        Where released crypto goes when I buy, unless I name another wallet when accepting. An escrowed order keeps the wallet it was locked
        with.
      </p>
      {NETWORKS.map((network) => {
        const current = account?.wallets[network] ?? null;
        const message = messages[network];
        return (
          <form key={network} className="wallet-form" onSubmit={(event) => void save(event, network)} aria-label={`${network} wallet`}>
            <h3>{network}</h3>
            <p>{current === null ? <span className="muted">no wallet</span> : <code className="wallet">{current}</code>}</p>
            <label htmlFor={`wallet-${network}`}>New {network} address</label>
            <input
              id={`wallet-${network}`}
              value={drafts[network] ?? ''}
              onChange={(event) => setDrafts({ ...drafts, [network]: event.target.value })}
              autoComplete="off"
              spellCheck={false}
            />
            <div className="button-row">
              <button type="submit" disabled={(drafts[network] ?? '').trim() === ''}>
                Save {network} wallet
              </button>
              {current !== null && (
                <button type="button" onClick={() => void remove(network)}>
                  Remove {network} wallet
                </button>
              )}
            </div>
            <p className={message?.error === true ? 'error' : 'hint'} role={message?.error === true ? 'alert' : 'status'}>
              {message?.text}
            </p>
          </form>
        );
      })}
    </section>
  );
}

function Webhooks({ api }: { api: Api }) {
  const [endpoints, setEndpoints] = useState<WebhookEndpoint[]>([]);
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [created, setCreated] = useState<WebhookEndpointCreated | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [deliveries, setDeliveries] = useState<Record<string, WebhookDelivery[]>>({});

  const reload = useCallback(async () => {
    try {
      setEndpoints((await api.request<{ items: WebhookEndpoint[] }>('GET', '/v1/webhooks')).items);
    } catch (caught) {
      setError(detailOf(caught));
    }
  }, [api]);
  useEffect(() => {
    void reload();
  }, [reload]);

  const add = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setError(null);
    try {
      setCreated(
        await api.request<WebhookEndpointCreated>('POST', '/v1/webhooks', {
          body: { url: url.trim(), ...(description.trim() !== '' ? { description: description.trim() } : {}) },
        }),
      );
      setUrl('');
      setDescription('');
      await reload();
    } catch (caught) {
      setError(detailOf(caught));
    }
  };
  const remove = async (id: string): Promise<void> => {
    try {
      await api.request('DELETE', `/v1/webhooks/${id}`);
      await reload();
    } catch (caught) {
      setError(detailOf(caught));
    }
  };
  const showDeliveries = async (id: string): Promise<void> => {
    try {
      const page = await api.request<{ items: WebhookDelivery[] }>('GET', `/v1/webhooks/${id}/deliveries`);
      setDeliveries((current) => ({ ...current, [id]: page.items.slice(0, 10) }));
    } catch (caught) {
      setError(detailOf(caught));
    }
  };

  return (
    <section aria-labelledby="webhooks-heading" className="panel">
      <h2 id="webhooks-heading">My webhook endpoints</h2>
      <form className="inline-form" onSubmit={(event) => void add(event)}>
        <div className="form-field">
          <label htmlFor="webhook-url">Endpoint URL</label>
          <input
            id="webhook-url"
            type="url"
            required
            value={url}
            onChange={(event) => setUrl(event.target.value)}
            placeholder="https://merchant.example/settle"
          />
        </div>
        <div className="form-field">
          <label htmlFor="webhook-description">Description (optional)</label>
          <input id="webhook-description" value={description} onChange={(event) => setDescription(event.target.value)} />
        </div>
        <button type="submit">Add endpoint</button>
      </form>
      {created !== null && (
        <p className="notice notice-success" role="status">
          Added {created.url}. Its signing secret is shown this once: <code>{created.secret}</code>
        </p>
      )}
      {error !== null && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {endpoints.length === 0 ? (
        <p className="empty">No endpoints yet.</p>
      ) : (
        <ul className="plain-list">
          {endpoints.map((endpoint) => (
            <li key={endpoint.id} className="endpoint">
              <p>
                <code>{endpoint.url}</code> {endpoint.description !== null && <span className="muted">— {endpoint.description}</span>}{' '}
                <span className={endpoint.enabled ? 'tag' : 'tag tag-off'}>
                  {endpoint.enabled ? 'enabled' : `disabled: ${endpoint.disabledReason ?? 'no reason given'}`}
                </span>
              </p>
              <div className="button-row">
                <button type="button" onClick={() => void showDeliveries(endpoint.id)}>
                  Recent deliveries
                </button>
                <button type="button" onClick={() => void remove(endpoint.id)}>
                  Remove endpoint
                </button>
              </div>
              {deliveries[endpoint.id] !== undefined && (
                <table className="deliveries">
                  <caption>Recent deliveries to {endpoint.url}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Event</th>
                      <th scope="col">Status</th>
                      <th scope="col">Attempts</th>
                      <th scope="col">Created</th>
                    </tr>
                  </thead>
                  <tbody>
                    {deliveries[endpoint.id]?.length === 0 && (
                      <tr>
                        <td colSpan={4}>No deliveries yet.</td>
                      </tr>
                    )}
                    {deliveries[endpoint.id]?.map((delivery) => (
                      <tr key={delivery.id}>
                        <td>{delivery.eventType}</td>
                        <td>{delivery.status}</td>
                        <td>{delivery.attempts.length}</td>
                        <td>{new Date(delivery.createdAt).toLocaleString()}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
