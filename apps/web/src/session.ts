/** The signed-in merchant, kept for this browser tab's session only (sessionStorage), never in a URL. */
export interface Session {
  token: string;
  merchantId: string;
}

const KEY = 'settle.desk.session';
const seqKey = (merchantId: string): string => `settle.desk.lastSeq.${merchantId}`;

export function loadSession(): Session | null {
  try {
    const parsed = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Partial<Session> | null;
    return parsed !== null && typeof parsed.token === 'string' && typeof parsed.merchantId === 'string'
      ? { token: parsed.token, merchantId: parsed.merchantId }
      : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}

/** The highest notification seq this session holds, so a reload or reconnect replays only what it missed. */
export function loadLastSeq(merchantId: string): number {
  const value = Number(sessionStorage.getItem(seqKey(merchantId)) ?? '0');
  return Number.isSafeInteger(value) && value > 0 ? value : 0;
}

export function saveLastSeq(merchantId: string, seq: number): void {
  sessionStorage.setItem(seqKey(merchantId), String(seq));
}

/** The merchant id a token names (its `sub`), read without verifying: the API verifies it on every call. */
export function subjectOf(token: string): string | null {
  const payload = token.split('.')[1];
  if (payload === undefined) return null;
  try {
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: unknown };
    return typeof claims.sub === 'string' ? claims.sub : null;
  } catch {
    return null;
  }
}
