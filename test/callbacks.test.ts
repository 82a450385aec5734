import { systemClock } from '../src/adapters/system/system-clock.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { SimulatedGateway, type SimEvent } from '../src/simulator/simulated-gateway.js';
import { startTestApp } from './support/test-app.js';

let app: App | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const json = { 'content-type': 'application/json' };
const URL_CB = '/api/v1/callbacks/secure-pay-v3';

/** A service whose payments wait for the payer (QR): only a callback or a query settles them. */
async function start(clockOffsetMs = 0): Promise<{ a: App; bank: SimulatedGateway }> {
  const bank = new SimulatedGateway({ payerActionMethods: ['alipay_qr'] });
  const clock = { now: () => Date.now() + clockOffsetMs, schedule: systemClock.schedule };
  const started = await startTestApp(
    {
      orders: { payment_method: 'alipay_qr' },
      worker: { poll_interval_ms: 20, retry_base_ms: 5_000, retry_max_ms: 10_000 },
      server: { port: 0, wait_for_completion_ms: 300 },
    },
    { gateway: bank, clock },
  );
  app = started.app;
  await app.http.ready();
  app.start();
  return { a: app, bank };
}

async function pendingOrder(a: App): Promise<{ id: string; outTradeNo: string }> {
  const res = await a.http.inject({
    method: 'POST',
    url: '/api/v1/order',
    headers: json,
    payload: { drink: 'latte', size: 'medium' },
  });
  expect(res.statusCode).toBe(202);
  const o = res.json<{ order: { id: string; status: string; payment: { out_trade_no: string } } }>().order;
  expect(o.status).toBe('PAYMENT_PROCESSING');
  return { id: o.id, outTradeNo: o.payment.out_trade_no };
}

function deliver(a: App, n: { headers: Record<string, string>; body: string }) {
  return a.http.inject({ method: 'POST', url: URL_CB, headers: n.headers, payload: n.body });
}

async function statusOf(a: App, id: string): Promise<{ status: string; payment: { status: string } }> {
  const r = await a.http.inject({ method: 'GET', url: `/api/v1/orders/${id}` });
  return r.json<{ order: { status: string; payment: { status: string } } }>().order;
}

async function waitStatus(a: App, id: string, status: string): Promise<string> {
  let last = '';
  for (let i = 0; i < 150; i++) {
    last = (await statusOf(a, id)).status;
    if (last === status) return last;
    await new Promise((r) => setTimeout(r, 20));
  }
  return last;
}

const nowSec = (): number => Math.floor(Date.now() / 1000);

function paymentEvent(bank: SimulatedGateway, outTradeNo: string): SimEvent {
  const trade = bank.trade(outTradeNo);
  if (trade === undefined) throw new Error(`no trade ${outTradeNo}`);
  return { kind: 'payment', trade };
}

