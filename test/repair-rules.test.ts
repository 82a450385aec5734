import { systemClock } from '../src/adapters/system/system-clock.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { settleOrderNow } from '../src/application/rules/order-rules.js';
import { MerchantUnknownOutcomeError } from '../src/ports/merchant.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { SimulatedMerchant } from '../src/simulator/simulated-merchant.js';
import { ADMIN, auditOf, startTestApp } from './support/test-app.js';

let app: App | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const json = { 'content-type': 'application/json' };
const MIN = 60_000;

/** Time is injected: tests move it forward instead of waiting. */
class TestClock {
  offset = 0;
  now = (): number => Date.now() + this.offset;
  schedule = systemClock.schedule;
}

async function start(
  overrides: Record<string, unknown>,
  options: { gateway?: SimulatedGateway; merchant?: SimulatedMerchant } = {},
): Promise<{ a: App; clock: TestClock }> {
  const clock = new TestClock();
  const started = await startTestApp(
    // One attempt per job: whatever the job could not finish stays stuck, for the rules to repair.
    {
      worker: { poll_interval_ms: 10, max_attempts: 1, retry_base_ms: 5, retry_max_ms: 10 },
      rules: { sweep_interval_ms: 3_600_000 },
      server: { port: 0, wait_for_completion_ms: 300 },
      ...overrides,
    },
    { clock, ...options },
  );
  app = started.app;
  await app.http.ready();
  app.start();
  return { a: app, clock };
}

async function order(a: App): Promise<{ id: string; outTradeNo: string | null; status: string }> {
  const res = await a.http.inject({
    method: 'POST',
    url: '/api/v1/order',
    headers: json,
    payload: { drink: 'latte', size: 'medium' },
  });
  const o = res.json<{ order: { id: string; status: string; payment: { out_trade_no: string | null } } }>().order;
  return { id: o.id, status: o.status, outTradeNo: o.payment.out_trade_no };
}

async function settle(a: App, id: string, until: (s: string) => boolean): Promise<string> {
  let s = '';
  for (let i = 0; i < 150; i++) {
    const r = await a.services.orders.get(ADMIN, id);
    s = r.ok ? r.value.status : '';
    if (until(s)) return s;
    await new Promise((res) => setTimeout(res, 20));
  }
  return s;
}

async function auditActions(a: App, id: string): Promise<string[]> {
  return (await auditOf(a, 'order', id)).map((e) => e.action);
}

async function flags(a: App): Promise<string[]> {
  return (await a.services.ledger.reviewFlags('default', true, 50)).map((f) => f.code);
}

