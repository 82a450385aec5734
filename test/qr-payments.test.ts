import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { GatewayUnknownOutcomeError } from '../src/ports/payment-gateway.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { type Cluster, ENGINES, startCluster } from './support/cluster.js';
import { createTestDatabase, type TestDatabase } from './support/pg-db.js';
import { runCliCaptured } from './support/cli-run.js';
import { adminKeyOf, simulatorOf, startTestApp, tempDbPath } from './support/test-app.js';
import { until } from './support/webhook-receiver.js';

/**
 * Paying by QR as a person does, on the embedded default: the order's answer hands over what to
 * scan (qr_code), what to open (pay_url) and until when (expires_at); the payer opens the
 * simulator's pay page and presses Pay; the signed callback settles the order. And a waiting
 * payment can be cancelled, or paid with another method, with the first trade closed first.
 */
const json = (user = 'alice', key?: string): Record<string, string> => ({
  'content-type': 'application/json',
  'x-user-id': user,
  ...(key === undefined ? {} : { 'idempotency-key': key }),
});

interface PaymentView {
  id: string;
  status: string;
  method: string;
  out_trade_no: string | null;
  qr_code: string | null;
  pay_url: string | null;
  expires_at: string | null;
}
interface OrderView {
  id: string;
  status: string;
  payment: PaymentView;
}

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const place = (a: App, key: string, user = 'alice'): Promise<LightMyRequestResponse> =>
  a.http.inject({
    method: 'POST',
    url: '/api/v1/order',
    headers: json(user, key),
    payload: { drink: 'latte', size: 'medium' },
  });

const orderOf = (r: LightMyRequestResponse): OrderView => r.json<{ order: OrderView }>().order;

const get = async (a: App, id: string): Promise<OrderView> =>
  orderOf(await a.http.inject({ method: 'GET', url: `/api/v1/orders/${id}`, headers: json() }));

/** The person confirms the order again, to pay it from the wallet instead. */
const switchToWallet = (a: App, id: string): Promise<LightMyRequestResponse> =>
  a.http.inject({
    method: 'POST',
    url: `/api/v1/orders/${id}/confirm`,
    headers: json(),
    payload: { payment_method: 'wallet' },
  });

/** POST …/cancel with no body, as alice. */
const cancel = (a: App, id: string): Promise<LightMyRequestResponse> =>
  a.http.inject({ method: 'POST', url: `/api/v1/orders/${id}/cancel`, headers: { 'x-user-id': 'alice' } });

/** The pay page's path, from the pay_url the answer handed over. */
const pagePath = (payUrl: string): string => new URL(payUrl).pathname;