describe('gateway callbacks: POST /api/v1/callbacks/:gateway', () => {
  it('news of a wallet top-up is taken (not 404): its pay job queries the gateway at once and credits it', async () => {
    const { a, bank } = await start();
    const res = await a.http.inject({
      method: 'POST',
      url: '/api/v1/wallet/top-ups',
      headers: json,
      payload: { amount: 5000 },
    });
    expect(res.statusCode, res.body).toBe(202);
    const topUp = res.json<{ top_up: { id: string; status: string; out_trade_no: string } }>().top_up;
    expect(topUp.status).toBe('PENDING');
    expect(bank.payPending(topUp.out_trade_no)).toBe(true);
    const n = bank.notificationFor(paymentEvent(bank, topUp.out_trade_no), nowSec());
    const taken = await deliver(a, n);
    expect(taken.statusCode, taken.body).toBe(200);
    expect(taken.headers['x-callback-effect']).toBe('queried');
    // The job's next query was 5 s away (retry_base_ms): the news brought it forward.
    let status = '';
    for (let i = 0; i < 100 && status !== 'SUCCEEDED'; i++) {
      const got = await a.http.inject({ method: 'GET', url: `/api/v1/wallet/top-ups/${topUp.id}` });
      status = got.json<{ top_up: { status: string } }>().top_up.status;
      if (status !== 'SUCCEEDED') await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe('SUCCEEDED');
    const again = await deliver(a, n);
    expect([again.statusCode, again.headers['x-callback-effect']]).toEqual([200, 'duplicate']);
    expect(bank.groundTruth.filter((e) => e.type === 'capture')).toHaveLength(1);
  });

  it('a genuine success callback pays the order, which then completes; a duplicate is a 200 no-op', async () => {
    const { a, bank } = await start();
    const o = await pendingOrder(a);
    expect(bank.payPending(o.outTradeNo)).toBe(true);
    const n = bank.notificationFor(paymentEvent(bank, o.outTradeNo), nowSec());
    const res = await deliver(a, n);
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-callback-effect']).toBe('applied');
    expect(await waitStatus(a, o.id, 'COMPLETED')).toBe('COMPLETED');

    const dup = await deliver(a, n);
    expect(dup.statusCode).toBe(200);
    expect(dup.headers['x-callback-effect']).toBe('duplicate');
    // A re-sent notification (same event, new envelope) changes nothing either.
    const resent = await deliver(a, bank.notificationFor(paymentEvent(bank, o.outTradeNo), nowSec()));
    expect(resent.statusCode).toBe(200);
    expect(resent.headers['x-callback-effect']).toBe('duplicate');
    // Gateways re-send with the first send's time: an applied event is acknowledged at any age.
    const late = await deliver(a, bank.notificationFor(paymentEvent(bank, o.outTradeNo), nowSec() - 3600));
    expect(late.statusCode).toBe(200);
    expect(late.headers['x-callback-effect']).toBe('duplicate');
    expect(bank.groundTruth.filter((e) => e.type === 'capture')).toHaveLength(1);
    const ledger = await a.http.inject({ method: 'GET', url: '/api/v1/ledger/balances' });
    expect(ledger.json<{ balanced: boolean; data: Array<{ account: string; balance: number }> }>()).toMatchObject({
      balanced: true,
    });
    expect(ledger.json<{ data: Array<{ account: string; balance: number }> }>().data).toContainEqual({
      account: 'gateway:secure-pay-v3',
      currency: 'CNY',
      balance: 3200,
    });
  });

  it(
    'refuses a forged signature, a stale or future timestamp, and a replayed nonce — ' + 'and changes nothing',
    async () => {
      const { a, bank } = await start();
      const o = await pendingOrder(a);
      bank.payPending(o.outTradeNo);
      const genuine = bank.notificationFor(paymentEvent(bank, o.outTradeNo), nowSec(), 'nonce-1');

      const forged = await deliver(a, {
        headers: { ...genuine.headers, 'x-sim-signature': Buffer.alloc(32, 7).toString('base64') },
        body: genuine.body,
      });
      expect(forged.statusCode).toBe(401);
      expect(forged.headers['x-error-code']).toBe('CALLBACK_SIGNATURE_INVALID');
      const tampered = await deliver(a, {
        headers: genuine.headers,
        body: genuine.body.replace('"amount":3200', '"amount":1'),
      });
      expect(tampered.headers['x-error-code']).toBe('CALLBACK_SIGNATURE_INVALID');

      const stale = await deliver(a, bank.notificationFor(paymentEvent(bank, o.outTradeNo), nowSec() - 301));
      expect(stale.statusCode).toBe(401);
      expect(stale.headers['x-error-code']).toBe('CALLBACK_STALE');
      const future = await deliver(a, bank.notificationFor(paymentEvent(bank, o.outTradeNo), nowSec() + 301));
      expect(future.headers['x-error-code']).toBe('CALLBACK_STALE');
      const garbage = await deliver(a, { headers: { 'content-type': 'text/plain' }, body: 'hello' });
      expect(garbage.statusCode).toBe(400);
      expect(garbage.headers['x-error-code']).toBe('CALLBACK_MALFORMED');
      expect((await statusOf(a, o.id)).status).toBe('PAYMENT_PROCESSING');

      // Skew inside the window is tolerated.
      const skewed = await deliver(
        a,
        bank.notificationFor(paymentEvent(bank, o.outTradeNo), nowSec() - 200, 'nonce-2'),
      );
      expect(skewed.statusCode).toBe(200);

      // The same nonce again, on another (validly signed) event: a replay.
      const other = await pendingOrder(a);
      bank.payPending(other.outTradeNo);
      const replay = await deliver(a, bank.notificationFor(paymentEvent(bank, other.outTradeNo), nowSec(), 'nonce-2'));
      expect(replay.statusCode).toBe(409);
      expect(replay.headers['x-error-code']).toBe('CALLBACK_REPLAYED');
      expect((await statusOf(a, other.id)).status).toBe('PAYMENT_PROCESSING');
    },
  );

  it('refuses an amount that differs from the order, flags it, and leaves the order alone', async () => {
    const { a, bank } = await start();
    const o = await pendingOrder(a);
    bank.payPending(o.outTradeNo);
    const trade = bank.trade(o.outTradeNo);
    if (trade === undefined) throw new Error('no trade');
    const wrong = bank.notificationFor(
      { kind: 'payment', trade: { ...trade, amount: { amount: 1, currency: 'CNY' } } },
      nowSec(),
    );
    const res = await deliver(a, wrong);
    expect(res.statusCode).toBe(422);
    expect(res.headers['x-error-code']).toBe('CALLBACK_AMOUNT_MISMATCH');
    expect((await statusOf(a, o.id)).status).toBe('PAYMENT_PROCESSING');
    const flags = await a.http.inject({ method: 'GET', url: '/api/v1/review-flags' });
    expect(flags.json<{ data: Array<{ code: string; resource_type: string }> }>().data).toContainEqual(
      expect.objectContaining({ code: 'CALLBACK_AMOUNT_MISMATCH', resource_type: 'payment' }),
    );
  });

  it('refuses a callback for a payment we never sent, and for a gateway we do not have', async () => {
    const { a, bank } = await start();
    const o = await pendingOrder(a);
    bank.payPending(o.outTradeNo);
    const trade = bank.trade(o.outTradeNo);
    if (trade === undefined) throw new Error('no trade');
    const unknown = await deliver(
      a,
      bank.notificationFor({ kind: 'payment', trade: { ...trade, outTradeNo: 'pay_unknown_1' } }, nowSec()),
    );
    expect(unknown.statusCode).toBe(404);
    expect(unknown.headers['x-error-code']).toBe('CALLBACK_UNKNOWN_PAYMENT');
    const nogw = await a.http.inject({ method: 'POST', url: '/api/v1/callbacks/nope', headers: json, payload: '{}' });
    expect(nogw.statusCode).toBe(404);
    expect(nogw.json<{ code: string }>().code).toBe('GATEWAY_NOT_CONFIGURED');
  });

  it('out of order: a failure arriving after the success changes nothing; REFUNDED never returns to PAID', async () => {
    const { a, bank } = await start();
    const o = await pendingOrder(a);
    bank.payPending(o.outTradeNo);
    const trade = bank.trade(o.outTradeNo);
    if (trade === undefined) throw new Error('no trade');
    const success = bank.notificationFor({ kind: 'payment', trade }, nowSec());
    const staleFailure = bank.notificationFor(
      { kind: 'payment', trade: { ...trade, status: 'failed', failureCode: 'OLD_NEWS' } },
      nowSec(),
    );
    expect((await deliver(a, success)).statusCode).toBe(200);
    expect(await waitStatus(a, o.id, 'COMPLETED')).toBe('COMPLETED');
    const late = await deliver(a, staleFailure);
    expect(late.statusCode).toBe(200);
    expect(late.headers['x-callback-effect']).toBe('no_change');
    expect(await statusOf(a, o.id)).toMatchObject({ status: 'COMPLETED', payment: { status: 'PAID' } });

    const refund = await a.http.inject({
      method: 'POST',
      url: `/api/v1/orders/${o.id}/refund`,
      headers: json,
      payload: {},
    });
    expect(refund.statusCode).toBe(201);
    // The original success, re-sent with a fresh envelope and id, after the refund.
    const replayedSuccess = bank.notificationFor(
      { kind: 'payment', trade: { ...trade, tradeNo: `${trade.tradeNo}x` } },
      nowSec(),
    );
    const after = await deliver(a, replayedSuccess);
    expect(after.statusCode).toBe(200);
    expect(after.headers['x-callback-effect']).toBe('no_change');
    expect(await statusOf(a, o.id)).toMatchObject({ status: 'REFUNDED', payment: { status: 'REFUNDED' } });
  });

  it('PAID after FAILED: flagged, confirmed by query, and the money given back through suspense', async () => {
    const { a, bank } = await start();
    const o = await pendingOrder(a);
    const trade = bank.trade(o.outTradeNo);
    if (trade === undefined) throw new Error('no trade');
    // We hear a failure first (the payer's first attempt failed)…
    const failed = await deliver(
      a,
      bank.notificationFor(
        { kind: 'payment', trade: { ...trade, status: 'failed', failureCode: 'PAYER_ABANDONED' } },
        nowSec(),
      ),
    );
    expect(failed.headers['x-callback-effect']).toBe('applied');
    expect(await statusOf(a, o.id)).toMatchObject({ status: 'FAILED', payment: { status: 'FAILED' } });
    // …then the gateway really takes the money and says so.
    bank.payPending(o.outTradeNo);
    const late = await deliver(a, bank.notificationFor(paymentEvent(bank, o.outTradeNo), nowSec()));
    expect(late.statusCode).toBe(200);
    expect(late.headers['x-callback-effect']).toBe('flagged');
    expect((await statusOf(a, o.id)).status).toBe('FAILED');

    let refunded = 0;
    for (let i = 0; i < 150 && refunded === 0; i++) {
      refunded = bank.groundTruth.filter((e) => e.type === 'refund' && e.outTradeNo === o.outTradeNo).length;
      if (refunded === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(refunded).toBe(1);
    let codes: string[] = [];
    for (let i = 0; i < 50 && !codes.includes('LATE_CAPTURE_REFUNDED'); i++) {
      const flags = await a.http.inject({ method: 'GET', url: '/api/v1/review-flags' });
      codes = flags.json<{ data: Array<{ code: string }> }>().data.map((f) => f.code);
      if (!codes.includes('LATE_CAPTURE_REFUNDED')) await new Promise((r) => setTimeout(r, 20));
    }
    expect(codes).toEqual(expect.arrayContaining(['LATE_CAPTURE', 'LATE_CAPTURE_REFUNDED']));
    const ledger = await a.http.inject({ method: 'GET', url: '/api/v1/ledger/balances' });
    const b = ledger.json<{ balanced: boolean; data: Array<{ account: string; balance: number }> }>();
    expect(b.balanced).toBe(true);
    expect(b.data.find((x) => x.account === 'suspense:default')?.balance).toBe(0);
    expect(b.data.find((x) => x.account === 'gateway:secure-pay-v3')?.balance).toBe(0);
    expect((await statusOf(a, o.id)).status).toBe('FAILED');
  });

  it('refund callbacks settle a pending refund once', async () => {
    const { a, bank } = await start();
    const o = await pendingOrder(a);
    bank.payPending(o.outTradeNo);
    await deliver(a, bank.notificationFor(paymentEvent(bank, o.outTradeNo), nowSec()));
    expect(await waitStatus(a, o.id, 'COMPLETED')).toBe('COMPLETED');
    // The gateway accepts the refund but its answer is lost: only the callback (or a query) can tell.
    const realRefund = bank.refund.bind(bank);
    let event: SimEvent | undefined;
    const off = bank.onEvent((e) => {
      if (e.kind === 'refund') event = e;
    });
    bank.refund = async (req) => {
      await realRefund(req);
      throw new (await import('../src/ports/payment-gateway.js')).GatewayUnknownOutcomeError('answer lost');
    };
    const res = await a.http.inject({
      method: 'POST',
      url: `/api/v1/orders/${o.id}/refund`,
      headers: json,
      payload: { amount: 1200 },
    });
    expect(res.statusCode).toBe(202);
    off();
    if (event === undefined) throw new Error('no refund event');
    const n = bank.notificationFor(event, nowSec());
    const cb = await deliver(a, n);
    expect(cb.headers['x-callback-effect']).toBe('applied');
    const refundId = res.json<{ refund: { id: string } }>().refund.id;
    const got = await a.http.inject({ method: 'GET', url: `/api/v1/refunds/${refundId}` });
    expect(got.json<{ refund: { status: string } }>().refund.status).toBe('SUCCEEDED');
    expect((await deliver(a, n)).headers['x-callback-effect']).toBe('duplicate');
    expect((await statusOf(a, o.id)).payment.status).toBe('PARTIALLY_REFUNDED');
  });
});
