import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpMerchant } from '../src/adapters/merchants/http-merchant.js';
import { loadConfig } from '../src/config/load-config.js';
import { MerchantUnknownOutcomeError } from '../src/ports/merchant.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { startTestApp } from './support/test-app.js';
import { type RunningSimulator, startTestSimulator, TEST_SECRET } from './support/simulator-server.js';

let sim: RunningSimulator;
beforeAll(async () => {
  sim = await startTestSimulator();
});
afterAll(async () => {
  await sim.close();
});

const order = (key: string) => ({
  idempotencyKey: key,
  orderId: `o-${key}`,
  drink: 'latte',
  size: 'medium',
  quantity: 1,
  options: { temperature: 'iced' },
});

describe('HttpMerchant over the native protocol', () => {
  it('submits idempotently on the key and queries by it', async () => {
    const m = new HttpMerchant({ baseUrl: sim.url, secret: TEST_SECRET, timeoutMs: 2000 });
    try {
      const first = await m.submit(order('k1'));
      expect(first).toMatchObject({ status: 'accepted' });
      expect(await m.submit(order('k1'))).toEqual(first);
      expect(sim.merchant.groundTruth.filter((f) => f.idempotencyKey === 'k1')).toHaveLength(1);
      expect(await m.query('k1')).toEqual(first);
      expect(await m.query('never')).toEqual({ status: 'not_found' });
      await sim.chaos({ merchant_reject_rate: 1 });
      expect(await m.submit(order('k2'))).toEqual({ status: 'rejected', reason: 'OUT_OF_STOCK' });
    } finally {
      await sim.chaos({});
      await m.shutdown();
    }
  });

  it('a lost answer is an unknown outcome; the drink was made and a query finds it', async () => {
    const m = new HttpMerchant({ baseUrl: sim.url, secret: TEST_SECRET, timeoutMs: 200 });
    try {
      await sim.chaos({ hang_rate: 1, hang_ms: 3000 });
      await expect(m.submit(order('k3'))).rejects.toBeInstanceOf(MerchantUnknownOutcomeError);
      await sim.chaos({});
      expect((await m.query('k3')).status).toBe('accepted');
      await sim.chaos({ rate_limit_rate: 1 });
      await expect(m.submit(order('k4'))).rejects.toBeInstanceOf(MerchantUnknownOutcomeError);
    } finally {
      await sim.chaos({});
      await m.shutdown();
    }
  });
});

describe('the service pointed at the standalone simulator', () => {
  it('pays through simulator-http and fulfils through the HTTP merchant: one capture, one drink', async () => {
    const gateway = new SimulatedGateway();
    const { app } = await startTestApp(
      {
        gateways: { 'sim-http': { type: 'simulator-http', base_url: sim.url, secret: TEST_SECRET, timeout_ms: 2000 } },
        payment_gateway: 'sim-http',
        merchant: { type: 'http', base_url: sim.url, secret: TEST_SECRET },
      },
      { gateway },
    );
    try {
      const res = await app.http.inject({
        method: 'POST',
        url: '/api/v1/order',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'svc-1' },
        payload: { drink: 'latte', size: 'medium' },
      });
      expect(res.statusCode).toBe(201);
      const body = res.json<{ order: { id: string; status: string; payment: { out_trade_no: string } } }>();
      expect(body.order.status).toBe('COMPLETED');
      const otn = body.order.payment.out_trade_no;
      expect(sim.bank.groundTruth.filter((e) => e.type === 'capture' && e.outTradeNo === otn)).toHaveLength(1);
      expect(sim.merchant.groundTruth.filter((f) => f.orderId === body.order.id)).toHaveLength(1);
      expect(gateway.groundTruth).toHaveLength(0); // the embedded simulator was not used
    } finally {
      await app.close();
    }
  });

  it('config: strict entries with clear errors, secrets never shown', () => {
    const bad = loadConfig({
      env: {},
      overrides: { gateways: { s: { type: 'simulator-http', base_url: 'ftp://x', secret: 'short', extra: 1 } } },
    });
    expect(bad.ok).toBe(false);
    const text = bad.ok ? '' : bad.error.issues.join('\n');
    expect(text).toMatch(/gateways\.s\.base_url/);
    expect(text).toMatch(/gateways\.s\.secret/);
    expect(text).toMatch(/extra/);
    const good = loadConfig({
      env: {},
      overrides: {
        // The user's gateways replace the defaults: payments go through one of them.
        payment_gateway: 's',
        gateways: { s: { type: 'simulator-http', base_url: 'http://127.0.0.1:9100', secret: TEST_SECRET } },
      },
    });
    expect(good.ok && good.value.gateways.s).toEqual({
      type: 'simulator-http',
      base_url: 'http://127.0.0.1:9100',
      secret: TEST_SECRET,
      timeout_ms: 5000,
      connections: 16,
    });
  });
});
