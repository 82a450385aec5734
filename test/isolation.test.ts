import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentReply } from '../src/application/agent/agent-api.js';
import type { Caller } from '../src/application/kernel/caller.js';
import type { App } from '../src/composition/create-app.js';
import { can, type Role } from '../src/domain/auth/permissions.js';
import type { LlmProvider, LlmReply } from '../src/ports/llm-provider.js';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { quick, rechargeConfig, simulatedChannels } from './support/recharge-harness.js';
import { adminKeyOf, keyOf, startTestApp } from './support/test-app.js';

/**
 * Person A (alice, tenant "default") gets one of everything. Then person B of the same tenant,
 * an agent acting for B, and the admin, operator and users of a second tenant (one of them also
 * called "alice") try every route that takes an id with A's ids, every list, every state change
 * and the agent — by words and by a model's tool calls. Every answer must be the one a
 * well-formed id that never existed gets, every list must hold none of A's ids, and nothing of
 * A's may change. A's own tenant's operator does see and act.
 */

/** A model that calls whatever tool the test sets next (the agent's LLM path without a network). */
class ScriptedModel implements LlmProvider {
  readonly model = 'scripted';
  next: { name: string; args: Record<string, unknown> } | undefined;
  complete(): Promise<LlmReply> {
    const call = this.next;
    return Promise.resolve(
      call === undefined
        ? { ok: true, toolCalls: [], text: 'nothing to do' }
        : {
            ok: true,
            toolCalls: [{ id: 'call_1', name: call.name, arguments: JSON.stringify(call.args) }],
            text: null,
          },
    );
  }
}

interface Prober {
  readonly name: string;
  /** The role the request runs as (what the permission table says it may do). */
  readonly role: Role;
  readonly headers: Record<string, string>;
}

/** Everything alice has, by kind. */
interface AliceIds {
  paid: string;
  partlyRefunded: string;
  waiting: string;
  waitingToo: string;
  refund: string;
  /** A refund the gateway declined, and the review flag it raised. */
  failedRefund: string;
  flag: string;
  topUp: string;
  recharge: string;
  batchRecharges: string[];
  batch: string;
  session: string;
  /** A recharge the policy held for her, and the digest her confirmation names. */
  held: string;
  heldDigest: string;
  mandate: string;
  key: string;
  /** A webhook endpoint of her tenant (tenant-scoped: her tenant's admin made it), and one of its deliveries. */
  webhook: string;
  delivery: string;
}

const model = new ScriptedModel();
const gateway = new SimulatedGateway();
const carriers = new SimulatedCarriers();
let app: App;
const A = {} as AliceIds;
const probers: Prober[] = [];
let operator: Record<string, string>;

const json = { 'content-type': 'application/json' };
const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

async function as(
  who: Record<string, string>,
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  payload?: unknown,
): Promise<LightMyRequestResponse> {
  return app.http.inject({
    method,
    url,
    headers: { ...who, ...(payload === undefined ? {} : json) },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  });
}

/** A well-formed id of the same kind that was never minted: what "does not exist" looks like. */
function lookalike(id: string): string {
  const prefix = /^([a-z]+)_/.exec(id)?.[1];
  if (prefix !== undefined) return app.deps.ids.next(prefix);
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return Array.from(id, () => alphabet[Math.floor(Math.random() * 32)]).join('');
}

/** The answer with the id it names written as <id>, and without its request id: what must match. */
function shape(res: LightMyRequestResponse, id: string): { status: number; type: string | undefined; body: unknown } {
  const text = res.body.split(id).join('<id>');
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    body = text;
  }
  if (body !== null && typeof body === 'object') {
    delete (body as Record<string, unknown>).request_id;
    delete (body as Record<string, unknown>).session_id;
  }
  return { status: res.statusCode, type: res.headers['content-type'] as string | undefined, body };
}

/** Every id alice has, for "this answer mentions none of them". */
const allIds = (): string[] => [
  A.paid,
  A.partlyRefunded,
  A.waiting,
  A.waitingToo,
  A.refund,
  A.failedRefund,
  A.flag,
  A.topUp,
  A.recharge,
  ...A.batchRecharges,
  A.batch,
  A.session,
  A.held,
  A.key,
  A.mandate,
  A.webhook,
  A.delivery,
];

