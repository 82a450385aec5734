import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { type AlipayRig, alipayRig, APP_ID } from './support/alipay-fixture.js';
import { startTestApp } from './support/test-app.js';

/**
 * The service configured with an `alipay` gateway (keys from a file and as PEM text), pointed at
 * the simulator's Alipay face: a QR order waits for the payer, and once the simulated payer has
 * paid, the worker's query finds it paid and the order completes with exactly one capture.
 */
describe('an order paid through the Alipay connector, end to end', () => {
  let rig: AlipayRig;
  let app: App;
  beforeAll(async () => {
    rig = await alipayRig();
    const dir = mkdtempSync(join(tmpdir(), 'alipay-e2e-'));
    const keyFile = join(dir, 'app-private.pem');
    writeFileSync(keyFile, rig.appKeys.privatePem);
    ({ app } = await startTestApp({
      payment_gateway: 'alipay',
      gateways: {
        alipay: {
          type: 'alipay',
          app_id: APP_ID,
          private_key: keyFile,
          alipay_public_key: rig.alipayKeys.publicPem,
          gateway_url: rig.url,
          timeout_ms: 3000,
        },
      },
      orders: { payment_method: 'alipay_qr' },
      server: { port: 0, wait_for_completion_ms: 300 },
    }));
    await app.http.ready();
    app.start();
  });
  afterAll(async () => {
    await app.close();
    await rig.close();
  });

  it('waits for the payer, then completes once the payer has paid', async () => {
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: { 'content-type': 'application/json' },
      payload: { drink: 'latte', size: 'medium' },
    });
    expect(res.statusCode).toBe(202);
    const id = res.json<{ order: { id: string } }>().order.id;
    const view = async (): Promise<{ status: string; payment: { out_trade_no: string | null } }> =>
      (await app.http.inject({ method: 'GET', url: `/api/v1/orders/${id}` })).json<{
        order: { status: string; payment: { out_trade_no: string | null } };
      }>().order;
    const outTradeNo = await until(async () => (await view()).payment.out_trade_no ?? undefined);
    await until(() => rig.bank.trade(outTradeNo));
    expect(rig.bank.trade(outTradeNo)).toMatchObject({ status: 'pending', amount: { amount: 3200, currency: 'CNY' } });
    expect(rig.bank.payPending(outTradeNo)).toBe(true);
    expect(await until(async () => ((await view()).status === 'COMPLETED' ? 'COMPLETED' : undefined), 15_000)).toBe(
      'COMPLETED',
    );
    expect(rig.bank.groundTruth.filter((e) => e.type === 'capture' && e.outTradeNo === outTradeNo)).toHaveLength(1);
  });
});

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
