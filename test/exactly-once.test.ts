import { auditOf, ADMIN } from './support/test-app.js';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import { type SimEvent, SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { SimulatedMerchant } from '../src/simulator/simulated-merchant.js';
import { type Cluster, ENGINES, startCluster } from './support/cluster.js';
import { quick, simulatedChannels } from './support/recharge-harness.js';

/**
 * The exactly-once claims under concurrency, on every engine: SQLite serialises writes and would
 * hide a race that PostgreSQL shows, so each test runs on SQLite and on two instances sharing
 * one PostgreSQL database. Every claim in the code base is insert-first; these are its proofs.
 */
const json = (user = 'alice', key?: string): Record<string, string> => ({
  'content-type': 'application/json',
  'x-user-id': user,
  ...(key === undefined ? {} : { 'idempotency-key': key }),
});
const nowSec = (): number => Math.floor(Date.now() / 1000);

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, tries = 300): Promise<T> {
  let v = await probe();
  for (let i = 0; i < tries && !done(v); i++) {
    await new Promise((r) => setTimeout(r, 20));
    v = await probe();
  }
  return v;
}

const order = (a: App, key: string, user = 'alice'): Promise<LightMyRequestResponse> =>
  a.http.inject({
    method: 'POST',
    url: '/api/v1/order',
    headers: json(user, key),
    payload: { drink: 'latte', size: 'medium' },
  });