/** Which of alice's ids each route with an id takes; a route missing here fails the coverage test. */
const idsFor = (url: string): string[] | undefined =>
  ({
    '/api/v1/orders/:id': [A.paid, A.partlyRefunded, A.waiting],
    '/api/v1/orders/:id/audit': [A.paid, A.waiting],
    '/api/v1/orders/:id/refunds': [A.partlyRefunded],
    '/api/v1/refunds/:id': [A.refund],
    '/api/v1/refunds/:id/retry': [A.failedRefund],
    '/api/v1/refunds/:id/settle-outside': [A.failedRefund],
    '/api/v1/review-flags/:id': [A.flag],
    '/api/v1/review-flags/:id/resolve': [A.flag],
    '/api/v1/review-flags/:id/actions': [A.flag],
    '/api/v1/wallet/top-ups/:id': [A.topUp],
    '/api/v1/recharges/:id': [A.recharge, ...A.batchRecharges],
    '/api/v1/batches/:id': [A.batch],
    '/api/v1/batches/:id/results': [A.batch],
    '/api/v1/batches/:id/events': [A.batch],
    '/api/v1/orders/:id/confirm': [A.waiting, A.waitingToo],
    '/api/v1/orders/:id/cancel': [A.waiting, A.waitingToo],
    '/api/v1/orders/:id/refund': [A.paid, A.partlyRefunded],
    '/api/v1/agent/sessions/:id/confirm': [A.session],
    '/api/v1/confirmations/:id': [A.held],
    '/api/v1/confirmations/:id/reject': [A.held],
    '/api/v1/admin/keys/:id': [A.key],
    '/api/v1/mandates/:id': [A.mandate],
    '/api/v1/mandates/:id/revoke': [A.mandate],
    '/api/v1/webhooks/:id': [A.webhook],
    '/api/v1/webhooks/:id/deliveries': [A.webhook],
    '/api/v1/webhooks/:id/deliveries/:delivery/redeliver': [A.webhook],
  })[url];

/**
 * Routes with a parameter that names no person's or tenant's resource: the signed callbacks name
 * a channel, and source blocks (an address or a credential hash) belong to the service itself.
 * The embedded simulator's pay page is the payer's side of a gateway, opened by the link handed
 * to the payer (a MAC under the installation's secret; walked trade numbers answer 404, see
 * test/qr-payments.test.ts), not by anyone's id.
 */
const NOT_A_RESOURCE = new Set([
  'POST /api/v1/callbacks/:gateway',
  'POST /api/v1/recharge-callbacks/:channel',
  'GET /_sim/pay/:trade_no',
  'POST /_sim/pay/:trade_no',
  'DELETE /api/v1/admin/blocks/:id',
  // Reconciliations are the deployment's (statements span its tenants): only its admins reach them.
  'GET /api/v1/reconciliations/:id',
  'POST /api/v1/reconciliation-repairs/:id/apply',
  // A person's id is their name within the tenant (another tenant may have its own alice), not an
  // unguessable id: test/people-admin.test.ts shows another tenant's person is not found.
  'PATCH /api/v1/admin/users/:id',
]);

/** What alice has, as the database and the outside world hold it: compared before and after the probes. */
async function snapshot(): Promise<unknown> {
  const alice: Caller = { tenantId: 'default', userId: 'alice', actor: 'user:alice', requestId: null, role: 'user' };
  const s = app.services;
  const orders = [A.paid, A.partlyRefunded, A.waiting, A.waitingToo];
  return {
    orders: await Promise.all(orders.map((id) => s.orders.get(alice, id))),
    audit: await Promise.all(orders.map((id) => app.deps.uow.read.audit.list('default', 'order', id))),
    refunds: await Promise.all(orders.map((id) => s.refunds.listForOrder(alice, id))),
    wallet: await s.wallet.balance(alice),
    topUp: await s.wallet.topUpOf(alice, A.topUp),
    recharges: await Promise.all([A.recharge, ...A.batchRecharges].map((id) => s.recharge.get(alice, id))),
    batch: await s.batch.get(alice, A.batch),
    session: await app.deps.uow.read.sessions.get('default', A.session),
    held: await app.deps.uow.read.held.get('default', A.held),
    mandate: await app.deps.uow.read.mandates.get('default', A.mandate),
    webhook: await app.deps.uow.read.webhooks.getSubscription('default', A.webhook),
    ledger: await s.ledger.balances('default'),
    flags: await s.ledger.reviewFlags('default', false, 100),
    keys: (await s.identity.listKeys({ ...alice, userId: 'admin', actor: 'admin:admin', role: 'admin' })).ok,
    charged: gateway.groundTruth.length,
    toppedUp: carriers.groundTruth.length,
  };
}

