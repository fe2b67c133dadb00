import { useState, type FormEvent } from 'react';
import { Api, devToken, ProblemError } from '../api';
import { subjectOf, type Session } from '../session';

/** The demo merchants `npm start` seeds. */
const DEMO_MERCHANTS = ['merchant-alpha', 'merchant-beta'];

export function SignIn({ devAuth, notice, onSignIn }: { devAuth: boolean; notice: string | null; onSignIn: (session: Session) => void }) {
  const [token, setToken] = useState('');
  const [merchantId, setMerchantId] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // A token is taken only once the API accepts it for a merchant account.
  const check = async (candidate: string): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      const account = await new Api(candidate, () => undefined).account();
      if (account.kind !== 'merchant') throw new Error(`this token is for a ${account.kind}; the desk is for merchants`);
      onSignIn({ token: candidate, merchantId: account.id });
    } catch (caught) {
      setError(caught instanceof ProblemError ? caught.problem.detail : caught instanceof Error ? caught.message : String(caught));
    } finally {
      setBusy(false);
    }
  };

  const demo = async (id: string): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await check(await devToken(id));
    } catch (caught) {
      setError(caught instanceof ProblemError ? caught.problem.detail : String(caught));
      setBusy(false);
    }
  };

  const paste = (event: FormEvent): void => {
    event.preventDefault();
    const value = token.trim();
    if (subjectOf(value) === null) {
      setError('that is not a token (three base64url parts separated by dots)');
      return;
    }
    void check(value);
  };

  return (
    <main className="center signin">
      <h1>Settle merchant desk</h1>
      {notice !== null && (
        <p className="notice notice-calm" role="status">
          {notice}
        </p>
      )}
      {devAuth && (
        <section aria-labelledby="demo-heading" className="panel">
          <h2 id="demo-heading">Demo merchants</h2>
          <p className="hint">Dev auth is on: pick a merchant to get a token for it.</p>
          <div className="button-row">
            {DEMO_MERCHANTS.map((id) => (
              <button key={id} type="button" disabled={busy} onClick={() => void demo(id)}>
                Sign in as {id}
              </button>
            ))}
          </div>
          <form
            className="inline-form"
            onSubmit={(event) => {
              event.preventDefault();
              if (merchantId.trim() !== '') void demo(merchantId.trim());
            }}
          >
            <label htmlFor="merchant-id">Another merchant id</label>
            <input
              id="merchant-id"
              value={merchantId}
              onChange={(event) => setMerchantId(event.target.value)}
              autoComplete="off"
              pattern="[A-Za-z0-9_.:@\-]+"
            />
            <button type="submit" disabled={busy || merchantId.trim() === ''}>
              Sign in
            </button>
          </form>
        </section>
      )}
      <form className="panel" onSubmit={paste} aria-labelledby="token-heading">
        <h2 id="token-heading">Sign in with a token</h2>
        <label htmlFor="token">Merchant token (JWT)</label>
        <textarea
          id="token"
          rows={3}
          value={token}
          onChange={(event) => setToken(event.target.value)}
          autoComplete="off"
          spellCheck={false}
        />
        <p className="hint">Kept for this browser tab only; signing out forgets it.</p>
        <button type="submit" disabled={busy || token.trim() === ''}>
          Sign in
        </button>
      </form>
      {error !== null && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </main>
  );
}
