import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { SimulatedMerchant } from '../src/simulator/simulated-merchant.js';
import { ADMIN, startTestApp } from './support/test-app.js';

let app: App | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const json = { 'content-type': 'application/json' };

async function start(
  overrides: Record<string, unknown> = {},
  options: Parameters<typeof startTestApp>[1] = {},
): Promise<App> {
  const started = await startTestApp(overrides, options);
  app = started.app;
  await app.http.ready();
  app.start();
  return app;
}

async function paidOrder(a: App, size = 'large'): Promise<{ id: string; amount: number }> {
  const res = await a.http.inject({
    method: 'POST',
    url: '/api/v1/order',
    headers: json,
    payload: { drink: 'latte', size },
  });
  expect(res.statusCode).toBe(201);
  const order = res.json<{ order: { id: string; amount: number } }>().order;
  return { id: order.id, amount: order.amount };
}

interface Balances {
  data: Array<{ account: string; currency: string; balance: number }>;
  balanced: boolean;
}

async function balances(a: App): Promise<Map<string, number>> {
  const res = await a.http.inject({ method: 'GET', url: '/api/v1/ledger/balances' });
  const b = res.json<Balances>();
  expect(b.balanced).toBe(true);
  return new Map(b.data.map((x) => [x.account, x.balance]));
}

