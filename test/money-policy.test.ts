import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/system/system-clock.js';
import type { App } from '../src/composition/create-app.js';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { quick, rechargeConfig, simulatedChannels } from './support/recharge-harness.js';
import { type Cluster, ENGINES, startCluster } from './support/cluster.js';
import { auditOf, keyOf, startTestApp } from './support/test-app.js';

/**
 * One policy for every money action (issue 12): recharges, wallet top-ups and refunds obey the
 * per-transaction cap and the daily limit (across orders and recharges), run at once only when
 * trusted, and otherwise wait for the person — held with a digest of exactly what they are shown,
 * run once on a confirm that names it, by the person (or an operator for them), never an agent.
 */

let app: App | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

interface Held {
  id: string;
  action: string;
  status: string;
  amount: number;
  payee: string;
  method: string;
  digest: string;
  what: string;
  confirm: { path: string; body: { digest: string } };
}

const json = (user: string, key?: string): Record<string, string> => ({
  'content-type': 'application/json',
  'x-user-id': user,
  ...(key === undefined ? {} : { 'idempotency-key': key }),
});

async function start(policy: Record<string, unknown>, clock?: ManualClock): Promise<App> {
  const carriers = new SimulatedCarriers();
  app = (
    await startTestApp(
      { ...rechargeConfig(['sim-a']), ...policy },
      {
        gateway: new SimulatedGateway(),
        carriers,
        rechargeChannels: simulatedChannels(carriers, { 'sim-a': quick }),
        ...(clock === undefined ? {} : { clock }),
      },
    )
  ).app;
  app.start();
  return app;
}

/** Put money on a person's wallet through the API: a top-up, confirmed by them if the policy holds it. */
async function fund(a: App, user: string, amount: number): Promise<void> {
  const asked = await a.http.inject({
    method: 'POST',
    url: '/api/v1/wallet/top-ups',
    headers: json(user),
    payload: { amount },
  });
  if (asked.statusCode === 202 && asked.json<{ held?: Held }>().held !== undefined) {
    const held = asked.json<{ held: Held }>().held;
    const yes = await a.http.inject({
      method: 'POST',
      url: held.confirm.path,
      headers: json(user),
      payload: held.confirm.body,
    });
    expect(yes.statusCode, yes.body).toBe(200);
  } else {
    expect(asked.statusCode, asked.body).toBe(201);
  }
  expect(await balanceOf(a, user)).toBe(amount);
}

const balanceOf = async (a: App, user: string): Promise<number> => {
  const r = await a.http.inject({ method: 'GET', url: '/api/v1/wallet', headers: json(user) });
  return r.json<{ wallet: { balance: number } }>().wallet.balance;
};

const recharge = (a: App, user: string, body: Record<string, unknown>, key?: string) =>
  a.http.inject({ method: 'POST', url: '/api/v1/recharges', headers: json(user, key), payload: body });