describe.each(ENGINES)('exactly once under concurrency on %s', (engine) => {
  it(
    '100 concurrent requests with one Idempotency-Key: one order, one capture, ' + 'one answer replayed to all',
    async () => {
      const bank = new SimulatedGateway();
      const merchant = new SimulatedMerchant();
      cluster = await startCluster(engine, { log: { level: 'silent' } }, () => ({ gateway: bank, merchant }));
      for (const a of cluster.apps) a.start();
      const c = cluster;
      const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => order(c.at(i), 'double-click-1')));
      const statuses = answers.map((r) => r.statusCode);
      // The first answers 201; the others replay it, or are told the first is still running.
      expect(
        statuses.every((s) => s === 201 || s === 409),
        JSON.stringify(statuses),
      ).toBe(true);
      const ids = new Set(
        answers.filter((r) => r.statusCode === 201).map((r) => r.json<{ order: { id: string } }>().order.id),
      );
      expect(ids.size).toBe(1);
      expect(
        answers
          .filter((r) => r.statusCode === 409)
          .every((r) => r.json<{ code: string }>().code === 'IDEMPOTENCY_IN_FLIGHT'),
      ).toBe(true);
      const page = await c.apps[0]!.services.orders.list(ADMIN, { limit: 50 });
      expect(page.data).toHaveLength(1);
      expect(bank.groundTruth.filter((e) => e.type === 'capture')).toHaveLength(1);
      expect(merchant.groundTruth).toHaveLength(1);
    },
  );

  it('40 keys each sent twice at once (a double click): 40 orders, 40 captures', async () => {
    const bank = new SimulatedGateway();
    const merchant = new SimulatedMerchant();
    cluster = await startCluster(engine, { log: { level: 'silent' } }, () => ({ gateway: bank, merchant }));
    const c = cluster;
    const sends = Array.from({ length: 80 }, (_, i) => order(c.at(i), `click-${Math.floor(i / 2)}`, `u${i % 7}`));
    const answers = await Promise.all(sends);
    expect(answers.every((r) => r.statusCode === 201 || r.statusCode === 409)).toBe(true);
    const total = (
      await Promise.all(
        Array.from({ length: 7 }, (_, u) => c.apps[0]!.services.orders.list(ADMIN, { userId: `u${u}`, limit: 200 })),
      )
    ).reduce((n, p) => n + p.data.length, 0);
    // Keys are scoped to the caller: `click-3` of u3 and of u4 are different keys (u = i % 7).
    const distinct = new Set(Array.from({ length: 80 }, (_, i) => `u${i % 7}/click-${Math.floor(i / 2)}`)).size;
    expect(total).toBe(distinct);
    expect(bank.groundTruth.filter((e) => e.type === 'capture')).toHaveLength(distinct);
  });

  it(
    'the same success callback 50 times at once for a pending payment: applied once, ' + 'acknowledged to all',
    async () => {
      const bank = new SimulatedGateway({ payerActionMethods: ['alipay_qr'] });
      const merchant = new SimulatedMerchant();
      cluster = await startCluster(
        engine,
        {
          log: { level: 'silent' },
          orders: { payment_method: 'alipay_qr' },
          // The pay job retries late: here only the callbacks settle the payment.
          worker: { retry_base_ms: 60_000, retry_max_ms: 60_000 },
          server: { wait_for_completion_ms: 300 },
        },
        () => ({ gateway: bank, merchant }),
      );
      const c = cluster;
      for (const a of c.apps) a.start();
      const placed = await order(c.at(0), 'qr-1');
      expect(placed.statusCode).toBe(202);
      const o = placed.json<{ order: { id: string; payment: { id: string; out_trade_no: string } } }>().order;
      expect(bank.payPending(o.payment.out_trade_no)).toBe(true);
      const trade = bank.trade(o.payment.out_trade_no);
      if (trade === undefined) throw new Error('no trade');
      // Identical re-sends: no nonce, one event id (Alipay's notifications look like this).
      const n = bank.notificationFor({ kind: 'payment', trade } satisfies SimEvent, nowSec());
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          c.at(i).http.inject({
            method: 'POST',
            url: '/api/v1/callbacks/secure-pay-v3',
            headers: n.headers,
            payload: n.body,
          }),
        ),
      );
      expect(answers.map((r) => r.statusCode)).toEqual(Array.from({ length: 50 }, () => 200));
      const effects = answers.map((r) => String(r.headers['x-callback-effect']));
      expect(effects.filter((e) => e === 'applied')).toHaveLength(1);
      expect(effects.filter((e) => e !== 'applied').every((e) => e === 'duplicate')).toBe(true);
      const a0 = c.apps[0]!;
      const done = await until(
        () => a0.services.orders.get(ADMIN, o.id),
        (r) => r.ok && r.value.status === 'COMPLETED',
      );
      expect(done.ok && done.value.status).toBe('COMPLETED');
      const journals = await a0.deps.uow.read.ledger.journalsFor('default', o.payment.id);
      expect(journals.map((j) => j.kind)).toEqual(['payment.captured']);
      const trail = await auditOf(a0, 'payment', o.payment.id);
      expect(trail.filter((e) => e.action === 'payment.succeed')).toHaveLength(1);
      expect(merchant.groundTruth).toHaveLength(1);
      expect(await a0.services.ledger.check('default')).toMatchObject({ balanced: true, complete: true });
    },
  );

  it('the same success callback 50 times at once for a FAILED payment: flagged once, refunded once', async () => {
    const bank = new SimulatedGateway({ payerActionMethods: ['alipay_qr'] });
    cluster = await startCluster(
      engine,
      {
        log: { level: 'silent' },
        orders: { payment_method: 'alipay_qr' },
        worker: { retry_base_ms: 60_000, retry_max_ms: 60_000 },
        server: { wait_for_completion_ms: 300 },
      },
      () => ({ gateway: bank }),
    );
    const c = cluster;
    for (const a of c.apps) a.start();
    const placed = await order(c.at(0), 'qr-late');
    const o = placed.json<{ order: { id: string; payment: { id: string; out_trade_no: string } } }>().order;
    const trade = bank.trade(o.payment.out_trade_no);
    if (trade === undefined) throw new Error('no trade');
    const failed = bank.notificationFor(
      { kind: 'payment', trade: { ...trade, status: 'failed', failureCode: 'PAYER_ABANDONED' } },
      nowSec(),
    );
    const f = await c.at(0).http.inject({
      method: 'POST',
      url: '/api/v1/callbacks/secure-pay-v3',
      headers: failed.headers,
      payload: failed.body,
    });
    expect(f.headers['x-callback-effect']).toBe('applied');
    // The gateway takes the money after all, and says so 50 times at once.
    bank.payPending(o.payment.out_trade_no);
    const paid = bank.trade(o.payment.out_trade_no);
    if (paid === undefined) throw new Error('no trade');
    const n = bank.notificationFor({ kind: 'payment', trade: paid }, nowSec());
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        c
          .at(i)
          .http.inject({ method: 'POST', url: '/api/v1/callbacks/secure-pay-v3', headers: n.headers, payload: n.body }),
      ),
    );
    expect(answers.map((r) => r.statusCode)).toEqual(Array.from({ length: 50 }, () => 200));
    const effects = answers.map((r) => String(r.headers['x-callback-effect']));
    expect(effects.filter((e) => e === 'flagged')).toHaveLength(1);
    expect(effects.filter((e) => e !== 'flagged').every((e) => e === 'duplicate')).toBe(true);
    const a0 = c.apps[0]!;
    const refunds = await until(
      () =>
        Promise.resolve(bank.groundTruth.filter((e) => e.type === 'refund' && e.outTradeNo === o.payment.out_trade_no)),
      (r) => r.length > 0,
    );
    expect(refunds).toHaveLength(1);
    const flags = await until(
      () => a0.services.ledger.reviewFlags('default', false, 100),
      (fs) => fs.some((x) => x.code === 'LATE_CAPTURE_REFUNDED'),
    );
    expect(flags.filter((x) => x.code === 'LATE_CAPTURE')).toHaveLength(1);
    expect(flags.filter((x) => x.code === 'LATE_CAPTURE_REFUNDED')).toHaveLength(1);
    expect((await a0.services.orders.get(ADMIN, o.id)).ok).toBe(true);
    expect(await a0.services.ledger.check('default')).toMatchObject({ balanced: true, complete: true });
  });

  it('concurrent refunds against one payment never give back more than was captured', async () => {
    const bank = new SimulatedGateway();
    cluster = await startCluster(engine, { log: { level: 'silent' } }, () => ({ gateway: bank }));
    const c = cluster;
    for (const a of c.apps) a.start();
    const placed = await order(c.at(0), 'to-refund');
    expect(placed.statusCode).toBe(201);
    const o = placed.json<{ order: { id: string; amount: number } }>().order;
    expect(o.amount).toBe(3200);
    // Twelve people (or retries with fresh keys) ask for 10 yuan back at once: three fit.
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        c.at(i).http.inject({
          method: 'POST',
          url: `/api/v1/orders/${o.id}/refund`,
          headers: json('alice', `refund-${i}`),
          payload: { amount: 1000 },
        }),
      ),
    );
    const accepted = answers.filter((r) => r.statusCode === 201 || r.statusCode === 202);
    const refused = answers.filter((r) => r.statusCode === 422);
    expect(accepted, answers.map((r) => `${r.statusCode} ${r.body.slice(0, 120)}`).join('\n')).toHaveLength(3);
    expect(refused).toHaveLength(9);
    expect(refused.every((r) => r.json<{ code: string }>().code === 'REFUND_EXCEEDS_PAYMENT')).toBe(true);
    const a0 = c.apps[0]!;
    const settled = await until(
      () => a0.services.refunds.listForOrder(ADMIN, o.id),
      (r) => r.ok && r.value.every((x) => x.status !== 'PENDING'),
    );
    const refundsList = settled.ok ? settled.value : [];
    expect(refundsList.reduce((s, r) => s + (r.status === 'FAILED' ? 0 : r.amount), 0)).toBeLessThanOrEqual(3200);
    expect(new Set(refundsList.map((r) => r.out_refund_no)).size).toBe(refundsList.length);
    const givenBack = bank.groundTruth
      .filter((e) => e.type === 'refund')
      .reduce((s, e) => s + (e.type === 'refund' ? e.amount.amount : 0), 0);
    expect(givenBack).toBe(3000);
    expect(await a0.services.ledger.check('default')).toMatchObject({ balanced: true, complete: true });
  });

  it('six concurrent confirms of one held ¥100 recharge make one recharge', async () => {
    const carriers = new SimulatedCarriers();
    cluster = await startCluster(
      engine,
      {
        log: { level: 'silent' },
        // Recharges are not trusted: the policy holds them for the person.
        trusted_actions: ['order_coffee', 'submit_payment', 'wallet_top_up'],
        recharge: { channels: { 'sim-a': { type: 'simulator', operators: ['CHINA_MOBILE'] } } },
      },
      () => ({ carriers, rechargeChannels: simulatedChannels(carriers, { 'sim-a': quick }) }),
    );
    const c = cluster;
    for (const a of c.apps) a.start();
    const top = await c.at(0).http.inject({
      method: 'POST',
      url: '/api/v1/wallet/top-ups',
      headers: json('alice', 'top'),
      payload: { amount: 50_000 },
    });
    expect(top.statusCode).toBe(201);
    const asked = await c.at(0).http.inject({
      method: 'POST',
      url: '/api/v1/agent/messages',
      headers: json('alice'),
      payload: { text: '给13800138000充100块话费' },
    });
    const session = asked.json<{
      session_id: string;
      outcome: { kind: string; confirm: { path: string; body: { digest: string }; amount: number } };
    }>();
    expect(session.outcome.kind).toBe('awaiting_confirmation');
    expect(session.outcome.confirm.amount).toBe(10_000);
    // Six "yes" at once (double clicks, retries, several instances), without an Idempotency-Key.
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        c.at(i).http.inject({
          method: 'POST',
          url: session.outcome.confirm.path,
          headers: { 'content-type': 'application/json', 'x-user-id': 'alice' },
          payload: session.outcome.confirm.body,
        }),
      ),
    );
    expect(answers.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(
      answers
        .filter((r) => r.statusCode === 404)
        .every((r) => r.json<{ code: string }>().code === 'CONFIRMATION_NOT_FOUND'),
    ).toBe(true);
    expect(answers.filter((r) => r.statusCode === 404)).toHaveLength(5);
    const a0 = c.apps[0]!;
    const wallet = await until(
      () =>
        a0.services.wallet.balance({
          tenantId: 'default',
          userId: 'alice',
          actor: 'user:alice',
          requestId: null,
          role: 'user',
        }),
      () => carriers.groundTruth.length > 0,
    );
    expect(carriers.groundTruth).toHaveLength(1);
    expect(wallet.ok && wallet.value.balance).toBe(40_000);
  });
});
