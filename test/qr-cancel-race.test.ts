import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../src/adapters/system/system-clock.js';
import type { App } from '../src/composition/create-app.js';
import { settleOrderNow } from '../src/application/rules/order-rules.js';
import type { Repositories, UnitOfWork } from '../src/ports/repositories.js';
import { ClosingGateway } from './support/closing-gateway.js';
import { type Cluster, ENGINES, type EngineName, startCluster } from './support/cluster.js';
import { auditOf } from './support/test-app.js';

/**
 * The QR cancel race: a person cancels an order whose QR trade nobody paid yet (or confirms it
 * again with another method); the trade is closed at the gateway, and the order's own pay job,
 * asking about it at that moment, hears "closed" and commits first. The person's request must
 * still end as asked — CANCELLED, or paid with the new method — not ILLEGAL_TRANSITION with the
 * order FAILED on TRADE_CLOSED. The interleaving is forced: the gateway answers the close only
 * once the pay job has committed. And a close the gateway fails after the decision was recorded
 * leaves nothing stuck: a retry ends it, and so does the pay job, carrying the decision through.
 */
const MIN = 60_000;

/** Time is injected: tests move it forward instead of waiting. */
class TestClock {
  offset = 0;
  now = (): number => Date.now() + this.offset;
  schedule = systemClock.schedule;
}

async function eventually<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  let v = await read();
  for (let i = 0; i < 250 && !done(v); i++) {
    await new Promise((r) => setTimeout(r, 20));
    v = await read();
  }
  return v;
}

interface OrderView {
  id: string;
  status: string;
  payment: { id: string; status: string; method: string; out_trade_no: string | null };
}