beforeAll(async () => {
  const config = rechargeConfig(['sim-a']);
  app = (
    await startTestApp(
      {
        ...config,
        // Medium lattes (32 yuan) wait for the person; small ones (28) are paid at once.
        require_confirmation_above: 3000,
        rate_limit: { enabled: false },
        llm: { mode: 'grammar-then-llm' },
      },
      { gateway, carriers, rechargeChannels: simulatedChannels(carriers, { 'sim-a': quick }), llm: model },
    )
  ).app;
  await app.http.ready();
  app.start();
  const alice = bearer(await keyOf(app, 'alice'));

  const order = async (size: string): Promise<string> => {
    const r = await as(alice, 'POST', '/api/v1/order', { drink: 'latte', size });
    expect(r.statusCode, r.body).toBeLessThan(300);
    return r.json<{ order: { id: string } }>().order.id;
  };
  A.paid = await order('small');
  A.partlyRefunded = await order('small');
  A.waiting = await order('medium');
  A.waitingToo = await order('medium');
  const refund = await app.http.inject({
    method: 'POST',
    url: `/api/v1/orders/${A.partlyRefunded}/refund`,
    headers: { ...alice, ...json, 'idempotency-key': 'alice-refund' },
    payload: { amount: 1000 },
  });
  expect(refund.statusCode, refund.body).toBe(201);
  A.refund = refund.json<{ refund: { id: string } }>().refund.id;
  // A refund the gateway declined: FAILED, with the review flag it raised.
  gateway.declineRefunds(1);
  const declined = await app.http.inject({
    method: 'POST',
    url: `/api/v1/orders/${A.partlyRefunded}/refund`,
    headers: { ...alice, ...json },
    payload: { amount: 500 },
  });
  expect(declined.statusCode, declined.body).toBe(422);
  A.failedRefund = declined.json<{ refund: { id: string } }>().refund.id;
  A.flag =
    (
      await app.services.flags.list(
        { tenantId: 'default', userId: 'admin', actor: 'admin:admin', requestId: null, role: 'admin' },
        { resourceId: A.failedRefund, limit: 1 },
      )
    )[0]?.id ?? 'missing';

  // Above require_confirmation_above: held, then confirmed by alice naming what she was shown.
  const heldTopUp = await as(alice, 'POST', '/api/v1/wallet/top-ups', { amount: 20_000 });
  expect(heldTopUp.statusCode, heldTopUp.body).toBe(202);
  const topUpHold = heldTopUp.json<{ held: { confirm: { path: string; body: unknown } } }>().held.confirm;
  const topUp = await as(alice, 'POST', topUpHold.path, topUpHold.body);
  expect(topUp.statusCode, topUp.body).toBe(200);
  A.topUp = topUp.json<{ top_up: { id: string } }>().top_up.id;
  const recharge = await as(alice, 'POST', '/api/v1/recharges', { phone: '13800138000', amount: 2000 });
  expect(recharge.statusCode, recharge.body).toBe(201);
  A.recharge = recharge.json<{ recharge: { id: string } }>().recharge.id;

  const batch = await app.http.inject({
    method: 'POST',
    url: '/api/v1/recharges/batch',
    headers: { ...alice, 'content-type': 'text/csv' },
    payload: 'phone,amount\n13800000001,1000\n13800000002,1000\n',
  });
  expect(batch.statusCode, batch.body).toBe(202);
  A.batch = batch.json<{ batch: { id: string } }>().batch.id;
  for (let i = 0; i < 200; i++) {
    const v = await as(alice, 'GET', `/api/v1/batches/${A.batch}`);
    if (v.json<{ batch: { done: boolean } }>().batch.done) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const results = await as(alice, 'GET', `/api/v1/batches/${A.batch}/results`);
  A.batchRecharges = results.body
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',')[5] ?? '');
  expect(A.batchRecharges).toHaveLength(2);
  expect(A.batchRecharges.every((id) => id.startsWith('rch_'))).toBe(true);

  // An agent conversation whose recharge the policy held for alice (¥50 is above the threshold).
  const asked = await as(alice, 'POST', '/api/v1/agent/messages', { text: '给13800138000充50块话费' });
  expect(asked.json<AgentReply>().outcome).toMatchObject({ kind: 'awaiting_confirmation' });
  A.session = asked.json<AgentReply>().session_id;
  const confirm = (asked.json<AgentReply>().outcome as { confirm: { path: string; body: { digest: string } } }).confirm;
  A.held = confirm.path.split('/').pop()!;
  A.heldDigest = confirm.body.digest;

  const keys = await app.services.identity.listKeys({
    tenantId: 'default',
    userId: 'admin',
    actor: 'admin:admin',
    requestId: null,
    role: 'admin',
  });
  if (!keys.ok) throw new Error(keys.error.message);
  A.key = keys.value.find((k) => k.principal === 'alice')!.id;

  // A mandate alice granted her own agent.
  const alicesAgent = await as(bearer(adminKeyOf(app)), 'POST', '/api/v1/admin/keys', {
    role: 'agent',
    user: 'alices-agent',
    acts_for: 'alice',
  });
  expect(alicesAgent.statusCode, alicesAgent.body).toBe(201);
  const mandate = await as(alice, 'POST', '/api/v1/mandates', {
    agent: 'alices-agent',
    actions: ['order_coffee'],
    max_per_transaction: 3_000,
    budget: 9_000,
    period: 'day',
    expires_at: new Date(Date.now() + 86_400_000).toISOString(),
  });
  expect(mandate.statusCode, mandate.body).toBe(201);
  A.mandate = mandate.json<{ mandate: { id: string } }>().mandate.id;

  // A webhook endpoint of her tenant (nothing listens there: its deliveries keep retrying), and a delivery of it.
  const webhook = await as(bearer(adminKeyOf(app)), 'POST', '/api/v1/webhooks', {
    url: 'http://127.0.0.1:9/hook',
    events: ['order.created'],
  });
  expect(webhook.statusCode, webhook.body).toBe(201);
  A.webhook = webhook.json<{ webhook: { id: string } }>().webhook.id;
  await order('small');
  for (let i = 0; i < 200 && A.delivery === undefined; i++) {
    const log = await as(bearer(adminKeyOf(app)), 'GET', `/api/v1/webhooks/${A.webhook}/deliveries`);
    A.delivery = log.json<{ data: Array<{ id: string }> }>().data[0]?.id as string;
    if (A.delivery === undefined) await new Promise((r) => setTimeout(r, 25));
  }
  expect(A.delivery).toMatch(/^dlv_/);

  // Bob, and an agent acting for him.
  probers.push({ name: 'bob, a person of the same tenant', role: 'user', headers: bearer(await keyOf(app, 'bob')) });
  const agent = await as(bearer(adminKeyOf(app)), 'POST', '/api/v1/admin/keys', {
    role: 'agent',
    user: 'bobs-agent',
    acts_for: 'bob',
  });
  expect(agent.statusCode, agent.body).toBe(201);
  probers.push({ name: "bob's agent", role: 'agent', headers: bearer(agent.json<{ key: string }>().key) });

  // A second tenant, made as a first start makes one (insert first, audited), with its own people.
  const t2Admin = await app.services.identity.bootstrap('t2');
  if (t2Admin === undefined) throw new Error('tenant t2 existed already');
  const t2 = async (role: Role, user: string): Promise<string> => {
    const r = await as(bearer(t2Admin), 'POST', '/api/v1/admin/keys', { role, user });
    expect(r.statusCode, r.body).toBe(201);
    return r.json<{ key: string }>().key;
  };
  const t2Operator = await t2('operator', 't2-ops');
  probers.push(
    { name: "tenant t2's admin", role: 'admin', headers: bearer(t2Admin) },
    { name: "tenant t2's operator", role: 'operator', headers: bearer(t2Operator) },
    {
      name: "tenant t2's operator acting for 'alice'",
      role: 'operator',
      headers: { ...bearer(t2Operator), 'x-act-for': 'alice' },
    },
    { name: "tenant t2's own alice", role: 'user', headers: bearer(await t2('user', 'alice')) },
    { name: "tenant t2's viewer", role: 'viewer', headers: bearer(await t2('viewer', 't2-viewer')) },
  );
  operator = bearer(await keyOf(app, 'ops', 'operator'));
}, 60_000);

