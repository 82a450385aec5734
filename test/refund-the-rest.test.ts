import { ADMIN } from './support/test-app.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import type { MerchantOrderRequest, MerchantOrderResult } from '../src/ports/merchant.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { SimulatedMerchant } from '../src/simulator/simulated-merchant.js';
import { type Cluster, ENGINES, startCluster } from './support/cluster.js';

/** A shop that takes its time and then says no (out of stock), after the person asked for part of the money back. */
class SlowRefusingShop extends SimulatedMerchant {
  private open: () => void = () => undefined;
  private readonly gate = new Promise<void>((r) => (this.open = r));
  submitted = 0;
  release(): void {
    this.open();
  }
  override async submit(req: MerchantOrderRequest): Promise<MerchantOrderResult> {
    this.submitted += 1;
    await this.gate;
    void req;
    return { status: 'rejected', reason: 'OUT_OF_STOCK' };
  }
  override query(): Promise<MerchantOrderResult> {
    return Promise.resolve({ status: 'not_found' });
  }
}

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function waitFor(a: App, id: string, status: string): Promise<string> {
  let last = '';
  for (let i = 0; i < 200 && last !== status; i++) {
    const r = await a.services.orders.get(ADMIN, id);
    last = r.ok ? r.value.status : '';
    if (last !== status) await new Promise((res) => setTimeout(res, 20));
  }
  return last;
}

describe.each(ENGINES)('refund the rest on %s', (engine) => {
  it(
    'a partial refund while the order is being made, then the shop refuses: ' +
      'the rest goes back by the fulfilment job itself, under the next refund number',
    async () => {
      const bank = new SimulatedGateway();
      const shop = new SlowRefusingShop();
      // No repair rules: only the job itself may give the money back.
      cluster = await startCluster(
        engine,
        { log: { level: 'silent' }, rules: { enabled: false }, server: { wait_for_completion_ms: 200 } },
        () => ({ gateway: bank, merchant: shop }),
        1,
      );
      const a = cluster.apps[0]!;
      a.start();
      const placed = await a.http.inject({
        method: 'POST',
        url: '/api/v1/order',
        headers: { 'content-type': 'application/json' },
        payload: { drink: 'latte', size: 'medium' },
      });
      const o = placed.json<{ order: { id: string; amount: number } }>().order;
      expect(await waitFor(a, o.id, 'FULFILLING')).toBe('FULFILLING');
      const partial = await a.http.inject({
        method: 'POST',
        url: `/api/v1/orders/${o.id}/refund`,
        headers: { 'content-type': 'application/json' },
        payload: { amount: 1000, reason: 'no sugar after all' },
      });
      expect(partial.statusCode).toBe(201);

      shop.release();
      expect(await waitFor(a, o.id, 'REFUNDED')).toBe('REFUNDED');
      const refunds = await a.services.refunds.listForOrder(ADMIN, o.id);
      const list = refunds.ok ? refunds.value : [];
      expect(list.map((r) => [r.amount, r.status, r.out_refund_no.replace(/^.*_(r\d+)$/, '$1')])).toEqual([
        [1000, 'SUCCEEDED', 'r1'],
        [o.amount - 1000, 'SUCCEEDED', 'r2'],
      ]);
      const givenBack = bank.groundTruth.reduce((s, e) => s + (e.type === 'refund' ? e.amount.amount : 0), 0);
      expect(givenBack).toBe(o.amount);
      expect(shop.submitted).toBe(1);
      expect(await a.services.ledger.check('default')).toMatchObject({ balanced: true, complete: true });
    },
  );
});
