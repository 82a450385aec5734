import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatorHttpGateway } from '../src/adapters/gateways/simulator-http/simulator-http-gateway.js';
import { type Cluster, ENGINES, startCluster } from './support/cluster.js';
import { spawnUntil } from './support/spawn-until.js';
import { runCliCaptured } from './support/cli-run.js';
import type { SimulatorCommandOptions } from '../src/interfaces/cli/cli.js';
import { until } from './support/webhook-receiver.js';

/**
 * A person plays the payer against the standalone simulator (`autoglm simulator`, a process of its
 * own) as a browser would: the service hands over the pay_url the simulator returned; GET shows the
 * page with its form; the form is submitted urlencoded to where it posts; the order completes.
 */
let sim: { child: ChildProcess; url: string; output: () => string };
let secret: string;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'autoglm-sim-page-'));
  sim = await spawnUntil(
    'test/support/simulator-child.ts',
    ['--port', '0', '--seed', '3', '--journal-dir', dir],
    process.env,
    'simulator',
  );
  secret = readFileSync(join(dir, 'native.secret'), 'utf8').trim();
}, 90_000);
afterAll(async () => {
  sim.child.kill('SIGTERM');
  await new Promise((r) => sim.child.once('exit', r));
});

interface OrderView {
  id: string;
  status: string;
  payment: { status: string; out_trade_no: string | null; qr_code: string | null; pay_url: string | null };
}

/** The `action` of the page's one form, resolved against the page's address (empty = the page itself). */
function formTarget(pageUrl: string, html: string): { method: string; url: string } {
  const form = /<form\b([^>]*)>/i.exec(html)?.[1];
  if (form === undefined) throw new Error(`no form on the page: ${html}`);
  const method = /\bmethod="([^"]*)"/i.exec(form)?.[1] ?? 'get';
  const action = /\baction="([^"]*)"/i.exec(form)?.[1] ?? '';
  return { method: method.toUpperCase(), url: new URL(action, pageUrl).toString() };
}

describe.each(ENGINES)('a QR order against the standalone simulator, paid on its pay page, on %s', (engine) => {
  let cluster: Cluster | undefined;
  afterAll(async () => {
    await cluster?.close();
  });

  it('the pay_url is served by the simulator; submitting its form completes the order', async () => {
    cluster = await startCluster(
      engine,
      {
        log: { level: 'silent' },
        gateways: { 'sim-http': { type: 'simulator-http', base_url: sim.url, secret, timeout_ms: 3000 } },
        payment_gateway: 'sim-http',
        orders: { payment_method: 'alipay_qr' },
        // No callback reaches the service from the native face: its pay job asks again soon.
        worker: { retry_base_ms: 100, retry_max_ms: 300 },
        server: { wait_for_completion_ms: 1000 },
      },
      () => ({}),
      1,
    );
    const app = cluster.apps[0];
    if (app === undefined) throw new Error('no app');
    app.start();
    const placed = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: { 'content-type': 'application/json', 'x-user-id': 'alice', 'idempotency-key': `page-${engine}` },
      payload: { drink: 'latte', size: 'medium' },
    });
    expect(placed.statusCode, placed.body).toBe(202);
    const o = placed.json<{ order: OrderView }>().order;
    expect(o.payment.status).toBe('PENDING');
    const payUrl = o.payment.pay_url ?? '';
    // The simulator's own address, and a page name only the handed-out link carries.
    expect(payUrl).toMatch(new RegExp(`^${sim.url}/_sim/pay/sim_\\d+\\.[A-Za-z0-9_-]{22}$`));
    expect(o.payment.qr_code).toBe(payUrl);

    const page = await fetch(payUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('¥32.00');
    const target = formTarget(payUrl, html);
    expect(target).toEqual({ method: 'POST', url: payUrl });

    // A walked trade number (no MAC, or a wrong one) opens nothing.
    const tradeNo = /\/_sim\/pay\/(sim_\d+)\./.exec(payUrl)?.[1] ?? '';
    for (const walked of [tradeNo, `${tradeNo}.AAAAAAAAAAAAAAAAAAAAAA`]) {
      const r = await fetch(`${sim.url}/_sim/pay/${walked}`);
      expect(r.status, walked).toBe(404);
      expect(((await r.json()) as { code: string }).code).toBe('TRADE_NOT_FOUND');
    }
    const pending = await app.http.inject({
      method: 'GET',
      url: `/api/v1/orders/${o.id}`,
      headers: { 'x-user-id': 'alice' },
    });
    expect(pending.json<{ order: OrderView }>().order.status).toBe('PAYMENT_PROCESSING');

    // The Pay button: the form's body as a browser sends it (no fields).
    const paid = await fetch(target.url, {
      method: target.method,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    expect(paid.status).toBe(200);
    expect(await paid.text()).toContain('Paid');

    const done = await until(
      async () =>
        (
          await app.http.inject({ method: 'GET', url: `/api/v1/orders/${o.id}`, headers: { 'x-user-id': 'alice' } })
        ).json<{ order: OrderView }>().order,
      (v) => v.status === 'COMPLETED',
      20_000,
    );
    expect(done.payment).toMatchObject({ status: 'PAID', qr_code: null, pay_url: null });
    // One capture at the simulator, and nothing left to pay on the page.
    const truth = (await (
      await fetch(`${sim.url}/_sim/ground-truth?prefix=${o.payment.out_trade_no ?? ''}`)
    ).json()) as { captures: number };
    expect(truth.captures).toBe(1);
    const again = await fetch(payUrl, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { code: string }).code).toBe('TRADE_NOT_PENDING');
    expect(await app.services.ledger.check('default')).toMatchObject({ balanced: true });
  }, 90_000);
});

