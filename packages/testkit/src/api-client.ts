/** An answer of the HTTP API as a test reads it. */
export interface ApiAnswer<T> {
  status: number;
  /** The body parsed as JSON; null when it is empty, the text when it is not JSON. */
  body: T;
  headers: Headers;
}

/** Calls the API at `baseUrl` as its clients do: `token` as the bearer token, `body` sent as JSON. */
export async function callApi<T = unknown>(
  baseUrl: string,
  method: string,
  route: string,
  token?: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiAnswer<T>> {
  const response = await fetch(`${baseUrl}${route}`, {
    method,
    headers: {
      ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  let parsed: unknown = text === '' ? null : text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: the text as it came.
  }
  return { status: response.status, body: parsed as T, headers: response.headers };
}