afterAll(async () => {
  await app.close();
});

describe('another person or tenant: every id is as if it never existed', () => {
  it('covers every route with an id parameter (a new one must say which of the ids it takes)', () => {
    const withParams = app.http.routeTable.filter((r) => r.url.includes(':'));
    expect(withParams.length).toBeGreaterThan(10);
    for (const r of withParams) {
      if (NOT_A_RESOURCE.has(`${r.method} ${r.url}`)) continue;
      expect(idsFor(r.url), `${r.method} ${r.url} has no ids in this test`).toBeDefined();
    }
  });

  it('ids are unguessable: time-sortable with 50 random bits, or 80 random bits for keys', () => {
    for (const id of allIds().filter((i) => i !== A.key)) expect(id).toMatch(/^[a-z]{3}_[0-9A-Z]{24}$/);
    expect(A.key).toMatch(/^[a-z2-7]{16}$/);
  });

  it('answers every route with an id as for an id that never existed, and changes nothing', async () => {
    const before = await snapshot();
    const answered: string[] = [];
    for (const route of app.http.routeTable.filter((r) => r.url.includes(':'))) {
      if (NOT_A_RESOURCE.has(`${route.method} ${route.url}`)) continue;
      const method = route.method as 'GET' | 'POST' | 'DELETE';
      const body = method === 'POST' ? {} : undefined;
      for (const p of probers) {
        for (const id of idsFor(route.url) ?? []) {
          const url = (x: string) => route.url.replace(':id', x).replace(':delivery', A.delivery);
          const theirs = await as(p.headers, method, url(id), body);
          const never = lookalike(id);
          const none = await as(p.headers, method, url(never), body);
          const label = `${method} ${url(id)} as ${p.name}`;
          const access = route.access;
          const permitted = access !== 'public' && access !== 'public-on-loopback' && can(p.role, access);
          expect(theirs.statusCode, `${label}: ${theirs.body}`).toBe(permitted ? 404 : 403);
          expect(shape(theirs, id), label).toEqual(shape(none, never));
          answered.push(label);
        }
      }
    }
    expect(answered.length).toBeGreaterThan(probers.length * 15);
    expect(await snapshot()).toEqual(before);
  });

  it('a replayed Idempotency-Key of alice, on her own URL, replays nothing of hers to another caller', async () => {
    for (const p of probers) {
      const res = await app.http.inject({
        method: 'POST',
        url: `/api/v1/orders/${A.partlyRefunded}/refund`,
        headers: { ...p.headers, ...json, 'idempotency-key': 'alice-refund' },
        payload: { amount: 1000 },
      });
      expect(res.headers['idempotent-replayed'], p.name).toBeUndefined();
      expect(res.body).not.toContain(A.refund);
      expect([403, 404]).toContain(res.statusCode);
    }
  });

  it('POST /api/v1/payments naming her order: the same 404 as a made-up order', async () => {
    const before = await snapshot();
    for (const p of probers) {
      const pay = (id: string) =>
        as(p.headers, 'POST', '/api/v1/payments', {
          order_id: id,
          amount: 3200,
          currency: 'CNY',
          payment_method: 'wallet',
        });
      const theirs = await pay(A.waiting);
      const never = lookalike(A.waiting);
      expect(theirs.statusCode, p.name).toBe(can(p.role, 'payments.submit') ? 404 : 403);
      expect(shape(theirs, A.waiting), p.name).toEqual(shape(await pay(never), never));
    }
    expect(await snapshot()).toEqual(before);
  });

  it('no list holds any of her ids, whatever the filter', async () => {
    const lists = app.http.routeTable.filter((r) => r.method === 'GET' && !r.url.includes(':'));
    expect(lists.map((r) => r.url)).toContain('/api/v1/orders');
    const urls = [
      ...lists.map((r) => r.url),
      '/api/v1/orders?user_id=alice&limit=200',
      '/api/v1/orders?status=COMPLETED,AWAITING_PAYMENT,REFUNDED,PAID&limit=200',
      `/api/v1/orders?cursor=${A.waitingToo}ZZZ`,
      '/api/v1/review-flags?open=false',
    ];
    for (const p of probers) {
      for (const url of urls) {
        const res = await as(p.headers, 'GET', url);
        expect(res.statusCode, `${url} as ${p.name}: ${res.body}`).toBeLessThan(500);
        for (const id of allIds()) expect(res.body, `${url} as ${p.name}`).not.toContain(id);
      }
    }
    // Her wallet is nobody else's: each of them sees a wallet of their own, empty.
    for (const p of probers.filter((q) => can(q.role, 'wallet.read'))) {
      const wallet = await as(p.headers, 'GET', '/api/v1/wallet');
      expect(wallet.json<{ wallet: { balance: number } }>().wallet.balance, p.name).toBe(0);
    }
    // For tenant t2, alice's accounts do not exist either: the ledger holds none of her wallet.
    const t2Ledger = await as(
      probers.find((p) => p.name === "tenant t2's admin")!.headers,
      'GET',
      '/api/v1/ledger/balances',
    );
    expect(t2Ledger.body).not.toContain('wallet:alice');
  });
});

