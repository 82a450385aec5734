import SqliteDatabase from 'better-sqlite3';
import type { LightMyRequestResponse } from 'fastify';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { type Cluster, ENGINES, startCluster } from './support/cluster.js';
import { quick, rechargeConfig, simulatedChannels } from './support/recharge-harness.js';
import { ADMIN, auditOf, startTestApp } from './support/test-app.js';
import { tx } from '../src/application/kernel/tx.js';

/**
 * Spending mandates (issue 12, AP2-style): a person grants one of their agents what it may spend
 * without asking — actions, payees, a per-transaction maximum, a budget per period, an expiry —
 * signed ES256 by the service and verified on every use. Within it the agent's action runs at
 * once; outside it, it is held for the person and counts as a violation against the agent's key.
 */

let app: App | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const inOneDay = (): string => new Date(Date.now() + 86_400_000).toISOString();
const bearer = (key: string): Record<string, string> => ({
  authorization: `Bearer ${key}`,
  'content-type': 'application/json',
});
const person = (user: string): Record<string, string> => ({ 'content-type': 'application/json', 'x-user-id': user });

async function agentKey(a: App, agent: string, actsFor: string): Promise<string> {
  const r = await a.services.identity.createKey(ADMIN, { role: 'agent', user: agent, actsFor });
  if (!r.ok) throw new Error(r.error.message);
  return r.value.key;
}

interface MandateView {
  id: string;
  status: string;
  spent: number;
  remaining: number;
  budget: number;
  jws: string;
}

async function grant(a: App, user: string, body: Record<string, unknown>): Promise<LightMyRequestResponse> {
  return a.http.inject({ method: 'POST', url: '/api/v1/mandates', headers: person(user), payload: body });
}

const orderAs = (a: App, headers: Record<string, string>, key?: string, size = 'medium') =>
  a.http.inject({
    method: 'POST',
    url: '/api/v1/order',
    headers: { ...headers, ...(key === undefined ? {} : { 'idempotency-key': key }) },
    payload: { drink: 'latte', size },
  });

/** Nothing trusted: without a mandate every order waits for the person. */
const STRICT = { auto_confirm_order: false, trusted_actions: [] as string[] };