describe('repair rules on stuck orders (time injected)', () => {
  it('unpaid after 30 minutes → cancelled, audited as the rule', async () => {
    // The order's own expiry job is set later here, so that the rule is what acts.
    const { a, clock } = await start({
      auto_confirm_order: false,
      trusted_actions: [],
      orders: { unpaid_timeout_seconds: 7200 },
    });
    const o = await order(a);
    expect(o.status).toBe('AWAITING_CONFIRMATION');
    clock.offset = 29 * MIN;
    expect(await a.services.rules.sweep()).toBe(0);
    clock.offset = 31 * MIN;
    expect(await a.services.rules.sweep()).toBe(1);
    expect(await settle(a, o.id, (s) => s === 'CANCELLED')).toBe('CANCELLED');
    expect(await auditActions(a, o.id)).toContain('rule.cancel-unpaid');
    // A second sweep over the same state queues nothing more.
    expect(await a.services.rules.sweep()).toBe(0);
  });

  it('a payment still pending past its deadline → the gateway is asked: paid ones are completed', async () => {
    const gateway = new SimulatedGateway({ payerActionMethods: ['alipay_qr'] });
    const { a, clock } = await start({ orders: { payment_method: 'alipay_qr' } }, { gateway });
    const o = await order(a);
    expect(o.status).toBe('PAYMENT_PROCESSING');
    if (o.outTradeNo === null) throw new Error('no out_trade_no');
    gateway.payPending(o.outTradeNo); // paid, but the callback never came and the pay job gave up
    clock.offset = 11 * MIN;
    expect(await a.services.rules.sweep()).toBe(1);
    expect(await settle(a, o.id, (s) => s === 'COMPLETED')).toBe('COMPLETED');
    expect(gateway.groundTruth.filter((e) => e.type === 'capture')).toHaveLength(1);
    expect(await auditActions(a, o.id)).toContain('rule.settle-pending-payment');
  });

  it('…and unpaid ones are closed at the gateway first, then failed, so they can never be paid later', async () => {
    const gateway = new SimulatedGateway({ payerActionMethods: ['alipay_qr'] });
    const { a, clock } = await start({ orders: { payment_method: 'alipay_qr' } }, { gateway });
    const o = await order(a);
    if (o.outTradeNo === null) throw new Error('no out_trade_no');
    clock.offset = 11 * MIN;
    await a.services.rules.sweep();
    expect(await settle(a, o.id, (s) => s === 'FAILED')).toBe('FAILED');
    expect(gateway.payPending(o.outTradeNo)).toBe(false);
    expect(gateway.groundTruth.filter((e) => e.type === 'capture')).toHaveLength(0);
  });

  it('…but a trade the gateway keeps open after its close is left as it is, flagged once, never failed', async () => {
    const gateway = new SimulatedGateway({ payerActionMethods: ['alipay_qr'] });
    const { a, clock } = await start({ orders: { payment_method: 'alipay_qr' } }, { gateway });
    // The close does not take: the gateway answers with the trade still waiting for its payer.
    gateway.close = (outTradeNo) => Promise.resolve({ status: 'pending', outTradeNo });
    const o = await order(a);
    if (o.outTradeNo === null) throw new Error('no out_trade_no');
    clock.offset = 11 * MIN;
    expect(await a.services.rules.sweep()).toBe(1);
    await expect.poll(() => auditActions(a, o.id)).toContain('rule.settle-pending-payment');
    const now = await a.services.orders.get(ADMIN, o.id);
    expect(now.ok && now.value.status).toBe('PAYMENT_PROCESSING');
    expect(await flags(a)).toEqual(['TRADE_NOT_CLOSED']);
    // Reconciliation asks again while it is still open: still one flag, still not failed.
    expect(await settleOrderNow(a.deps, 'default', o.id, 'test')).toMatch(/still has the trade open/);
    expect(await flags(a)).toEqual(['TRADE_NOT_CLOSED']);
    // The payer pays after all: the next look finds it paid, and the order goes on to its drink.
    expect(gateway.payPending(o.outTradeNo)).toBe(true);
    expect(await settleOrderNow(a.deps, 'default', o.id, 'test')).toBe('gateway says paid');
    expect(await settle(a, o.id, (s) => s === 'COMPLETED')).toBe('COMPLETED');
    expect(gateway.groundTruth.filter((e) => e.type === 'capture')).toHaveLength(1);
  });

  it('paid but not fulfilled → fulfilment retried (the merchant is asked first, so one drink)', async () => {
    const merchant = new SimulatedMerchant();
    merchant.chaos.freeze(1); // the merchant takes the order and the answer is lost
    const { a, clock } = await start({ resilience: { timeout_ms: 200 } }, { merchant });
    const o = await order(a);
    expect(await settle(a, o.id, (s) => s === 'FULFILLING')).toBe('FULFILLING');
    merchant.chaos.thaw();
    await new Promise((r) => setTimeout(r, 100));
    clock.offset = 11 * MIN;
    expect(await a.services.rules.sweep()).toBe(1);
    expect(await settle(a, o.id, (s) => s === 'COMPLETED')).toBe('COMPLETED');
    expect(merchant.groundTruth).toHaveLength(1);
    expect(await auditActions(a, o.id)).toContain('rule.retry-fulfilment');
  });

  it('still not fulfilled after an hour and the merchant never took it → refunded in full and flagged', async () => {
    const merchant = new SimulatedMerchant();
    const gateway = new SimulatedGateway();
    merchant.submit = () => Promise.reject(new MerchantUnknownOutcomeError('no answer'));
    const { a, clock } = await start({}, { merchant, gateway });
    const o = await order(a);
    expect(await settle(a, o.id, (s) => s === 'FULFILLING')).toBe('FULFILLING');
    clock.offset = 61 * MIN;
    await a.services.rules.sweep();
    expect(await settle(a, o.id, (s) => s === 'REFUNDED')).toBe('REFUNDED');
    expect(gateway.groundTruth.filter((e) => e.type === 'refund').map((e) => e.amount.amount)).toEqual([3200]);
    expect(await flags(a)).toContain('FULFILMENT_ABANDONED');
    const ledger = await a.services.ledger.balances('default');
    expect(ledger.find((b) => b.account === 'gateway:secure-pay-v3')?.balance).toBe(0);
  });

  it('the gateway says paid but we recorded a failure → corrected by giving the money back, and flagged', async () => {
    const gateway = new SimulatedGateway({ payerActionMethods: ['alipay_qr'] });
    const { a, clock } = await start({ orders: { payment_method: 'alipay_qr' } }, { gateway });
    const o = await order(a);
    if (o.outTradeNo === null) throw new Error('no out_trade_no');
    const trade = gateway.trade(o.outTradeNo);
    if (trade === undefined) throw new Error('no trade');
    // We heard "failed"; later the payer really paid, and no one told us.
    const failed = gateway.notificationFor(
      { kind: 'payment', trade: { ...trade, status: 'failed', failureCode: 'X' } },
      Math.floor(clock.now() / 1000),
    );
    await a.http.inject({
      method: 'POST',
      url: '/api/v1/callbacks/secure-pay-v3',
      headers: failed.headers,
      payload: failed.body,
    });
    expect(await settle(a, o.id, (s) => s === 'FAILED')).toBe('FAILED');
    gateway.payPending(o.outTradeNo);
    clock.offset = 11 * MIN;
    expect(await a.services.rules.sweep()).toBe(1);
    let refunds = 0;
    for (let i = 0; i < 100 && refunds === 0; i++) {
      refunds = gateway.groundTruth.filter((e) => e.type === 'refund').length;
      if (refunds === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(refunds).toBe(1);
    expect(await settle(a, o.id, () => true)).toBe('FAILED');
    for (let i = 0; i < 50 && !(await flags(a)).includes('LATE_CAPTURE_REFUNDED'); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(await flags(a)).toEqual(expect.arrayContaining(['LATE_CAPTURE', 'LATE_CAPTURE_REFUNDED']));
    expect(await auditActions(a, o.id)).toContain('rule.recheck-failed-payment');
  });

  it('custom rules from the configuration are validated and applied', async () => {
    const { a, clock } = await start({
      auto_confirm_order: false,
      trusted_actions: [],
      rules: {
        built_in: false,
        sweep_interval_ms: 3_600_000,
        custom: [
          { name: 'quick-cancel', statuses: ['AWAITING_CONFIRMATION'], older_than_seconds: 60, action: 'cancel' },
        ],
      },
    });
    const o = await order(a);
    clock.offset = 2 * MIN;
    expect(await a.services.rules.sweep()).toBe(1);
    expect(await settle(a, o.id, (s) => s === 'CANCELLED')).toBe('CANCELLED');
    expect(await auditActions(a, o.id)).toContain('rule.quick-cancel');
  });
});
