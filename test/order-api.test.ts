import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { SimulatedMerchant } from '../src/simulator/simulated-merchant.js';
import { fetchFor, type LogSink, startTestApp } from './support/test-app.js';

let app: App | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function start(overrides: Record<string, unknown> = {}): Promise<{
  app: App;
  logs: LogSink;
  gateway: SimulatedGateway;
  merchant: SimulatedMerchant;
}> {
  const gateway = new SimulatedGateway();
  const merchant = new SimulatedMerchant();
  const started = await startTestApp(overrides, { gateway, merchant });
  app = started.app;
  await app.http.ready();
  app.start();
  return { ...started, gateway, merchant };
}

const json = { 'content-type': 'application/json' };

describe('POST /api/v1/order under the seed policy (auto-pay)', () => {
  it('places, pays and fulfils a latte: 201 with the completed order, one charge, one drink', async () => {
    const { app, logs, gateway, merchant } = await start();
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: json,
      payload: { drink: 'latte', size: 'medium' },
    });
    expect(res.statusCode).toBe(201);
    const { order } = res.json<{ order: Record<string, unknown> }>();
    expect(order).toMatchObject({
      status: 'COMPLETED',
      drink: 'latte',
      size: 'medium',
      quantity: 1,
      amount: 3200,
      currency: 'CNY',
    });
    expect(res.headers.location).toBe(`/api/v1/orders/${String(order.id)}`);
    expect(res.headers['x-request-id']).toMatch(/^req_/);
    expect(gateway.groundTruth.filter((e) => e.type === 'capture')).toHaveLength(1);
    expect(merchant.groundTruth).toHaveLength(1);
    expect(logs.text).toContain('Payment submitted successfully');

    const got = await app.http.inject({ method: 'GET', url: `/api/v1/orders/${String(order.id)}` });
    expect(got.statusCode).toBe(200);
    expect(got.json<{ order: { status: string; payment: { status: string } } }>().order).toMatchObject({
      status: 'COMPLETED',
      payment: { status: 'PAID' },
    });
  });

  it('answers 204 with no body when the client prefers a minimal return', async () => {
    const { app, gateway } = await start();
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: { ...json, prefer: 'return=minimal' },
      payload: { drink: 'americano', size: 'large', quantity: 2 },
    });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(res.headers.location).toMatch(/^\/api\/v1\/orders\/ord_/);
    expect(gateway.groundTruth[0]).toMatchObject({ type: 'capture', amount: { amount: 6000, currency: 'CNY' } });
  });

  it('records every state change in the audit trail with actor and before/after', async () => {
    const { app } = await start();
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: { ...json, 'x-user-id': 'alice' },
      payload: { drink: 'mocha', size: 'small' },
    });
    const id = res.json<{ order: { id: string } }>().order.id;
    const audit = await app.http.inject({ method: 'GET', url: `/api/v1/orders/${id}/audit` });
    const actions = audit.json<{
      data: Array<{ action: string; actor: string; before: unknown; after: { status: string } }>;
    }>().data;
    expect(actions.map((a) => a.action)).toEqual([
      'order.created',
      'order.submit_payment',
      'order.payment_succeeded',
      'order.start_fulfilment',
      'order.fulfilled',
    ]);
    expect(actions[0]?.actor).toBe('user:alice');
    expect(actions[2]?.actor).toBe('system:worker');
    expect(actions[4]).toMatchObject({ before: { status: 'FULFILLING' }, after: { status: 'COMPLETED' } });
  });

  it('a declined payment answers 402 PAYMENT_DECLINED and the order is FAILED, with nothing made', async () => {
    const { app, gateway, merchant } = await start();
    gateway.chaos.set({ failureRate: 1 });
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: json,
      payload: { drink: 'latte', size: 'small' },
    });
    expect(res.statusCode).toBe(402);
    expect(res.headers['content-type']).toContain('application/problem+json');
    const body = res.json<{ code: string; order: { status: string } }>();
    expect(body.code).toBe('PAYMENT_DECLINED');
    expect(body.order.status).toBe('FAILED');
    expect(merchant.groundTruth).toHaveLength(0);
  });

  it('a merchant refusal refunds the payment in full', async () => {
    const { app, gateway, merchant } = await start();
    merchant.chaos.set({ failureRate: 1 });
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: json,
      payload: { drink: 'latte', size: 'small' },
    });
    expect(res.statusCode).toBe(202);
    const id = res.json<{ order: { id: string } }>().order.id;
    const got = await app.http.inject({ method: 'GET', url: `/api/v1/orders/${id}` });
    expect(got.json<{ order: { status: string; payment: { status: string } } }>().order).toMatchObject({
      status: 'REFUNDED',
      payment: { status: 'REFUNDED' },
    });
    const truth = gateway.groundTruth;
    expect(truth.map((e) => e.type)).toEqual(['capture', 'refund']);
    expect(gateway.balanceOf('anonymous')).toBe(100_000_000);
  });
});