describe('granting, reading and revoking a mandate', () => {
  it('is signed ES256, verifies with the published key in jose; only the person grants or revokes', async () => {
    app = (await startTestApp(STRICT)).app;
    const a = app;
    const bot = await agentKey(a, 'alice-bot', 'alice');
    await agentKey(a, 'bob-bot', 'bob');
    const made = await grant(a, 'alice', {
      agent: 'alice-bot',
      actions: ['order_coffee', 'recharge_phone'],
      payees: ['merchant', 'china_mobile'],
      max_per_transaction: 5_000,
      budget: 20_000,
      period: 'week',
      expires_at: inOneDay(),
    });
    expect(made.statusCode, made.body).toBe(201);
    const m = made.json<{ mandate: MandateView & Record<string, unknown> }>().mandate;
    expect(m).toMatchObject({
      user: 'alice',
      agent: 'alice-bot',
      status: 'ACTIVE',
      actions: ['order_coffee', 'recharge_phone'],
      payees: ['china_mobile', 'merchant'],
      currency: 'CNY',
      max_per_transaction: 5_000,
      budget: 20_000,
      spent: 0,
      remaining: 20_000,
      period: 'week',
    });

    // Anyone can check the signature with the service's public key, here with jose's own verifier.
    const jwks = await a.http.inject({
      method: 'GET',
      url: '/api/v1/mandates/jwks',
      headers: { 'x-test-anonymous': '1' },
    });
    expect(jwks.statusCode).toBe(200);
    const keys = jwks.json<{ keys: Array<{ kty: string; crv: string; d?: string }> }>();
    expect(keys.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
    expect(keys.keys[0]?.d).toBeUndefined();
    const { payload, protectedHeader } = await jwtVerify(m.jws, createLocalJWKSet(keys as never), {
      algorithms: ['ES256'],
      typ: 'mandate+jwt',
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({ jti: m.id, sub: 'alice', agent: 'alice-bot', budget: 20_000, period: 'week' });

    // The agent sees its mandate; it can neither grant itself one nor revoke one.
    const mine = await a.http.inject({ method: 'GET', url: '/api/v1/mandates', headers: bearer(bot) });
    expect(mine.json<{ data: MandateView[] }>().data.map((x) => x.id)).toEqual([m.id]);
    const self = await a.http.inject({
      method: 'POST',
      url: '/api/v1/mandates',
      headers: bearer(bot),
      payload: {
        agent: 'alice-bot',
        actions: ['refund'],
        max_per_transaction: 1,
        budget: 1,
        period: 'day',
        expires_at: inOneDay(),
      },
    });
    expect(self.statusCode).toBe(403);
    const agentRevoke = await a.http.inject({
      method: 'POST',
      url: `/api/v1/mandates/${m.id}/revoke`,
      headers: bearer(bot),
    });
    expect(agentRevoke.statusCode).toBe(403);
    // Another person neither sees nor revokes it: for them it does not exist.
    for (const [method, url] of [
      ['GET', `/api/v1/mandates/${m.id}`],
      ['POST', `/api/v1/mandates/${m.id}/revoke`],
    ] as const) {
      const r = await a.http.inject({
        method,
        url,
        headers: person('bob'),
        ...(method === 'POST' ? { payload: {} } : {}),
      });
      expect(r.statusCode).toBe(404);
      expect(r.json()).toMatchObject({ code: 'MANDATE_NOT_FOUND' });
    }
    expect((await a.http.inject({ method: 'GET', url: '/api/v1/mandates', headers: person('bob') })).json()).toEqual({
      data: [],
    });

    // Bad grants are refused with a stable code, and make nothing.
    const bad: Array<[Record<string, unknown>, number, string]> = [
      [
        {
          agent: 'bob-bot',
          actions: ['order_coffee'],
          max_per_transaction: 1,
          budget: 1,
          period: 'day',
          expires_at: inOneDay(),
        },
        404,
        'PRINCIPAL_NOT_FOUND',
      ],
      [
        {
          agent: 'alice-bot',
          actions: ['order_coffee'],
          max_per_transaction: 500,
          budget: 100,
          period: 'day',
          expires_at: inOneDay(),
        },
        400,
        'VALIDATION_FAILED',
      ],
      [
        {
          agent: 'alice-bot',
          actions: ['order_coffee'],
          max_per_transaction: 5,
          budget: 10,
          period: 'day',
          expires_at: '2020-01-01T00:00:00Z',
        },
        400,
        'VALIDATION_FAILED',
      ],
      [
        {
          agent: 'alice-bot',
          actions: ['launch_rocket'],
          max_per_transaction: 5,
          budget: 10,
          period: 'day',
          expires_at: inOneDay(),
        },
        400,
        'VALIDATION_FAILED',
      ],
      [
        {
          agent: 'alice-bot',
          actions: ['order_coffee'],
          max_per_transaction: 1.5,
          budget: 10,
          period: 'day',
          expires_at: inOneDay(),
        },
        400,
        'VALIDATION_FAILED',
      ],
      [
        {
          agent: 'alice-bot',
          actions: ['order_coffee'],
          max_per_transaction: 5,
          budget: 10,
          period: 'year',
          expires_at: inOneDay(),
        },
        400,
        'VALIDATION_FAILED',
      ],
    ];
    for (const [body, status, code] of bad) {
      const r = await grant(a, 'alice', body);
      expect(r.statusCode, JSON.stringify(body)).toBe(status);
      expect(r.json()).toMatchObject({ code });
    }
    expect(
      (await a.http.inject({ method: 'GET', url: '/api/v1/mandates', headers: person('alice') })).json<{
        data: unknown[];
      }>().data,
    ).toHaveLength(1);

    // The person revokes it; the audit trail has the grant and the revocation, by her.
    const revoked = await a.http.inject({
      method: 'POST',
      url: `/api/v1/mandates/${m.id}/revoke`,
      headers: person('alice'),
      payload: {},
    });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json()).toMatchObject({ mandate: { status: 'REVOKED', revoked_by: 'user:alice' } });
    expect((await auditOf(a, 'mandate', m.id)).map((e) => [e.action, e.actor])).toEqual([
      ['mandate.granted', 'user:alice'],
      ['mandate.revoked', 'user:alice'],
    ]);
  });
});

describe('an agent spending under its mandate', () => {
  it('runs what it covers at once, holds the rest, spends the budget, stops the moment it is revoked', async () => {
    const gateway = new SimulatedGateway();
    app = (await startTestApp(STRICT, { gateway })).app;
    app.start();
    const a = app;
    const bot = bearer(await agentKey(a, 'carol-bot', 'carol'));
    const m = (
      await grant(a, 'carol', {
        agent: 'carol-bot',
        actions: ['order_coffee'],
        max_per_transaction: 3_500,
        budget: 7_000,
        period: 'day',
        expires_at: inOneDay(),
      })
    ).json<{ mandate: MandateView }>().mandate;

    // Within it: paid at once, no confirmation. The audit names the person, the agent and the mandate.
    const first = await orderAs(a, bot, 'c1');
    expect(first.statusCode, first.body).toBe(201);
    const firstId = first.json<{ order: { id: string } }>().order.id;
    const created = (await auditOf(a, 'order', firstId)).find((e) => e.action === 'order.created');
    expect(created?.actor).toBe(`agent:carol-bot for user:carol under mandate:${m.id}`);
    expect(created?.after).toMatchObject({ mandate: m.id });
    expect((await orderAs(a, bot, 'c2')).statusCode).toBe(201);
    expect(gateway.groundTruth.filter((e) => e.type === 'capture')).toHaveLength(2);

    // The budget (7,000) has 600 left: the third waits for carol, saying why.
    const third = await orderAs(a, bot, 'c3');
    expect(third.statusCode).toBe(202);
    expect(third.json()).toMatchObject({ order: { status: 'AWAITING_CONFIRMATION' } });
    const view = await a.http.inject({ method: 'GET', url: `/api/v1/mandates/${m.id}`, headers: person('carol') });
    expect(view.json()).toMatchObject({ mandate: { spent: 6_400, remaining: 600 } });
    // Over the per-transaction maximum (two lattes): held too.
    const two = await a.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: bot,
      payload: { drink: 'latte', size: 'small', quantity: 2 },
    });
    expect(two.statusCode).toBe(202);
    // The person's own requests are hers to confirm: a mandate is for her agent only.
    expect((await orderAs(a, person('carol'), 'own')).statusCode).toBe(202);
    // An action the mandate does not cover is held: a top-up.
    const topUp = await a.http.inject({
      method: 'POST',
      url: '/api/v1/wallet/top-ups',
      headers: bot,
      payload: { amount: 1_000 },
    });
    expect(topUp.statusCode).toBe(202);
    expect(topUp.json<{ held: { reason: string } }>().held.reason).toMatch(/does not cover wallet_top_up/);
    expect(gateway.groundTruth.filter((e) => e.type === 'capture')).toHaveLength(2);

    // A new mandate, then revoked: the very next order is held.
    const next = (
      await grant(a, 'carol', {
        agent: 'carol-bot',
        actions: ['order_coffee'],
        max_per_transaction: 3_500,
        budget: 100_000,
        period: 'month',
        expires_at: inOneDay(),
      })
    ).json<{ mandate: MandateView }>().mandate;
    expect((await orderAs(a, bot, 'c4')).statusCode).toBe(201);
    await a.http.inject({
      method: 'POST',
      url: `/api/v1/mandates/${next.id}/revoke`,
      headers: person('carol'),
      payload: {},
    });
    expect((await orderAs(a, bot, 'c5')).statusCode).toBe(202);
    expect(gateway.groundTruth.filter((e) => e.type === 'capture')).toHaveLength(3);
  });

  it('covers a recharge to the named carrier, never once its stored terms are changed behind the service', async () => {
    const carriers = new SimulatedCarriers();
    const dbPath = `${process.env.TMPDIR ?? '/tmp'}/mandate-${Date.now()}-${Math.random().toString(36).slice(2)}.db`;
    app = (
      await startTestApp(
        { ...rechargeConfig(['sim-a']), ...STRICT, trusted_actions: ['wallet_top_up'] },
        {
          gateway: new SimulatedGateway(),
          carriers,
          rechargeChannels: simulatedChannels(carriers, { 'sim-a': quick }),
        },
        dbPath,
      )
    ).app;
    app.start();
    const a = app;
    const bot = bearer(await agentKey(a, 'dan-bot', 'dan'));
    expect(
      (
        await a.http.inject({
          method: 'POST',
          url: '/api/v1/wallet/top-ups',
          headers: person('dan'),
          payload: { amount: 50_000 },
        })
      ).statusCode,
    ).toBe(201);
    const m = (
      await grant(a, 'dan', {
        agent: 'dan-bot',
        actions: ['recharge_phone'],
        payees: ['china_mobile'],
        max_per_transaction: 5_000,
        budget: 10_000,
        period: 'day',
        expires_at: inOneDay(),
      })
    ).json<{ mandate: MandateView }>().mandate;
    const recharge = (phone: string, amount: number) =>
      a.http.inject({ method: 'POST', url: '/api/v1/recharges', headers: bot, payload: { phone, amount } });
    // China Mobile, within the maximum: runs at once.
    const ran = await recharge('13800138000', 5_000);
    expect(ran.statusCode, ran.body).toBe(201);
    // China Unicom is not among the payees: held.
    const unicom = await recharge('13000000001', 5_000);
    expect(unicom.statusCode).toBe(202);
    expect(unicom.json<{ held: { reason: string } }>().held.reason).toMatch(/does not cover paying china_unicom/);

    // Someone with the database file raises the budget and the maximum: the signature no longer
    // matches the terms, so the mandate covers nothing.
    const raw = new SqliteDatabase(dbPath);
    raw.prepare('update mandates set budget = 10000000, max_per_transaction = 1000000 where id = ?').run(m.id);
    raw.close();
    const tampered = await recharge('13800138000', 5_000);
    expect(tampered.statusCode).toBe(202);
    expect(tampered.json<{ held: { reason: string } }>().held.reason).toMatch(/does not match its signature/);
    expect(carriers.groundTruth.length).toBeLessThanOrEqual(1);
  });

  it('an agent that keeps asking outside its mandate gets its key blocked; its person is not', async () => {
    app = (
      await startTestApp({
        ...STRICT,
        security: { block: { enabled: true, threshold: 3, window_seconds: 60, duration_seconds: 600 } },
        rate_limit: { enabled: false },
      })
    ).app;
    const a = app;
    const bot = bearer(await agentKey(a, 'eve-bot', 'eve'));
    await grant(a, 'eve', {
      agent: 'eve-bot',
      actions: ['order_coffee'],
      max_per_transaction: 100,
      budget: 1_000,
      period: 'day',
      expires_at: inOneDay(),
    });
    const answers: number[] = [];
    for (let i = 0; i < 6; i++) answers.push((await orderAs(a, bot, `e${i}`)).statusCode);
    // Held three times (counted), then the fourth violation blocks the key.
    expect(answers.slice(0, 4)).toEqual([202, 202, 202, 202]);
    expect(answers.slice(4)).toEqual([403, 403]);
    const blocked = await orderAs(a, bot, 'e9');
    expect(blocked.json()).toMatchObject({ code: 'SOURCE_BLOCKED' });
    // Eve's own key still works (the block is on the agent's credential, not the address).
    expect((await orderAs(a, person('eve'), 'own')).statusCode).toBe(202);
    const blocks = await a.http.inject({ method: 'GET', url: '/api/v1/admin/blocks' });
    expect(blocks.json<{ data: Array<{ source: string; reason: string }> }>().data[0]?.source).toMatch(/^credential:/);
  });
});