describe.each(ENGINES)('paying by QR on the embedded simulator, on %s', (engine) => {
  const start = async (overrides: Record<string, unknown> = {}): Promise<App> => {
    cluster = await startCluster(
      engine,
      {
        log: { level: 'silent' },
        orders: { payment_method: 'sim_qr' },
        // Only the payer (or a cancel) settles a waiting payment here: the pay job asks again late.
        worker: { retry_base_ms: 60_000, retry_max_ms: 60_000 },
        server: { wait_for_completion_ms: 1000 },
        ...overrides,
      },
      () => ({}),
      1,
    );
    const a = cluster.apps[0]!;
    a.start();
    return a;
  };

  it('the answer carries qr_code, pay_url, expires_at; the pay page shows the amount; Pay completes it', async () => {
    const a = await start();
    const placed = await place(a, 'qr-scan-1');
    expect(placed.statusCode).toBe(202);
    const o = orderOf(placed);
    expect(o.status).toBe('PAYMENT_PROCESSING');
    expect(placed.json<{ next: string }>().next).toContain('pay_url');
    const pay = o.payment;
    expect(pay.status).toBe('PENDING');
    expect(pay.qr_code).toMatch(/\/_sim\/pay\/sim_\d+\.[A-Za-z0-9_-]{22}$/);
    expect(pay.pay_url).toBe(pay.qr_code);
    const expires = Date.parse(pay.expires_at ?? '');
    // The repair rules close an unpaid trade 10 minutes after it began to be paid.
    expect(expires - Date.now()).toBeGreaterThan(9 * 60_000);
    expect(expires - Date.now()).toBeLessThanOrEqual(10 * 60_000);
    expect(simulatorOf(a).capturesFor(o.payment.id)).toBe(0);

    // A GET later still hands it over.
    expect((await get(a, o.id)).payment).toMatchObject({ qr_code: pay.qr_code, pay_url: pay.pay_url });

    // The secret the source once held signs nothing here: the installation made its own.
    const trade = simulatorOf(a).trade(pay.out_trade_no ?? '');
    if (trade === undefined) throw new Error('no trade');
    const forged = new SimulatedGateway().notificationFor(
      { kind: 'payment', trade: { ...trade, status: 'succeeded' } },
      Math.floor(Date.now() / 1000),
    );
    const refusedForgery = await a.http.inject({
      method: 'POST',
      url: '/api/v1/callbacks/secure-pay-v3',
      headers: forged.headers,
      payload: forged.body,
    });
    expect(refusedForgery.statusCode).toBe(401);
    expect(refusedForgery.headers['x-error-code']).toBe('CALLBACK_SIGNATURE_INVALID');
    expect((await get(a, o.id)).status).toBe('PAYMENT_PROCESSING');

    const page = await a.http.inject({ method: 'GET', url: pagePath(pay.pay_url ?? '') });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('¥32.00');
    expect(page.body).toContain('<form method="post">');

    // The payer presses Pay: the form arrives urlencoded, with no fields.
    const paid = await a.http.inject({
      method: 'POST',
      url: pagePath(pay.pay_url ?? ''),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: '',
    });
    expect(paid.statusCode).toBe(200);
    expect(paid.body).toContain('Paid');
    const done = await until(
      () => get(a, o.id),
      (v) => v.status === 'COMPLETED',
    );
    expect(done.status).toBe('COMPLETED');
    // Paid: nothing to scan any more.
    expect(done.payment).toMatchObject({ status: 'PAID', qr_code: null, pay_url: null, expires_at: null });
    expect(simulatorOf(a).capturesFor(o.payment.id)).toBe(1);
    expect(await a.services.ledger.check('default')).toMatchObject({ balanced: true });

    // A second press finds nothing to pay.
    const again = await a.http.inject({ method: 'POST', url: pagePath(pay.pay_url ?? '') });
    expect(again.statusCode).toBe(409);
    expect(again.json<{ code: string }>().code).toBe('TRADE_NOT_PENDING');
    expect(simulatorOf(a).capturesFor(o.payment.id)).toBe(1);
    // Only the link handed to the payer opens the page: the bare (sequential) trade number, or
    // another MAC, does not.
    const tradeNo = trade.tradeNo;
    for (const walked of [tradeNo, `${tradeNo}.AAAAAAAAAAAAAAAAAAAAAA`]) {
      const r = await a.http.inject({ method: 'GET', url: `/_sim/pay/${walked}` });
      expect(r.statusCode, walked).toBe(404);
    }
    const missing = await a.http.inject({ method: 'GET', url: '/_sim/pay/sim_9999999999' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json<{ code: string }>().code).toBe('TRADE_NOT_FOUND');
  });

  it('a waiting QR payment is cancelled: the trade is closed at the simulator first, nothing is captured', async () => {
    const a = await start();
    const o = orderOf(await place(a, 'qr-cancel-1'));
    expect(o.payment.status).toBe('PENDING');
    const bank = simulatorOf(a);
    const cancelled = await a.http.inject({
      method: 'POST',
      url: `/api/v1/orders/${o.id}/cancel`,
      headers: json(),
      payload: { reason: 'changed my mind' },
    });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(orderOf(cancelled)).toMatchObject({ status: 'CANCELLED', payment: { status: 'CANCELLED', qr_code: null } });
    expect(bank.trade(o.payment.out_trade_no ?? '')?.status).toBe('closed');
    // The payer scans too late: the page says so, and nothing is taken.
    const late = await a.http.inject({ method: 'POST', url: pagePath(o.payment.pay_url ?? '') });
    expect(late.statusCode).toBe(409);
    expect(late.json<{ trade_status: string }>().trade_status).toBe('closed');
    expect(bank.capturesFor(o.payment.id)).toBe(0);
    // Cancelling again is harmless.
    const again = await cancel(a, o.id);
    expect(again.statusCode).toBe(200);
    expect((await a.deps.uow.read.ledger.journalsFor('default', o.payment.id)).length).toBe(0);
  });

  it('a payer who paid before the cancel wins: the order is settled as paid and the cancel refused', async () => {
    const a = await start();
    const o = orderOf(await place(a, 'qr-cancel-paid'));
    const bank = simulatorOf(a);
    // Paid at the gateway, but its callback has not arrived.
    expect(bank.payPending(o.payment.out_trade_no ?? '')).toBe(true);
    const refused = await cancel(a, o.id);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'ILLEGAL_TRANSITION', details: { event: 'cancel', from: 'PAID' } });
    const done = await until(
      () => get(a, o.id),
      (v) => v.status === 'COMPLETED',
    );
    expect(done.status).toBe('COMPLETED');
    expect(bank.capturesFor(o.payment.id)).toBe(1);
  });

  it.each(['the HTTP API', 'the CLI'])(
    'a capture that lands after the close decision is flagged and given back; the ledger balances (cancel by %s)',
    async (via) => {
      // A gateway whose close answers "closed" while the payer's payment is already under way.
      let racing = false;
      const a = await start();
      const bank = simulatorOf(a);
      const close = bank.close.bind(bank);
      bank.close = (outTradeNo: string) => {
        if (!racing) return close(outTradeNo);
        const t = bank.trade(outTradeNo);
        return Promise.resolve({ status: 'closed' as const, outTradeNo, ...(t ? { amount: t.amount } : {}) });
      };
      const o = orderOf(await place(a, 'qr-race-1'));
      racing = true;
      const url = via === 'the CLI' ? await a.listen() : undefined;
      const cli =
        url === undefined
          ? undefined
          : (...args: string[]) => runCliCaptured(args, { defaultUrl: url, apiKey: adminKeyOf(a) });
      if (cli === undefined) {
        const cancelled = await cancel(a, o.id);
        expect(cancelled.statusCode, cancelled.body).toBe(200);
        expect(orderOf(cancelled).status).toBe('CANCELLED');
      } else {
        const cancelled = await cli('cancel', o.id, '--user', 'alice');
        expect(cancelled.code, cancelled.err.join('\n')).toBe(0);
        expect(cancelled.out.join('\n')).toMatch(/status\s+CANCELLED/);
      }
      // The payer's payment lands now, and the gateway's signed callback with it.
      const paid = await a.http.inject({ method: 'POST', url: pagePath(o.payment.pay_url ?? '') });
      expect(paid.statusCode).toBe(200);
      expect(bank.capturesFor(o.payment.id)).toBe(1);
      const refunded = await until(
        () =>
          Promise.resolve(
            bank.groundTruth.filter((e) => e.type === 'refund' && e.outTradeNo === o.payment.out_trade_no),
          ),
        (v) => v.length > 0,
      );
      expect(refunded).toHaveLength(1);
      const flags = await until(
        async () =>
          (await a.deps.uow.read.flags.list('default', { limit: 100 })).filter((f) => f.resourceId === o.payment.id),
        (v) => v.some((f) => f.code === 'LATE_CAPTURE_REFUNDED'),
      );
      expect(flags.map((f) => f.code).sort()).toEqual(['LATE_CAPTURE', 'LATE_CAPTURE_REFUNDED']);
      expect((await get(a, o.id)).status).toBe('CANCELLED');
      expect(await a.services.ledger.check('default')).toMatchObject({ balanced: true });
      if (cli !== undefined) {
        // What an operator sees of it from the terminal: the flag, and books that balance.
        const listed = await cli('flags', 'list', '--code', 'LATE_CAPTURE_REFUNDED', '--json');
        expect(listed.code, listed.err.join('\n')).toBe(0);
        const data = (JSON.parse(listed.out[0] ?? '{}') as { data: Array<{ resource_id: string }> }).data;
        expect(data.map((f) => f.resource_id)).toContain(o.payment.id);
        expect((await cli('ledger', 'check')).code).toBe(0);
      }
    },
  );

  it('another method for a waiting payment closes the first trade, then pays with the new one', async () => {
    const a = await start();
    const o = orderOf(await place(a, 'qr-switch-1'));
    const bank = simulatorOf(a);
    const first = o.payment.out_trade_no ?? '';
    const switched = await switchToWallet(a, o.id);
    expect(switched.statusCode, switched.body).toBe(201);
    const s = orderOf(switched);
    expect(s).toMatchObject({ status: 'COMPLETED', payment: { status: 'PAID', method: 'wallet' } });
    expect(s.payment.out_trade_no).not.toBe(first);
    expect(bank.trade(first)?.status).toBe('closed');
    expect(bank.capturesFor(o.payment.id)).toBe(1);
    // The first trade's QR can no longer be paid.
    const stale = await a.http.inject({ method: 'POST', url: pagePath(o.payment.pay_url ?? '') });
    expect(stale.statusCode).toBe(409);
    expect(bank.capturesFor(o.payment.id)).toBe(1);
    expect(await a.services.ledger.check('default')).toMatchObject({ balanced: true });
  });

  it('a payer who paid before another method was asked for wins: the confirm is refused as a confirm', async () => {
    const a = await start();
    const o = orderOf(await place(a, 'qr-switch-paid'));
    const bank = simulatorOf(a);
    // Paid at the gateway, but its callback has not arrived.
    expect(bank.payPending(o.payment.out_trade_no ?? '')).toBe(true);
    const refused = await switchToWallet(a, o.id);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'ILLEGAL_TRANSITION', details: { event: 'confirm', from: 'PAID' } });
    const done = await until(
      () => get(a, o.id),
      (v) => v.status === 'COMPLETED',
    );
    expect(done).toMatchObject({ status: 'COMPLETED', payment: { method: 'sim_qr' } });
    expect(bank.capturesFor(o.payment.id)).toBe(1);
  });

  it('another method is refused with TRADE_NOT_CLOSED when the gateway cannot be asked; nothing changes', async () => {
    const a = await start();
    const o = orderOf(await place(a, 'qr-switch-2'));
    const bank = simulatorOf(a);
    bank.query = () => Promise.reject(new GatewayUnknownOutcomeError('simulated timeout'));
    const refused = await switchToWallet(a, o.id);
    expect(refused.statusCode).toBe(503);
    expect(refused.json<{ code: string }>().code).toBe('TRADE_NOT_CLOSED');
    const still = await get(a, o.id);
    expect(still).toMatchObject({
      status: 'PAYMENT_PROCESSING',
      payment: { method: 'sim_qr', out_trade_no: o.payment.out_trade_no },
    });
    expect(bank.trade(o.payment.out_trade_no ?? '')?.status).toBe('pending');
  });
});