describe('policy: untrusted payment waits for the person', () => {
  const untrusted = { trusted_actions: ['order_coffee'] };

  it('stops in AWAITING_PAYMENT with 202 and charges nothing until confirmed', async () => {
    const { app, gateway } = await start(untrusted);
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: json,
      payload: { drink: 'latte', size: 'medium' },
    });
    expect(res.statusCode).toBe(202);
    const body = res.json<{ order: { id: string; status: string; status_text: string }; next: string }>();
    expect(body.order.status).toBe('AWAITING_PAYMENT');
    expect(body.order.status_text).toContain('已下单，待付款');
    expect(gateway.groundTruth).toHaveLength(0);

    const confirmed = await app.http.inject({
      method: 'POST',
      url: `/api/v1/orders/${body.order.id}/confirm`,
      headers: json,
      payload: {},
    });
    expect(confirmed.statusCode).toBe(201);
    expect(confirmed.json<{ order: { status: string } }>().order.status).toBe('COMPLETED');
    expect(gateway.groundTruth).toHaveLength(1);
  });

  it('a model or client cannot pay an untrusted order through POST /payments: it stays waiting', async () => {
    const { app, gateway } = await start(untrusted);
    const placed = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: json,
      payload: { drink: 'latte', size: 'medium' },
    });
    const id = placed.json<{ order: { id: string } }>().order.id;
    const pay = await app.http.inject({
      method: 'POST',
      url: '/api/v1/payments',
      headers: json,
      payload: { order_id: id, amount: 3200, currency: 'CNY', payment_method: 'wallet' },
    });
    expect(pay.statusCode).toBe(202);
    expect(pay.json<{ order: { status: string } }>().order.status).toBe('AWAITING_PAYMENT');
    expect(gateway.groundTruth).toHaveLength(0);
    // Once the person has confirmed, the same request reports the paid order and charges nothing more.
    await app.http.inject({ method: 'POST', url: `/api/v1/orders/${id}/confirm`, headers: json, payload: {} });
    const again = await app.http.inject({
      method: 'POST',
      url: '/api/v1/payments',
      headers: json,
      payload: { order_id: id, amount: 3200, currency: 'CNY', payment_method: 'wallet' },
    });
    expect(again.statusCode).toBe(201);
    expect(again.json<{ order: { status: string } }>().order.status).toBe('COMPLETED');
    expect(gateway.groundTruth).toHaveLength(1);
  });

  it('POST /payments cannot pay past a confirmation threshold or an order that needs confirming', async () => {
    const { app, gateway } = await start({ require_confirmation_above: 3000 });
    const placed = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: json,
      payload: { drink: 'latte', size: 'medium' },
    });
    const id = placed.json<{ order: { id: string; status: string } }>().order.id;
    expect(placed.json<{ order: { status: string } }>().order.status).toBe('AWAITING_PAYMENT');
    const pay = await app.http.inject({
      method: 'POST',
      url: '/api/v1/payments',
      headers: json,
      payload: { order_id: id, amount: 3200, currency: 'CNY', payment_method: 'alipay_qr' },
    });
    expect(pay.statusCode).toBe(202);
    expect(pay.json<{ next: string }>().next).toContain('confirm');
    expect(gateway.groundTruth).toHaveLength(0);
  });

  it('with auto_confirm_order off and nothing trusted the order awaits confirmation; cancel ends it', async () => {
    const { app, gateway } = await start({ auto_confirm_order: false, trusted_actions: [] });
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: json,
      payload: { drink: 'latte', size: 'medium' },
    });
    expect(res.statusCode).toBe(202);
    const id = res.json<{ order: { id: string; status: string } }>().order.id;
    expect(res.json<{ order: { status: string } }>().order.status).toBe('AWAITING_CONFIRMATION');
    const cancelled = await app.http.inject({
      method: 'POST',
      url: `/api/v1/orders/${id}/cancel`,
      headers: json,
      payload: { reason: 'changed my mind' },
    });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json<{ order: { status: string; payment: { status: string } } }>().order).toMatchObject({
      status: 'CANCELLED',
      payment: { status: 'CANCELLED' },
    });
    const again = await app.http.inject({
      method: 'POST',
      url: `/api/v1/orders/${id}/confirm`,
      headers: json,
      payload: {},
    });
    expect(again.statusCode).toBe(409);
    expect(again.json<{ code: string }>().code).toBe('ILLEGAL_TRANSITION');
    expect(gateway.groundTruth).toHaveLength(0);
  });

  it('refuses an order above the per-order cap with 403 POLICY_AMOUNT_CAP_EXCEEDED', async () => {
    const { app, gateway } = await start({ max_order_amount: 5000 });
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: json,
      payload: { drink: 'latte', size: 'large', quantity: 2 },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json<{ code: string }>().code).toBe('POLICY_AMOUNT_CAP_EXCEEDED');
    expect(gateway.groundTruth).toHaveLength(0);
  });

  it('enforces the daily limit per user, not across users', async () => {
    const { app } = await start({ daily_limit_per_user: 7000 });
    const order = (user: string): Promise<{ statusCode: number; json: <T>() => T }> =>
      app.http.inject({
        method: 'POST',
        url: '/api/v1/order',
        headers: { ...json, 'x-user-id': user },
        payload: { drink: 'latte', size: 'large' },
      });
    expect((await order('bob')).statusCode).toBe(201);
    expect((await order('bob')).statusCode).toBe(201);
    const third = await order('bob');
    expect(third.statusCode).toBe(403);
    expect(third.json<{ code: string }>().code).toBe('DAILY_LIMIT_EXCEEDED');
    expect((await order('carol')).statusCode).toBe(201);
  });
});