describe.each(ENGINES)('the mandate budget under concurrency on %s', (engine) => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('100 concurrent orders against a budget for 10: exactly 10 paid at once, 90 held, 10 captures', async () => {
    const gateway = new SimulatedGateway();
    cluster = await startCluster(engine, { log: { level: 'silent' }, ...STRICT }, () => ({ gateway }));
    for (const c of cluster.apps) c.start();
    const c = cluster;
    const a0 = c.apps[0] as App;
    const bot = bearer(await agentKey(a0, 'fay-bot', 'fay'));
    const made = await grant(a0, 'fay', {
      agent: 'fay-bot',
      actions: ['order_coffee'],
      max_per_transaction: 3_200,
      budget: 32_000,
      period: 'total',
      expires_at: inOneDay(),
    });
    expect(made.statusCode, made.body).toBe(201);
    const id = made.json<{ mandate: MandateView }>().mandate.id;
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => orderAs(c.at(i), bot, `race-${i}`)));
    const statuses = answers.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 202)).toHaveLength(90);
    const view = await a0.http.inject({ method: 'GET', url: `/api/v1/mandates/${id}`, headers: person('fay') });
    expect(view.json()).toMatchObject({ mandate: { spent: 32_000, remaining: 0 } });
    // Each paid order was captured once; nothing else was.
    for (let i = 0; i < 100 && gateway.groundTruth.filter((e) => e.type === 'capture').length < 10; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(gateway.groundTruth.filter((e) => e.type === 'capture')).toHaveLength(10);
    expect((await auditOf(a0, 'mandate', id)).filter((e) => e.action === 'mandate.spent')).toHaveLength(10);
  });
});

