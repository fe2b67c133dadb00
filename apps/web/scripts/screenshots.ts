/**
 * `npm run screenshots`: the desk's README screenshots (docs/screenshots/), taken in Debian's Chromium from a real
 * session against a running stack (`npm start`; DESK_URL names another one). It signs in as merchant-alpha, creates
 * a few orders as user-ana over the API, and shoots the book and the active orders at 1280 px and 390 px wide.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { callApiOk } from '@settle/testkit';
import { launchChromium } from './chromium';

const base = process.env['DESK_URL'] ?? 'http://localhost:3000';
const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/screenshots');

const call = <T>(method: string, route: string, token: string | undefined, body?: unknown): Promise<T> =>
  callApiOk<T>(base, method, route, token, body);

/** 64 random lower-case hex digits: a Tron tx hash no order holds yet. */
const txHash = (): string => (randomUUID() + randomUUID()).replaceAll('-', '');

async function seedOrders(): Promise<void> {
  const token = async (role: string, id: string): Promise<string> =>
    (await call<{ token: string }>('POST', '/v1/dev/tokens', undefined, { role, id })).token;
  const [merchant, user] = [await token('merchant', 'merchant-alpha'), await token('user', 'user-ana')];
  const create = (body: Record<string, unknown>) =>
    call<{ id: string }>('POST', '/v1/orders', user, { fiatCurrency: 'AED', rate: '3.6725', paymentMethod: 'bank_transfer', ...body });
  await create({ type: 'sell', cryptoAmount: '250.00', fiatAmount: '918.13' });
  await create({ type: 'buy', cryptoAmount: '80.00', fiatAmount: '293.80', paymentMethod: 'upi' });
  await create({ type: 'buy', merchantId: 'merchant-alpha', cryptoAmount: '120.00', fiatAmount: '440.70' });
  const escrowed = await create({ type: 'buy', merchantId: 'merchant-alpha', cryptoAmount: '500.00', fiatAmount: '1836.25' });
  await call('POST', `/v1/orders/${escrowed.id}/accept`, merchant, {});
  await call('POST', `/v1/orders/${escrowed.id}/escrow`, merchant, { txHash: txHash() });
  const paid = await create({
    type: 'sell',
    merchantId: 'merchant-alpha',
    cryptoAmount: '1000.00',
    fiatAmount: '3672.50',
    paymentMethod: 'cash',
  });
  await call('POST', `/v1/orders/${paid.id}/accept`, merchant, {});
  await call('POST', `/v1/orders/${paid.id}/escrow`, user, { txHash: txHash() });
}

async function shoot(browser: Browser, name: string, width: number, height: number, steps: (page: Page) => Promise<void>): Promise<void> {
  const context = await browser.newContext({
    viewport: { width, height },
    deviceScaleFactor: 1,
    isMobile: width < 600,
    hasTouch: width < 600,
  });
  const page = await context.newPage();
  await page.goto(base);
  await page.getByRole('button', { name: 'Sign in as merchant-alpha' }).click();
  await page.locator('[data-connection="live"]').waitFor();
  await steps(page);
  // Countdowns tick every second: let the last render settle before the shot.
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(out, `${name}.png`), fullPage: false });
  process.stdout.write(`docs/screenshots/${name}.png\n`);
  await context.close();
}

await seedOrders();
const browser = await launchChromium();
try {
  await shoot(browser, 'desk-book-desktop', 1280, 800, async (page) => {
    await page.locator('ul[aria-label="Open book orders"] li').first().waitFor();
  });
  await shoot(browser, 'desk-active-desktop', 1280, 800, async (page) => {
    await page.getByRole('tab', { name: /My active orders/ }).click();
    await page.locator('li[data-order-number]').first().waitFor();
  });
  await shoot(browser, 'desk-active-phone', 390, 844, async (page) => {
    await page.getByRole('tab', { name: /My active orders/ }).click();
    await page.locator('li[data-order-number]').first().waitFor();
  });
  await shoot(browser, 'desk-confirm-dialog-phone', 390, 844, async (page) => {
    await page.getByRole('tab', { name: /My active orders/ }).click();
    await page
      .getByRole('button', { name: /^Mark paid / })
      .first()
      .click();
    await page.locator('dialog[open]').waitFor();
  });
} finally {
  await browser.close();
}
