import { randomUUID } from 'node:crypto';
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApiOk, testAddress, testTxHash } from '@settle/testkit';
import { launchChromium } from '../scripts/chromium';
import { startDeskStack, type DeskStack } from './stack';

/**
 * The desk in real Chromium against the real stack (API serving the build, relay, notifier, Postgres, Kafka).
 * Each merchant has a browser context of its own; the notifier's websocket runs through a route of the context,
 * which records what the server sent, can cut the connection and can inject frames.
 */
interface Wire {
  /** socket.io frames the notifier sent to this page. */
  frames: string[];
  blocked: boolean;
  page?: WebSocketRoute;
  server?: WebSocketRoute;
}

interface Desk {
  context: BrowserContext;
  page: Page;
  wire: Wire;
  errors: string[];
}

/** A socket.io event packet `notification` (with its ack id: `42<id>["notification",…]`). */
const NOTIFICATION_FRAME = /^42\d*\["notification",/;
const ALPHA = 'desk-alpha';
const BETA = 'desk-beta';
const USER = 'desk-user';
const wallets = { alpha: testAddress('desk-alpha'), beta: testAddress('desk-beta'), user: testAddress('desk-user') };

describe('the merchant desk in Chromium', () => {
  let stack: DeskStack;
  let browser: Browser;
  let alpha: Desk;
  let beta: Desk;
  const tokens: Record<string, string> = {};
  /** An escrow hash an earlier test's order holds. */
  let usedHash = '';

  const ok = <T = { id: string; orderNumber: string; orderVersion: number }>(
    method: string,
    route: string,
    token: string | undefined,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<T> => callApiOk<T>(stack.apiUrl, method, route, token, body, headers);

  const order = (type: 'buy' | 'sell', merchantId: string | undefined, crypto = '25.00') =>
    ok('POST', '/v1/orders', tokens[USER], {
      type,
      ...(merchantId !== undefined ? { merchantId } : {}),
      cryptoAmount: crypto,
      fiatAmount: (Number(crypto) * 3.5).toFixed(2),
      fiatCurrency: 'AED',
      rate: '3.5',
      paymentMethod: 'bank_transfer',
      ...(type === 'buy' ? { buyerWalletAddress: wallets.user } : {}),
    });

  async function openDesk(merchantId: string, signIn: 'demo' | 'token'): Promise<Desk> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const wire: Wire = { frames: [], blocked: false };
    await context.routeWebSocket(/\/socket\.io\//, (ws) => {
      if (wire.blocked) {
        // Refused once the page's end is open, as a dropped network would.
        setTimeout(() => void ws.close({ code: 1011, reason: 'blocked by the test' }), 50);
        return;
      }
      const server = ws.connectToServer();
      wire.page = ws;
      wire.server = server;
      ws.onMessage((message) => server.send(message));
      server.onMessage((message) => {
        wire.frames.push(String(message));
        ws.send(message);
      });
    });
    // Every play() of a media element is counted by the sound's name.
    await context.addInitScript(() => {
      const played: string[] = [];
      Object.assign(window, { __played: played });
      // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this) on the element
      const play = HTMLMediaElement.prototype.play;
      HTMLMediaElement.prototype.play = function (this: HTMLMediaElement) {
        played.push(this.dataset['sound'] ?? this.src);
        return play.call(this).catch(() => undefined);
      };
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(stack.apiUrl);
    if (signIn === 'demo') {
      await page.getByLabel('Another merchant id').fill(merchantId);
      await page.getByRole('button', { name: 'Sign in', exact: true }).first().click();
    } else {
      await page.getByLabel('Merchant token (JWT)').fill(tokens[merchantId] ?? '');
      await page.locator('form[aria-labelledby="token-heading"] button[type="submit"]').click();
    }
    await page.locator('[data-connection="live"]').waitFor();
    return { context, page, wire, errors };
  }

  const card = (desk: Desk, orderNumber: string) => desk.page.locator(`li[data-order-number="${orderNumber}"]`);
  const statusOf = (desk: Desk, orderNumber: string) => card(desk, orderNumber).locator('[data-status]').getAttribute('data-status');
  const versionOf = async (desk: Desk, orderNumber: string) =>
    Number(await card(desk, orderNumber).locator('[data-field="version"]').textContent());
  const tab = (desk: Desk, name: RegExp) => desk.page.getByRole('tab', { name }).click();
  const played = (desk: Desk): Promise<string[]> => desk.page.evaluate(() => (window as unknown as { __played: string[] }).__played);
  const waitStatus = (desk: Desk, orderNumber: string, status: string) =>
    card(desk, orderNumber).locator(`[data-status="${status}"]`).waitFor({ timeout: 15_000 });

  /** Confirms the open dialog after filling its fields by label. */
  async function confirm(desk: Desk, fields: Record<string, string> = {}): Promise<void> {
    const dialog = desk.page.locator('dialog[open]');
    for (const [label, value] of Object.entries(fields)) await dialog.getByLabel(label).fill(value);
    await dialog.locator('button[type="submit"]').click();
  }

  /** Presses Tab until the element matching `selector` has focus. */
  async function tabTo(desk: Desk, selector: string): Promise<void> {
    for (let press = 0; press < 120; press += 1) {
      if (await desk.page.evaluate((wanted) => document.activeElement?.matches(wanted) ?? false, selector)) return;
      await desk.page.keyboard.press('Tab');
    }
    throw new Error(`Tab never reached ${selector}`);
  }

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startDeskStack(), launchChromium()]);
    tokens[ALPHA] = (
      await ok<{ token: string }>('POST', '/v1/dev/tokens', undefined, { role: 'merchant', id: ALPHA, walletAddress: wallets.alpha })
    ).token;
    tokens[BETA] = (
      await ok<{ token: string }>('POST', '/v1/dev/tokens', undefined, { role: 'merchant', id: BETA, walletAddress: wallets.beta })
    ).token;
    tokens[USER] = (
      await ok<{ token: string }>('POST', '/v1/dev/tokens', undefined, { role: 'user', id: USER, walletAddress: wallets.user })
    ).token;
    [alpha, beta] = await Promise.all([openDesk(ALPHA, 'demo'), openDesk(BETA, 'token')]);
  }, 180_000);

  afterAll(async () => {
    expect([...(alpha?.errors ?? []), ...(beta?.errors ?? [])]).toEqual([]);
    await browser?.close();
    await stack?.stop();
  });

  it("a book order appears live on both desks; A accepts; B, clicking too, is told calmly that it was taken, and never gets A's private events", async () => {
    const created = await order('sell', undefined, '40.00');
    for (const desk of [alpha, beta]) {
      await card(desk, created.orderNumber).waitFor();
      await desk.page.getByText(`New book order ${created.orderNumber}`).waitFor();
    }
    await card(beta, created.orderNumber)
      .getByRole('button', { name: `Accept ${created.orderNumber}` })
      .click();
    await card(alpha, created.orderNumber)
      .getByRole('button', { name: `Accept ${created.orderNumber}` })
      .click();
    await confirm(alpha);
    await tab(alpha, /My active orders/);
    await waitStatus(alpha, created.orderNumber, 'accepted');
    // B's row leaves the book by the book delta while its dialog is still open; its confirm is then refused.
    await beta.page
      .locator(`ul[aria-label="Open book orders"] li[data-order-number="${created.orderNumber}"]`)
      .waitFor({ state: 'detached' });
    await confirm(beta);
    const calm = beta.page.locator('.notice-calm', { hasText: `${created.orderNumber} was taken by another merchant` });
    await calm.waitFor();
    expect(await beta.page.locator('dialog[open]').count()).toBe(0);
    expect(await beta.page.locator('.error, .dialog-error:not(:empty)').count()).toBe(0);
    await tab(beta, /My active orders/);
    expect(await card(beta, created.orderNumber).count()).toBe(0);
    // On the wire: B got the public book deltas for the order and no private notification about it.
    expect(beta.wire.frames.some((frame) => frame.startsWith('42["book"') && frame.includes(created.id))).toBe(true);
    expect(beta.wire.frames.filter((frame) => NOTIFICATION_FRAME.test(frame) && frame.includes(created.id))).toEqual([]);
    expect(
      alpha.wire.frames.some((frame) => NOTIFICATION_FRAME.test(frame) && frame.includes(created.id) && frame.includes('"order.accepted"')),
    ).toBe(true);
  });

  it("a BUY order, by keyboard alone: accept, lock escrow, the user pays (live), confirm & release → completed, trade_complete once, the buyer's wallet shown", async () => {
    const { page } = alpha;
    const created = await order('buy', ALPHA, '25.00');
    await tab(alpha, /My active orders/);
    await waitStatus(alpha, created.orderNumber, 'open');
    await page.locator('body').focus();
    await tabTo(alpha, `button[aria-label="Accept ${created.orderNumber}"]`);
    await page.keyboard.press('Enter');
    await page.locator('dialog[open]').waitFor();
    await page.keyboard.press('Enter');
    await waitStatus(alpha, created.orderNumber, 'accepted');

    await tabTo(alpha, `button[aria-label="Lock escrow ${created.orderNumber}"]`);
    await page.keyboard.press('Enter');
    await page.locator('dialog[open]').getByLabel('Escrow tx hash').waitFor();
    usedHash = testTxHash(`desk-buy-escrow-${created.id}`);
    await page.keyboard.type(usedHash);
    await page.keyboard.press('Enter');
    await waitStatus(alpha, created.orderNumber, 'escrowed');

    await ok('POST', `/v1/orders/${created.id}/payment-sent`, tokens[USER], {});
    await waitStatus(alpha, created.orderNumber, 'payment_sent');

    await tabTo(alpha, `button[aria-label="Confirm & release ${created.orderNumber}"]`);
    await page.keyboard.press('Enter');
    const dialog = page.locator('dialog[open]');
    // The confirm dialog repeats the amounts, the network and where the crypto goes.
    expect(await dialog.locator('[data-confirm="recipient"]').textContent()).toBe(wallets.user);
    expect(await dialog.locator('[data-confirm="network"]').textContent()).toBe('tron');
    expect(await dialog.locator('[data-confirm="crypto"]').textContent()).toMatch(/^25\.00 USDT$/);
    await page.keyboard.type(testTxHash(`desk-buy-release-${created.id}`));
    await page.keyboard.press('Enter');
    await waitStatus(alpha, created.orderNumber, 'completed');
    expect(await card(alpha, created.orderNumber).locator('.wallet').textContent()).toBe(wallets.user);
    await page.waitForTimeout(1_000);
    expect((await played(alpha)).filter((name) => name === 'trade_complete')).toHaveLength(1);
    expect(await card(alpha, created.orderNumber).count()).toBe(1);
  });

  it("a SELL order: accept, the user locks escrow, mark paid, the user releases → completed live, the merchant's own wallet shown, trade_complete once more", async () => {
    const before = (await played(alpha)).filter((name) => name === 'trade_complete').length;
    const created = await order('sell', ALPHA, '30.00');
    await waitStatus(alpha, created.orderNumber, 'open');
    await card(alpha, created.orderNumber)
      .getByRole('button', { name: `Accept ${created.orderNumber}` })
      .click();
    await confirm(alpha);
    await waitStatus(alpha, created.orderNumber, 'accepted');
    expect(await card(alpha, created.orderNumber).locator('.wallet').textContent()).toBe(wallets.alpha);
    await ok('POST', `/v1/orders/${created.id}/escrow`, tokens[USER], { txHash: testTxHash(`desk-sell-escrow-${created.id}`) });
    await waitStatus(alpha, created.orderNumber, 'escrowed');
    await card(alpha, created.orderNumber)
      .getByRole('button', { name: `Mark paid ${created.orderNumber}` })
      .click();
    await confirm(alpha, { 'Payment reference (optional)': 'bank ref 42' });
    await waitStatus(alpha, created.orderNumber, 'payment_sent');
    await ok(
      'POST',
      `/v1/orders/${created.id}/release`,
      tokens[USER],
      { txHash: testTxHash(`desk-sell-release-${created.id}`) },
      { 'idempotency-key': randomUUID() },
    );
    await waitStatus(alpha, created.orderNumber, 'completed');
    expect(await card(alpha, created.orderNumber).locator('.wallet').textContent()).toBe(wallets.alpha);
    await alpha.page.waitForTimeout(500);
    expect((await played(alpha)).filter((name) => name === 'trade_complete')).toHaveLength(before + 1);
  });

  it("an M2M order from the form (fiat suggested exactly): B accepts, A locks, B pays, A releases → completed with B's wallet shown", async () => {
    const { page } = alpha;
    await tab(alpha, /New M2M order/);
    await page.getByLabel('Buying merchant').selectOption(BETA);
    await page.getByLabel('Crypto amount').fill('12.5');
    await page.getByLabel('Rate (fiat per crypto unit)').fill('3.6725');
    // 12.5 × 3.6725 = 45.90625 → 45.91 AED (half-even at two decimals, as the API rounds).
    await page.getByRole('button', { name: 'Use 45.91' }).click();
    expect(await page.getByLabel('Fiat amount').inputValue()).toBe('45.91');
    await page.getByRole('button', { name: 'Create M2M order' }).click();
    const number = (await page.locator('.notice-success', { hasText: 'created' }).first().textContent())?.match(/BM-\S+/)?.[0] ?? '';
    expect(number).toMatch(/^BM-/);
    await waitStatus(alpha, number, 'open');

    await tab(beta, /My active orders/);
    await waitStatus(beta, number, 'open');
    await card(beta, number)
      .getByRole('button', { name: `Accept ${number}` })
      .click();
    await confirm(beta);
    await waitStatus(alpha, number, 'accepted');
    expect(await card(alpha, number).locator('.wallet').textContent()).toBe(wallets.beta);

    const id = (await card(alpha, number).getAttribute('data-order-id')) ?? '';
    await card(alpha, number)
      .getByRole('button', { name: `Lock escrow ${number}` })
      .click();
    await confirm(alpha, { 'Escrow tx hash': testTxHash(`desk-m2m-escrow-${id}`) });
    await waitStatus(alpha, number, 'escrowed');
    await ok('POST', `/v1/orders/${id}/payment-sent`, tokens[BETA], {});
    await waitStatus(alpha, number, 'payment_sent');
    await card(alpha, number)
      .getByRole('button', { name: `Confirm & release ${number}` })
      .click();
    await confirm(alpha, { 'Release tx hash': testTxHash(`desk-m2m-release-${id}`) });
    await waitStatus(alpha, number, 'completed');
    await waitStatus(beta, number, 'completed');
    expect(await card(alpha, number).locator('.wallet').textContent()).toBe(wallets.beta);
    expect(await card(alpha, number).getByText('I sell').count()).toBe(1);
    expect(await card(beta, number).getByText('I buy').count()).toBe(1);
  });

  it('an older orderVersion injected on the socket after a newer one changes nothing shown', async () => {
    const created = await order('buy', ALPHA, '11.00');
    await ok('POST', `/v1/orders/${created.id}/accept`, tokens[ALPHA], {});
    await ok('POST', `/v1/orders/${created.id}/escrow`, tokens[ALPHA], { txHash: testTxHash(`desk-ooo-escrow-${created.id}`) });
    await waitStatus(alpha, created.orderNumber, 'escrowed');
    expect(await versionOf(alpha, created.orderNumber)).toBe(3);
    // The real version-2 notification, sent again as an order-room copy (seq 0) so only the version decides.
    const accepted = alpha.wire.frames.find(
      (frame) => NOTIFICATION_FRAME.test(frame) && frame.includes(created.id) && frame.includes('"order.accepted"'),
    );
    expect(accepted).toBeDefined();
    const [, payload] = JSON.parse((accepted ?? '').replace(/^42\d*/, '')) as [string, Record<string, unknown>];
    alpha.wire.page?.send(`42${JSON.stringify(['notification', { ...payload, seq: 0 }])}`);
    await alpha.page.waitForTimeout(700);
    expect(await statusOf(alpha, created.orderNumber)).toBe('escrowed');
    expect(await versionOf(alpha, created.orderNumber)).toBe(3);
  });

  it('offline and back: the badge changes, the missed update is replayed, nothing is shown twice', async () => {
    const created = await order('buy', ALPHA, '12.00');
    await ok('POST', `/v1/orders/${created.id}/accept`, tokens[ALPHA], {});
    await ok('POST', `/v1/orders/${created.id}/escrow`, tokens[ALPHA], { txHash: testTxHash(`desk-offline-escrow-${created.id}`) });
    await waitStatus(alpha, created.orderNumber, 'escrowed');

    alpha.wire.blocked = true;
    void alpha.wire.page?.close({ code: 1011, reason: 'blocked by the test' });
    void alpha.wire.server?.close();
    await alpha.page.locator('[data-connection="reconnecting"], [data-connection="offline"]').waitFor();
    const framesBefore = alpha.wire.frames.length;
    await ok('POST', `/v1/orders/${created.id}/payment-sent`, tokens[USER], {});
    await alpha.page.waitForTimeout(1_000);
    expect(await statusOf(alpha, created.orderNumber)).toBe('escrowed');

    alpha.wire.blocked = false;
    await alpha.page.locator('[data-connection="live"]').waitFor({ timeout: 15_000 });
    await waitStatus(alpha, created.orderNumber, 'payment_sent');
    // It came back as a replayed notification, not a reload.
    expect(
      alpha.wire.frames.slice(framesBefore).some((frame) => frame.includes('"order.payment_sent"') && frame.includes(created.id)),
    ).toBe(true);
    expect(await card(alpha, created.orderNumber).count()).toBe(1);
    expect(await versionOf(alpha, created.orderNumber)).toBe(4);
  });

  it('a refused action shows the problem detail in place and leaves the row as it was: a hash already used (409), a stale version (412)', async () => {
    const created = await order('buy', ALPHA, '13.00');
    await ok('POST', `/v1/orders/${created.id}/accept`, tokens[ALPHA], {});
    await waitStatus(alpha, created.orderNumber, 'accepted');
    const row = card(alpha, created.orderNumber);
    const dialog = alpha.page.locator('dialog[open]');

    await row.getByRole('button', { name: `Lock escrow ${created.orderNumber}` }).click();
    await confirm(alpha, { 'Escrow tx hash': usedHash });
    await dialog.locator('.dialog-error:not(:empty)').waitFor();
    expect(await dialog.locator('.dialog-error').textContent()).toMatch(/already|used/i);
    await dialog.getByRole('button', { name: 'Close' }).click();
    expect(await statusOf(alpha, created.orderNumber)).toBe('accepted');
    expect(await versionOf(alpha, created.orderNumber)).toBe(2);

    await row.getByRole('button', { name: `Lock escrow ${created.orderNumber}` }).click();
    await confirm(alpha, { 'Escrow tx hash': testTxHash(`desk-refused-escrow-${created.id}`) });
    await waitStatus(alpha, created.orderNumber, 'escrowed');
    // The dialog keeps the version it was opened at; the user's extension request moves the order on meanwhile.
    await row.getByRole('button', { name: `Request cancel ${created.orderNumber}` }).click();
    await ok('POST', `/v1/orders/${created.id}/extension-request`, tokens[USER], {});
    await alpha.page.locator(`li[data-order-number="${created.orderNumber}"] [data-field="version"]`, { hasText: '4' }).waitFor();
    await dialog.locator('button[type="submit"]').click();
    await dialog.locator('.dialog-error:not(:empty)').waitFor();
    const detail = await dialog.locator('.dialog-error').textContent();
    expect(detail).toMatch(/version|If-Match/i);
    await dialog.getByRole('button', { name: 'Close' }).click();
    expect(await statusOf(alpha, created.orderNumber)).toBe('escrowed');
    expect(await versionOf(alpha, created.orderNumber)).toBe(4);
    expect(
      (await ok<{ orderVersion: number; cancelRequestedBy: unknown }>('GET', `/v1/orders/${created.id}`, tokens[ALPHA])).cancelRequestedBy,
    ).toBeNull();
  });
});
