import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransactionFaults } from '../src/adapters/storage/postgres/database.js';
import type { App } from '../src/composition/create-app.js';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { SimulatedMerchant } from '../src/simulator/simulated-merchant.js';
import { createTestDatabase, postgresWanted, type TestDatabase } from './support/pg-db.js';
import { quick, simulatedChannels } from './support/recharge-harness.js';
import { keyOf, startTestApp } from './support/test-app.js';

/**
 * PostgreSQL runs a transaction again after a serialization failure (40001) or a deadlock
 * (40P01). Whatever statement the server aborts, the retry must commit the transaction's WHOLE
 * effect — the state change, its journal, its audit rows — never half of it. This injects the
 * failure, for real on the server, at every statement of every transaction of the main money
 * flows (an auto-paid order, a refund, a wallet top-up, a recharge from the wallet), one at a
 * time, and checks the books and the audit trail against a run without faults.
 */
const wanted = await postgresWanted();

/** Counts units of work as they start and fails one chosen statement of one chosen unit's first attempt. */
class OneFault implements TransactionFaults {
  private units = 0;
  target: { unit: number; index: number; code: '40001' | '40P01' } | undefined;
  /** Statements each unit of work ran on its first attempt (recorded while no fault is planned). */
  readonly shape: number[] = [];
  injected = 0;

  reset(target?: { unit: number; index: number; code: '40001' | '40P01' }): void {
    this.units = 0;
    this.target = target;
    this.shape.length = 0;
    this.injected = 0;
  }

  beforeStatement(info: {
    readonly attempt: number;
    readonly index: number;
    readonly sql: string;
  }): '40001' | '40P01' | undefined {
    if (info.attempt === 1 && info.index === 0) this.units += 1;
    if (info.attempt === 1) this.shape[this.units - 1] = info.index + 1;
    const t = this.target;
    if (t !== undefined && info.attempt === 1 && this.units - 1 === t.unit && info.index === t.index) {
      this.injected += 1;
      return t.code;
    }
    return undefined;
  }
}

const post = (a: App, url: string, payload: Record<string, unknown>): Promise<LightMyRequestResponse> =>
  a.http.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', 'x-user-id': 'pat' }, payload });

/** One pass of the money flows; what it left, as a fingerprint to compare across runs. */
async function flows(a: App): Promise<{ orderId: string; paymentId: string; rechargeId: string; topUpId: string }> {
  const placed = await post(a, '/api/v1/order', { drink: 'latte', size: 'medium' });
  expect(placed.statusCode, placed.body).toBe(201);
  const o = placed.json<{ order: { id: string; payment: { id: string } } }>().order;
  const refund = await post(a, `/api/v1/orders/${o.id}/refund`, { amount: 700 });
  expect(refund.statusCode, refund.body).toBe(201);
  const top = await post(a, '/api/v1/wallet/top-ups', { amount: 10_000 });
  expect(top.statusCode, top.body).toBe(201);
  const rech = await post(a, '/api/v1/recharges', { phone: '13800138000', amount: 5000 });
  expect(rech.statusCode, rech.body).toBe(201);
  return {
    orderId: o.id,
    paymentId: o.payment.id,
    topUpId: top.json<{ top_up: { id: string } }>().top_up.id,
    rechargeId: rech.json<{ recharge: { id: string } }>().recharge.id,
  };
}

/** The audit actions and journal kinds the flows left on each of their resources. */
async function trail(a: App, ids: Awaited<ReturnType<typeof flows>>): Promise<Record<string, string[]>> {
  const read = a.deps.uow.read;
  const actions = async (type: string, id: string): Promise<string[]> =>
    (await read.audit.list('default', type, id)).map((e) => e.action);
  const kinds = async (id: string): Promise<string[]> =>
    (await read.ledger.journalsFor('default', id)).map((j) => j.kind).sort();
  const refunds = await read.refunds.listByPayment('default', ids.paymentId);
  return {
    order: await actions('order', ids.orderId),
    payment: await actions('payment', ids.paymentId),
    refund: (await Promise.all(refunds.map((r) => actions('refund', r.id)))).flat(),
    top_up: await actions('top_up', ids.topUpId),
    recharge: await actions('recharge', ids.rechargeId),
    payment_journals: await kinds(ids.paymentId),
    refund_journals: (await Promise.all(refunds.map((r) => kinds(r.id)))).flat(),
    top_up_journals: await kinds(ids.topUpId),
    recharge_journals: await kinds(ids.rechargeId),
    refund_count: [String(refunds.length)],
  };
}

describe.runIf(wanted)('PostgreSQL transactions re-run after 40001 / 40P01 commit their whole effect', () => {
  let db: TestDatabase;
  let app: App;
  const faults = new OneFault();
  beforeAll(async () => {
    db = await createTestDatabase('faults');
    const carriers = new SimulatedCarriers();
    app = (
      await startTestApp(
        {
          database: { url: db.url, pool_size: 4 },
          log: { level: 'silent' },
          recharge: { channels: { 'sim-a': { type: 'simulator', operators: ['CHINA_MOBILE'] } } },
          // Nothing runs in the background: every unit of work is the flows' own, in the same order each run.
          rules: { enabled: false },
          maintenance: { enabled: false },
        },
        {
          gateway: new SimulatedGateway(),
          merchant: new SimulatedMerchant(),
          carriers,
          rechargeChannels: simulatedChannels(carriers, { 'sim-a': quick }),
          transactionFaults: faults,
        },
      )
    ).app;
    await app.http.ready();
    // The person's key exists before the shape is recorded: making it is not one of the flows.
    await keyOf(app, 'pat');
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  it('at every statement of every unit of work of an order, a refund, a top-up and a recharge', async () => {
    faults.reset();
    const baseline = await trail(app, await flows(app));
    const shape = [...faults.shape];
    expect(shape.length).toBeGreaterThan(8);
    let runs = 0;
    for (const [unit, statements] of shape.entries()) {
      for (let index = 0; index < statements; index++) {
        const code = (unit + index) % 2 === 0 ? '40001' : '40P01';
        faults.reset({ unit, index, code });
        const ids = await flows(app);
        expect(faults.injected, `unit ${unit} statement ${index}`).toBe(1);
        expect(await trail(app, ids), `after ${code} at unit ${unit} statement ${index}`).toEqual(baseline);
        runs += 1;
      }
    }
    faults.reset();
    // Every PAID payment has exactly one capture journal, every journal balances, every resource
    // has exactly the journals its state requires — over everything all the runs wrote.
    const check = await app.services.ledger.check('default');
    expect(check).toMatchObject({ balanced: true, complete: true, incomplete: [] });
    expect(check.checked).toBeGreaterThanOrEqual(runs * 4);
    // One run of the flows per statement: the audit chain's statements (head upsert, rows, head
    // hash) at the end of every unit of work are faulted too, so this takes well past the default.
  }, 180_000);
});
