import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeCheck, watchedPage } from './support/console-browser-kit.js';
import { businessDateOf } from '../src/application/reconciliation/daily.js';
import type { App } from '../src/composition/create-app.js';
import type { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { adminKeyOf, simulatorOf, startTestApp } from './support/test-app.js';
import { ensureWebBuilt } from './support/web-build.js';

/**
 * The console's money and admin screens in a real browser (Debian's Chromium, playwright-core)
 * against the service listening on a port, with the embedded payment simulator in reach so a
 * refund can be declined and a capture we never sold can appear on the day's statement: an API
 * key made and shown once, a mandate whose remaining budget drops after the agent's order, a
 * refund typed in yuan, declined, retried, declined again and flagged, the flag resolved with a
 * note and found in the audit trail, the ledger balanced, the day reconciled with its categories
 * and a repair applied, a source blocked and unblocked, a person's role changed and the person
 * disabled (their login then fails), a refusal shown in both languages, a viewer who sees no action and whom the
 * API refuses anyway, the key revoked (then 401). axe-core on every screen; keyboard only where
 * it matters; a phone's width; the screenshots in docs/images/.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
if (!present) console.warn(`console-admin-browser: skipped, no Chromium at ${CHROMIUM} (apt-get install chromium)`);
const SHOTS = join('docs', 'images');
const ADMIN = { user: 'ada', password: 'ada-password-1234' };
const VIEWER = { user: 'vera', password: 'vera-password-1234' };

let app: App;
let url: string;
let adminKey: string;
let bank: SimulatedGateway;
let browser: Browser;
let admin: BrowserContext;
const cspViolations: string[] = [];

function newPage(context: BrowserContext): Promise<Page> {
  // A step that finds nothing fails on its own line, well within the test's time.
  return watchedPage(context, cspViolations, 12_000);
}

async function logIn(page: Page, who: { user: string; password: string }): Promise<void> {
  await page.goto(`${url}/`);
  await page.locator('input[name=user]').fill(who.user);
  await page.locator('input[name=password]').fill(who.password);
  await page.locator('form button[type=submit]').click();
  await page.locator('#chat-input').waitFor();
}

async function call(
  method: string,
  path: string,
  body?: unknown,
  key = adminKey,
  extra: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...extra,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** Requests of this method to paths containing `part`, counted from now on. */
function counter(page: Page, method: string, part: string): () => number {
  let n = 0;
  page.on('request', (r) => {
    if (r.method() === method && r.url().includes(part)) n += 1;
  });
  return () => n;
}

/** Press a ConfirmAction: its button, then a double click on "Yes, do it" (which must send once). */
async function confirmTwice(page: Page, scope: ReturnType<Page['locator']>, label: string): Promise<void> {
  await scope.getByRole('button', { name: label, exact: true }).click();
  await scope.getByRole('button', { name: 'Yes, do it' }).dblclick();
}

beforeAll(async () => {
  if (!present) return;
  ensureWebBuilt();
  mkdirSync(SHOTS, { recursive: true });
  ({ app } = await startTestApp({
    log: { level: 'warn' },
    // Nothing runs unasked but refunds: an agent's order goes through only within its mandate.
    auto_confirm_order: false,
    trusted_actions: ['refund'],
  }));
  url = await app.listen();
  adminKey = adminKeyOf(app);
  bank = simulatorOf(app);
  for (const [who, role] of [
    [ADMIN, 'admin'],
    [VIEWER, 'viewer'],
  ] as const) {
    const made = await call('POST', '/api/v1/admin/users', { ...who, role });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  admin = await browser.newContext({ locale: 'en-US', viewport: { width: 1100, height: 800 } });
  const page = await newPage(admin);
  await logIn(page, ADMIN);
  await page.close();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe.skipIf(!present)('the console’s money and admin screens in Chromium', () => {
  let agentKey = '';
  let orderId = '';
  let flagId = '';

  it('creates an API key, shows it once with a copy button; a reload never shows it again', async () => {
    const page = await newPage(admin);
    await page.goto(`${url}/admin/keys`);
    await page.getByRole('heading', { name: 'New API key' }).waitFor();
    await axeCheck(page, 'api keys');
    await page.locator('select[name=role]').selectOption('agent');
    await page.locator('input[name=user]').fill('ada-bot');
    await page.locator('input[name=acts_for]').fill(ADMIN.user);
    await page.locator('input[name=acts_for]').press('Enter');
    const secret = page.getByTestId('secret');
    await secret.waitFor();
    agentKey = (await secret.textContent()) ?? '';
    expect(agentKey).toMatch(/^agk_/);
    await page.getByRole('button', { name: 'Copy' }).click();
    await expect.poll(() => page.getByRole('status').last().textContent()).toMatch(/Copied|Ctrl\+C/);
    await axeCheck(page, 'api key shown once');
    // The key works, as the agent it was made for.
    const me = await call('GET', '/api/v1/auth/me', undefined, agentKey);
    expect(me.body).toMatchObject({ role: 'agent', acts_for: ADMIN.user });

    await page.reload();
    await page.locator('tr[data-principal="ada-bot"]').waitFor();
    expect(await page.getByTestId('secret').count()).toBe(0);
    expect(await page.content()).not.toContain(agentKey);
    const stored = await page.evaluate(() => {
      const g = globalThis as unknown as { localStorage: object; sessionStorage: object };
      return JSON.stringify({ ...g.localStorage }) + JSON.stringify({ ...g.sessionStorage });
    });
    expect(stored).not.toContain(agentKey.slice(4));
    await page.screenshot({ path: join(SHOTS, 'console-api-keys.png') });
    await page.close();
  });

  it('grants a mandate in yuan; its remaining budget drops by the agent’s order', async () => {
    const page = await newPage(admin);
    await page.goto(`${url}/admin/mandates`);
    await page.locator('input[name=agent]').fill('ada-bot');
    await page.locator('input[name=max]').fill('50');
    await page.locator('input[name=budget]').fill('200.00');
    await page.getByRole('button', { name: 'Grant mandate' }).click();
    const row = page.locator('tr[data-mandate][data-status=ACTIVE]');
    await row.waitFor();
    expect(await row.getByTestId('remaining').textContent()).toBe('¥200.00');

    const placed = await call('POST', '/api/v1/order', { drink: 'latte', size: 'medium' }, agentKey, {
      'idempotency-key': 'agent-latte-1',
    });
    expect([201, 202], JSON.stringify(placed.body)).toContain(placed.status);
    const order = placed.body.order as { id: string; amount: number };
    orderId = order.id;
    await expect
      .poll(async () => ((await call('GET', `/api/v1/orders/${orderId}`)).body.order as { status: string }).status, {
        timeout: 15_000,
      })
      .toBe('COMPLETED');
    const left = 20_000 - order.amount;
    await page.reload();
    await expect
      .poll(() => row.getByTestId('remaining').textContent())
      .toBe(`¥${Math.floor(left / 100)}.${String(left % 100).padStart(2, '0')}`);
    const listed = (await call('GET', '/api/v1/mandates', undefined, agentKey)).body.data as { remaining: number }[];
    expect(listed[0]?.remaining).toBe(left);
    await axeCheck(page, 'mandates');
    await page.screenshot({ path: join(SHOTS, 'console-mandates.png'), fullPage: true });
    await page.close();
  });

  it('refunds part of the order typed in yuan; a declined refund is retried once; another is flagged', async () => {
    const page = await newPage(admin);
    const refunds = counter(page, 'POST', `/orders/${orderId}/refund`);
    const retries = counter(page, 'POST', '/retry');
    await page.goto(`${url}/orders/${orderId}`);
    const field = page.locator('input[name=refund-amount]');
    await field.waitFor();
    // Three decimals and more than is left are refused in the page, before any request.
    await field.fill('1.005');
    await field.press('Enter');
    await expect.poll(() => page.locator('#h-refunds ~ p[role=status]').textContent()).toContain('decimals');
    await field.fill('9999');
    await field.press('Enter');
    await expect.poll(() => page.locator('#h-refunds ~ p[role=status]').textContent()).toContain('More than');
    expect(refunds()).toBe(0);

    bank.declineRefunds(1);
    await field.fill('5.50');
    await field.press('Enter');
    const failed = page.locator('li[data-refund][data-status=FAILED]');
    await failed.waitFor({ timeout: 15_000 });
    expect(await failed.textContent()).toContain('¥5.50');
    expect(refunds()).toBe(1);
    await axeCheck(page, 'order detail, failed refund');
    await confirmTwice(page, failed, 'Retry refund');
    await page.locator('li[data-refund][data-status=SUCCEEDED]').waitFor({ timeout: 15_000 });
    expect(retries()).toBe(1);
    const made = (await call('GET', `/api/v1/orders/${orderId}/refunds`)).body.data as { amount: number }[];
    expect(made.map((r) => r.amount)).toEqual([550]);

    // The rest, declined again: the refund is FAILED and a person is asked to look at it.
    bank.declineRefunds(1);
    await field.fill('');
    await field.press('Enter');
    await page.locator('li[data-refund][data-status=FAILED]').waitFor({ timeout: 15_000 });
    await page.close();
    const flags = (await call('GET', '/api/v1/review-flags?code=REFUND_FAILED')).body.data as { id: string }[];
    expect(flags).toHaveLength(1);
    flagId = flags[0]?.id ?? '';
  });

  it('resolves the flag with a note, once however often pressed, and finds it in the audit trail', async () => {
    const page = await newPage(admin);
    const resolves = counter(page, 'POST', `/review-flags/${flagId}/resolve`);
    await page.goto(`${url}/money/flags`);
    const card = page.locator(`li[data-flag="${flagId}"]`);
    await card.waitFor();
    expect(await card.getByRole('button', { name: 'Retry refund' }).count()).toBe(1);
    expect(await card.getByRole('button', { name: 'Settled outside' }).isDisabled()).toBe(true);
    await axeCheck(page, 'review flags');
    await page.screenshot({ path: join(SHOTS, 'console-flags.png'), fullPage: true });
    await card.getByLabel('Note (why; kept in the audit trail)').fill('customer paid back by bank transfer, ref 42');
    await confirmTwice(page, card, 'Resolve');
    await expect.poll(() => card.count()).toBe(0);
    expect(resolves()).toBe(1);
    await page.locator('select[name=status]').selectOption('resolved');
    const done = page.locator(`li[data-flag="${flagId}"][data-open=false]`);
    await done.waitFor();
    expect(await done.getByTestId('resolution-note').textContent()).toBe('customer paid back by bank transfer, ref 42');
    await done.locator('summary').click();
    await expect.poll(() => done.getByTestId('flag-trail').textContent()).toContain('flag.resolved');
    expect(await done.getByTestId('flag-trail').textContent()).toContain('customer paid back by bank transfer, ref 42');
    expect(await done.getByRole('button').count()).toBe(0);
    await page.close();
  });

  it('shows the ledger balanced', async () => {
    const page = await newPage(admin);
    await page.goto(`${url}/money/ledger`);
    const verdict = page.getByTestId('ledger-verdict');
    await verdict.waitFor();
    expect(await verdict.textContent()).toContain('Balanced');
    expect((await call('GET', '/api/v1/ledger/check')).body).toMatchObject({ balanced: true, complete: true });
    await page.getByTestId('balances').waitFor();
    await axeCheck(page, 'ledger');
    await page.screenshot({ path: join(SHOTS, 'console-ledger.png'), fullPage: true });
    await page.close();
  });

  it('reconciles the simulator’s day: categories with totals in yuan, a repair applied', async () => {
    // Money captured under a number we never sold: on the statement, not in our books.
    await bank.create({
      outTradeNo: 'stranger_0001',
      amount: { amount: 1500, currency: 'CNY' },
      subject: 'not ours',
      method: 'wallet',
      payer: 'bob',
    });
    const page = await newPage(admin);
    await page.goto(`${url}/money/reconciliations`);
    await page.locator('input[name=source]').fill('secure-pay-v3');
    expect(await page.locator('input[name=date]').inputValue()).toBe(businessDateOf(Date.now(), 480));
    await axeCheck(page, 'reconciliations');
    await page.getByRole('button', { name: 'Reconcile' }).click();
    await page.waitForURL(/\/money\/reconciliations\/.+/);
    const table = page.getByTestId('categories');
    await table.waitFor();
    expect(Number(await table.locator('tr[data-category=matched]').getAttribute('data-count'))).toBeGreaterThan(0);
    const missing = table.locator('tr[data-category=missing_locally]');
    expect(await missing.getAttribute('data-count')).toBe('1');
    expect(await missing.textContent()).toContain('¥15.00');
    for (const c of ['missing_at_channel', 'amount_mismatch', 'status_mismatch', 'fee_mismatch', 'duplicates'])
      expect(await table.locator(`tr[data-category=${c}]`).count()).toBe(1);
    await axeCheck(page, 'reconciliation report');
    await page.screenshot({ path: join(SHOTS, 'console-reconciliation.png'), fullPage: true });
    const applies = counter(page, 'POST', '/apply');
    const repair = page.locator('li[data-repair][data-status=proposed]').first();
    await confirmTwice(page, repair, 'Apply');
    await page.locator('li[data-repair][data-status=applied]').first().waitFor({ timeout: 15_000 });
    expect(applies()).toBe(1);
    await page.getByRole('link', { name: '← Reconciliation' }).click();
    await page.locator('li[data-run]').first().waitFor();
    expect(await page.locator('li[data-run]').first().textContent()).toContain('secure-pay-v3');
    await page.close();
  });

  it('blocks a source by hand and unblocks it', async () => {
    const page = await newPage(admin);
    const menu = () => app.http.inject({ url: '/api/v1/menu', remoteAddress: '203.0.113.7' });
    await page.goto(`${url}/admin/blocks`);
    await page.locator('input[name=source]').fill('203.0.113.7');
    await page.locator('input[name=note]').fill('probing the callbacks');
    await confirmTwice(page, page.getByTestId('block'), 'Block');
    const row = page.locator('tr[data-source="ip:203.0.113.7"]');
    await row.waitFor();
    expect((await menu()).json()).toMatchObject({ code: 'SOURCE_BLOCKED' });
    await axeCheck(page, 'blocked sources');
    await page.screenshot({ path: join(SHOTS, 'console-blocks.png'), fullPage: true });
    await confirmTwice(page, row, 'Unblock');
    await expect.poll(() => row.count()).toBe(0);
    expect((await menu()).statusCode).toBe(200);
    await page.close();
  });

  it('makes a person from the people screen', async () => {
    const page = await newPage(admin);
    await page.goto(`${url}/admin/people`);
    await page.locator('input[name=new-user]').fill('otto');
    await page.locator('input[name=new-password]').fill('otto-password-1234');
    await page.locator('select[name=new-role]').selectOption('operator');
    await page.getByRole('button', { name: 'Create person' }).click();
    await expect.poll(() => page.locator('main').textContent()).toContain('otto can now log in (role operator)');
    expect(await page.getByTestId('agents').textContent()).toContain('ada-bot');
    await page.locator('tr[data-person="otto"][data-role=operator][data-status=active]').waitFor();
    await axeCheck(page, 'people');
    await page.screenshot({ path: join(SHOTS, 'console-people.png'), fullPage: true });
    await page.close();
  });

  it('lists people, changes a role, disables one with one request, and their login then fails', async () => {
    const page = await newPage(admin);
    const changes = counter(page, 'PATCH', '/api/v1/admin/users/otto');
    await page.goto(`${url}/admin/people`);
    const table = page.getByTestId('people');
    await table.locator('tr[data-person]').first().waitFor();
    const listed: string[] = [];
    for (const r of await table.locator('tr[data-person]').all()) {
      const attrs = await Promise.all(['data-person', 'data-role', 'data-status'].map((n) => r.getAttribute(n)));
      listed.push(attrs.join(' '));
    }
    expect(listed).toEqual(['ada admin active', 'admin admin active', 'otto operator active', 'vera viewer active']);
    const otto = table.locator('tr[data-person="otto"]');
    // The role, by keyboard: the labelled select, then its button.
    await otto.getByLabel('Role of otto').selectOption('user');
    await otto.getByRole('button', { name: 'Change role' }).press('Enter');
    await table.locator('tr[data-person="otto"][data-role=user]').waitFor();
    expect((await call('GET', '/api/v1/admin/users')).body.data as { id: string; role: string }[]).toContainEqual(
      expect.objectContaining({ id: 'otto', role: 'user' }),
    );
    await confirmTwice(page, otto, 'Disable');
    await table.locator('tr[data-person="otto"][data-status=disabled]').waitFor();
    expect(changes()).toBe(2);
    await axeCheck(page, 'people, one disabled');

    // Their login now fails, in the browser, like a wrong password.
    const theirs = await browser.newContext({ locale: 'en-US' });
    const login = await newPage(theirs);
    await login.goto(`${url}/`);
    await login.locator('input[name=user]').fill('otto');
    await login.locator('input[name=password]').fill('otto-password-1234');
    await login.locator('form button[type=submit]').click();
    await expect.poll(() => login.getByRole('alert').textContent()).toContain('the user name or the password is wrong');
    expect(await login.locator('#chat-input').count()).toBe(0);
    await theirs.close();

    // Yourself: the service refuses, and the page says why.
    const self = table.locator('tr[data-person="ada"]');
    await confirmTwice(page, self, 'Disable');
    await expect
      .poll(() => self.getByRole('alert').textContent())
      .toBe('SELF_CHANGE_REFUSED: You cannot change your own role or access: ask another admin.');
    expect(await page.locator('tr[data-person="ada"][data-status=active]').count()).toBe(1);
    await page.close();
  });

  it('gives a viewer no admin screen and no money action; the API refuses them anyway', async () => {
    const viewer = await browser.newContext({ locale: 'en-US' });
    const page = await newPage(viewer);
    await logIn(page, VIEWER);
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link', { name: 'Money' }).count()).toBe(1);
    expect(await nav.getByRole('link', { name: 'Admin' }).count()).toBe(0);
    await page.goto(`${url}/money/flags`);
    await page.locator('select[name=status]').selectOption('all');
    await page.locator(`li[data-flag="${flagId}"]`).waitFor();
    expect(await page.locator('main button').count()).toBe(0);
    expect(await page.getByRole('navigation', { name: 'Money' }).textContent()).not.toContain('Reconciliation');
    await axeCheck(page, 'flags as a viewer');
    await page.goto(`${url}/admin/keys`);
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('viewer');
    await page.goto(`${url}/orders/${orderId}`);
    await page.getByTestId('order-status').waitFor();
    expect(await page.locator('main button').count()).toBe(0);

    const keys = (await call('GET', '/api/v1/admin/keys')).body.data as { id: string }[];
    const refused = await page.evaluate(
      async ({ flag, key }) => {
        const { cookie } = (globalThis as unknown as { document: { cookie: string } }).document;
        const csrf = decodeURIComponent(/autoglm_csrf=([^;]+)/.exec(cookie)?.[1] ?? '');
        const send = async (method: string, path: string, body?: unknown) => {
          const r = await fetch(path, {
            method,
            headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          });
          return `${method} ${path} ${r.status} ${((await r.json()) as { code: string }).code}`;
        };
        return [
          await send('POST', `/api/v1/review-flags/${flag}/resolve`, { note: 'x' }),
          await send('POST', `/api/v1/review-flags/${flag}/actions`, { action: 'retry_refund' }),
          await send('POST', '/api/v1/reconciliations', { source: 'secure-pay-v3', date: '2026-12-05' }),
          await send('GET', '/api/v1/reconciliations'),
          await send('POST', '/api/v1/reconciliation-repairs/x/apply', {}),
          await send('POST', '/api/v1/admin/keys', { role: 'admin', user: 'mallory' }),
          await send('DELETE', `/api/v1/admin/keys/${key}`),
          await send('POST', '/api/v1/admin/users', { user: 'mallory', password: 'mallory-password-1' }),
          await send('POST', '/api/v1/mandates', {
            agent: 'ada-bot',
            actions: ['order_coffee'],
            max_per_transaction: 1,
            budget: 1,
            period: 'day',
            expires_at: '2030-01-01T00:00:00Z',
          }),
          await send('POST', '/api/v1/admin/blocks', { source: 'ip:203.0.113.9', minutes: 5, note: 'x' }),
          await send('DELETE', '/api/v1/admin/blocks/blk_x'),
        ];
      },
      { flag: flagId, key: keys[0]?.id ?? 'none' },
    );
    expect(refused.filter((r) => !r.endsWith(' 403 FORBIDDEN'))).toEqual([]);
    await viewer.close();
  });

  it('fits a phone’s width', async () => {
    const phone = await browser.newContext({ locale: 'zh-CN', viewport: { width: 390, height: 800 } });
    const page = await newPage(phone);
    await logIn(page, ADMIN);
    await page.goto(`${url}/money/flags`);
    await page.locator('select[name=status]').selectOption('all');
    await page.locator(`li[data-flag="${flagId}"]`).waitFor();
    await axeCheck(page, 'flags (phone, Chinese)');
    const wide = await page.evaluate(
      () =>
        (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement
          .scrollWidth,
    );
    expect(wide).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(SHOTS, 'console-flags-phone.png'), fullPage: true });
    await page.goto(`${url}/admin/mandates`);
    await page.locator('tr[data-mandate]').waitFor();
    await axeCheck(page, 'mandates (phone, Chinese)');
    // A refusal in Chinese: changing one's own role.
    await page.goto(`${url}/admin/people`);
    const self = page.locator('tr[data-person="ada"]');
    await self.getByLabel('ada 的角色').selectOption('viewer');
    await self.getByRole('button', { name: '更改角色' }).click();
    await expect
      .poll(() => self.getByRole('alert').textContent())
      .toContain('SELF_CHANGE_REFUSED: 不能更改你自己的角色或访问权限');
    await axeCheck(page, 'people (phone, Chinese)');
    await phone.close();
  });

  it('revokes the key with the keyboard alone; the key is refused from then on', async () => {
    const page = await newPage(admin);
    await page.goto(`${url}/admin/keys`);
    const row = page.locator('tr[data-principal="ada-bot"]');
    await row.waitFor();
    await row.getByRole('button', { name: 'Revoke' }).focus();
    await page.keyboard.press('Enter');
    // The question takes the focus: Enter again confirms.
    const focused = () =>
      page.evaluate(
        () =>
          (globalThis as unknown as { document: { activeElement: { textContent: string | null } | null } }).document
            .activeElement?.textContent,
      );
    await expect.poll(focused).toBe('Yes, do it');
    await page.keyboard.press('Enter');
    await expect.poll(() => row.textContent()).toContain('Revoked');
    expect((await call('GET', '/api/v1/auth/me', undefined, agentKey)).status).toBe(401);
    await page.close();
  });

  it('broke no rule of the pages’ Content-Security-Policy', async () => {
    await admin.close();
    expect(cspViolations).toEqual([]);
  });
});
