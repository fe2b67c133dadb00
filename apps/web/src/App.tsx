import { useCallback, useEffect, useState } from 'react';
import type { DeskConfig } from '@settle/contracts/browser';
import { deskSettings } from './api';
import { Desk } from './components/Desk';
import { SignIn } from './components/SignIn';
import { clearSession, loadSession, saveSession, type Session } from './session';

/** Sign-in, then the desk; an expired token comes back here with a notice. */
export function App() {
  const [config, setConfig] = useState<DeskConfig | null>(null);
  const [configError, setConfigError] = useState<string | null>(null);
  const [session, setSession] = useState<Session | null>(loadSession);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    deskSettings().then(setConfig, (error: unknown) => setConfigError(error instanceof Error ? error.message : String(error)));
  }, []);

  const signIn = useCallback((next: Session) => {
    saveSession(next);
    setNotice(null);
    setSession(next);
  }, []);
  const signOut = useCallback((reason?: string) => {
    clearSession();
    setSession(null);
    setNotice(reason ?? null);
  }, []);

  if (configError !== null) {
    return (
      <main className="center">
        <h1>Settle merchant desk</h1>
        <p role="alert">The desk could not reach the API: {configError}</p>
      </main>
    );
  }
  if (config === null) return <main className="center" aria-busy="true" />;
  if (session === null) return <SignIn devAuth={config.devAuth} notice={notice} onSignIn={signIn} />;
  return <Desk key={session.token} session={session} notifierUrl={config.notifierUrl} onSignOut={signOut} />;
}
