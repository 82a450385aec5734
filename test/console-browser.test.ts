import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeCheck, BREAKABLE_EVENT_SOURCE, watchedPage } from './support/console-browser-kit.js';
import { spawnUntil } from './support/spawn-until.js';
import { ensureWebBuilt } from './support/web-build.js';

/**
 * The web console in a real browser (Debian's Chromium driven by playwright-core) against the
 * service started the way a person starts it (`autoglm serve`, first start, printed password):
 * log in, order in Chinese in the chat, confirm with a double click (one request, one charge), see
 * the order complete in the live list of another tab without reloading it, reload and find the
 * card as it was, switch language, and a viewer who gets no refund button and is refused by the
 * API anyway. axe-core checks every screen; the screenshots in docs/images/ are taken here.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
if (!present) {
  console.warn(`console-browser: skipped, no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does)`);
}
const SHOTS = join('docs', 'images');

let dir: string;
let service: { child: ChildProcess; url: string; output: () => string };
let adminKey: string;
let password: string;
let browser: Browser;
/** Everything the page reported as refused by its Content-Security-Policy. */
const cspViolations: string[] = [];

function newPage(context: BrowserContext): Promise<Page> {
  return watchedPage(context, cspViolations);
}

async function logIn(page: Page, user: string, pw: string): Promise<void> {
  await page.goto(`${service.url}/`);
  await page.locator('input[name=user]').fill(user);
  await page.locator('input[name=password]').fill(pw);
  await page.locator('form button[type=submit]').click();
  await page.locator('#chat-input').waitFor();
}