describe.each(ENGINES)('the embedded simulator keeps its books across a restart, on %s', (engine) => {
  it('an order paid before a restart is refunded after it (the gateway still knows the trade)', async () => {
    const dbPath = tempDbPath();
    let db: TestDatabase | undefined;
    // SQLite: the default place, beside the database. PostgreSQL: the tests' own data directory.
    const overrides: Record<string, unknown> =
      engine === 'postgres' ? { database: { url: (db = await createTestDatabase('restart')).url } } : {};
    const first = (await startTestApp({ ...overrides, log: { level: 'silent' } }, {}, dbPath)).app;
    const placed = await place(first, 'paid-before-restart');
    expect(placed.statusCode, placed.body).toBe(201);
    const o = orderOf(placed);
    expect(o.status).toBe('COMPLETED');
    const secretFile = join(dirname(dbPath), 'simulator', 'embedded.secret');
    const secret = readFileSync(secretFile, 'utf8');
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    await first.close();

    const second = (await startTestApp({ ...overrides, log: { level: 'silent' } }, {}, dbPath)).app;
    try {
      expect(second.paymentSimulator?.trade(o.payment.out_trade_no ?? '')?.status).toBe('succeeded');
      const refund = await second.http.inject({
        method: 'POST',
        url: `/api/v1/orders/${o.id}/refund`,
        headers: json('alice', 'refund-after-restart'),
        payload: {},
      });
      expect(refund.statusCode, refund.body).toBe(201);
      const done = await until(
        () => get(second, o.id),
        (v) => v.status === 'REFUNDED',
      );
      expect(done.status).toBe('REFUNDED');
      expect(second.paymentSimulator?.groundTruth.filter((e) => e.type === 'refund')).toHaveLength(1);
      expect(await second.services.ledger.check('default')).toMatchObject({ balanced: true });
      // The same installation secret signs the simulator's callbacks after the restart.
      expect(readFileSync(secretFile, 'utf8')).toBe(secret);
    } finally {
      await second.close();
      await db?.drop();
    }
  });
});

