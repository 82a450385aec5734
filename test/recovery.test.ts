import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../src/adapters/system/system-clock.js';
import type { App } from '../src/composition/create-app.js';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { ClosingGateway } from './support/closing-gateway.js';
import { ENGINES, startCluster, type Cluster, type EngineName } from './support/cluster.js';
import { runCliCaptured } from './support/cli-run.js';
import {
  accountBalance,
  ledgerBalances,
  quick,
  rechargeConfig,
  simulatedChannels,
} from './support/recharge-harness.js';
import { auditOf, keyOf } from './support/test-app.js';

/**
 * Issue 17, recovery: a declined refund is sent again (same refund, same out_refund_no) or settled
 * outside by an operator; review flags are listed, resolved with a note and acted on; payments
 * nobody paid (a QR never scanned) are closed at the gateway and failed after the unpaid timeout —
 * through the HTTP API and the CLI, on SQLite and PostgreSQL.
 */
const MIN = 60_000;
const json = { 'content-type': 'application/json' };
const PHONE = '13800138000';

/** Time is injected: tests move it forward instead of waiting. */
class TestClock {
  offset = 0;
  now = (): number => Date.now() + this.offset;
  schedule = systemClock.schedule;
}

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function start(
  engine: EngineName,
  overrides: Record<string, unknown> = {},
  gateway = new SimulatedGateway(),
): Promise<{ app: App; gateway: SimulatedGateway; clock: TestClock }> {
  const clock = new TestClock();
  const carriers = new SimulatedCarriers();
  cluster = await startCluster(
    engine,
    {
      ...rechargeConfig(['sim-a']),
      rules: { sweep_interval_ms: 3_600_000 },
      server: { port: 0, wait_for_completion_ms: 2000 },
      ...overrides,
    },
    () => ({ clock, gateway, carriers, rechargeChannels: simulatedChannels(carriers, { 'sim-a': quick }) }),
    1,
  );
  const app = cluster.at(0);
  app.start();
  return { app, gateway, clock };
}

async function eventually<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  let v = await read();
  for (let i = 0; i < 200 && !done(v); i++) {
    await new Promise((r) => setTimeout(r, 20));
    v = await read();
  }
  return v;
}

interface RefundView {
  id: string;
  status: string;
  out_refund_no: string;
  failure_code: string | null;
}
interface FlagView {
  id: string;
  code: string;
  resource_id: string;
  resolved_at: string | null;
  resolved_by: string | null;
  resolution_note: string | null;
  actions: string[];
}

async function paidOrder(app: App, user: string): Promise<string> {
  const res = await app.http.inject({
    method: 'POST',
    url: '/api/v1/order',
    headers: { ...json, 'x-user-id': user },
    payload: { drink: 'latte', size: 'medium' },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ order: { id: string } }>().order.id;
}

/** A full refund the gateway declines: 422 REFUND_DECLINED, the refund FAILED. */
async function declinedRefund(app: App, gateway: SimulatedGateway, user: string): Promise<RefundView> {
  const orderId = await paidOrder(app, user);
  gateway.declineRefunds(1);
  const res = await app.http.inject({
    method: 'POST',
    url: `/api/v1/orders/${orderId}/refund`,
    headers: { ...json, 'x-user-id': user },
    payload: {},
  });
  expect(res.statusCode, res.body).toBe(422);
  expect(res.json<{ code: string }>().code).toBe('REFUND_DECLINED');
  const refund = res.json<{ refund: RefundView }>().refund;
  expect(refund).toMatchObject({ status: 'FAILED', failure_code: 'SIMULATED_REFUND_DECLINE' });
  return refund;
}

/** erin's wallet top-up (¥100) and direct recharge (¥50), both paid by a QR her payer must scan. */
async function unpaidTopUpAndRecharge(app: App): Promise<{
  t: { id: string; out_trade_no: string; status: string };
  r: { id: string; top_up_id: string };
}> {
  const topUp = await app.http.inject({
    method: 'POST',
    url: '/api/v1/wallet/top-ups',
    headers: { ...json, 'x-user-id': 'erin' },
    payload: { amount: 10_000 },
  });
  expect(topUp.statusCode, topUp.body).toBe(202);
  const direct = await app.http.inject({
    method: 'POST',
    url: '/api/v1/recharges',
    headers: { ...json, 'x-user-id': 'erin' },
    payload: { phone: PHONE, amount: 5000, pay: 'direct' },
  });
  expect(direct.statusCode, direct.body).toBe(202);
  return {
    t: topUp.json<{ top_up: { id: string; out_trade_no: string; status: string } }>().top_up,
    r: direct.json<{ recharge: { id: string; top_up_id: string } }>().recharge,
  };
}

async function orderStatus(app: App, id: string): Promise<string> {
  const res = await app.http.inject({ url: `/api/v1/orders/${id}` });
  return res.json<{ order: { status: string } }>().order.status;
}

async function flagsOf(app: App, query: string): Promise<FlagView[]> {
  const res = await app.http.inject({ url: `/api/v1/review-flags?${query}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ data: FlagView[] }>().data;
}

async function as(app: App, key: string, method: 'GET' | 'POST', url: string, payload?: unknown) {
  return app.http.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}`, ...(payload === undefined ? {} : json) },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  });
}

