import { connectNotifier, type BookPayload, type NotificationPayload, type NotifierClient } from '@settle/contracts/browser';
import { ProblemError, type Api, type BookOrder, type Order } from './api';
import { ACTION_PATHS, ACTIVE_STATUSES, type DeskAction } from './orders';
import { loadLastSeq, saveLastSeq } from './session';
import { play } from './sound';

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface Notice {
  id: number;
  text: string;
  /** calm: something the merchant need not fix (an order taken by another merchant); never shown as an error. */
  tone: 'info' | 'calm' | 'success';
}

export interface DeskState {
  connection: Connection;
  /** Open book orders, oldest first. */
  book: BookOrder[];
  /** My orders by id: the active ones, and those that finished while the desk was open. */
  orders: ReadonlyMap<string, Order>;
  notices: Notice[];
  sound: boolean;
}

/** An event's order snapshot carries no payment details: those stay as the last REST read gave them. */
type OrderSnapshot = Omit<Order, 'paymentDetails'> & { paymentDetails?: Order['paymentDetails'] };

/** Consecutive failed connection attempts after which the badge says offline (it keeps retrying). */
const OFFLINE_AFTER = 2;
const NOTICE_MS = 8_000;

/**
 * The desk's live state: my orders and the book as REST snapshots plus socket deltas. An order update is applied
 * only when its orderVersion is newer than the one shown, whichever way it came (REST, replay, live), so an older
 * status never replaces a newer one.
 */
export class DeskStore {
  private state: DeskState = { connection: 'connecting', book: [], orders: new Map(), notices: [], sound: true };
  private readonly listeners = new Set<() => void>();
  private client: NotifierClient | undefined;
  private noticeId = 0;
  private failures = 0;
  private stopped = false;
  /** Past the first replay: only notifications from then on are news worth a notice. */
  private synced = false;
  private readonly completed = new Set<string>();