describe('the standalone simulator’s pay page, declined', () => {
  it('Decline fails the waiting trade; the page says so and the trade cannot be paid after', async () => {
    // A trade opened over the native protocol, as a service would: the page is what matters here.
    const gw = new SimulatorHttpGateway({ name: 'sim-http', baseUrl: sim.url, secret, timeoutMs: 3000 });
    try {
      const opened = await gw.create({
        outTradeNo: 'page-decline-1',
        amount: { amount: 1500, currency: 'CNY' },
        subject: 'tea <b>&</b>',
        method: 'alipay_qr',
        payer: 'p',
      });
      expect(opened.status).toBe('pending');
      const payUrl = opened.payUrl ?? '';
      const html = await (await fetch(payUrl)).text();
      // What the payer typed nowhere is escaped on the page.
      expect(html).toContain('tea &#60;b&#62;&#38;&#60;/b&#62;');
      const declined = await fetch(payUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'decline=1',
      });
      expect(declined.status).toBe(200);
      expect(await declined.text()).toContain('Not paid: failed');
      expect((await gw.query('page-decline-1')).status).toBe('failed');
      const bad = await fetch(payUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'decline=maybe',
      });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { code: string }).code).toBe('VALIDATION_FAILED');
    } finally {
      await gw.shutdown();
    }
  }, 30_000);
});

describe('autoglm simulator --public-url', () => {
  it('is the origin the pay pages are handed out under; what is not an http(s) origin is refused', async () => {
    const given: SimulatorCommandOptions[] = [];
    const run = (...args: string[]) =>
      runCliCaptured(['simulator', ...args], {
        defaultUrl: 'http://127.0.0.1:1',
        simulator: (o) => {
          given.push(o);
          return Promise.resolve();
        },
      });
    expect((await run('--public-url', 'http://192.168.1.20:9100/')).code).toBe(0);
    expect(given[0]?.publicUrl).toBe('http://192.168.1.20:9100');
    for (const bad of ['ftp://192.168.1.20', 'not a url', 'http://h:9100/?x=1']) {
      const r = await run('--public-url', bad);
      expect(r.code, bad).not.toBe(0);
      expect(r.err.join('\n'), bad).toMatch(/--public-url/);
    }
    expect(given).toHaveLength(1);
  });
});