describe('phone recharges under the one policy', () => {
  it('an untrusted recharge is held: nothing reserved, listed, run once on the confirm naming it', async () => {
    const a = await start({ trusted_actions: ['order_coffee', 'submit_payment'] });
    await fund(a, 'ann', 50_000);

    const asked = await recharge(a, 'ann', { phone: '13800138000', amount: 10_000 }, 'r-1');
    expect(asked.statusCode, asked.body).toBe(202);
    const held = asked.json<{ held: Held }>().held;
    expect(held).toMatchObject({
      action: 'recharge_phone',
      status: 'AWAITING',
      amount: 10_000,
      payee: '138****8000',
      method: 'wallet',
      confirm: { path: `/api/v1/confirmations/${held.id}`, body: { digest: held.digest } },
    });
    expect(asked.body).not.toContain('13800138000');
    // Nothing moved, and the same request again answers with the same hold.
    expect(await balanceOf(a, 'ann')).toBe(50_000);
    const again = await recharge(a, 'ann', { phone: '13800138000', amount: 10_000 }, 'r-1');
    expect(again.json<{ held: Held }>().held.id).toBe(held.id);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const listed = await a.http.inject({ method: 'GET', url: '/api/v1/confirmations', headers: json('ann') });
    expect(listed.json<{ data: Held[] }>().data.map((h) => h.id)).toEqual([held.id]);

    // A confirm naming nothing, or another digest, runs nothing.
    for (const payload of [{}, { digest: 'A'.repeat(43) }]) {
      const wrong = await a.http.inject({ method: 'POST', url: held.confirm.path, headers: json('ann'), payload });
      expect(wrong.statusCode).toBe(409);
      expect(wrong.json<{ code: string }>().code).toBe('CONFIRMATION_MISMATCH');
    }
    // Another person cannot see or confirm it; an agent acting for ann may not confirm it.
    const stranger = await a.http.inject({
      method: 'POST',
      url: held.confirm.path,
      headers: json('bob'),
      payload: held.confirm.body,
    });
    expect(stranger.statusCode).toBe(404);
    const made = await a.services.identity.createKey(
      { tenantId: 'default', userId: 'admin', actor: 'admin:admin', requestId: null, role: 'admin' },
      { role: 'agent', user: 'ann-bot', actsFor: 'ann' },
    );
    if (!made.ok) throw new Error(made.error.message);
    const byAgent = await a.http.inject({
      method: 'POST',
      url: held.confirm.path,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${made.value.key}` },
      payload: held.confirm.body,
    });
    expect(byAgent.statusCode).toBe(403);
    expect(await balanceOf(a, 'ann')).toBe(50_000);

    const yes = await a.http.inject({
      method: 'POST',
      url: held.confirm.path,
      headers: json('ann'),
      payload: held.confirm.body,
    });
    expect(yes.statusCode, yes.body).toBe(200);
    expect(yes.json()).toMatchObject({
      held: { status: 'CONFIRMED', decided_by: 'user:ann' },
      recharge: { status: 'SUCCEEDED', amount: 10_000 },
    });
    expect(await balanceOf(a, 'ann')).toBe(40_000);
    const twice = await a.http.inject({
      method: 'POST',
      url: held.confirm.path,
      headers: json('ann'),
      payload: held.confirm.body,
    });
    expect(twice.statusCode).toBe(404);
    expect(await balanceOf(a, 'ann')).toBe(40_000);

    // The hold's own trail: asked by ann, confirmed by ann, naming what it made.
    const trail = await auditOf(a, 'held_action', held.id);
    expect(trail.map((t) => [t.action, t.actor])).toEqual([
      ['held_action.created', 'user:ann'],
      ['held_action.confirmed', 'user:ann'],
    ]);
    expect(trail[1]?.after).toMatchObject({ result_id: yes.json<{ recharge: { id: string } }>().recharge.id });
  });

  it('a later, different proposal never runs on an earlier "yes"; a rejected or lapsed hold runs nothing', async () => {
    const clock = new ManualClock(Date.parse('2026-12-05T02:00:00Z'));
    const a = await start({ trusted_actions: [] }, clock);
    await fund(a, 'cai', 100_000);
    const first = (await recharge(a, 'cai', { phone: '13800138000', amount: 10_000 })).json<{ held: Held }>().held;
    const later = (await recharge(a, 'cai', { phone: '13900139000', amount: 30_000 })).json<{ held: Held }>().held;
    expect(later.digest).not.toBe(first.digest);
    // The "yes" given for ¥100 → 138… does not run ¥300 → 139….
    const crossed = await a.http.inject({
      method: 'POST',
      url: later.confirm.path,
      headers: json('cai'),
      payload: first.confirm.body,
    });
    expect(crossed.json<{ code: string }>().code).toBe('CONFIRMATION_MISMATCH');
    const rejected = await a.http.inject({
      method: 'POST',
      url: `${later.confirm.path}/reject`,
      headers: json('cai'),
      payload: later.confirm.body,
    });
    expect(rejected.json<{ held: Held }>().held.status).toBe('REJECTED');
    const afterReject = await a.http.inject({
      method: 'POST',
      url: later.confirm.path,
      headers: json('cai'),
      payload: later.confirm.body,
    });
    expect(afterReject.statusCode).toBe(404);
    // The first one lapses like an unconfirmed order.
    clock.advance(a.deps.settings.unpaidTimeoutMs + 1);
    const lapsed = await a.http.inject({
      method: 'POST',
      url: first.confirm.path,
      headers: json('cai'),
      payload: first.confirm.body,
    });
    expect(lapsed.statusCode).toBe(404);
    expect(await balanceOf(a, 'cai')).toBe(100_000);
  });

  it('trusted recharges obey the per-transaction cap and the daily limit across orders and recharges', async () => {
    // The case: a trusted ¥500 recharge under a ¥50 cap and an ¥80 daily limit.
    const a = await start({
      trusted_actions: ['order_coffee', 'submit_payment', 'recharge_phone'],
      max_order_amount: 5000,
      daily_limit_per_user: 8000,
    });
    await fund(a, 'dan', 100_000);
    const big = await recharge(a, 'dan', { phone: '13800138000', amount: 50_000 });
    expect(big.json<{ code: string }>().code).toBe('POLICY_AMOUNT_CAP_EXCEEDED');
    const ok = await recharge(a, 'dan', { phone: '13800138000', amount: 5000 });
    expect(ok.statusCode, ok.body).toBe(201);
    // ¥50 spent on a recharge; a ¥32 latte would make ¥82 > ¥80.
    const latte = await a.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: json('dan'),
      payload: { drink: 'latte', size: 'medium' },
    });
    expect(latte.json<{ code: string }>().code).toBe('DAILY_LIMIT_EXCEEDED');
    const more = await recharge(a, 'dan', { phone: '13800138000', amount: 5000 });
    expect(more.json<{ code: string }>().code).toBe('DAILY_LIMIT_EXCEEDED');
    expect(await balanceOf(a, 'dan')).toBe(95_000);
  });

  it('above require_confirmation_above even a trusted recharge waits', async () => {
    const a = await start({
      trusted_actions: ['order_coffee', 'submit_payment', 'recharge_phone'],
      require_confirmation_above: 3000,
    });
    await fund(a, 'eve', 20_000);
    expect((await recharge(a, 'eve', { phone: '13800138000', amount: 2000 })).statusCode).toBe(201);
    const held = await recharge(a, 'eve', { phone: '13800138000', amount: 5000 });
    expect(held.statusCode).toBe(202);
    expect(held.json<{ held: Held }>().held.what).toContain('¥50.00');
  });
});

describe('wallet top-ups and refunds under the same policy', () => {
  it('an untrusted top-up is held, charges nothing, and charges once when confirmed', async () => {
    const gateway = new SimulatedGateway();
    app = (await startTestApp({ trusted_actions: ['order_coffee', 'submit_payment'] }, { gateway })).app;
    app.start();
    const a = app;
    const asked = await a.http.inject({
      method: 'POST',
      url: '/api/v1/wallet/top-ups',
      headers: json('fay'),
      payload: { amount: 20_000 },
    });
    expect(asked.statusCode, asked.body).toBe(202);
    const held = asked.json<{ held: Held }>().held;
    expect(held).toMatchObject({ action: 'wallet_top_up', amount: 20_000, payee: 'wallet' });
    expect(gateway.groundTruth).toHaveLength(0);
    const yes = await a.http.inject({
      method: 'POST',
      url: held.confirm.path,
      headers: json('fay'),
      payload: held.confirm.body,
    });
    expect(yes.statusCode, yes.body).toBe(200);
    expect(yes.json()).toMatchObject({ top_up: { status: 'SUCCEEDED', amount: 20_000 } });
    expect(gateway.groundTruth.filter((e) => e.type === 'capture')).toHaveLength(1);
    expect(await balanceOf(a, 'fay')).toBe(20_000);
  });

  it('a high-risk refund does not run at once under the strict default policy: held, then refunded once', async () => {
    const gateway = new SimulatedGateway();
    app = (await startTestApp({ trusted_actions: ['order_coffee', 'submit_payment'] }, { gateway })).app;
    app.start();
    const a = app;
    const order = await a.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: json('gus'),
      payload: { drink: 'latte', size: 'medium' },
    });
    expect(order.statusCode).toBe(201);
    const id = order.json<{ order: { id: string } }>().order.id;
    const asked = await a.http.inject({
      method: 'POST',
      url: `/api/v1/orders/${id}/refund`,
      headers: json('gus'),
      payload: {},
    });
    expect(asked.statusCode, asked.body).toBe(202);
    const held = asked.json<{ held: Held }>().held;
    expect(held).toMatchObject({ action: 'refund', amount: 3200, payee: `order ${id}`, method: 'original payment' });
    expect(gateway.groundTruth.filter((e) => e.type === 'refund')).toHaveLength(0);
    // Six confirms at once, no Idempotency-Key: one refund.
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        a.http.inject({ method: 'POST', url: held.confirm.path, headers: json('gus'), payload: held.confirm.body }),
      ),
    );
    expect(answers.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(answers.filter((r) => r.statusCode === 404)).toHaveLength(5);
    expect(gateway.groundTruth.filter((e) => e.type === 'refund')).toHaveLength(1);
    // The agent's words go through the same policy.
    const second = await a.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: json('gus'),
      payload: { drink: 'latte', size: 'medium' },
    });
    const words = await a.http.inject({
      method: 'POST',
      url: '/api/v1/agent/messages',
      headers: json('gus'),
      payload: { text: `退款 ${second.json<{ order: { id: string } }>().order.id}` },
    });
    expect(words.json()).toMatchObject({
      outcome: { kind: 'awaiting_confirmation', confirm: { action: 'refund', amount: 3200 } },
    });
    expect(gateway.groundTruth.filter((e) => e.type === 'refund')).toHaveLength(1);
  });
});

describe('an operator acting for the person', () => {
  it('confirms what was held for them, audited as the operator for the person', async () => {
    const a = await start({ trusted_actions: [] });
    await fund(a, 'hal', 20_000);
    const held = (await recharge(a, 'hal', { phone: '13800138000', amount: 10_000 })).json<{ held: Held }>().held;
    const ops = await keyOf(a, 'ops', 'operator');
    const yes = await a.http.inject({
      method: 'POST',
      url: held.confirm.path,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ops}`, 'x-act-for': 'hal' },
      payload: held.confirm.body,
    });
    expect(yes.statusCode, yes.body).toBe(200);
    expect(yes.json()).toMatchObject({ held: { decided_by: 'operator:ops for user:hal' } });
    expect(await balanceOf(a, 'hal')).toBe(10_000);
  });
});