  constructor(
    readonly api: Api,
    readonly merchantId: string,
    private readonly notifierUrl: string,
    private readonly onSessionExpired: () => void,
  ) {
    this.state.sound = sessionStorage.getItem('settle.desk.sound') !== 'off';
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getState = (): DeskState => this.state;

  private set(patch: Partial<DeskState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener();
  }

  start(): void {
    this.stopped = false;
    void this.refreshActive();
    const client = connectNotifier<BookOrder>({
      url: this.notifierUrl,
      token: this.api.token,
      lastSeq: loadLastSeq(this.merchantId),
      fetchBook: () => this.api.book(),
      onBookSnapshot: (snapshot) => this.set({ book: [...snapshot.items] }),
      onBook: (payload) => this.applyBook(payload),
      onNotification: (payload) => this.applyNotification(payload),
      onSynced: () => {
        this.synced = true;
        saveLastSeq(this.merchantId, client.lastSeq());
      },
      onError: (error) => {
        if (/expired|token/i.test(error.message)) this.onSessionExpired();
      },
      // A connect that hangs (a proxy holding the upgrade) is given up after 5 s and retried.
      socketOptions: { reconnectionDelay: 500, reconnectionDelayMax: 3_000, timeout: 5_000 },
    });
    this.client = client;
    client.socket.on('connect', () => {
      this.failures = 0;
      this.set({ connection: 'live' });
    });
    client.socket.on('disconnect', () => {
      if (!this.stopped) this.set({ connection: 'reconnecting' });
    });
    client.socket.io.on('reconnect_error', () => {
      this.failures += 1;
      this.set({ connection: this.failures >= OFFLINE_AFTER ? 'offline' : 'reconnecting' });
    });
    client.socket.on('connect_error', () => {
      if (!client.socket.active) this.set({ connection: 'offline' });
    });
  }

  stop(): void {
    this.stopped = true;
    this.client?.close();
  }

  toggleSound(): void {
    sessionStorage.setItem('settle.desk.sound', this.state.sound ? 'off' : 'on');
    this.set({ sound: !this.state.sound });
  }

  notify(text: string, tone: Notice['tone'] = 'info'): void {
    const notice = { id: (this.noticeId += 1), text, tone };
    this.set({ notices: [...this.state.notices, notice].slice(-4) });
    setTimeout(() => this.dismiss(notice.id), NOTICE_MS);
  }

  dismiss(id: number): void {
    if (this.state.notices.some((notice) => notice.id === id))
      this.set({ notices: this.state.notices.filter((notice) => notice.id !== id) });
  }

  /** Applies an order if it is newer than the one shown; returns whether it was. */
  applyOrder(order: OrderSnapshot): boolean {
    const shown = this.state.orders.get(order.id);
    if (shown !== undefined && order.orderVersion <= shown.orderVersion) return false;
    const orders = new Map(this.state.orders);
    orders.set(order.id, { ...order, paymentDetails: order.paymentDetails ?? shown?.paymentDetails ?? null });
    const book =
      this.state.book.some((item) => item.id === order.id) && order.status !== 'open'
        ? this.state.book.filter((item) => item.id !== order.id)
        : this.state.book;
    this.set({ orders, book });
    // Whoever released (this desk, or the other side), the trade_complete sound plays once per order.
    if (order.status === 'completed' && shown !== undefined && shown.status !== 'completed' && !this.completed.has(order.id)) {
      this.completed.add(order.id);
      if (this.state.sound) play('trade_complete');
    }
    return true;
  }

  private applyNotification(payload: NotificationPayload): void {
    if (payload.seq > 0) saveLastSeq(this.merchantId, this.client?.lastSeq() ?? payload.seq);
    const isNew = !this.state.orders.has(payload.orderId);
    if (!this.applyOrder(payload.order)) return;
    if (this.synced && isNew && payload.type === 'order.created' && payload.actor.id !== this.merchantId)
      this.notify(`New order ${payload.orderNumber} for you`);
  }

  private applyBook(payload: BookPayload): void {
    if (payload.onBook) {
      if (this.state.book.some((item) => item.id === payload.orderId)) return;
      this.set({ book: [...this.state.book, payload.order] });
      this.notify(
        `New book order ${payload.order.orderNumber}: ${payload.order.cryptoAmount} ${payload.order.cryptoCurrency} for ${payload.order.fiatAmount} ${payload.order.fiatCurrency}`,
      );
      if (this.state.sound) play('new_order');
    } else {
      this.set({ book: this.state.book.filter((item) => item.id !== payload.orderId) });
    }
  }

  /** Re-reads my active orders (newest versions win, as always). */
  async refreshActive(): Promise<void> {
    const query = new URLSearchParams({ status: ACTIVE_STATUSES.join(','), sort: 'deadline', limit: '200' });
    try {
      const page = await this.api.orders(query);
      for (const order of page.items) this.applyOrder(order);
    } catch (error) {
      if (error instanceof ProblemError && error.status !== 401) this.notify(`Could not load your orders: ${error.problem.detail}`);
    }
  }

  /**
   * One action on an order, sent with If-Match at the version shown. A release then re-reads the order and the
   * list (the completion plays trade_complete); other actions show the order the API answered. Throws ProblemError.
   */
  async act(
    order: Pick<Order, 'id' | 'orderVersion'>,
    action: DeskAction,
    body: Record<string, unknown>,
    idempotencyKey?: string,
  ): Promise<Order> {
    const answered = await this.api.request<Order>('POST', `/v1/orders/${encodeURIComponent(order.id)}/${ACTION_PATHS[action]}`, {
      body,
      ifMatch: order.orderVersion,
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
    });
    if (action === 'confirm_and_release') {
      const current = await this.api.order(order.id).catch(() => answered);
      this.applyOrder(current);
      await this.refreshActive();
      this.notify(`${current.orderNumber} completed: the escrow was released`, 'success');
      return current;
    }
    this.applyOrder(answered);
    return answered;
  }

  /** The book row leaves at once when its accept was refused because it left the book. */
  dropFromBook(id: string): void {
    this.set({ book: this.state.book.filter((item) => item.id !== id) });
  }

  /** Creates an M2M order; it shows up among my orders at once. */
  async createOrder(body: Record<string, unknown>): Promise<Order> {
    const created = await this.api.request<Order>('POST', '/v1/orders', { body });
    this.applyOrder(created);
    return created;
  }
}