describe.each(ENGINES)('a mandate’s budget comes back when what it paid for fails, on %s', (engine) => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('a declined payment and a failed recharge give it back, exactly once however often they end', async () => {
    // The payer can afford the top-up and one latte: the second latte is declined.
    const gateway = new SimulatedGateway({ startingBalance: 5_000 + 3_200 });
    const carriers = new SimulatedCarriers();
    // The only channel refuses every recharge: it ends FAILED, its money released to the wallet.
    const refusing = { chaos: { latencyMs: { min: 1, max: 3 }, failureRate: 1 } };
    cluster = await startCluster(
      engine,
      { log: { level: 'silent' }, ...rechargeConfig(['sim-a']), ...STRICT, trusted_actions: ['wallet_top_up'] },
      () => ({ gateway, carriers, rechargeChannels: simulatedChannels(carriers, { 'sim-a': refusing }) }),
    );
    for (const c of cluster.apps) c.start();
    const c = cluster;
    const a0 = c.apps[0] as App;
    const bot = bearer(await agentKey(a0, 'gil-bot', 'gil'));
    const topUp = await a0.http.inject({
      method: 'POST',
      url: '/api/v1/wallet/top-ups',
      headers: person('gil'),
      payload: { amount: 5_000 },
    });
    expect(topUp.statusCode, topUp.body).toBe(201);
    const made = await grant(a0, 'gil', {
      agent: 'gil-bot',
      actions: ['order_coffee', 'recharge_phone'],
      max_per_transaction: 5_000,
      budget: 20_000,
      period: 'total',
      expires_at: inOneDay(),
    });
    expect(made.statusCode, made.body).toBe(201);
    const id = made.json<{ mandate: MandateView }>().mandate.id;
    const spent = async (): Promise<number> =>
      (await a0.http.inject({ method: 'GET', url: `/api/v1/mandates/${id}`, headers: person('gil') })).json<{
        mandate: MandateView;
      }>().mandate.spent;
    const settled = async <T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> => {
      for (let i = 0; i < 200; i++) {
        const v = await read();
        if (done(v)) return v;
        await new Promise((r) => setTimeout(r, 20));
      }
      return read();
    };
    const orderStatus = (orderId: string) => async (): Promise<string> =>
      (await a0.http.inject({ method: 'GET', url: `/api/v1/orders/${orderId}`, headers: person('gil') })).json<{
        order: { status: string };
      }>().order.status;

    const paid = await orderAs(c.at(0), bot, 'g1');
    expect(paid.statusCode, paid.body).toBe(201);
    expect(await spent()).toBe(3_200);

    // Declined: the order fails, and the 3,200 it took from the budget is given back.
    const declined = await orderAs(c.at(1), bot, 'g2');
    const declinedId = declined.json<{ order: { id: string } }>().order.id;
    expect(await settled(orderStatus(declinedId), (s) => s === 'FAILED')).toBe('FAILED');
    expect(await spent()).toBe(3_200);

    // A recharge from the wallet, under the mandate, that no channel can make: FAILED (422), given back.
    const recharge = await c.at(1).http.inject({
      method: 'POST',
      url: '/api/v1/recharges',
      headers: bot,
      payload: { phone: '13800138000', amount: 5_000 },
    });
    expect(recharge.statusCode, recharge.body).toBe(422);
    const rechargeId = recharge.json<{ recharge: { id: string } }>().recharge.id;
    const rechargeStatus = async (): Promise<string> =>
      (await a0.http.inject({ method: 'GET', url: `/api/v1/recharges/${rechargeId}`, headers: person('gil') })).json<{
        recharge: { status: string };
      }>().recharge.status;
    expect(await settled(rechargeStatus, (s) => s === 'FAILED')).toBe('FAILED');
    expect(await settled(spent, (s) => s === 3_200)).toBe(3_200);

    // Whatever else ends them again, from every instance at once, gives nothing more back.
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        tx(c.at(i).deps.uow, { actor: 'system:test', now: Date.now(), requestId: null }, (_r, changes) => {
          changes.endedUnpaid(ADMIN.tenantId, i % 2 === 0 ? declinedId : rechargeId);
          return Promise.resolve();
        }),
      ),
    );
    expect(await spent()).toBe(3_200);
    const given = (await auditOf(a0, 'mandate', id)).filter((e) => e.action === 'mandate.given_back');
    expect(given.map((e) => (e.after as { for: string }).for).sort()).toEqual([declinedId, rechargeId].sort());
    expect(given.map((e) => (e.after as { amount: number }).amount)).toEqual([3_200, 5_000]);
  });
});
