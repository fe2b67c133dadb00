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

/** callApi for a call that must succeed: the body of a 2xx answer; any other answer throws with its status and body. */
export async function callApiOk<T = unknown>(...call: Parameters<typeof callApi>): Promise<T> {
  const answer = await callApi<T>(...call);
  if (answer.status < 200 || answer.status >= 300) {
    const [, method, route] = call;
    throw new Error(`${method} ${route} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  return answer.body;
}
