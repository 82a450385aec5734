import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { type SimulatorServer, startSimulatorServer } from '../src/simulator/server/simulator-server.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { SimulatedMerchant } from '../src/simulator/simulated-merchant.js';
import { standardFaces } from '../src/simulator/standard-faces.js';
import { ADMIN, auditOf, fetchFor, startTestApp } from './support/test-app.js';

/**
 * The whole loop over the real protocols: the service pays through the standalone simulator's
 * Alipay and WeChat Pay faces (RSA2 / WECHATPAY2-SHA256-RSA2048, over HTTP), the simulated payer
 * scans the QR code, and the simulator's notifier delivers the signed (for WeChat: encrypted)
 * callback to POST /api/v1/callbacks/<gateway>, which settles the order — no polling needed.
 * Duplicate deliveries are thrown in; each order is still captured once.
 */
const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

let sim: SimulatorServer;
let bank: SimulatedGateway;
let app: App;
let serviceUrl: string;

beforeAll(async () => {
  const keysDir = mkdtempSync(join(tmpdir(), 'autoglm-sim-keys-'));
  bank = new SimulatedGateway({ payerActionMethods: ['alipay_qr', 'wechat_native'] });
  const standard = standardFaces({ secret: 'a-native-secret-of-some-length', keysDir });
  sim = await startSimulatorServer({
    bank,
    merchant: new SimulatedMerchant(),
    faces: standard.faces,
    notifyRetry: { baseMs: 5, maxMs: 50 },
    chaos: { notify: { duplicate_rate: 0.5 } },
  });
  const port = await freePort();
  serviceUrl = `http://127.0.0.1:${port}`;
  const entries = standard.entries(sim.url, serviceUrl);
  const started = await startTestApp({
    // Every order waits for the person, who confirms it with the method they want.
    auto_confirm_order: false,
    trusted_actions: [],
    gateways: entries,
    payment_gateway: 'sim-alipay',
    payment_routing: [
      { gateway: 'sim-alipay', methods: ['alipay_qr'], priority: 10 },
      { gateway: 'sim-wechatpay', methods: ['wechat_native'], priority: 10 },
    ],
    orders: { payment_method: 'alipay_qr' },
    // The pay job would settle by polling too; make it wait so the callbacks are what settles.
    worker: { poll_interval_ms: 20, retry_base_ms: 60_000, retry_max_ms: 60_000 },
    server: { port, wait_for_completion_ms: 2_000 },
  });
  app = started.app;
  await app.listen();
}, 60_000);

afterAll(async () => {
  await app.close();
  await sim.close();
  bank.closeJournal();
});

async function waitFor(id: string, status: string): Promise<string> {
  let last = '';
  for (let i = 0; i < 200; i++) {
    const r = await app.services.orders.get(ADMIN, id);
    last = r.ok ? r.value.status : '';
    if (last === status) return last;
    await new Promise((res) => setTimeout(res, 25));
  }
  return last;
}

describe('real protocols end to end: the simulator’s Alipay and WeChat Pay faces call back', () => {
  it.each([
    ['sim-alipay', 'alipay_qr'],
    ['sim-wechatpay', 'wechat_native'],
  ])(
    '%s: QR payment, scanned by the payer, settled by its signed callback; captured once',
    async (gatewayName, method) => {
      const fetch = fetchFor(app);
      const placed = await fetch(`${serviceUrl}/api/v1/order`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-user-id': `u-${method}` },
        body: JSON.stringify({ drink: 'latte', size: 'large' }),
      });
      expect(placed.status).toBe(202);
      const { order } = (await placed.json()) as { order: { id: string; payment: { out_trade_no: string } } };
      // The person confirms with the QR method they want (the routing picks the gateway for it).
      const confirmed = await fetch(`${serviceUrl}/api/v1/orders/${order.id}/confirm`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-user-id': `u-${method}` },
        body: JSON.stringify({ payment_method: method }),
      });
      const body = (await confirmed.json()) as {
        order: { status: string; payment: { gateway: string; out_trade_no: string } };
      };
      expect(body.order.payment.gateway).toBe(gatewayName);
      expect(body.order.status).toBe('PAYMENT_PROCESSING');
      const outTradeNo = body.order.payment.out_trade_no;
      expect(bank.payPending(outTradeNo)).toBe(true);
      expect(await waitFor(order.id, 'COMPLETED')).toBe('COMPLETED');
      expect(bank.groundTruth.filter((e) => e.type === 'capture' && e.outTradeNo === outTradeNo)).toHaveLength(1);
      const got = await app.services.orders.get(ADMIN, order.id);
      const audit = await auditOf(app, 'payment', got.ok ? (got.value.payment?.id ?? '') : '');
      expect(audit.some((a) => a.actor === `gateway:${gatewayName}` && a.action === 'payment.succeed')).toBe(true);
    },
  );
});
