import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { businessDateOf } from '../src/application/reconciliation/daily.js';
import type { App } from '../src/composition/create-app.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { writeWechatBill } from '../src/simulator/statements/wechat-bill-writer.js';
import { type Cluster, ENGINES, startCluster } from './support/cluster.js';
import { runCliCaptured } from './support/cli-run.js';
import { adminKeyOf, simulatorOf } from './support/test-app.js';
import { until } from './support/webhook-receiver.js';

/**
 * Reconciliation end to end on the embedded default: the simulator's own statement of today
 * (Alipay's zipped GBK bill) against our records, with a capture whose notification was lost and
 * one under a number we never sold; the repairs applied over HTTP; the day then reconciled clean
 * — and a statement a person downloaded, in WeChat Pay's layout, with an amount mismatch, a
 * duplicate and a payment missing at the channel.
 */
const GATEWAY = 'secure-pay-v3';
const today = (): string => businessDateOf(Date.now(), 480);

interface Item {
  key: string;
  out_trade_no: string;
  resource: { type: string; id: string } | null;
}
interface Repair {
  id: string;
  item_key: string;
  action: string;
  status: string;
  result: string | null;
  not_before: string | null;
}
interface Report {
  id: string;
  clean: boolean;
  matched: Item[];
  missing_locally: Item[];
  missing_at_channel: Item[];
  amount_mismatch: Item[];
  status_mismatch: Item[];
  duplicates: Item[];
  explained: Item[];
  repairs: Repair[];
  totals: { statement: { lines: number; payments: number } };
}

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const admin = (a: App) => ({ authorization: `Bearer ${adminKeyOf(a)}`, 'content-type': 'application/json' });

async function reconcileOver(a: App, body: Record<string, unknown>): Promise<LightMyRequestResponse> {
  return a.http.inject({ method: 'POST', url: '/api/v1/reconciliations', headers: admin(a), payload: body });
}
const reportOf = (r: LightMyRequestResponse): Report => r.json<{ reconciliation: Report }>().reconciliation;
const keys = (items: Item[]): string[] => items.map((i) => i.key).sort();

async function placeQr(a: App, key: string): Promise<{ id: string; outTradeNo: string }> {
  const r = await a.http.inject({
    method: 'POST',
    url: '/api/v1/order',
    headers: { 'content-type': 'application/json', 'x-user-id': 'alice', 'idempotency-key': key },
    payload: { drink: 'latte', size: 'medium' },
  });
  expect(r.statusCode, r.body).toBe(202);
  const o = r.json<{ order: { id: string; payment: { out_trade_no: string; pay_url: string } } }>().order;
  return { id: o.id, outTradeNo: o.payment.out_trade_no };
}

async function orderStatus(a: App, id: string): Promise<string> {
  const r = await a.http.inject({ method: 'GET', url: `/api/v1/orders/${id}`, headers: { 'x-user-id': 'alice' } });
  return r.json<{ order: { status: string } }>().order.status;
}