async function balanced(app: App): Promise<{ balanced: boolean; of: (a: string) => number }> {
  const l = await ledgerBalances(app);
  return { balanced: l.balanced, of: (a) => accountBalance(l, a) };
}

describe.each(ENGINES)('recovering what failed (%s)', (engine) => {
  it('a declined refund leaves the order REFUNDING, flagged; it is retried to success under the same key', async () => {
    const { app, gateway } = await start(engine);
    const refund = await declinedRefund(app, gateway, 'alice');
    const orderId = (
      await app.http.inject({ url: `/api/v1/refunds/${refund.id}`, headers: { 'x-user-id': 'alice' } })
    ).json<{ refund: { order_id: string } }>().refund.order_id;
    expect(await orderStatus(app, orderId)).toBe('REFUNDING');
    const [flag] = await flagsOf(app, `code=REFUND_FAILED&resource_id=${refund.id}`);
    expect(flag?.actions).toEqual(['retry_refund', 'settle_refund_outside']);

    const retried = await app.http.inject({
      method: 'POST',
      url: `/api/v1/refunds/${refund.id}/retry`,
      headers: { 'x-user-id': 'alice' },
    });
    expect(retried.statusCode, retried.body).toBe(201);
    const done = retried.json<{ refund: RefundView }>().refund;
    expect(done).toMatchObject({ id: refund.id, status: 'SUCCEEDED', out_refund_no: refund.out_refund_no });
    expect(gateway.groundTruth.filter((e) => e.type === 'refund').map((e) => e.outRefundNo)).toEqual([
      refund.out_refund_no,
    ]);
    expect(await orderStatus(app, orderId)).toBe('REFUNDED');
    // Retried: the finding went away, recorded as the person's act.
    const resolved = await flagsOf(app, `status=resolved&resource_id=${refund.id}`);
    expect(resolved.map((f) => [f.code, f.resolved_by])).toEqual([['REFUND_FAILED', 'user:alice']]);
    expect((await auditOf(app, 'refund', refund.id)).map((a) => a.action)).toEqual(
      expect.arrayContaining(['refund.retried', 'flag.resolved']),
    );
    // Nothing is left to retry.
    const again = await app.http.inject({
      method: 'POST',
      url: `/api/v1/refunds/${refund.id}/retry`,
      headers: { 'x-user-id': 'alice' },
    });
    expect([again.statusCode, again.json<{ code: string }>().code]).toEqual([409, 'REFUND_NOT_FAILED']);
    // Another person cannot even see it.
    const bob = await app.http.inject({
      method: 'POST',
      url: `/api/v1/refunds/${refund.id}/retry`,
      headers: { 'x-user-id': 'bob' },
    });
    expect([bob.statusCode, bob.json<{ code: string }>().code]).toEqual([404, 'REFUND_NOT_FOUND']);
    const l = await balanced(app);
    expect([l.balanced, l.of('gateway:secure-pay-v3')]).toEqual([true, 0]);
    const check = await app.http.inject({ url: '/api/v1/ledger/check' });
    expect(check.json()).toMatchObject({ balanced: true, complete: true });
  });

  it('the resume-refunding rule flags a failed refund again for an order left REFUNDING (time injected)', async () => {
    const { app, gateway, clock } = await start(engine);
    const refund = await declinedRefund(app, gateway, 'hana');
    const [flag] = await flagsOf(app, `resource_id=${refund.id}`);
    // Someone resolved the flag without acting: the order would sit in REFUNDING unseen.
    await app.http.inject({
      method: 'POST',
      url: `/api/v1/review-flags/${flag?.id ?? ''}/resolve`,
      headers: json,
      payload: { note: 'looked at it' },
    });
    expect(await flagsOf(app, `resource_id=${refund.id}`)).toEqual([]);
    clock.offset = 31 * MIN;
    await app.services.rules.sweep();
    const again = await eventually(
      () => flagsOf(app, `resource_id=${refund.id}`),
      (f) => f.length > 0,
    );
    expect(again.map((f) => [f.code, f.actions])).toEqual([
      ['REFUND_FAILED', ['retry_refund', 'settle_refund_outside']],
    ]);
    // Flagged once: a second sweep over the same state adds nothing.
    await app.services.rules.sweep();
    expect(await flagsOf(app, `resource_id=${refund.id}`)).toHaveLength(1);
  });

  it('settle-outside: an operator records it with a note (audited); a person is refused', async () => {
    const { app, gateway } = await start(engine);
    const refund = await declinedRefund(app, gateway, 'carol');
    const person = await keyOf(app, 'carol');
    const operator = await keyOf(app, 'olga', 'operator');
    const url = `/api/v1/refunds/${refund.id}/settle-outside`;

    const refused = await as(app, person, 'POST', url, { note: 'I got it back' });
    expect([refused.statusCode, refused.json<{ code: string }>().code]).toEqual([403, 'FORBIDDEN']);
    const noNote = await as(app, operator, 'POST', url, { note: '  ' });
    expect([noNote.statusCode, noNote.json<{ code: string }>().code]).toEqual([400, 'VALIDATION_FAILED']);

    const note = 'paid back by bank transfer, ref 0042';
    const settled = await as(app, operator, 'POST', url, { note });
    expect(settled.statusCode, settled.body).toBe(200);
    expect(settled.json<{ refund: RefundView }>().refund.status).toBe('SETTLED_OUTSIDE');
    const trail = await auditOf(app, 'refund', refund.id);
    const row = trail.find((a) => a.action === 'refund.settled_outside');
    expect([row?.actor, (row?.after as { note?: string } | undefined)?.note]).toEqual(['operator:olga', note]);
    const [flag] = await flagsOf(app, `status=all&resource_id=${refund.id}`);
    expect(flag).toMatchObject({ resolved_by: 'operator:olga', resolution_note: note, actions: [] });
    // No money moved through the system: the gateway made no refund and still holds the payment.
    expect(gateway.groundTruth.filter((e) => e.type === 'refund')).toEqual([]);
    const l = await balanced(app);
    expect([l.balanced, l.of('gateway:secure-pay-v3')]).toEqual([true, 3200]);
    // A settled refund is not sent again.
    const retry = await as(app, operator, 'POST', `/api/v1/refunds/${refund.id}/retry`);
    expect(retry.json<{ code: string }>().code).toBe('REFUND_NOT_FAILED');
  });

  it('review flags: listed with filters, resolved with a note (audited), acted on where offered', async () => {
    const { app, gateway } = await start(engine);
    const first = await declinedRefund(app, gateway, 'dan');
    const second = await declinedRefund(app, gateway, 'dan');
    const operator = await keyOf(app, 'otto', 'operator');
    const viewer = await keyOf(app, 'vera', 'viewer');

    expect((await flagsOf(app, 'code=REFUND_FAILED')).map((f) => f.resource_id).sort()).toEqual(
      [first.id, second.id].sort(),
    );
    expect(await flagsOf(app, 'code=LATE_CAPTURE')).toEqual([]);
    expect(await flagsOf(app, `since=${new Date(Date.now() + 3_600_000).toISOString()}`)).toEqual([]);
    expect(await flagsOf(app, 'resource_type=refund&status=resolved')).toEqual([]);
    const bad = await app.http.inject({ url: '/api/v1/review-flags?status=maybe&since=yesterday' });
    expect([bad.statusCode, bad.json<{ code: string }>().code]).toEqual([400, 'VALIDATION_FAILED']);

    const [flag] = await flagsOf(app, `resource_id=${first.id}`);
    if (flag === undefined) throw new Error('no flag');
    const byViewer = await as(app, viewer, 'POST', `/api/v1/review-flags/${flag.id}/resolve`, { note: 'seen' });
    expect(byViewer.statusCode).toBe(403);
    const resolved = await as(app, operator, 'POST', `/api/v1/review-flags/${flag.id}/resolve`, {
      note: 'the customer was refunded by the shop in cash',
    });
    expect(resolved.statusCode, resolved.body).toBe(200);
    expect(resolved.json<{ flag: FlagView }>().flag).toMatchObject({
      resolved_by: 'operator:otto',
      resolution_note: 'the customer was refunded by the shop in cash',
      actions: [],
    });
    const twice = await as(app, operator, 'POST', `/api/v1/review-flags/${flag.id}/resolve`, { note: 'again' });
    expect([twice.statusCode, twice.json<{ code: string }>().code]).toEqual([409, 'FLAG_ALREADY_RESOLVED']);
    const row = (await auditOf(app, 'refund', first.id)).find((a) => a.action === 'flag.resolved');
    const after = row?.after as { flag_id?: string; note?: string } | undefined;
    expect([row?.actor, after?.flag_id, after?.note]).toEqual([
      'operator:otto',
      flag.id,
      'the customer was refunded by the shop in cash',
    ]);

    // The other flag's own action: retry the refund from the flag.
    const [other] = await flagsOf(app, `resource_id=${second.id}`);
    if (other === undefined) throw new Error('no flag');
    const notOffered = await as(app, operator, 'POST', `/api/v1/review-flags/${other.id}/actions`, {
      action: 'close_trade',
    });
    expect([notOffered.statusCode, notOffered.json<{ code: string }>().code]).toEqual([409, 'FLAG_ACTION_NOT_OFFERED']);
    const acted = await as(app, operator, 'POST', `/api/v1/review-flags/${other.id}/actions`, {
      action: 'retry_refund',
    });
    expect(acted.statusCode, acted.body).toBe(200);
    expect(acted.json<{ refund: RefundView; flag: FlagView }>()).toMatchObject({
      refund: { id: second.id, status: 'SUCCEEDED', out_refund_no: second.out_refund_no },
      flag: { resolved_by: 'operator:otto' },
    });
    expect(await flagsOf(app, 'code=REFUND_FAILED')).toEqual([]);
  });

  it('unpaid top-up and direct recharge (QR never scanned): closed at the gateway, failed on time', async () => {
    // The payer must act (scan a code) and never does.
    const { app, gateway, clock } = await start(engine, {}, new SimulatedGateway({ payerActionMethods: ['wallet'] }));
    const { t, r } = await unpaidTopUpAndRecharge(app);
    const paymentOf = async (id: string): Promise<{ status: string; out_trade_no: string; failure_code: string }> =>
      (await app.http.inject({ url: `/api/v1/wallet/top-ups/${id}`, headers: { 'x-user-id': 'erin' } })).json<{
        top_up: { status: string; out_trade_no: string; failure_code: string };
      }>().top_up;
    const rechargePayment = await paymentOf(r.top_up_id);

    clock.offset = 29 * MIN;
    await app.services.rules.sweep();
    expect((await paymentOf(t.id)).status).toBe('PENDING');
    clock.offset = 31 * MIN;
    expect(await app.services.rules.sweep()).toBeGreaterThanOrEqual(2);

    const expired = await eventually(
      () => paymentOf(t.id),
      (x) => x.status !== 'PENDING',
    );
    // The rule records UNPAID_TIMEOUT before it closes the trade: the top-up's own pay job, due at
    // the same moment of the jumped clock, records the same code when it sees the close first.
    expect(expired).toMatchObject({ status: 'FAILED', failure_code: 'UNPAID_TIMEOUT' });
    const rechargeNow = await eventually(
      async () =>
        (await app.http.inject({ url: `/api/v1/recharges/${r.id}`, headers: { 'x-user-id': 'erin' } })).json<{
          recharge: { status: string };
        }>().recharge.status,
      (s) => s === 'FAILED',
    );
    expect(rechargeNow).toBe('FAILED');
    expect(gateway.calls.close).toBeGreaterThanOrEqual(2); // only the rule closes trades
    // Closed at the gateway: a late scan can never pay them.
    expect(gateway.payPending(t.out_trade_no)).toBe(false);
    expect(gateway.payPending(rechargePayment.out_trade_no)).toBe(false);
    expect(gateway.groundTruth.filter((e) => e.type === 'capture')).toEqual([]);
    expect((await auditOf(app, 'top_up', t.id)).some((a) => a.actor === 'system:rules')).toBe(true);
    // Money-neutral: nothing came in, nothing is owed, the wallet is as it was.
    const wallet = await app.http.inject({ url: '/api/v1/wallet', headers: { 'x-user-id': 'erin' } });
    expect(wallet.json<{ wallet: { balance: number } }>().wallet.balance).toBe(0);
    const l = await balanced(app);
    expect(l.balanced).toBe(true);
    for (const a of ['gateway:secure-pay-v3', 'recharge_clearing:default', 'refunds_due:default', 'wallet:erin'])
      expect(l.of(a), a).toBe(0);
    const check = await app.http.inject({ url: '/api/v1/ledger/check' });
    expect(check.json()).toMatchObject({ balanced: true, complete: true });
    // Nothing more to expire.
    expect(await app.services.rules.sweep()).toBe(0);

    // The person follows both with the CLI: failed, and why.
    const url = await app.listen();
    const erin = await keyOf(app, 'erin');
    const cli = (...args: string[]) => runCliCaptured(args, { defaultUrl: url, apiKey: erin });
    const shownTopUp = await cli('wallet', 'top-up-status', t.id, '--json');
    expect(shownTopUp.code, shownTopUp.err.join('\n')).toBe(0);
    expect(JSON.parse(shownTopUp.out[0] ?? '{}')).toMatchObject({
      top_up: { status: 'FAILED', failure_code: 'UNPAID_TIMEOUT', qr_code: null },
    });
    const shownRecharge = await cli('recharge', 'show', r.id, '--json');
    expect(shownRecharge.code, shownRecharge.err.join('\n')).toBe(0);
    expect(JSON.parse(shownRecharge.out[0] ?? '{}')).toMatchObject({ recharge: { status: 'FAILED', qr_code: null } });
  });

  it('unpaid expiry: the pay job commits the trade the rule closed, before the rule: UNPAID_TIMEOUT', async () => {
    // The interleaving forced: the rule closes a trade at the gateway, and before it returns the
    // payment's own pay job (due at the same moment) hears "closed" and commits first.
    const gateway = new ClosingGateway({ payerActionMethods: ['wallet'] });
    const { app, clock } = await start(
      engine,
      {
        // The pay job asks about the waiting trade every ~0.15 s and does not give up meanwhile;
        // the held close stays within one call's deadline (a timeout would send it again).
        worker: { poll_interval_ms: 20, retry_base_ms: 100, retry_max_ms: 200, max_attempts: 100 },
        resilience: { timeout_ms: 20_000 },
      },
      gateway,
    );
    const read = app.storage.unitOfWork.read;
    gateway.afterClose = async (outTradeNo) => {
      await eventually(
        () => read.topUps.getByOutTradeNo(outTradeNo),
        (x) => x?.status !== 'PENDING',
      );
    };
    const { t, r } = await unpaidTopUpAndRecharge(app);

    clock.offset = 31 * MIN;
    expect(await app.services.rules.sweep()).toBeGreaterThanOrEqual(2);
    for (const id of [t.id, r.top_up_id]) {
      const failed = await eventually(
        async () => ({
          topUp: await read.topUps.get('default', id),
          jobs: await read.jobs.hasLive('top-up-rule.run', id),
        }),
        (x) => x.topUp?.status !== 'PENDING' && !x.jobs,
      );
      expect(failed.topUp).toMatchObject({ status: 'FAILED', failureCode: 'UNPAID_TIMEOUT' });
      // The failure was committed by the pay job (the worker), not by the rule that closed the trade.
      const audit = await auditOf(app, 'top_up', id);
      expect(audit.find((a) => a.action === 'top_up.fail')?.actor).toBe('system:worker');
      expect(audit.find((a) => a.action === 'top_up.closing')?.actor).toBe('system:rules');
    }
    expect(gateway.calls.close).toBe(2);
    const recharge = await eventually(
      async () =>
        (await app.http.inject({ url: `/api/v1/recharges/${r.id}`, headers: { 'x-user-id': 'erin' } })).json<{
          recharge: { status: string };
        }>().recharge.status,
      (x) => x === 'FAILED',
    );
    expect(recharge).toBe('FAILED');
    const l = await balanced(app);
    expect(l.balanced).toBe(true);
    for (const a of ['gateway:secure-pay-v3', 'recharge_clearing:default', 'wallet:erin']) expect(l.of(a), a).toBe(0);
  });

  it('unpaid expiry: a close that failed after its reason was recorded is carried through next run', async () => {
    const gateway = new ClosingGateway({ payerActionMethods: ['wallet'] });
    const { app, clock } = await start(engine, { resilience: { timeout_ms: 200, max_attempts: 1 } }, gateway);
    const read = app.storage.unitOfWork.read;
    const { t } = await unpaidTopUpAndRecharge(app);
    gateway.unreachable = 2; // the first runs of both rules reach the gateway's query, not its close
    clock.offset = 31 * MIN;
    expect(await app.services.rules.sweep()).toBeGreaterThanOrEqual(2);
    const failed = await eventually(
      () => read.topUps.get('default', t.id),
      (x) => x?.status !== 'PENDING',
    );
    expect(failed).toMatchObject({ status: 'FAILED', failureCode: 'UNPAID_TIMEOUT', closeReason: 'UNPAID_TIMEOUT' });
    expect(gateway.payPending(t.out_trade_no)).toBe(false);
    const audit = (await auditOf(app, 'top_up', t.id)).map((a) => a.action);
    expect(audit.filter((a) => a === 'top_up.closing')).toHaveLength(1);
  });

  it('the CLI: wallet, recharge, refund, flags and ledger, each with a success and a refusal', async () => {
    const { app, gateway } = await start(engine);
    const url = await app.listen();
    const person = await keyOf(app, 'fay');
    const operator = await keyOf(app, 'omar', 'operator');
    const cli = (key: string, ...args: string[]) => runCliCaptured(args, { defaultUrl: url, apiKey: key });

    const topUp = await cli(person, 'wallet', 'top-up', '100');
    expect(topUp.code, topUp.err.join('\n')).toBe(0);
    expect(topUp.out[0]).toMatch(/^top-up wtu_\S+ +SUCCEEDED +100\.00 CNY/);
    const badAmount = await cli(person, 'wallet', 'top-up', '1e2');
    expect([badAmount.code, badAmount.err[0]]).toEqual([1, expect.stringMatching(/^error INVALID_AMOUNT: /)]);
    const balance = await cli(person, 'wallet', 'balance');
    expect([balance.code, balance.out]).toEqual([0, ['wallet of fay: 100.00 CNY']]);

    const rc = await cli(person, 'recharge', 'create', PHONE, '50', '--json');
    expect(rc.code, rc.err.join('\n')).toBe(0);
    const rechargeId = (JSON.parse(rc.out[0] ?? '{}') as { recharge: { id: string } }).recharge.id;
    const shown = await cli(person, 'recharge', 'show', rechargeId);
    expect(shown.out[0]).toMatch(new RegExp(`^recharge ${rechargeId} +SUCCEEDED +138\\*+8000 50\\.00 CNY`));
    const refusedRecharge = await cli(person, 'recharge', 'create', '1380013800', '50');
    expect(refusedRecharge.code).toBe(1);
    expect(refusedRecharge.err[0]).toMatch(/^error PHONE_INVALID_LENGTH: .* \(request \S+\)$/);
    const missing = await cli(person, 'recharge', 'show', 'rch_none');
    expect([missing.code, missing.err[0]]).toEqual([1, expect.stringMatching(/^error RECHARGE_NOT_FOUND/)]);

    // A refund the gateway declines, retried from the CLI; settle-outside refused for the person.
    const orderId = await paidOrder(app, 'fay');
    gateway.declineRefunds(1);
    const declined = await cli(person, 'refund', 'order', orderId, '--json');
    expect(declined.code).toBe(1);
    expect(declined.err[0]).toMatch(/^error REFUND_DECLINED: /);
    const refundId = (JSON.parse(declined.out[0] ?? '{}') as { refund: { id: string } }).refund.id;
    const notYours = await cli(person, 'refund', 'settle-outside', refundId, '--note', 'cash');
    expect([notYours.code, notYours.err[0]]).toEqual([1, expect.stringMatching(/^error FORBIDDEN: /)]);

    const flags = await cli(operator, 'flags', 'list', '--code', 'REFUND_FAILED');
    expect(flags.code).toBe(0);
    expect(flags.out.join('\n')).toMatch(
      new RegExp(`REFUND_FAILED +refund:${refundId} .* open  actions: retry_refund, settle_refund_outside`),
    );
    const badFilter = await cli(operator, 'flags', 'list', '--status', 'maybe');
    expect(badFilter.code).toBe(1);
    expect(badFilter.err[0]).toMatch(/^error VALIDATION_FAILED: .*\(request \S+\)$/);
    expect(badFilter.err[1]).toMatch(/^ {2}status: /);
    const asPerson = await cli(person, 'flags', 'list');
    expect([asPerson.code, asPerson.err[0]]).toEqual([1, expect.stringMatching(/^error FORBIDDEN: /)]);

    const retried = await cli(person, 'refund', 'retry', refundId);
    expect(retried.code, retried.err.join('\n')).toBe(0);
    expect(retried.out[0]).toMatch(new RegExp(`^refund ${refundId} +SUCCEEDED +32\\.00 CNY`));
    const retriedAgain = await cli(person, 'refund', 'retry', refundId);
    expect([retriedAgain.code, retriedAgain.err[0]]).toEqual([1, expect.stringMatching(/^error REFUND_NOT_FAILED/)]);

    // A flag resolved from the CLI (another declined refund), then refused once it is resolved.
    const second = await paidOrder(app, 'fay');
    gateway.declineRefunds(1);
    await cli(person, 'refund', 'order', second);
    const open = JSON.parse((await cli(operator, 'flags', 'list', '--json')).out[0] ?? '{}') as { data: FlagView[] };
    const flagId = open.data[0]?.id ?? '';
    const resolved = await cli(operator, 'flags', 'resolve', flagId, '--note', 'refunded in the shop');
    expect(resolved.code, resolved.err.join('\n')).toBe(0);
    expect(resolved.out[0]).toMatch(/resolved by operator:omar: refunded in the shop$/);
    const resolvedAgain = await cli(operator, 'flags', 'resolve', flagId, '--note', 'again');
    expect([resolvedAgain.code, resolvedAgain.err[0]]).toEqual([
      1,
      expect.stringMatching(/^error FLAG_ALREADY_RESOLVED/),
    ]);

    const ledger = await cli(operator, 'ledger', 'check');
    expect(ledger.code, ledger.err.join('\n')).toBe(0);
    expect(ledger.out[0]).toMatch(/^checked \d+ resources: balanced, complete$/);
    const balances = await cli(operator, 'ledger', 'balances');
    expect([balances.code, balances.out.at(-1)]).toEqual([0, 'balanced']);
    const ledgerAsPerson = await cli(person, 'ledger', 'balances');
    expect([ledgerAsPerson.code, ledgerAsPerson.err[0]]).toEqual([1, expect.stringMatching(/^error FORBIDDEN/)]);
  });

  it('the CLI leaves a held top-up unconfirmed (exit 2) unless --yes', async () => {
    const { app } = await start(engine, { trusted_actions: ['order_coffee', 'submit_payment'] });
    const url = await app.listen();
    const person = await keyOf(app, 'gus');
    const cli = (...args: string[]) => runCliCaptured(args, { defaultUrl: url, apiKey: person });
    const held = await cli('wallet', 'top-up', '20');
    expect(held.code).toBe(2);
    expect(held.err[0]).toMatch(/^held for your confirmation: /);
    const yes = await cli('wallet', 'top-up', '20', '--yes');
    expect(yes.code, yes.err.join('\n')).toBe(0);
    expect(yes.out[0]).toMatch(/SUCCEEDED +20\.00 CNY/);
    expect((await cli('wallet', 'balance')).out).toEqual(['wallet of gus: 20.00 CNY']);
  });
});