describe("GET /api/v1/audit: every resource's trail, to her tenant only", () => {
  /** Each kind of thing alice has, the audit type it is written as, and an action its trail must hold. */
  const resources = (): Array<[string, string, RegExp]> => [
    ['order', A.paid, /^order\./],
    ['refund', A.refund, /^refund\./],
    ['top_up', A.topUp, /^top_up\./],
    ['recharge', A.recharge, /^recharge\./],
    ['batch', A.batch, /^batch\.accepted$/],
    ['api_key', A.key, /^api_key\.created$/],
    ['mandate', A.mandate, /^mandate\.granted$/],
    ['held_action', A.held, /^held_action\./],
  ];

  it("shows her tenant's operator and viewer each resource's rows, oldest first, a page at a time", async () => {
    const viewer = bearer(await keyOf(app, 'audit-viewer', 'viewer'));
    for (const who of [operator, viewer]) {
      for (const [type, id, action] of resources()) {
        const res = await as(who, 'GET', `/api/v1/audit?resource=${type}:${id}`);
        expect(res.statusCode, `${type} ${res.body}`).toBe(200);
        const rows = res.json<{
          data: Array<{ id: string; seq: number; resource_type: string; resource_id: string; action: string }>;
        }>().data;
        expect(rows.length, type).toBeGreaterThan(0);
        expect(
          rows.every((r) => r.resource_type === type && r.resource_id === id),
          type,
        ).toBe(true);
        expect(
          rows.some((r) => action.test(r.action)),
          `${type}: ${rows.map((r) => r.action).join(', ')}`,
        ).toBe(true);
        // Oldest first, each in its place in the tenant's chain.
        const seqs = rows.map((r) => r.seq);
        expect(seqs, type).toEqual([...seqs].sort((a, b) => a - b));
        // The other way to name it answers the same rows.
        const split = await as(who, 'GET', `/api/v1/audit?resource_type=${type}&resource_id=${id}`);
        expect(split.json<{ data: unknown[] }>().data).toEqual(rows);
      }
    }
    // A page at a time: the order's rows one by one, then none left.
    const all = (await as(operator, 'GET', `/api/v1/audit?resource=order:${A.paid}`)).json<{
      data: Array<{ id: string }>;
    }>().data;
    expect(all.length).toBeGreaterThan(1);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await as(
        operator,
        'GET',
        `/api/v1/audit?resource=order:${A.paid}&limit=1${cursor === null ? '' : `&cursor=${cursor}`}`,
      );
      const body = page.json<{ data: Array<{ id: string }>; next_cursor: string | null }>();
      seen.push(...body.data.map((r) => r.id));
      cursor = body.next_cursor;
    } while (cursor !== null);
    expect(seen).toEqual(all.map((r) => r.id));
  });

  it('shows nobody else any of her rows: other tenants see empty trails, people and agents are refused', async () => {
    for (const p of probers) {
      for (const [type, id] of resources()) {
        const res = await as(p.headers, 'GET', `/api/v1/audit?resource=${type}:${id}`);
        const label = `${type} as ${p.name}: ${res.body}`;
        if (can(p.role, 'audit.read')) {
          expect(res.statusCode, label).toBe(200);
          expect(res.json<{ data: unknown[] }>().data, label).toEqual([]);
        } else {
          expect(res.statusCode, label).toBe(403);
        }
        expect(res.body, label).not.toContain(id);
      }
    }
  });

  it("keeps what spans the deployment to its home tenant: another tenant's admin is refused", async () => {
    const t2Admin = probers.find((p) => p.name === "tenant t2's admin")?.headers ?? {};
    const home = bearer(adminKeyOf(app));
    const deployment: Array<['GET' | 'POST', string, unknown?]> = [
      ['GET', '/api/v1/reconciliations'],
      ['GET', '/api/v1/reconciliations/rcn_0000000000000000'],
      ['POST', '/api/v1/reconciliations', { source: 'sim', date: '2026-01-01' }],
      ['POST', '/api/v1/reconciliation-repairs/rpr_0000000000000000/apply', {}],
      ['POST', '/api/v1/admin/reload', {}],
    ];
    for (const [method, url, body] of deployment) {
      const refused = await as(t2Admin, method, url, body);
      expect(refused.statusCode, `${method} ${url}: ${refused.body}`).toBe(403);
      const problem = refused.json<{ code: string; detail: string }>();
      expect(problem.code).toBe('FORBIDDEN');
      expect(problem.detail).toContain('spans every tenant of the deployment');
    }
    // The metrics too, from another machine (this machine's scrape needs no credential).
    const remote = { remoteAddress: '10.0.0.7' };
    const metrics = await app.http.inject({ method: 'GET', url: '/metrics', headers: t2Admin, ...remote });
    expect(metrics.statusCode).toBe(403);
    expect((await app.http.inject({ method: 'GET', url: '/metrics', headers: home, ...remote })).statusCode).toBe(200);
    // Who-am-I says so, for the console to show those screens only where they answer.
    expect((await as(t2Admin, 'GET', '/api/v1/auth/me')).json()).toMatchObject({ tenant: 't2', deployment: false });
    expect((await as(home, 'GET', '/api/v1/auth/me')).json()).toMatchObject({ tenant: 'default', deployment: true });
    // The deployment's own admin still reaches them.
    expect((await as(home, 'GET', '/api/v1/reconciliations')).statusCode).toBe(200);
    // (Its reload is let through; this test app has no configuration file to read again.)
    const reload = await as(home, 'POST', '/api/v1/admin/reload', {});
    expect(reload.statusCode, reload.body).not.toBe(403);
  });

  it('refuses a resource named badly with VALIDATION_FAILED', async () => {
    for (const q of [
      '',
      '?resource=order',
      '?resource=nonsense:x',
      `?resource=order:${A.paid}&resource_type=order`,
      '?cursor=abc&resource=order:x',
    ]) {
      const res = await as(operator, 'GET', `/api/v1/audit${q}`);
      expect(res.statusCode, q).toBe(400);
      expect(res.json<{ code: string }>().code, q).toBe('VALIDATION_FAILED');
    }
  });
});