describe.each(ENGINES)('reconciliation against the statements, on %s', (engine) => {
  const start = async (): Promise<App> => {
    cluster = await startCluster(
      engine,
      {
        log: { level: 'silent' },
        orders: { payment_method: 'sim_qr' },
        // Only the payer (or a repair) settles a waiting payment: the pay job asks again late.
        worker: { retry_base_ms: 60_000, retry_max_ms: 60_000 },
        server: { wait_for_completion_ms: 1000 },
      },
      () => ({}),
      1,
    );
    const a = cluster.apps[0]!;
    a.start();
    return a;
  };

  it('finds a lost notification and a capture we never sold, repairs them, and the day reconciles clean', async () => {
    const a = await start();
    const bank = simulatorOf(a);
    // Paid as a payer does: the pay page, then its signed callback.
    const paid = await placeQr(a, 'rc-paid');
    const page = bank.trade(paid.outTradeNo);
    expect(page).toBeDefined();
    expect(bank.payPending(paid.outTradeNo)).toBe(true);
    // The callback of the first is lost too unless delivered: deliver it as the notifier would.
    const note = bank.notificationFor(
      { kind: 'payment', trade: bank.trade(paid.outTradeNo)! },
      Math.floor(Date.now() / 1000),
    );
    const delivered = await a.http.inject({
      method: 'POST',
      url: `/api/v1/callbacks/${GATEWAY}`,
      headers: note.headers,
      payload: note.body,
    });
    expect(delivered.statusCode, delivered.body).toBe(200);
    await until(
      () => orderStatus(a, paid.id),
      (st) => st === 'COMPLETED',
      20_000,
    );
    // Paid at the gateway, its notification lost: we still say PAYMENT_PROCESSING.
    const lost = await placeQr(a, 'rc-lost');
    expect(bank.payPending(lost.outTradeNo)).toBe(true);
    // Money captured under a number we never sold.
    await bank.create({
      outTradeNo: 'stranger_0001',
      amount: { amount: 1500, currency: 'CNY' },
      subject: 'not ours',
      method: 'wallet',
      payer: 'bob',
    });

    const first = await reconcileOver(a, { source: GATEWAY, date: today() });
    expect(first.statusCode, first.body).toBe(201);
    const r1 = reportOf(first);
    expect(r1.clean).toBe(false);
    expect(keys(r1.matched)).toEqual([`payment:${paid.outTradeNo}`]);
    expect(keys(r1.status_mismatch)).toEqual([`payment:${lost.outTradeNo}`]);
    expect(keys(r1.missing_locally)).toEqual(['payment:stranger_0001']);
    expect(r1.totals.statement.lines).toBe(3);
    const settle = r1.repairs.find((r) => r.action === 'settle_from_channel');
    const giveBack = r1.repairs.find((r) => r.action === 'refund_unknown_capture');
    expect(settle).toMatchObject({ item_key: `payment:${lost.outTradeNo}`, status: 'proposed' });
    expect(giveBack).toMatchObject({ item_key: 'payment:stranger_0001', status: 'proposed' });

    // An operator applies them (twice: the second answers the applied repair, nothing more).
    for (const repair of [settle!, giveBack!]) {
      for (let i = 0; i < 2; i++) {
        const applied = await a.http.inject({
          method: 'POST',
          url: `/api/v1/reconciliation-repairs/${repair.id}/apply`,
          headers: admin(a),
          payload: {},
        });
        expect(applied.statusCode, applied.body).toBe(200);
        expect(applied.json<{ repair: Repair }>().repair.status).toBe('applied');
      }
    }
    await until(
      () => orderStatus(a, lost.id),
      (st) => st === 'COMPLETED',
      20_000,
    );
    const refunds = bank.groundTruth.filter((e) => e.type === 'refund');
    expect(refunds).toHaveLength(1);
    expect(bank.capturesFor(lost.outTradeNo.replace(/_\d+$/, ''))).toBe(1);

    // The same day again: everything matched or explained by an applied repair.
    const again = reportOf(await reconcileOver(a, { source: GATEWAY, date: today() }));
    expect(again.clean).toBe(true);
    expect(keys(again.matched)).toEqual([`payment:${lost.outTradeNo}`, `payment:${paid.outTradeNo}`].sort());
    expect(keys(again.explained)).toEqual(['payment:stranger_0001', 'refund:stranger_0001_late']);

    // Read back over HTTP; the ledger still balances.
    const got = await a.http.inject({ method: 'GET', url: `/api/v1/reconciliations/${again.id}`, headers: admin(a) });
    expect(reportOf(got).clean).toBe(true);
    const list = await a.http.inject({
      method: 'GET',
      url: `/api/v1/reconciliations?source=${GATEWAY}`,
      headers: admin(a),
    });
    expect(list.json<{ data: Report[] }>().data.map((r) => r.id)).toEqual([again.id, r1.id]);
    const check = await a.http.inject({ method: 'GET', url: '/api/v1/ledger/check', headers: admin(a) });
    expect(check.json<{ balanced: boolean }>().balanced).toBe(true);

    // The CLI through the running service: clean → exit 0.
    const url = await a.listen();
    const cli = await runCliCaptured(['reconcile', '--source', GATEWAY, '--date', today(), '--url', url], {
      defaultUrl: url,
      apiKey: adminKeyOf(a),
    });
    expect(cli.code, cli.err.join('\n')).toBe(0);
    expect(cli.out.join('\n')).toMatch(/clean: nothing unexplained/);
  }, 120_000);

  it('the money-moving repairs applied many times at once, across instances, move money once', async () => {
    // One outside world for every instance: a shared order book whose QR trades wait for the payer.
    const bank = new SimulatedGateway({ payerActionMethods: ['sim_qr'] });
    cluster = await startCluster(
      engine,
      {
        log: { level: 'silent' },
        orders: { payment_method: 'sim_qr' },
        worker: { retry_base_ms: 60_000, retry_max_ms: 60_000 },
        server: { wait_for_completion_ms: 1000 },
      },
      () => ({ gateway: bank }),
    );
    for (const app of cluster.apps) app.start();
    const a = cluster.apps[0]!;
    const lost = await placeQr(a, 'rc-race');
    expect(bank.payPending(lost.outTradeNo)).toBe(true);
    await bank.create({
      outTradeNo: 'stranger_race',
      amount: { amount: 2100, currency: 'CNY' },
      subject: 'not ours',
      method: 'wallet',
      payer: 'bob',
    });
    const rep = reportOf(await reconcileOver(a, { source: GATEWAY, date: today() }));
    const repairs = rep.repairs.filter(
      (r) => r.action === 'settle_from_channel' || r.action === 'refund_unknown_capture',
    );
    expect(repairs).toHaveLength(2);
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => {
        const app = cluster!.at(i);
        return app.http.inject({
          method: 'POST',
          url: `/api/v1/reconciliation-repairs/${repairs[i % 2]!.id}/apply`,
          headers: admin(app),
          payload: {},
        });
      }),
    );
    expect(answers.map((r) => r.statusCode).every((c) => c === 200)).toBe(true);
    await until(
      () => orderStatus(a, lost.id),
      (st) => st === 'COMPLETED',
      20_000,
    );
    // One capture of the order, one refund of the stranger: however many applied them.
    expect(bank.capturesFor(lost.outTradeNo.replace(/_\d+$/, ''))).toBe(1);
    expect(bank.groundTruth.filter((e) => e.type === 'refund')).toHaveLength(1);
    const again = reportOf(await reconcileOver(a, { source: GATEWAY, date: today() }));
    expect(again.clean).toBe(true);
    expect(
      again.repairs
        .filter((r) => r.status === 'applied')
        .map((r) => r.action)
        .sort(),
    ).toEqual(['refund_unknown_capture', 'settle_from_channel']);
    const check = await a.http.inject({ method: 'GET', url: '/api/v1/ledger/check', headers: admin(a) });
    expect(check.json<{ balanced: boolean }>().balanced).toBe(true);
  }, 120_000);

  it('a downloaded WeChat Pay bill: amount mismatch, duplicate, missing at the channel; flags and T+2', async () => {
    const a = await start();
    const bank = simulatorOf(a);
    const orders = [];
    for (const k of ['w1', 'w2', 'w3']) {
      const o = await placeQr(a, `rc-${k}`);
      bank.payPending(o.outTradeNo);
      const n = bank.notificationFor(
        { kind: 'payment', trade: bank.trade(o.outTradeNo)! },
        Math.floor(Date.now() / 1000),
      );
      await a.http.inject({ method: 'POST', url: `/api/v1/callbacks/${GATEWAY}`, headers: n.headers, payload: n.body });
      orders.push(o);
    }
    for (const o of orders)
      await until(
        () => orderStatus(a, o.id),
        (st) => st === 'COMPLETED',
        20_000,
      );
    const [w1, w2, w3] = orders as [(typeof orders)[number], (typeof orders)[number], (typeof orders)[number]];
    const at = Date.now();
    const line = (outTradeNo: string, amount: number) => ({
      kind: 'payment' as const,
      outTradeNo,
      outRefundNo: null,
      channelId: `42000${outTradeNo.length}`,
      amount,
      fee: 0,
      cost: null,
      status: 'SUCCESS' as const,
      at,
    });
    // w1 twice, w2 for a yuan more than we took, w3 not at all.
    const bill = writeWechatBill([line(w1.outTradeNo, 3200), line(w1.outTradeNo, 3200), line(w2.outTradeNo, 3300)], {
      billType: 'ALL',
      appid: 'wx0000000000000001',
      mchid: '1900000001',
    });
    const r = await reconcileOver(a, {
      source: GATEWAY,
      date: today(),
      statement: { content_base64: Buffer.from(bill).toString('base64'), name: 'wechat.csv', format: 'wechatpay' },
    });
    expect(r.statusCode, r.body).toBe(201);
    const rep = reportOf(r);
    expect(keys(rep.duplicates)).toEqual([`payment:${w1.outTradeNo}`]);
    expect(keys(rep.amount_mismatch)).toEqual([`payment:${w2.outTradeNo}`]);
    expect(keys(rep.missing_at_channel)).toEqual([`payment:${w3.outTradeNo}`]);
    // Flags are applied by the configured rule at once; the recheck waits for T+2.
    const byKey = new Map(rep.repairs.map((x) => [x.item_key, x]));
    expect(byKey.get(`payment:${w1.outTradeNo}`)).toMatchObject({ action: 'flag', status: 'applied' });
    expect(byKey.get(`payment:${w2.outTradeNo}`)).toMatchObject({ action: 'flag', status: 'applied' });
    const recheck = byKey.get(`payment:${w3.outTradeNo}`);
    expect(recheck).toMatchObject({ action: 'recheck', status: 'proposed' });
    expect(Date.parse(recheck!.not_before ?? '')).toBeGreaterThan(Date.now() + 86_400_000);
    const early = await a.http.inject({
      method: 'POST',
      url: `/api/v1/reconciliation-repairs/${recheck!.id}/apply`,
      headers: admin(a),
      payload: {},
    });
    expect(early.statusCode).toBe(409);
    expect(early.json<{ code: string }>().code).toBe('REPAIR_NOT_DUE');
    const flags = await a.http.inject({ method: 'GET', url: '/api/v1/review-flags?status=open', headers: admin(a) });
    const codes = flags
      .json<{ data: Array<{ code: string }> }>()
      .data.map((f) => f.code)
      .sort();
    expect(codes).toEqual(['RECONCILIATION_AMOUNT_MISMATCH', 'RECONCILIATION_DUPLICATES']);

    // Bad requests are refused with their codes, and nothing is stored for them.
    const unknown = await reconcileOver(a, { source: 'nope', date: today() });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json<{ code: string }>().code).toBe('RECONCILIATION_SOURCE_UNKNOWN');
    const badDay = await reconcileOver(a, { source: GATEWAY, date: '2026-02-30' });
    expect(badDay.json<{ code: string }>().code).toBe('VALIDATION_FAILED');
    const garbage = await reconcileOver(a, {
      source: GATEWAY,
      date: today(),
      statement: { content_base64: Buffer.from('not a bill at all').toString('base64'), format: 'alipay' },
    });
    expect(garbage.statusCode).toBe(422);
    expect(garbage.json<{ code: string }>().code).toBe('STATEMENT_INVALID');
    const list = await a.http.inject({ method: 'GET', url: '/api/v1/reconciliations', headers: admin(a) });
    expect(list.json<{ data: Report[] }>().data).toHaveLength(1);
    // A person's key may not reconcile.
    const person = await a.http.inject({
      method: 'POST',
      url: '/api/v1/reconciliations',
      headers: { 'content-type': 'application/json', 'x-user-id': 'alice' },
      payload: { source: GATEWAY, date: today() },
    });
    expect(person.statusCode).toBe(403);
  }, 120_000);

  it('a run that fails is kept as failed with why; the list shows summaries, GET one the full report', async () => {
    const a = await start();
    const done = reportOf(await reconcileOver(a, { source: GATEWAY, date: today() }));
    // The gateway cannot give its bill (not ready yet, a network fault): the run is stored as failed.
    const gateway = a.deps.gateways.get(GATEWAY) as { statement: ((date: string) => Promise<unknown>) | undefined };
    const statement = gateway.statement;
    gateway.statement = () => Promise.reject(new Error('bill not ready'));
    const failed = await reconcileOver(a, { source: GATEWAY, date: today() });
    gateway.statement = statement;
    expect(failed.statusCode).toBe(502);
    const problem = failed.json<{ code: string; details: { reconciliation_id: string } }>();
    expect(problem.code).toBe('STATEMENT_UNAVAILABLE');

    const list = await a.http.inject({ method: 'GET', url: '/api/v1/reconciliations', headers: admin(a) });
    const data = list.json<{ data: Array<Record<string, unknown>> }>().data;
    expect(data.map((r) => [r.id, r.status, r.clean])).toEqual([
      [problem.details.reconciliation_id, 'failed', false],
      [done.id, 'done', true],
    ]);
    expect(data[0]?.error).toMatch(/bill not ready/);
    // Summaries: totals, no items and no repairs (those are one GET away).
    for (const summary of data) {
      expect(summary).toHaveProperty('totals');
      for (const k of ['matched', 'missing_locally', 'repairs']) expect(summary).not.toHaveProperty(k);
    }
    const one = await a.http.inject({
      method: 'GET',
      url: `/api/v1/reconciliations/${problem.details.reconciliation_id}`,
      headers: admin(a),
    });
    const kept = one.json<{ reconciliation: { status: string; clean: boolean; error: string; matched: [] } }>();
    expect(kept.reconciliation).toMatchObject({ status: 'failed', clean: false, matched: [] });
    expect(kept.reconciliation.error).toMatch(/bill not ready/);
    const full = await a.http.inject({ method: 'GET', url: `/api/v1/reconciliations/${done.id}`, headers: admin(a) });
    expect(reportOf(full)).toHaveProperty('matched');
    expect(reportOf(full)).toHaveProperty('repairs');

    // A run that breaks unexpectedly (here: the store cannot list the day's repairs) is kept too.
    const read = a.deps.uow.read.reconciliations;
    const repairsOf = read.repairsOf.bind(read);
    read.repairsOf = () => Promise.reject(new Error('disk on fire'));
    const broke = await reconcileOver(a, { source: GATEWAY, date: today() });
    read.repairsOf = repairsOf;
    expect(broke.statusCode).toBe(500);
    const after = await a.http.inject({ method: 'GET', url: '/api/v1/reconciliations', headers: admin(a) });
    const newest = after.json<{ data: Array<{ status: string; error: string | null }> }>().data[0];
    expect(newest).toMatchObject({ status: 'failed', error: 'disk on fire' });
  }, 120_000);
});