const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> => {
  const res = await fetch(`${service.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${adminKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
};

beforeAll(async () => {
  if (!present) return;
  ensureWebBuilt();
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'autoglm-console-'));
  service = await spawnUntil(
    'test/support/serve-child.ts',
    ['--port', '0', '--db', `sqlite://${join(dir, 'db.sqlite')}`],
    // Orders wait for the person (the chat's confirmation card); the rest as shipped.
    { ...process.env, AUTOGLM_LOG_LEVEL: 'warn', AUTOGLM_AUTO_CONFIRM_ORDER: 'false' },
    'service',
  );
  adminKey = readFileSync(join(dir, 'admin-key'), 'utf8').trim();
  password = /log in as admin with the password (\S+)/.exec(service.output())?.[1] ?? '';
  expect(password).not.toBe('');
  expect(readFileSync(join(dir, 'admin-password'), 'utf8').trim()).toBe(password);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  service?.child.kill('SIGTERM');
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!present)('the web console in Chromium', () => {
  let context: BrowserContext;
  let orderId: string;

  it('logs in with the first start’s password, in the browser’s language (Chinese)', async () => {
    context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1100, height: 760 } });
    const page = await newPage(context);
    await page.goto(`${service.url}/`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('登录');
    await axeCheck(page, 'login');
    await page.screenshot({ path: join(SHOTS, 'console-login.png') });
    // Keyboard only: type, Tab to the next field, Enter submits.
    await page.locator('input[name=user]').focus();
    await page.keyboard.type('admin');
    await page.keyboard.press('Tab');
    await page.keyboard.type(password);
    await page.keyboard.press('Enter');
    await page.locator('#chat-input').waitFor();
    expect(await page.locator('header').textContent()).toContain('已登录：admin（admin）');
    await page.close();
  });

  it('orders a latte in Chinese; a double click on Confirm charges once; the live list shows it done', async () => {
    const orders = await newPage(context);
    await orders.goto(`${service.url}/orders`);
    await expect.poll(() => orders.getByTestId('live').textContent()).toBe('实时');
    let ordersLoads = 0;
    orders.on('load', () => ordersLoads++);

    const chat = await newPage(context);
    await chat.goto(`${service.url}/chat`);
    await chat.locator('#chat-input').fill('来一杯大杯拿铁');
    await chat.keyboard.press('Enter');
    const card = chat.locator('section.confirm');
    await card.waitFor();
    expect(await card.textContent()).toContain('¥35.00');
    expect(await card.textContent()).toContain('大杯拿铁');
    await axeCheck(chat, 'chat');
    await chat.screenshot({ path: join(SHOTS, 'console-chat-confirm.png') });

    // It is waiting in the list already (the stream told it), before anything was confirmed.
    const row = orders.locator('tr[data-order]');
    await row.first().waitFor();
    orderId = (await row.first().getAttribute('data-order')) ?? '';
    expect(orderId).toMatch(/^ord_/);

    const confirms: string[] = [];
    chat.on('request', (r) => {
      if (r.method() === 'POST' && r.url().includes('/confirm')) confirms.push(r.url());
    });
    await card.getByRole('button', { name: '确认' }).dblclick();
    await expect.poll(() => card.textContent(), { timeout: 15_000 }).toContain('已确认');
    // The list moved by itself, without a reload of its page.
    await orders.locator(`tr[data-order="${orderId}"][data-status="COMPLETED"]`).waitFor({ timeout: 15_000 });
    expect(ordersLoads).toBe(0);
    expect(confirms).toHaveLength(1);
    await axeCheck(orders, 'orders');
    await orders.screenshot({ path: join(SHOTS, 'console-orders.png') });

    // One charge, as the API tells it: one confirmation, one successful payment, paid once.
    const order = await api('GET', `/api/v1/orders/${orderId}`);
    expect((order.body as { order: { status: string; payment: { status: string } } }).order.payment.status).toBe(
      'PAID',
    );
    const audit = (await api('GET', `/api/v1/orders/${orderId}/audit`)).body as { data: { action: string }[] };
    const actions = audit.data.map((a) => a.action);
    expect(actions.filter((a) => a === 'order.confirm')).toHaveLength(1);
    expect(actions.filter((a) => a === 'order.payment_succeeded')).toHaveLength(1);
    const all = (await api('GET', '/api/v1/orders?limit=50')).body as { data: unknown[] };
    expect(all.data).toHaveLength(1);

    // A reload shows the card as it was left: decided, no buttons to press again.
    await chat.reload();
    await expect.poll(() => chat.locator('section.confirm').textContent()).toContain('已确认');
    expect(await chat.locator('section.confirm button').count()).toBe(0);
    await chat.close();
    await orders.close();
  });

  it('shows the order’s detail: timeline, payment, refunds and audit trail; switches to English', async () => {
    const page = await newPage(context);
    await page.goto(`${service.url}/orders`);
    await page.locator(`a[href="/orders/${orderId}"]`).click();
    await page.getByTestId('order-status').waitFor();
    expect(await page.locator('.timeline').textContent()).toContain('order.fulfilled');
    expect(await page.locator('#h-audit').count()).toBe(1);
    await expect.poll(() => page.locator('table').last().textContent()).toContain('order.confirm');
    await axeCheck(page, 'order detail');
    await page.screenshot({ path: join(SHOTS, 'console-order-detail.png'), fullPage: true });

    await page.getByLabel('语言').selectOption('en');
    await expect.poll(() => page.locator('#h-audit').textContent()).toBe('Audit trail');
    expect(await page.locator('nav').textContent()).toContain('Orders');
    await page.reload();
    await expect.poll(() => page.locator('#h-audit').textContent()).toBe('Audit trail');
    expect(await page.getByRole('button', { name: 'Refund' }).count()).toBe(1);
    // At a phone's width everything is still there.
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(`${service.url}/orders`);
    await page.locator(`tr[data-order="${orderId}"]`).waitFor();
    await axeCheck(page, 'orders (phone)');
    await page.screenshot({ path: join(SHOTS, 'console-orders-phone.png') });
    await page.close();
  });

  it('gives a viewer no refund button, and the API refuses the viewer’s refund anyway', async () => {
    const made = await api('POST', '/api/v1/admin/users', {
      user: 'vera',
      password: 'viewer-password-1234',
      role: 'viewer',
    });
    expect(made.status).toBe(201);
    const viewer = await browser.newContext({ locale: 'en-US' });
    const page = await newPage(viewer);
    await logIn(page, 'vera', 'viewer-password-1234');
    await page.goto(`${service.url}/orders/${orderId}`);
    await page.getByTestId('order-status').waitFor();
    expect(await page.getByRole('button', { name: 'Refund' }).count()).toBe(0);
    const refused = await page.evaluate(async (id) => {
      const { cookie } = (globalThis as unknown as { document: { cookie: string } }).document;
      const csrf = decodeURIComponent(/autoglm_csrf=([^;]+)/.exec(cookie)?.[1] ?? '');
      const r = await fetch(`/api/v1/orders/${id}/refund`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: '{}',
      });
      return { status: r.status, body: (await r.json()) as { code: string } };
    }, orderId);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('FORBIDDEN');
    // And logging out ends the session: the API no longer answers this browser.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('input[name=user]').waitFor();
    const after = await page.evaluate(async () => (await fetch('/api/v1/auth/me')).status);
    expect(after).toBe(401);
    await viewer.close();
  });

  it('reads the list again when its stream comes back after a break (the service replays nothing)', async () => {
    const page = await newPage(context);
    // Streams the test can break and restore: each EventSource the page opens is a stand-in over
    // a real one, which `__feeds.drop()` closes (the page sees an error, as on a lost network)
    // and `__feeds.restore()` opens afresh (the page sees it open again, as on a reconnect).
    const watcher = await newPage(context);
    await watcher.goto(`${service.url}/orders`);
    await expect.poll(() => watcher.getByTestId('live').getAttribute('class')).toBe('badge live');
    await page.addInitScript({ content: BREAKABLE_EVENT_SOURCE });
    await page.goto(`${service.url}/orders`);
    await expect.poll(() => page.getByTestId('live').getAttribute('class')).toBe('badge live');
    await page.locator(`tr[data-order="${orderId}"]`).waitFor();

    await page.evaluate(() => (globalThis as unknown as { __feeds: { drop: () => void } }).__feeds.drop());
    await expect.poll(() => page.getByTestId('live').getAttribute('class')).toBe('badge');
    // An order made while the stream is down: no event about it will ever reach this page.
    const placed = await api('POST', '/api/v1/order', { drink: 'americano', size: 'small' });
    expect(placed.status).toBeLessThan(300);
    const missed = (placed.body as { order: { id: string } }).order.id;
    // Another tab, connected all along, is told of it: the service's feed has moved past it.
    await watcher.locator(`tr[data-order="${missed}"]`).waitFor({ timeout: 10_000 });
    expect(await page.locator(`tr[data-order="${missed}"]`).count()).toBe(0);

    await page.evaluate(() => (globalThis as unknown as { __feeds: { restore: () => void } }).__feeds.restore());
    await expect.poll(() => page.getByTestId('live').getAttribute('class')).toBe('badge live');
    await page.locator(`tr[data-order="${missed}"]`).waitFor({ timeout: 10_000 });
    await api('POST', `/api/v1/orders/${missed}/cancel`, {});
    await watcher.close();
    await page.close();
  });

  it('broke no rule of the pages’ Content-Security-Policy', async () => {
    await context.close();
    expect(cspViolations).toEqual([]);
  });
});