const headers = { 'content-type': 'application/json', 'x-user-id': 'alice' };
const orderOf = (r: LightMyRequestResponse): OrderView => r.json<{ order: OrderView }>().order;

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe.each(ENGINES)('the QR cancel race, on %s', (engine: EngineName) => {
  /** `polling`: the pay job asks about the waiting trade every ~0.15 s; otherwise only when the clock is moved. */
  async function start(polling: boolean): Promise<{ app: App; gateway: ClosingGateway; clock: TestClock }> {
    const clock = new TestClock();
    const gateway = new ClosingGateway({ payerActionMethods: ['sim_qr'] });
    cluster = await startCluster(
      engine,
      {
        log: { level: 'silent' },
        orders: { payment_method: 'sim_qr' },
        rules: { sweep_interval_ms: 3_600_000 },
        server: { port: 0, wait_for_completion_ms: 2000 },
        worker: polling
          ? { poll_interval_ms: 20, retry_base_ms: 100, retry_max_ms: 200, max_attempts: 100 }
          : { poll_interval_ms: 20, retry_base_ms: 60_000, retry_max_ms: 60_000, max_attempts: 100 },
        // The held close stays within one call's deadline (a timeout would send it again).
        resilience: { timeout_ms: 20_000, max_attempts: 1 },
      },
      () => ({ clock, gateway }),
      1,
      'qrc',
    );
    const app = cluster.at(0);
    app.start();
    return { app, gateway, clock };
  }

  async function placeQr(app: App, key: string): Promise<OrderView> {
    const placed = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: { ...headers, 'idempotency-key': key },
      payload: { drink: 'latte', size: 'medium' },
    });
    expect(placed.statusCode, placed.body).toBeLessThan(300);
    const o = orderOf(placed);
    expect(o).toMatchObject({ status: 'PAYMENT_PROCESSING', payment: { status: 'PENDING', method: 'sim_qr' } });
    return o;
  }

  const cancel = (app: App, id: string): Promise<LightMyRequestResponse> =>
    app.http.inject({
      method: 'POST',
      url: `/api/v1/orders/${id}/cancel`,
      headers,
      payload: { reason: 'changed my mind' },
    });

  const readOrder = (app: App, id: string) => app.deps.uow.read.orders.getWithPayment('default', id);

  /** The gateway's signed notification that `trade` is closed, delivered as it would post it. */
  async function deliverClosed(app: App, gateway: ClosingGateway, trade: string): Promise<void> {
    const t = gateway.trade(trade);
    if (t === undefined) throw new Error(`no trade ${trade}`);
    const n = gateway.notificationFor({ kind: 'payment', trade: t }, Math.floor(Date.now() / 1000));
    const heard = await app.http.inject({
      method: 'POST',
      url: '/api/v1/callbacks/secure-pay-v3',
      headers: n.headers,
      payload: n.body,
    });
    expect(heard.statusCode, heard.body).toBe(200);
  }

  it('cancel while the pay job commits the closed trade first: CANCELLED, the recorded reason audited', async () => {
    const { app, gateway } = await start(true);
    const o = await placeQr(app, 'race-cancel');
    // The close is answered only once the pay job, polling the trade, has committed what it heard.
    gateway.afterClose = async () => {
      await eventually(
        () => readOrder(app, o.id),
        (x) => x?.order.status !== 'PAYMENT_PROCESSING',
      );
    };
    const cancelled = await cancel(app, o.id);
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(orderOf(cancelled)).toMatchObject({ status: 'CANCELLED', payment: { status: 'CANCELLED' } });
    const after = await readOrder(app, o.id);
    expect(after?.order).toMatchObject({ status: 'CANCELLED', statusReason: 'changed my mind' });
    expect(after?.payment).toMatchObject({
      status: 'CANCELLED',
      failureCode: null,
      closing: { reason: 'ORDER_CANCELLED', note: 'changed my mind' },
    });
    // The pay job committed the cancel (the race happened), the person's reason recorded first.
    const orderAudit = await auditOf(app, 'order', o.id);
    expect(orderAudit.filter((a) => a.action.includes('cancel')).map((a) => a.actor)).toEqual(['system:worker']);
    const closing = (await auditOf(app, 'payment', o.payment.id)).filter((a) => a.action === 'payment.closing');
    expect(closing).toHaveLength(1);
    expect(closing[0]).toMatchObject({
      actor: 'user:alice',
      after: { close_reason: 'ORDER_CANCELLED', out_trade_no: o.payment.out_trade_no },
    });
    expect(gateway.trade(o.payment.out_trade_no ?? '')?.status).toBe('closed');
    expect(gateway.capturesFor(o.payment.id)).toBe(0);
    expect(await app.services.ledger.check('default')).toMatchObject({ balanced: true });
    // Cancelling again is harmless.
    expect((await cancel(app, o.id)).statusCode).toBe(200);
  });

  it('another method while the pay job commits the closed trade first: the order goes on with it', async () => {
    const { app, gateway } = await start(true);
    const o = await placeQr(app, 'race-switch');
    const first = o.payment.out_trade_no ?? '';
    gateway.afterClose = async () => {
      await eventually(
        () => readOrder(app, o.id),
        (x) => x?.order.status !== 'PAYMENT_PROCESSING' || x.payment.outTradeNo !== first,
      );
    };
    const switched = await app.http.inject({
      method: 'POST',
      url: `/api/v1/orders/${o.id}/confirm`,
      headers,
      payload: { payment_method: 'wallet' },
    });
    expect(switched.statusCode, switched.body).toBeLessThan(300);
    const done = await eventually(
      () => readOrder(app, o.id),
      (x) => x?.order.status === 'COMPLETED',
    );
    expect(done?.order.status).toBe('COMPLETED');
    expect(done?.payment).toMatchObject({ status: 'PAID', method: 'wallet', attempt: 2 });
    expect(done?.payment.outTradeNo).not.toBe(first);
    expect(done?.payment.closing).toBeUndefined();
    const paymentAudit = await auditOf(app, 'payment', o.payment.id);
    const closing = paymentAudit.filter((a) => a.action === 'payment.closing');
    expect(closing).toHaveLength(1);
    expect(closing[0]).toMatchObject({
      actor: 'user:alice',
      after: { close_reason: 'METHOD_CHANGED', method: 'wallet', out_trade_no: first },
    });
    // The pay job reopened the payment with the person's new method (the race happened).
    expect(paymentAudit.filter((a) => a.action === 'payment.method_changed').map((a) => a.actor)).toEqual([
      'system:worker',
    ]);
    expect(gateway.trade(first)?.status).toBe('closed');
    expect(gateway.capturesFor(o.payment.id)).toBe(1);
    expect(await app.services.ledger.check('default')).toMatchObject({ balanced: true });
  });

  it('a close the gateway fails after the reason was recorded: TRADE_NOT_CLOSED, and a retry cancels', async () => {
    const { app, gateway } = await start(false);
    const o = await placeQr(app, 'close-fails-cancel');
    gateway.unreachable = 1;
    const refused = await cancel(app, o.id);
    expect(refused.statusCode).toBe(503);
    expect(refused.json<{ code: string }>().code).toBe('TRADE_NOT_CLOSED');
    const between = await readOrder(app, o.id);
    expect(between?.order.status).toBe('PAYMENT_PROCESSING');
    expect(between?.payment).toMatchObject({ status: 'PENDING', closing: { reason: 'ORDER_CANCELLED' } });
    expect(gateway.trade(o.payment.out_trade_no ?? '')?.status).toBe('pending');
    const retried = await cancel(app, o.id);
    expect(retried.statusCode, retried.body).toBe(200);
    expect(orderOf(retried)).toMatchObject({ status: 'CANCELLED', payment: { status: 'CANCELLED' } });
    expect(gateway.trade(o.payment.out_trade_no ?? '')?.status).toBe('closed');
    const audit = (await auditOf(app, 'payment', o.payment.id)).map((a) => a.action);
    expect(audit.filter((a) => a === 'payment.closing')).toHaveLength(1);
    expect(await app.services.ledger.check('default')).toMatchObject({ balanced: true });
  });

  it('a switch whose close failed and was not retried: the pay job carries it through', async () => {
    const { app, gateway, clock } = await start(false);
    const o = await placeQr(app, 'close-fails-switch');
    const first = o.payment.out_trade_no ?? '';
    gateway.unreachable = 1;
    const refused = await app.http.inject({
      method: 'POST',
      url: `/api/v1/orders/${o.id}/confirm`,
      headers,
      payload: { payment_method: 'wallet' },
    });
    expect(refused.statusCode).toBe(503);
    expect(refused.json<{ code: string }>().code).toBe('TRADE_NOT_CLOSED');
    // The request is gone; the pay job's next question is due.
    clock.offset = 2 * MIN;
    const done = await eventually(
      () => readOrder(app, o.id),
      (x) => x?.order.status === 'COMPLETED',
    );
    expect(done?.order.status).toBe('COMPLETED');
    expect(done?.payment).toMatchObject({ status: 'PAID', method: 'wallet' });
    expect(gateway.trade(first)?.status).toBe('closed');
    expect(gateway.capturesFor(o.payment.id)).toBe(1);
    expect(await app.services.ledger.check('default')).toMatchObject({ balanced: true });
  });

  it("the gateway's signed 'closed' callback commits before the cancel: CANCELLED all the same", async () => {
    const { app, gateway } = await start(false);
    const o = await placeQr(app, 'race-callback');
    const trade = o.payment.out_trade_no ?? '';
    gateway.afterClose = () => deliverClosed(app, gateway, trade);
    const cancelled = await cancel(app, o.id);
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(orderOf(cancelled)).toMatchObject({ status: 'CANCELLED', payment: { status: 'CANCELLED' } });
    const orderAudit = await auditOf(app, 'order', o.id);
    expect(orderAudit.filter((a) => a.action.includes('cancel')).map((a) => a.actor)).toEqual([
      'gateway:secure-pay-v3',
    ]);
    expect(await app.services.ledger.check('default')).toMatchObject({ balanced: true });
  });

  it('reconciliation settles the order of a cancel whose close failed: CANCELLED, not TRADE_CLOSED', async () => {
    const { app, gateway } = await start(false);
    const o = await placeQr(app, 'settle-after-failed-close');
    gateway.unreachable = 1;
    expect((await cancel(app, o.id)).statusCode).toBe(503);
    const result = await settleOrderNow(app.deps, 'default', o.id, 'user:operator');
    expect(result).toMatch(/closed as the person asked \(ORDER_CANCELLED\)/);
    const after = await readOrder(app, o.id);
    expect(after?.order).toMatchObject({ status: 'CANCELLED', statusReason: 'changed my mind' });
    expect(after?.payment).toMatchObject({ status: 'CANCELLED', failureCode: null });
    expect(gateway.trade(o.payment.out_trade_no ?? '')?.status).toBe('closed');
    expect(await app.services.ledger.check('default')).toMatchObject({ balanced: true });
  });

  // SQLite runs one write transaction at a time, so only PostgreSQL can commit in between.
  it.runIf(engine === 'postgres')(
    "the close's ending commits between the cancel's read and its write: the cancel reads again",
    async () => {
      const { app, gateway } = await start(false);
      const o = await placeQr(app, 'race-same-moment');
      const trade = o.payment.out_trade_no ?? '';
      // Armed once the trade is closed: the next transaction's read of the order (the cancel's own)
      // waits, while the gateway's 'closed' callback commits the ending on another connection.
      let armed = false;
      const uow = app.deps.uow;
      const hooked = (repos: Repositories): Repositories => {
        const orders = Object.create(repos.orders) as Repositories['orders'];
        orders.getWithPayment = async (tenantId, id) => {
          const read = await repos.orders.getWithPayment(tenantId, id);
          if (armed) {
            armed = false;
            await deliverClosed(app, gateway, trade);
          }
          return read;
        };
        return { ...repos, orders };
      };
      const wrapped: UnitOfWork = {
        read: uow.read,
        run: (work, meter) => uow.run((repos) => work(armed ? hooked(repos) : repos), meter),
        claimDue: (...args) => uow.claimDue(...args),
      };
      (app.deps as { uow: UnitOfWork }).uow = wrapped;
      gateway.afterClose = () => {
        armed = true;
        return Promise.resolve();
      };
      const cancelled = await cancel(app, o.id);
      expect(cancelled.statusCode, cancelled.body).toBe(200);
      expect(orderOf(cancelled)).toMatchObject({ status: 'CANCELLED', payment: { status: 'CANCELLED' } });
      expect(armed).toBe(false);
      const orderAudit = await auditOf(app, 'order', o.id);
      expect(orderAudit.filter((a) => a.action.includes('cancel')).map((a) => a.actor)).toEqual([
        'gateway:secure-pay-v3',
      ]);
    },
  );
});