describe.each(ENGINES)('one confirmation, many confirms at once, on %s', (engine) => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('a held top-up and a held refund each run exactly once across instances', async () => {
    const gateway = new SimulatedGateway();
    cluster = await startCluster(
      engine,
      { log: { level: 'silent' }, trusted_actions: ['order_coffee', 'submit_payment'] },
      () => ({ gateway }),
    );
    for (const a of cluster.apps) a.start();
    const c = cluster;
    const confirmAll = async (held: Held) =>
      Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          c
            .at(i)
            .http.inject({ method: 'POST', url: held.confirm.path, headers: json('hal'), payload: held.confirm.body }),
        ),
      );
    const topUp = await c.at(0).http.inject({
      method: 'POST',
      url: '/api/v1/wallet/top-ups',
      headers: json('hal'),
      payload: { amount: 5_000 },
    });
    expect(topUp.statusCode, topUp.body).toBe(202);
    const t = await confirmAll(topUp.json<{ held: Held }>().held);
    expect(t.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(t.filter((r) => r.statusCode === 404).length, t.map((r) => r.body).join('\n')).toBe(11);
    expect(gateway.groundTruth.filter((e) => e.type === 'capture')).toHaveLength(1);

    const order = await c.at(1).http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: json('hal'),
      payload: { drink: 'latte', size: 'medium' },
    });
    const id = order.json<{ order: { id: string } }>().order.id;
    const refund = await c.at(1).http.inject({
      method: 'POST',
      url: `/api/v1/orders/${id}/refund`,
      headers: json('hal'),
      payload: {},
    });
    expect(refund.statusCode, refund.body).toBe(202);
    const f = await confirmAll(refund.json<{ held: Held }>().held);
    expect(f.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(f.filter((r) => r.statusCode === 404).length, f.map((r) => r.body).join('\n')).toBe(11);
    expect(gateway.groundTruth.filter((e) => e.type === 'refund')).toHaveLength(1);
  });

  it('a held batch is accepted once however many confirms race across instances', async () => {
    const carriers = new SimulatedCarriers();
    cluster = await startCluster(
      engine,
      {
        log: { level: 'silent' },
        trusted_actions: ['wallet_top_up'],
        recharge: { channels: { 'sim-a': { type: 'simulator', operators: ['CHINA_MOBILE'] } } },
      },
      () => ({
        gateway: new SimulatedGateway(),
        carriers,
        rechargeChannels: simulatedChannels(carriers, { 'sim-a': quick }),
      }),
    );
    for (const a of cluster.apps) a.start();
    const c = cluster;
    const funded = await c.at(0).http.inject({
      method: 'POST',
      url: '/api/v1/wallet/top-ups',
      headers: json('kim'),
      payload: { amount: 50_000 },
    });
    expect(funded.statusCode, funded.body).toBe(201);
    const asked = await c.at(1).http.inject({
      method: 'POST',
      url: '/api/v1/recharges/batch',
      headers: { 'content-type': 'text/csv', 'x-user-id': 'kim' },
      payload: 'phone,amount\n13800138021,5000\n13800138022,3000\n',
    });
    expect(asked.statusCode, asked.body).toBe(202);
    const held = asked.json<{ held: Held }>().held;
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        c
          .at(i)
          .http.inject({ method: 'POST', url: held.confirm.path, headers: json('kim'), payload: held.confirm.body }),
      ),
    );
    expect(answers.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(answers.filter((r) => r.statusCode === 404).length, answers.map((r) => r.body).join('\n')).toBe(11);
    for (let i = 0; i < 300 && carriers.groundTruth.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    // Each row recharged once: the batch was accepted (and expanded) exactly once.
    expect(carriers.groundTruth).toHaveLength(2);
  });
});