describe.each(ENGINES)('paying by QR from the autoglm CLI, on %s', (engine) => {
  it(
    'confirm --method sim_qr draws the QR and names its page; paying completes it; cancel ends another; ' +
      'another method closes the first trade',
    async () => {
      cluster = await startCluster(
        engine,
        { log: { level: 'silent' }, auto_confirm_order: false, trusted_actions: [] },
        () => ({}),
        1,
      );
      const app = cluster.apps[0]!;
      const url = await app.listen();
      const cli = (...args: string[]) => runCliCaptured(args, { defaultUrl: url, apiKey: adminKeyOf(app) });
      try {
        const placed = await cli('order', 'latte', 'medium', '--json');
        const id = (JSON.parse(placed.out[0] ?? '{}') as { order: { id: string } }).order.id;
        const confirmed = await cli('confirm', id, '--method', 'sim_qr');
        expect(confirmed.code, confirmed.err.join('\n')).toBe(0);
        const text = confirmed.out.join('\n');
        expect(text).toMatch(/status\s+PAYMENT_PROCESSING/);
        const payUrl = /open (http:\/\/\S+\/_sim\/pay\/sim_\d+\.\S+)/.exec(text)?.[1];
        expect(payUrl).toBeDefined();
        expect(text).toMatch(/before \d{4}-\d\d-\d\dT/);
        // The QR itself, in block characters a phone can scan off the terminal.
        expect(text).toMatch(/[▄▀█]{5}/);
        // The person pays on the page the QR opens.
        const paid = await fetch(payUrl ?? '', { method: 'POST' });
        expect(paid.status).toBe(200);
        const shown = await until(
          () => cli('get', id),
          (r) => /status\s+COMPLETED/.test(r.out.join('\n')),
        );
        expect(shown.out.join('\n')).not.toContain('scan this');

        const second = JSON.parse((await cli('order', 'latte', 'medium', '--json')).out[0] ?? '{}') as {
          order: { id: string };
        };
        await cli('confirm', second.order.id, '--method', 'sim_qr');
        const cancelled = await cli('cancel', second.order.id);
        expect(cancelled.code, cancelled.err.join('\n')).toBe(0);
        expect(cancelled.out.join('\n')).toMatch(/status\s+CANCELLED/);
        expect(app.paymentSimulator?.groundTruth.filter((e) => e.type === 'capture')).toHaveLength(1);

        // Another method for a waiting payment: the QR trade is closed first, then the wallet pays.
        const third = JSON.parse((await cli('order', 'latte', 'medium', '--json')).out[0] ?? '{}') as {
          order: { id: string };
        };
        const waiting = await cli('confirm', third.order.id, '--method', 'sim_qr', '--json');
        const firstTrade = (JSON.parse(waiting.out[0] ?? '{}') as { order: { payment: { out_trade_no: string } } })
          .order.payment.out_trade_no;
        const switched = await cli('confirm', third.order.id, '--method', 'wallet');
        expect(switched.code, switched.err.join('\n')).toBe(0);
        const paidByWallet = await until(
          () => cli('get', third.order.id),
          (r) => /status\s+COMPLETED/.test(r.out.join('\n')),
        );
        expect(paidByWallet.out.join('\n')).toMatch(/status\s+COMPLETED/);
        expect(app.paymentSimulator?.trade(firstTrade)?.status).toBe('closed');
        expect(app.paymentSimulator?.groundTruth.filter((e) => e.type === 'capture')).toHaveLength(2);
        expect(await app.services.ledger.check('default')).toMatchObject({ balanced: true });
      } finally {
        await cluster.close();
        cluster = undefined;
      }
    },
  );
});