describe('the agent obeys the same wall: words and tool calls', () => {
  /** What to say about an order id, and the tool a model would call for it. */
  const asks = (id: string) => [
    { text: `退款 ${id}`, tool: { name: 'refund', args: { order_id: id } } },
    { text: `退款10元 ${id}`, tool: { name: 'refund', args: { order_id: id, amount: 1000 } } },
    { text: `取消订单 ${id}`, tool: { name: 'cancel_order', args: { order_id: id } } },
    { text: `查询订单 ${id}`, tool: { name: 'query_order', args: { order_id: id } } },
    { text: `支付订单 ${id}`, tool: { name: 'submit_payment', args: { order_id: id } } },
  ];

  const say = async (p: Prober, text: string, sessionId?: string): Promise<LightMyRequestResponse> =>
    as(p.headers, 'POST', '/api/v1/agent/messages', {
      text,
      ...(sessionId === undefined ? {} : { session_id: sessionId }),
    });

  it('refunds, cancels, pays and reads nothing of hers, and answers as for an order that never was', async () => {
    const before = await snapshot();
    const talkers = probers.filter((p) => can(p.role, 'agent.message'));
    expect(talkers.map((p) => p.name)).toContain("bob's agent");
    for (const p of talkers) {
      for (const id of [A.paid, A.partlyRefunded, A.waiting, A.waitingToo]) {
        const never = lookalike(id);
        const mine = asks(id);
        const nobody = asks(never);
        for (const [i, ask] of mine.entries()) {
          // In words, read by the grammar.
          const words = await say(p, ask.text);
          expect(words.json<AgentReply>(), `${ask.text} as ${p.name}`).toMatchObject({
            source: 'grammar',
            intent: { action: ask.tool.name },
            outcome: { kind: 'refused', code: 'ORDER_NOT_FOUND' },
          });
          expect(shape(words, id), `${ask.text} as ${p.name}`).toEqual(shape(await say(p, nobody[i]!.text), never));
          // As a model's tool call (the grammar does not read "嗯…", so the model is asked).
          model.next = ask.tool;
          const called = await say(p, '嗯…你懂的');
          model.next = nobody[i]!.tool;
          const calledNobody = await say(p, '嗯…你懂的');
          model.next = undefined;
          expect(called.json<AgentReply>(), `${ask.tool.name} tool call as ${p.name}`).toMatchObject({
            source: 'llm',
            outcome: { kind: 'refused', code: 'ORDER_NOT_FOUND' },
          });
          expect(shape(called, id)).toEqual(shape(calledNobody, never));
        }
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it('her conversation is not continued, confirmed or even told apart from one that never was', async () => {
    const before = await snapshot();
    for (const p of probers.filter((q) => can(q.role, 'agent.message'))) {
      const never = lookalike(A.session);
      const hers = await say(p, '付吧', A.session);
      const none = await say(p, '付吧', never);
      expect(hers.statusCode).toBe(200);
      const reply = hers.json<AgentReply>();
      expect(reply.session_id).not.toBe(A.session);
      expect(none.json<AgentReply>().session_id).not.toBe(never);
      expect(shape(hers, A.session), p.name).toEqual(shape(none, never));
      expect(reply.outcome).not.toMatchObject({ kind: 'done' });
    }
    expect(await snapshot()).toEqual(before);
  });
});

describe("alice's own tenant's operator", () => {
  it('sees every one of her resources and lists them', async () => {
    for (const route of app.http.routeTable.filter((r) => r.method === 'GET' && r.url.includes(':'))) {
      for (const id of idsFor(route.url) ?? []) {
        const res = await as(operator, 'GET', route.url.replace(':id', id).replace(':delivery', A.delivery));
        // An event stream asked for without Accept: text/event-stream is refused (406) only after
        // the resource was found: one she may not see is a 404 (the probes above).
        const seen = route.url.endsWith('/events') ? 406 : 200;
        expect(res.statusCode, `${route.url} ${id}: ${res.body}`).toBe(seen);
      }
    }
    const list = await as(operator, 'GET', '/api/v1/orders?user_id=alice');
    const ids = list.json<{ data: Array<{ id: string }> }>().data.map((o) => o.id);
    expect(ids).toEqual(expect.arrayContaining([A.paid, A.partlyRefunded, A.waiting, A.waitingToo]));
  });

  it('acts for her: confirms, cancels, refunds, and confirms the recharge held for her (X-Act-For)', async () => {
    const forAlice = { ...operator, 'x-act-for': 'alice' };
    const confirmed = await as(forAlice, 'POST', `/api/v1/orders/${A.waiting}/confirm`, {});
    expect(confirmed.statusCode, confirmed.body).toBe(201);
    expect(confirmed.json<{ order: { status: string } }>().order.status).toBe('COMPLETED');
    const cancelled = await as(operator, 'POST', `/api/v1/orders/${A.waitingToo}/cancel`, {});
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    const refunded = await as(operator, 'POST', `/api/v1/orders/${A.paid}/refund`, {});
    expect(refunded.statusCode, refunded.body).toBe(201);
    const held = await as(forAlice, 'POST', `/api/v1/confirmations/${A.held}`, { digest: A.heldDigest });
    expect(held.statusCode, held.body).toBe(200);
    expect(held.json()).toMatchObject({
      held: { status: 'CONFIRMED', decided_by: 'operator:ops for user:alice' },
      recharge: { status: 'SUCCEEDED' },
    });
    const trail = await as(operator, 'GET', `/api/v1/orders/${A.waiting}/audit`);
    expect(trail.json<{ data: Array<{ actor: string }> }>().data.map((a) => a.actor)).toContain(
      'operator:ops for user:alice',
    );
  });
});

describe('timing', () => {
  it('takes as long for her ids as for ids that never existed (medians, interleaved)', async () => {
    const bob = probers[0]!.headers;
    const median = (xs: number[]): number => xs.sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
    for (const [url, id] of [
      ['/api/v1/orders/:id', A.paid],
      ['/api/v1/orders/:id/audit', A.waiting],
      ['/api/v1/refunds/:id', A.refund],
      ['/api/v1/batches/:id', A.batch],
    ] as const) {
      const hers: number[] = [];
      const never: number[] = [];
      for (let i = 0; i < 300; i++) {
        const mine = i % 2 === 0;
        const started = process.hrtime.bigint();
        await as(bob, 'GET', url.replace(':id', mine ? id : lookalike(id)));
        (mine ? hers : never).push(Number(process.hrtime.bigint() - started));
      }
      // One indexed read either way; generous, so a busy machine does not make it flaky.
      expect(median(hers) / median(never), url).toBeLessThan(1.5);
    }
  });
});
