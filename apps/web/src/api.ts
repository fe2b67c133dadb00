import type {
  AccountView,
  BookSnapshot,
  DeskConfig,
  OrderViewDto,
  webhookDelivery,
  webhookEndpoint,
  webhookEndpointCreated,
  z,
} from '@settle/contracts/browser';
import type { bookSummary, problem } from '@settle/contracts/browser';

export type Order = OrderViewDto;
export type BookOrder = z.infer<typeof bookSummary>;
export type Problem = z.infer<typeof problem>;
export type WebhookEndpoint = z.infer<typeof webhookEndpoint>;
export type WebhookEndpointCreated = z.infer<typeof webhookEndpointCreated>;
export type WebhookDelivery = z.infer<typeof webhookDelivery>;

/** A refused request: the API's problem+json (or one made up for a network failure, status 0). */
export class ProblemError extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail);
    this.name = 'ProblemError';
    this.problem = problem;
  }
  get status(): number {
    return this.problem.status;
  }
}

export interface RequestOptions {
  body?: unknown;
  /** The orderVersion shown, sent as a strong If-Match. */
  ifMatch?: number;
  idempotencyKey?: string;
}

async function problemOf(response: Response): Promise<Problem> {
  try {
    const body = (await response.json()) as Partial<Problem>;
    if (typeof body.detail === 'string')
      return { type: body.type ?? 'about:blank', title: body.title ?? response.statusText, status: response.status, ...body } as Problem;
  } catch {
    // not a problem document; described below
  }
  return {
    type: 'about:blank',
    title: response.statusText,
    status: response.status,
    detail: `the API answered ${response.status} ${response.statusText}`,
  };
}

/** The Order API as the desk calls it: bearer token, JSON, problem+json errors as ProblemError. */
export class Api {
  constructor(
    readonly token: string,
    /** Called once the API says the token is no longer valid (401). */
    private readonly onExpired: () => void,
  ) {}

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.ifMatch !== undefined) headers['if-match'] = `"${options.ifMatch}"`;
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    let response: Response;
    try {
      response = await fetch(path, { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
    } catch {
      throw new ProblemError({
        type: 'about:blank',
        title: 'Network error',
        status: 0,
        detail: 'the API could not be reached; check the connection and try again',
      });
    }
    if (response.status === 401) this.onExpired();
    if (!response.ok) throw new ProblemError(await problemOf(response));
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  account = (): Promise<AccountView> => this.request('GET', '/v1/account');
  book = (): Promise<BookSnapshot<BookOrder>> => this.request('GET', '/v1/orders/book');
  order = (id: string): Promise<Order> => this.request('GET', `/v1/orders/${encodeURIComponent(id)}`);
  orders = (query: URLSearchParams): Promise<{ items: Order[]; nextCursor: string | null }> =>
    this.request('GET', `/v1/orders?${query.toString()}`);
}

/** GET /desk/config: the notifier's URL and whether dev tokens are served. */
export async function deskSettings(): Promise<DeskConfig> {
  const response = await fetch('/desk/config', { headers: { accept: 'application/json' } });
  if (!response.ok) throw new ProblemError(await problemOf(response));
  return (await response.json()) as DeskConfig;
}

/** POST /v1/dev/tokens for a merchant (dev auth only). */
export async function devToken(merchantId: string): Promise<string> {
  const response = await fetch('/v1/dev/tokens', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ role: 'merchant', id: merchantId }),
  });
  if (!response.ok) throw new ProblemError(await problemOf(response));
  return ((await response.json()) as { token: string }).token;
}
