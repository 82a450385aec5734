import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/system/system-clock.js';
import type { App } from '../src/composition/create-app.js';
import { writeAlipayBill } from '../src/simulator/statements/alipay-bill-writer.js';
import { type Cluster, ENGINES, startCluster } from './support/cluster.js';
import { advanceBy, eventually } from './support/eventually.js';
import { adminKeyOf, simulatorOf } from './support/test-app.js';

/**
 * Bug B1 of docs/guide/simulation.md: an item is dated by when its money moved, and the ±1-day
 * cut-off window (日切) matches an item on the neighbouring day's statement. A capture made at the
 * gateway at 23:59:58 (Asia/Shanghai) whose notification reaches us at 00:00:03 the next day is on
 * the first day's statement: both days reconcile clean — and a payment a statement really lacks
 * is still reported missing at the channel.
 */
const GATEWAY = 'secure-pay-v3';
const D = '2026-11-20';
const NEXT = '2026-11-21';
/** Shanghai wall-clock time of day D (UTC+8, no daylight saving). */
const at = (date: string, hms: string): number => Date.parse(`${date}T${hms}+08:00`);

interface Item {
  key: string;
  statement_date: string | null;
}
interface Report {
  clean: boolean;
  matched: Item[];
  missing_at_channel: Item[];
  missing_locally: Item[];
  status_mismatch: Item[];
  repairs: Array<{ item_key: string; action: string; status: string }>;
}

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const admin = (a: App) => ({ authorization: `Bearer ${adminKeyOf(a)}`, 'content-type': 'application/json' });
async function reconcileOver(a: App, payload: Record<string, unknown>): Promise<Report> {
  const r = await a.http.inject({ method: 'POST', url: '/api/v1/reconciliations', headers: admin(a), payload });
  expect(r.statusCode, r.body).toBe(201);
  return r.json<{ reconciliation: Report }>().reconciliation;
}

describe.each(ENGINES)('the cut-off window: money moved before midnight, recorded after, on %s', (engine) => {
  it('captured 23:59:58, recorded 00:00:03: both days clean; a payment a statement lacks is missing', async () => {
    const clock = new ManualClock(at(D, '23:59:40'));
    cluster = await startCluster(
      engine,
      {
        log: { level: 'silent' },
        orders: { payment_method: 'sim_qr' },
        // The payer (or its notification) settles a waiting payment: the pay job asks again only late.
        worker: { retry_base_ms: 3_600_000, retry_max_ms: 3_600_000 },
        server: { wait_for_completion_ms: 0 },
        reconciliation: { schedule: { enabled: false } },
      },
      () => ({ clock }),
      1,
    );
    const a = cluster.apps[0]!;
    a.start();
    const bank = simulatorOf(a);

    const place = async (key: string): Promise<{ id: string; outTradeNo: string }> => {
      const r = await a.http.inject({
        method: 'POST',
        url: '/api/v1/order',
        headers: { 'content-type': 'application/json', 'x-user-id': 'alice', 'idempotency-key': key },
        payload: { drink: 'latte', size: 'medium' },
      });
      expect(r.statusCode, r.body).toBe(202);
      const id = r.json<{ order: { id: string } }>().order.id;
      // The pay job opens the trade at the gateway (a QR waiting for the payer).
      const outTradeNo = await eventually(
        clock,
        async () => {
          const o = await a.http.inject({
            method: 'GET',
            url: `/api/v1/orders/${id}`,
            headers: { 'x-user-id': 'alice' },
          });
          return o.json<{ order: { payment: { out_trade_no: string | null; pay_url?: string | null } } }>().order
            .payment;
        },
        (p) => p.out_trade_no !== null && typeof p.pay_url === 'string',
        { stepMs: 100, maxMs: 5_000 },
      ).then((p) => p.out_trade_no!);
      return { id, outTradeNo };
    };
    const notify = async (outTradeNo: string): Promise<void> => {
      const n = bank.notificationFor(
        { kind: 'payment', trade: bank.trade(outTradeNo)! },
        Math.floor(clock.now() / 1000),
      );
      const r = await a.http.inject({
        method: 'POST',
        url: `/api/v1/callbacks/${GATEWAY}`,
        headers: n.headers,
        payload: n.body,
      });
      expect(r.statusCode, r.body).toBe(200);
    };
    const paymentStatus = async (id: string): Promise<string> => {
      const o = await a.http.inject({ method: 'GET', url: `/api/v1/orders/${id}`, headers: { 'x-user-id': 'alice' } });
      return o.json<{ order: { payment: { status: string } } }>().order.payment.status;
    };

    const onTime = await place('cutoff-on-time');
    const late = await place('cutoff-late');
    // Paid and heard of on day D.
    clock.set(at(D, '23:59:50'));
    expect(bank.payPending(onTime.outTradeNo)).toBe(true);
    await notify(onTime.outTradeNo);
    // Captured at the gateway at 23:59:58; its notification lost until after midnight.
    clock.set(at(D, '23:59:58'));
    expect(bank.payPending(late.outTradeNo)).toBe(true);
    clock.set(at(NEXT, '00:00:03'));
    await notify(late.outTradeNo);
    expect(await paymentStatus(late.id)).toBe('PAID');
    expect(await paymentStatus(onTime.id)).toBe('PAID');

    // Both days over (the next day's statement is out): reconcile each.
    await advanceBy(clock, 26 * 3_600_000, 3_600_000);
    const day = await reconcileOver(a, { source: GATEWAY, date: D });
    expect(day.clean).toBe(true);
    expect(day.matched.map((i) => i.key).sort()).toEqual(
      [`payment:${late.outTradeNo}`, `payment:${onTime.outTradeNo}`].sort(),
    );
    expect(day.matched.every((i) => i.statement_date === null)).toBe(true);

    const next = await reconcileOver(a, { source: GATEWAY, date: NEXT });
    // The late capture, dated by us on the next day, is on day D's statement: matched there.
    expect(next.missing_at_channel).toEqual([]);
    expect(next.clean).toBe(true);
    expect(next.matched).toEqual([expect.objectContaining({ key: `payment:${late.outTradeNo}`, statement_date: D })]);
    expect(next.repairs).toEqual([]);

    // A statement that really lacks a payment (a bill downloaded by hand, missing the one paid on time).
    const bill = writeAlipayBill(
      bank.statementEntries(D).filter((e) => e.outTradeNo !== onTime.outTradeNo),
      { account: '2088000000000000', date: D, exportedAt: clock.now() },
    );
    const lacking = await reconcileOver(a, {
      source: GATEWAY,
      date: D,
      statement: { content_base64: Buffer.from(bill).toString('base64'), name: `${D}.zip`, format: 'alipay' },
    });
    expect(lacking.clean).toBe(false);
    expect(lacking.missing_at_channel.map((i) => i.key)).toEqual([`payment:${onTime.outTradeNo}`]);
    expect(lacking.matched.map((i) => i.key)).toEqual([`payment:${late.outTradeNo}`]);
    expect(lacking.repairs).toEqual([
      expect.objectContaining({ item_key: `payment:${onTime.outTradeNo}`, action: 'recheck', status: 'proposed' }),
    ]);
  }, 120_000);
});