describe('batch recharges under the same policy', () => {
  const batchOf = (a: App, user: string, csv: string) =>
    a.http.inject({
      method: 'POST',
      url: '/api/v1/recharges/batch',
      headers: { 'content-type': 'text/csv', 'x-user-id': user },
      payload: csv,
    });
  const results = async (a: App, user: string, id: string): Promise<string[]> => {
    for (let i = 0; i < 300; i++) {
      const v = await a.http.inject({ method: 'GET', url: `/api/v1/batches/${id}`, headers: json(user) });
      if (v.json<{ batch: { done: boolean } }>().batch.done) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const r = await a.http.inject({ method: 'GET', url: `/api/v1/batches/${id}/results`, headers: json(user) });
    return r.body.trim().split('\n').slice(1);
  };

  it('refuses a row above the cap on its own line, and a batch whose total passes the daily limit whole', async () => {
    const a = await start({
      trusted_actions: ['wallet_top_up', 'recharge_phone'],
      max_order_amount: 5_000,
      daily_limit_per_user: 12_000,
    });
    await fund(a, 'ivy', 50_000);
    const ok = await batchOf(a, 'ivy', 'phone,amount\n13800138001,5000\n13800138002,10000\n13800138003,3000\n');
    expect(ok.statusCode, ok.body).toBe(202);
    const lines = await results(a, 'ivy', ok.json<{ batch: { id: string } }>().batch.id);
    expect(lines.map((l) => l.split(',').slice(3, 5).join(','))).toEqual([
      'SUCCEEDED,',
      'REJECTED,POLICY_AMOUNT_CAP_EXCEEDED',
      'SUCCEEDED,',
    ]);
    // 8,000 spent today: another 5,000 would pass 12,000. Refused whole; nothing recharged, nothing reserved.
    const before = await balanceOf(a, 'ivy');
    const over = await batchOf(a, 'ivy', 'phone,amount\n13800138004,3000\n13800138005,2000\n');
    expect(over.statusCode).toBe(403);
    expect(over.json()).toMatchObject({ code: 'DAILY_LIMIT_EXCEEDED' });
    expect(await balanceOf(a, 'ivy')).toBe(before);
  });

  it('an untrusted batch is held whole, showing count and total; one confirm runs every row once', async () => {
    const a = await start({ trusted_actions: ['wallet_top_up'] });
    await fund(a, 'jon', 50_000);
    const asked = await batchOf(a, 'jon', 'phone,amount\n13800138011,5000\n13800138012,3000\n');
    expect(asked.statusCode, asked.body).toBe(202);
    const body = asked.json<{ batch: { id: string; status: string }; held: Held }>();
    expect(body.batch.status).toBe('held');
    expect(body.held).toMatchObject({ action: 'recharge_batch', amount: 8_000, count: 2, payee: '2 phone numbers' });
    await new Promise((r) => setTimeout(r, 100));
    expect(await balanceOf(a, 'jon')).toBe(50_000);
    const waiting = await a.http.inject({
      method: 'GET',
      url: `/api/v1/batches/${body.batch.id}`,
      headers: json('jon'),
    });
    expect(waiting.json()).toMatchObject({ batch: { status: 'held', done: false, accepted: 0 } });
    const yes = await Promise.all(
      Array.from({ length: 4 }, () =>
        a.http.inject({
          method: 'POST',
          url: body.held.confirm.path,
          headers: json('jon'),
          payload: body.held.confirm.body,
        }),
      ),
    );
    expect(yes.filter((r) => r.statusCode === 200)).toHaveLength(1);
    const lines = await results(a, 'jon', body.batch.id);
    expect(lines.map((l) => l.split(',')[3])).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(await balanceOf(a, 'jon')).toBe(42_000);
  });
});