describe('an agent is handed what the payer needs', () => {
  it('an MCP order_coffee paid by QR answers with qr_code, pay_url and expires_at, and says where to pay', async () => {
    const { app } = await startTestApp({ log: { level: 'silent' }, orders: { payment_method: 'sim_qr' } });
    const url = await app.listen();
    const made = await app.services.identity.createKey(
      { tenantId: 'default', userId: 'admin', actor: 'admin:admin', requestId: null, role: 'admin' },
      { role: 'agent', user: 'alice-bot', actsFor: 'alice' },
    );
    if (!made.ok) throw new Error(made.error.message);
    const client = new Client({ name: 'qr-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', url), {
        requestInit: { headers: { authorization: `Bearer ${made.value.key}` } },
      }),
    );
    try {
      const r = (await client.callTool({
        name: 'order_coffee',
        arguments: { drink: 'latte', size: 'medium' },
      })) as CallToolResult;
      expect(r.isError, JSON.stringify(r)).toBe(false);
      const order = (r.structuredContent as { order: OrderView }).order;
      expect(order.status).toBe('PAYMENT_PROCESSING');
      expect(order.payment.pay_url).toMatch(/\/_sim\/pay\/sim_\d+\.[A-Za-z0-9_-]{22}$/);
      expect(order.payment.qr_code).toBe(order.payment.pay_url);
      expect(order.payment.expires_at).not.toBeNull();
      const text = (r.content[0] as { text: string }).text;
      expect(text).toContain(`to pay, open ${order.payment.pay_url ?? ''}`);
      expect(text).toContain(`before ${order.payment.expires_at ?? ''}`);
    } finally {
      await client.close();
      await app.close();
    }
  });
});
