import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeCheck, watchedPage } from './support/console-browser-kit.js';
import { spawnUntil } from './support/spawn-until.js';
import { ensureWebBuilt } from './support/web-build.js';

/**
 * The console's operations screens in Chromium against `autoglm serve` with two recharge
 * channels, one of them told to refuse every recharge: a 200-row batch uploaded, its bar watched
 * to 100 % and its result file downloaded; the refusing channel's breaker open on the chart; the
 * recharges list updated live without a reload; keyboard only; a phone-sized screen; axe-core on
 * every new screen; screenshots into docs/images.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
if (!present) console.warn(`console-ops-browser: skipped, no Chromium at ${CHROMIUM}`);
const SHOTS = join('docs', 'images');

let dir: string;
let service: { child: ChildProcess; url: string; output: () => string };
let adminKey: string;
let password: string;
let browser: Browser;
const cspViolations: string[] = [];

function newPage(context: BrowserContext): Promise<Page> {
  return watchedPage(context, cspViolations);
}

async function logIn(page: Page): Promise<void> {
  await page.goto(`${service.url}/`);
  await page.locator('input[name=user]').fill('admin');
  await page.locator('input[name=password]').fill(password);
  await page.locator('form button[type=submit]').click();
  await page.locator('#chat-input').waitFor();
}

const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> => {
  const res = await fetch(`${service.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${adminKey}`,
      'idempotency-key': `t-${Math.random()}`,
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
  dir = mkdtempSync(join(tmpdir(), 'autoglm-console-ops-'));
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      trusted_actions: ['order_coffee', 'submit_payment', 'recharge_phone', 'recharge_batch', 'wallet_top_up'],
      recharge: {
        // Every other call goes to the refusing channel, so its breaker opens within the batch.
        routing: { strategy: 'round_robin' },
        channels: {
          'sim-good': { type: 'simulator', operators: ['CHINA_MOBILE'], latency_ms: { min: 30, max: 120 } },
          // It alone serves China Unicom: a Unicom number's recharge fails (the keyboard test filters on FAILED).
          'sim-bad': { type: 'simulator', operators: ['CHINA_MOBILE', 'CHINA_UNICOM'], failure_rate: 1 },
        },
      },
    }),
  );
  service = await spawnUntil(
    'test/support/serve-child.ts',
    ['--port', '0', '--db', `sqlite://${join(dir, 'db.sqlite')}`],
    { ...process.env, AUTOGLM_LOG_LEVEL: 'warn', AUTOGLM_CONFIG: config },
    'service',
  );
  adminKey = readFileSync(join(dir, 'admin-key'), 'utf8').trim();
  password = /log in as admin with the password (\S+)/.exec(service.output())?.[1] ?? '';
  expect(password).not.toBe('');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  service?.child.kill('SIGTERM');
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!present)('the console’s operations screens in Chromium', () => {
  let context: BrowserContext;
  let page: Page;
  let batchId: string;

  it('tops the wallet up from the recharges screen, and the list shows a recharge live, without a reload', async () => {
    context = await browser.newContext({
      locale: 'en-GB',
      viewport: { width: 1200, height: 800 },
      acceptDownloads: true,
    });
    page = await newPage(context);
    await logIn(page);
    await page.locator('nav a[href="/recharges"]').click();
    await expect.poll(() => page.locator('[data-testid=live]').getAttribute('class')).toContain('live');
    await page.locator('.wallet input').fill('5000');
    await page.locator('.wallet button[type=submit]').click();
    await expect.poll(() => page.locator('[data-testid=balance]').textContent(), { timeout: 15_000 }).toBe('¥5000.00');
    // A recharge made elsewhere (the API) appears in the open list, and ends, with no reload.
    // A mark in the page: still there at the end means the page never reloaded.
    await page.evaluate(() => ((globalThis as { stillHere?: boolean }).stillHere = true));
    const made = await api('POST', '/api/v1/recharges', { phone: '13800138000', amount: 5000 });
    expect([201, 202]).toContain(made.status);
    const id = (made.body as { recharge: { id: string } }).recharge.id;
    const row = page.locator(`tr[data-recharge="${id}"]`);
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 15_000 }).toBe('SUCCEEDED');
    expect(await row.textContent()).toContain('138****8000');
    expect(await row.textContent()).not.toContain('13800138000');
    expect(await page.evaluate(() => (globalThis as { stillHere?: boolean }).stillHere)).toBe(true);
    await axeCheck(page, 'recharges');
    await page.screenshot({ path: join(SHOTS, 'console-recharges.png') });
    // Its detail: timeline, attempts per channel, audit trail with diffs.
    await row.locator('a').click();
    await expect.poll(() => page.locator('[data-testid=recharge-status]').textContent()).toContain('SUCCEEDED');
    expect(await page.locator('#h-attempts').isVisible()).toBe(true);
    expect(await page.locator('table pre').first().textContent()).toContain('status');
    await axeCheck(page, 'recharge detail');
    await page.screenshot({ path: join(SHOTS, 'console-recharge-detail.png'), fullPage: true });
  }, 90_000);

  it('uploads 200 rows, the bar reaches 100 % live, the result file downloads, a reload resumes it', async () => {
    await page.locator('nav a[href="/batches"]').click();
    await axeCheck(page, 'batch upload');
    const csv = ['phone,amount', ...Array.from({ length: 200 }, (_, i) => `1380013${String(i).padStart(4, '0')},1000`)];
    await page.locator('[data-testid=batch-file]').setInputFiles({
      name: 'phones.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(`${csv.join('\n')}\n`),
    });
    await page.locator('form button[type=submit]').click();
    await page.waitForURL(/\/batches\/[A-Za-z0-9_]+$/);
    batchId = decodeURIComponent(new URL(page.url()).pathname.slice('/batches/'.length));
    const percents = new Set<string>();
    const bar = page.locator('[data-testid=batch-percent]');
    await expect
      .poll(
        async () => {
          const p = (await bar.textContent().catch(() => null)) ?? '';
          percents.add(p);
          return p;
        },
        { timeout: 120_000, interval: 100 },
      )
      .toBe('100%');
    // The page saw it before it was done: the bar moved while the page stayed put (pushed by the service).
    expect(percents.size).toBeGreaterThan(1);
    const ok = Number(await page.locator('[data-testid=batch-succeeded]').textContent());
    const failed = Number(await page.locator('[data-testid=batch-failed]').textContent());
    expect(ok + failed).toBe(200);
    // Every row is recharged: what the refusing channel turned away went to the healthy one.
    expect(failed).toBe(0);
    await axeCheck(page, 'batch progress');
    await page.screenshot({ path: join(SHOTS, 'console-batch.png') });
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('[data-testid=batch-results]').click(),
    ]);
    const file = readFileSync(await download.path(), 'utf8')
      .trim()
      .split('\n');
    expect(file).toHaveLength(201);
    expect(file[1]).toContain('138****0000');
    // A reload shows the same batch, done.
    await page.reload();
    await expect.poll(() => bar.textContent(), { timeout: 15_000 }).toBe('100%');
    expect(await page.locator('#h-progress').textContent()).toContain(batchId);
  }, 180_000);

  it('shows the refusing channel’s breaker open on the chart, beside the gateways', async () => {
    await page.locator('nav a[href="/channels"]').click();
    await expect
      .poll(() => page.locator('.charts').getAttribute('data-breaker-opened'), { timeout: 20_000 })
      .toContain('sim-bad');
    expect(await page.locator('tr[data-channel="sim-bad"]').getAttribute('data-breaker')).toBe('open');
    // The healthy channel's stays closed: the batch's 128 jobs at once never push more calls on it
    // than its capacity, so it never turns one away (test/channel-history.test.ts).
    expect(await page.locator('tr[data-channel="sim-good"]').getAttribute('data-breaker')).toBe('closed');
    expect(await page.locator('.charts').getAttribute('data-breaker-opened')).not.toContain('sim-good');
    // uPlot drew its canvases (four charts), and the gateways are listed.
    expect(await page.locator('.chart canvas').count()).toBeGreaterThanOrEqual(4);
    expect(await page.locator('tr[data-gateway]').count()).toBeGreaterThan(0);
    const history = await api('GET', '/api/v1/channels/history');
    const timelines = (
      history.body as { data: Array<{ channel: string; buckets: Array<{ breaker_opened: boolean }> }> }
    ).data;
    const bad = timelines.find((c) => c.channel === 'sim-bad');
    expect(bad?.buckets.some((b) => b.breaker_opened)).toBe(true);
    const good = timelines.find((c) => c.channel === 'sim-good');
    expect(good?.buckets.some((b) => b.breaker_opened)).toBe(false);
    await axeCheck(page, 'channels');
    await page.screenshot({ path: join(SHOTS, 'console-channels.png'), fullPage: true });
  }, 60_000);

  it('works with the keyboard only: filters the recharges by status and opens one', async () => {
    // The batch's rows all succeeded (what the refusing channel refused went to the healthy one):
    // one that fails, for the filter to find.
    expect((await api('POST', '/api/v1/recharges', { phone: '13012345678', amount: 1000 })).status).toBe(422);
    await page.goto(`${service.url}/recharges`);
    await page.locator('[data-testid=live]').waitFor();
    await page.locator('.filters select').first().focus();
    await page.keyboard.press('End'); // the last status: FAILED
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    // The whole list read at once, until it is the filtered one (the newest recharge, first in the
    // unfiltered list, is the failed one too: its first row alone proves nothing).
    await expect
      .poll(() =>
        page
          .locator('tr[data-recharge]')
          .evaluateAll((rows: Array<{ getAttribute: (n: string) => string | null }>) =>
            [...new Set(rows.map((r) => r.getAttribute('data-status')))].sort(),
          ),
      )
      .toEqual(['FAILED']);
    // Tab to the first recharge's link and open it with Enter; focus is visible on the way.
    await page.locator('tr[data-recharge] a').first().focus();
    const outline = await page.evaluate(() => {
      const g = globalThis as unknown as {
        document: { activeElement: object };
        getComputedStyle: (e: object) => { outlineStyle: string };
      };
      return g.getComputedStyle(g.document.activeElement).outlineStyle;
    });
    expect(outline).not.toBe('none');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/recharges\/.+/);
    await expect.poll(() => page.locator('[data-testid=recharge-status]').textContent()).toContain('FAILED');
  }, 60_000);

  it('fits a phone-sized screen, and no page broke the Content-Security-Policy', async () => {
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      locale: 'zh-CN',
      storageState: await context.storageState(),
    });
    const p = await newPage(phone);
    for (const path of ['/recharges', `/batches/${batchId}`, '/channels']) {
      await p.goto(`${service.url}${path}`);
      await p.locator('h1').first().waitFor();
      await p.waitForTimeout(300);
      const overflow = await p
        .locator('html')
        .evaluate((h: { scrollWidth: number; clientWidth: number }) => h.scrollWidth - h.clientWidth);
      expect(overflow, path).toBeLessThanOrEqual(0);
      await axeCheck(p, `phone ${path}`);
    }
    await p.goto(`${service.url}/batches/${batchId}`);
    await expect.poll(() => p.locator('[data-testid=batch-percent]').textContent()).toBe('100%');
    // Whatever the id: one of wide letters (ids are random; one of them once widened the page by 3 px).
    await p
      .locator('#h-progress')
      .evaluate((h: { textContent: string | null }) => (h.textContent = '批次 rcb_WWWWWWWWWWWWWWWWWWWWWWWW 的进度'));
    const wide = await p
      .locator('html')
      .evaluate((h: { scrollWidth: number; clientWidth: number }) => h.scrollWidth - h.clientWidth);
    expect(wide).toBeLessThanOrEqual(0);
    await p.reload();
    await expect.poll(() => p.locator('[data-testid=batch-percent]').textContent()).toBe('100%');
    await p.screenshot({ path: join(SHOTS, 'console-batch-phone.png') });
    await phone.close();
    await context.close();
    expect(cspViolations).toEqual([]);
  }, 60_000);
});