describe('refunds: POST /api/v1/orders/:id/refund', () => {
  it('refunds in parts, never more than was paid, and the ledger follows every movement', async () => {
    const gateway = new SimulatedGateway();
    const a = await start({}, { gateway });
    const order = await paidOrder(a);
    expect(await balances(a)).toEqual(
      new Map([
        ['gateway:secure-pay-v3', order.amount],
        ['sales:default', -order.amount],
      ]),
    );

    const r1 = await a.http.inject({
      method: 'POST',
      url: `/api/v1/orders/${order.id}/refund`,
      headers: json,
      payload: { amount: 1000, reason: 'too sweet' },
    });
    expect(r1.statusCode).toBe(201);
    expect(r1.json<{ refund: Record<string, unknown> }>().refund).toMatchObject({
      status: 'SUCCEEDED',
      amount: 1000,
      currency: 'CNY',
      reason: 'too sweet',
    });
    const afterPart = await a.http.inject({ method: 'GET', url: `/api/v1/orders/${order.id}` });
    expect(afterPart.json<{ order: { status: string; payment: { status: string } } }>().order).toMatchObject({
      status: 'COMPLETED',
      payment: { status: 'PARTIALLY_REFUNDED' },
    });

    const over = await a.http.inject({
      method: 'POST',
      url: `/api/v1/orders/${order.id}/refund`,
      headers: json,
      payload: { amount: order.amount },
    });
    expect(over.statusCode).toBe(422);
    expect(over.json<{ code: string; details: { refundable: number } }>()).toMatchObject({
      code: 'REFUND_EXCEEDS_PAYMENT',
      details: { refundable: order.amount - 1000 },
    });

    // No amount: everything that is left.
    const rest = await a.http.inject({
      method: 'POST',
      url: `/api/v1/orders/${order.id}/refund`,
      headers: json,
      payload: {},
    });
    expect(rest.statusCode).toBe(201);
    expect(rest.json<{ refund: { amount: number } }>().refund.amount).toBe(order.amount - 1000);
    const done = await a.http.inject({ method: 'GET', url: `/api/v1/orders/${order.id}` });
    expect(done.json<{ order: { status: string; payment: { status: string } } }>().order).toMatchObject({
      status: 'REFUNDED',
      payment: { status: 'REFUNDED' },
    });

    const truth = gateway.groundTruth.filter((e) => e.type === 'refund');
    expect(truth.map((e) => e.amount.amount)).toEqual([1000, order.amount - 1000]);
    const b = await balances(a);
    expect(b.get('gateway:secure-pay-v3')).toBe(0);
    expect(b.get('sales:default')).toBe(0);

    const again = await a.http.inject({
      method: 'POST',
      url: `/api/v1/orders/${order.id}/refund`,
      headers: json,
      payload: {},
    });
    expect(again.statusCode).toBe(409);
    expect(again.json<{ code: string }>().code).toBe('REFUND_NOT_ALLOWED');

    const list = await a.http.inject({ method: 'GET', url: `/api/v1/orders/${order.id}/refunds` });
    expect(list.json<{ data: unknown[] }>().data).toHaveLength(2);
  });

  it('with an Idempotency-Key, a retried refund is answered again and never sent twice', async () => {
    const gateway = new SimulatedGateway();
    const a = await start({}, { gateway });
    const order = await paidOrder(a);
    const send = () =>
      a.http.inject({
        method: 'POST',
        url: `/api/v1/orders/${order.id}/refund`,
        headers: { ...json, 'idempotency-key': 'refund-1' },
        payload: { amount: 500 },
      });
    const [x, y] = await Promise.all([send(), send()]);
    const z = await send();
    const statuses = [x.statusCode, y.statusCode, z.statusCode];
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(2);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect(z.headers['idempotent-replayed']).toBe('true');
    expect(gateway.groundTruth.filter((e) => e.type === 'refund')).toHaveLength(1);
  });

  it('concurrent requests for the whole amount give it back once', async () => {
    const gateway = new SimulatedGateway();
    const a = await start({}, { gateway });
    const order = await paidOrder(a);
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        a.http.inject({ method: 'POST', url: `/api/v1/orders/${order.id}/refund`, headers: json, payload: {} }),
      ),
    );
    const ok = results.filter((r) => r.statusCode === 201);
    expect(ok).toHaveLength(1);
    for (const r of results)
      if (r.statusCode !== 201)
        expect(['REFUND_NOT_ALLOWED', 'REFUND_EXCEEDS_PAYMENT', 'CONCURRENT_MODIFICATION']).toContain(
          r.json<{ code: string }>().code,
        );
    const refunded = gateway.groundTruth.filter((e) => e.type === 'refund').reduce((s, e) => s + e.amount.amount, 0);
    expect(refunded).toBe(order.amount);
  });

  it.each([
    [{ amount: -5 }, 'INVALID_AMOUNT'],
    [{ amount: 0 }, 'INVALID_AMOUNT'],
    [{ amount: 12.5 }, 'INVALID_AMOUNT'],
    [{ amount: '100' }, 'VALIDATION_FAILED'],
    [{ amount: 100, extra: true }, 'VALIDATION_FAILED'],
  ])('refuses a bad body %j with %s and refunds nothing', async (payload, code) => {
    const gateway = new SimulatedGateway();
    const a = await start({}, { gateway });
    const order = await paidOrder(a);
    const res = await a.http.inject({
      method: 'POST',
      url: `/api/v1/orders/${order.id}/refund`,
      headers: json,
      payload,
    });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expect(res.json<{ code: string }>().code).toBe(code);
    expect(gateway.groundTruth.filter((e) => e.type === 'refund')).toHaveLength(0);
  });

  it('refuses to refund an order that was never paid, or does not exist', async () => {
    const a = await start({ auto_confirm_order: false, trusted_actions: [] });
    const placed = await a.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: json,
      payload: { drink: 'latte', size: 'medium' },
    });
    expect(placed.statusCode).toBe(202);
    const id = placed.json<{ order: { id: string } }>().order.id;
    const res = await a.http.inject({ method: 'POST', url: `/api/v1/orders/${id}/refund`, headers: json, payload: {} });
    expect(res.statusCode).toBe(409);
    expect(res.json<{ code: string }>().code).toBe('REFUND_NOT_ALLOWED');
    const missing = await a.http.inject({
      method: 'POST',
      url: '/api/v1/orders/ord_nope/refund',
      headers: json,
      payload: {},
    });
    expect(missing.statusCode).toBe(404);
  });

  it('a merchant that cannot make the drink triggers a full refund through a refund record', async () => {
    const merchant = new SimulatedMerchant({ chaos: { failureRate: 1 } });
    const a = await start({}, { merchant });
    const res = await a.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: json,
      payload: { drink: 'latte', size: 'medium' },
    });
    const id = res.json<{ order: { id: string } }>().order.id;
    let status = '';
    for (let i = 0; i < 100 && status !== 'REFUNDED'; i++) {
      const got = await a.services.orders.get(ADMIN, id);
      status = got.ok ? got.value.status : '';
      if (status !== 'REFUNDED') await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe('REFUNDED');
    const refunds = await a.http.inject({ method: 'GET', url: `/api/v1/orders/${id}/refunds` });
    expect(refunds.json<{ data: Array<{ status: string; amount: number }> }>().data).toEqual([
      expect.objectContaining({ status: 'SUCCEEDED', amount: 3200 }),
    ]);
    const b = await balances(a);
    expect(b.get('gateway:secure-pay-v3')).toBe(0);
  });

  it('a gateway that refuses the refund leaves it FAILED, answers 422 and flags it for review', async () => {
    const gateway = new SimulatedGateway();
    const a = await start({}, { gateway });
    const order = await paidOrder(a);
    gateway.refund = () =>
      Promise.resolve({ status: 'failed', outRefundNo: 'x', failureCode: 'MERCHANT_BALANCE_NOT_ENOUGH' });
    const res = await a.http.inject({
      method: 'POST',
      url: `/api/v1/orders/${order.id}/refund`,
      headers: json,
      payload: { amount: 100 },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json<{ code: string; refund: { status: string; failure_code: string } }>()).toMatchObject({
      code: 'REFUND_DECLINED',
      refund: { status: 'FAILED', failure_code: 'MERCHANT_BALANCE_NOT_ENOUGH' },
    });
    const flags = await a.http.inject({ method: 'GET', url: '/api/v1/review-flags' });
    expect(flags.json<{ data: Array<{ code: string }> }>().data.map((f) => f.code)).toContain('REFUND_FAILED');
    // The failed refund holds nothing back: the whole amount can still be refunded.
    gateway.refund = SimulatedGateway.prototype.refund.bind(gateway);
    const retry = await a.http.inject({
      method: 'POST',
      url: `/api/v1/orders/${order.id}/refund`,
      headers: json,
      payload: {},
    });
    expect(retry.statusCode).toBe(201);
    expect(retry.json<{ refund: { amount: number } }>().refund.amount).toBe(order.amount);
  });

  it('GET /api/v1/gateways shows each configured gateway, its methods and its breaker', async () => {
    const a = await start();
    await paidOrder(a);
    const res = await a.http.inject({ method: 'GET', url: '/api/v1/gateways' });
    const data = res.json<{
      data: Array<{ name: string; methods: string[]; breaker: string; available: boolean; calls: number }>;
    }>().data;
    const main = data.find((g) => g.name === 'secure-pay-v3');
    expect(main).toMatchObject({
      breaker: 'closed',
      available: true,
      methods: ['wallet', 'alipay_qr', 'wechat_native', 'sim_qr'],
    });
    expect(main?.calls).toBeGreaterThanOrEqual(1);
    expect(data.map((g) => g.name)).toContain('simulator');
  });
});