describe('listing orders', () => {
  it('filters by status and pages with a cursor, newest first', async () => {
    const { app } = await start({ trusted_actions: ['order_coffee'] });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await app.http.inject({
        method: 'POST',
        url: '/api/v1/order',
        headers: json,
        payload: { drink: 'latte', size: 'small' },
      });
      ids.push(r.json<{ order: { id: string } }>().order.id);
    }
    const first = ids[0] ?? '';
    await app.http.inject({ method: 'POST', url: `/api/v1/orders/${first}/cancel`, headers: json, payload: {} });
    const p1 = await app.http.inject({ method: 'GET', url: '/api/v1/orders?limit=2&status=AWAITING_PAYMENT' });
    const page1 = p1.json<{ data: Array<{ id: string }>; next_cursor: string | null }>();
    expect(page1.data.map((o) => o.id)).toEqual([ids[4], ids[3]]);
    const p2 = await app.http.inject({
      method: 'GET',
      url: `/api/v1/orders?limit=2&status=AWAITING_PAYMENT&cursor=${page1.next_cursor ?? ''}`,
    });
    const page2 = p2.json<{ data: Array<{ id: string }>; next_cursor: string | null }>();
    expect(page2.data.map((o) => o.id)).toEqual([ids[2], ids[1]]);
    // The last page says so; a cursor that is not one this API gave out is refused, not an empty page.
    expect(page2.next_cursor).toBeNull();
    const p3 = await app.http.inject({ method: 'GET', url: '/api/v1/orders?limit=2&cursor=' });
    expect(p3.statusCode).toBe(400);
    expect(p3.json<{ errors: Array<{ field: string }> }>().errors.map((e) => e.field)).toEqual(['cursor']);
    const cancelled = await app.http.inject({ method: 'GET', url: '/api/v1/orders?status=cancelled' });
    expect(cancelled.json<{ data: Array<{ id: string }> }>().data.map((o) => o.id)).toEqual([first]);
    const bad = await app.http.inject({ method: 'GET', url: '/api/v1/orders?status=NOPE' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ code: string }>().code).toBe('VALIDATION_FAILED');
  });
});

describe('over a real listening server', () => {
  it('serves health, readiness and an order over TCP', async () => {
    const started = await startTestApp();
    app = started.app;
    const url = await app.listen();
    const fetch = fetchFor(app);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { database: true, worker: true, accepting: true },
    });
    const res = await fetch(`${url}/api/v1/order`, {
      method: 'POST',
      headers: { ...json, 'x-request-id': 'trace-123' },
      body: JSON.stringify({ drink: 'cappuccino', size: 'medium' }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-request-id')).toBe('trace-123');
    expect(((await res.json()) as { order: { status: string } }).order.status).toBe('COMPLETED');
  });
});
