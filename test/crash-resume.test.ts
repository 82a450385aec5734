import { describe, expect, it } from 'vitest';
import { placeOrder } from '../src/application/orders/place-order.js';
import type { App } from '../src/composition/create-app.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { SimulatedMerchant } from '../src/simulator/simulated-merchant.js';
import { ADMIN, shortLease, startTestApp, tempDbPath } from './support/test-app.js';

/**
 * A "crash": the process stops mid-flight without any clean-up — the worker's lease stays in
 * the job table, the outside call never returns. The simulators are the outside world, so
 * they survive and keep their ground truth; the new process opens the same database file.
 */
async function crash(app: App): Promise<void> {
  void app.runner.stop(0);
  await app.http.close();
  await app.storage.close();
}

const fast = {
  ...shortLease(300),
  worker: { poll_interval_ms: 20, lease_ms: 300, retry_base_ms: 10, retry_max_ms: 50 },
  server: { port: 0, wait_for_completion_ms: 150 },
};

async function waitFor(app: App, orderId: string, status: string, timeoutMs = 5000): Promise<string> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    const r = await app.services.orders.get(ADMIN, orderId);
    if (r.ok) last = r.value.status;
    if (last === status) return last;
    await new Promise((res) => setTimeout(res, 25));
  }
  return last;
}

describe('crash and resume', () => {
  it(
    'dies after the gateway charged but before it answered: ' + 'the new worker queries and never charges twice',
    async () => {
      const db = tempDbPath();
      const gateway = new SimulatedGateway();
      const merchant = new SimulatedMerchant();
      const { app: first } = await startTestApp(fast, { gateway, merchant, workerId: 'worker-1' }, db);
      first.start();
      gateway.chaos.freeze(1);
      const res = await first.http.inject({
        method: 'POST',
        url: '/api/v1/order',
        headers: { 'content-type': 'application/json' },
        payload: { drink: 'latte', size: 'medium' },
      });
      expect(res.statusCode).toBe(202);
      const id = res.json<{ order: { id: string; status: string } }>().order.id;
      expect(res.json<{ order: { status: string } }>().order.status).toBe('PAYMENT_PROCESSING');
      expect(gateway.groundTruth).toHaveLength(1); // the money moved; we never heard
      await crash(first);

      const { app: second } = await startTestApp(fast, { gateway, merchant, workerId: 'worker-2' }, db);
      second.start();
      expect(await waitFor(second, id, 'COMPLETED')).toBe('COMPLETED');
      expect(gateway.groundTruth.filter((e) => e.type === 'capture')).toHaveLength(1);
      expect(gateway.calls.query).toBeGreaterThanOrEqual(1);
      expect(merchant.groundTruth).toHaveLength(1);
      gateway.chaos.thaw();
      await second.close();
    },
  );

  it(
    'dies after the merchant made the drink but before it answered: ' + 'resumed fulfilment makes nothing twice',
    async () => {
      const db = tempDbPath();
      const gateway = new SimulatedGateway();
      const merchant = new SimulatedMerchant();
      const { app: first } = await startTestApp(fast, { gateway, merchant, workerId: 'worker-1' }, db);
      first.start();
      merchant.chaos.freeze(1);
      const res = await first.http.inject({
        method: 'POST',
        url: '/api/v1/order',
        headers: { 'content-type': 'application/json' },
        payload: { drink: 'mocha', size: 'large' },
      });
      const id = res.json<{ order: { id: string } }>().order.id;
      expect(res.json<{ order: { status: string } }>().order.status).toBe('FULFILLING');
      await crash(first);

      const { app: second } = await startTestApp(fast, { gateway, merchant, workerId: 'worker-2' }, db);
      second.start();
      expect(await waitFor(second, id, 'COMPLETED')).toBe('COMPLETED');
      expect(merchant.groundTruth).toHaveLength(1);
      expect(gateway.groundTruth).toHaveLength(1);
      merchant.chaos.thaw();
      await second.close();
    },
  );

  it('dies right after committing the order, before calling anyone: the resumed job pays exactly once', async () => {
    const db = tempDbPath();
    const gateway = new SimulatedGateway();
    const merchant = new SimulatedMerchant();
    const { app: first } = await startTestApp(fast, { gateway, merchant, workerId: 'worker-1' }, db);
    const caller = { tenantId: 'default', userId: 'dana', actor: 'user:dana', requestId: null, role: 'user' as const };
    const placed = await placeOrder(first.deps, caller, {
      drink: 'latte',
      size: 'small',
      quantity: 3,
      options: {},
    });
    if (!placed.ok) throw new Error(placed.error.message);
    expect(placed.value.payment.status).toBe('PENDING');
    expect(placed.value.payment.outTradeNo).toMatch(/_1$/);
    await crash(first);
    expect(gateway.calls.create).toBe(0);

    const { app: second } = await startTestApp(fast, { gateway, merchant, workerId: 'worker-2' }, db);
    second.start();
    expect(await waitFor(second, placed.value.order.id, 'COMPLETED')).toBe('COMPLETED');
    expect(gateway.groundTruth).toEqual([
      expect.objectContaining({
        type: 'capture',
        outTradeNo: placed.value.payment.outTradeNo,
        amount: { amount: 8400, currency: 'CNY' },
      }),
    ]);
    const jobs = await second.storage.unitOfWork.read.jobs.countByStatus();
    expect(jobs.running ?? 0).toBe(0);
    await second.close();
  });

  it('retries through gateway errors and timeouts without double charging', async () => {
    const gateway = new SimulatedGateway({ seed: 7 });
    // 60 % of calls fail here by design: the breaker would (rightly) stop new orders with 503; this
    // test is about the retries, so it stays closed.
    const { app } = await startTestApp(shortLease(300, { ...fast, resilience: { breaker_threshold: 0.99 } }), {
      gateway,
    });
    app.start();
    gateway.chaos.set({ errorRate: 0.3, timeoutRate: 0.3 });
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await app.http.inject({
        method: 'POST',
        url: '/api/v1/order',
        headers: { 'content-type': 'application/json', 'x-user-id': `u${i}` },
        payload: { drink: 'americano', size: 'small' },
      });
      expect([201, 202]).toContain(res.statusCode);
      ids.push(res.json<{ order: { id: string } }>().order.id);
    }
    gateway.chaos.set({ errorRate: 0, timeoutRate: 0 });
    for (const id of ids) expect(await waitFor(app, id, 'COMPLETED')).toBe('COMPLETED');
    const captures = gateway.groundTruth.filter((e) => e.type === 'capture');
    expect(captures).toHaveLength(30);
    expect(new Set(captures.map((c) => c.outTradeNo)).size).toBe(30);
    await app.close();
  });
});
