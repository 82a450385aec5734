import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type CallToolResult, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import type { ChannelProfile } from '../src/simulator/simulated-recharge-channel.js';
import { quick, rechargeConfig, simulatedChannels } from './support/recharge-harness.js';
import { ADMIN, auditOf, grantCoffeeMandate, startTestApp } from './support/test-app.js';

/**
 * The MCP server over Streamable HTTP at /mcp, driven by the official SDK's own Client: tools
 * from the action registry, the person's confirmation through elicitation (accepted: one charge,
 * audited as through the client; declined: nothing charged), idempotent retries, mandates, and
 * the credential every request needs.
 */

let app: App | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await app?.close();
  app = undefined;
});

/** Nothing trusted: without a mandate every money action waits for the person. */
const STRICT = { auto_confirm_order: false, trusted_actions: [] as string[] };

async function agentKey(a: App, agent: string, actsFor: string): Promise<string> {
  const r = await a.services.identity.createKey(ADMIN, { role: 'agent', user: agent, actsFor });
  if (!r.ok) throw new Error(r.error.message);
  return r.value.key;
}

type Answer = 'accept' | 'decline' | 'cancel';

/** An SDK client on /mcp with this key; `answer` set = it declares elicitation and answers so. */
async function connect(
  url: string,
  key: string,
  answer?: Answer,
): Promise<{ client: Client; asked: string[]; transport: StreamableHTTPClientTransport }> {
  const client = new Client(
    { name: 'mcp-test', version: '1.0.0' },
    { capabilities: answer === undefined ? {} : { elicitation: {} } },
  );
  const asked: string[] = [];
  if (answer !== undefined) {
    client.setRequestHandler(ElicitRequestSchema, (req) => {
      asked.push(req.params.message);
      return answer === 'accept' ? { action: 'accept', content: { confirm: true } } : { action: answer };
    });
  }
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', url), {
    requestInit: { headers: { authorization: `Bearer ${key}` } },
  });
  await client.connect(transport);
  clients.push(client);
  return { client, asked, transport };
}

const structured = (r: unknown): Record<string, unknown> =>
  (r as CallToolResult).structuredContent as Record<string, unknown>;

async function start(overrides: Record<string, unknown>, bank = new SimulatedGateway()) {
  const started = await startTestApp(overrides, { gateway: bank });
  app = started.app;
  const url = await app.listen();
  return { a: app, url, bank, logs: started.logs };
}

/** A JSON-RPC message POSTed to /mcp by hand (what the SDK client would send), with these headers. */
function rawPost(url: string, message: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(new URL('/mcp', url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(message),
  });
}

/** An app with one simulated recharge channel (this profile), its workers running, listening. */
async function startRecharging(overrides: Record<string, unknown>, profile: ChannelProfile = quick) {
  const carriers = new SimulatedCarriers();
  const started = await startTestApp(
    { ...rechargeConfig(['sim-a'], { processing_deadline_ms: 20_000 }), ...overrides },
    { gateway: new SimulatedGateway(), carriers, rechargeChannels: simulatedChannels(carriers, { 'sim-a': profile }) },
  );
  app = started.app;
  app.start();
  const url = await app.listen();
  return { a: app, url, carriers };
}

/** Money on the person's wallet, put there through the API with the person's own key. */
async function fund(a: App, user: string, amount: number): Promise<void> {
  const made = await a.services.identity.createKey(ADMIN, { role: 'user', user });
  if (!made.ok) throw new Error(made.error.message);
  const res = await a.http.inject({
    method: 'POST',
    url: '/api/v1/wallet/top-ups',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${made.value.key}` },
    payload: { amount },
  });
  expect(res.statusCode, res.body).toBe(201);
  const balance = await a.services.wallet.balance({ ...ADMIN, userId: user });
  expect(balance.ok && balance.value.balance).toBe(amount);
}

/** Wait (real time) until `probe` holds, or fail after `ms`. */
async function until(probe: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Recharges are not trusted: each waits for the person (top-ups run, so the wallet can be funded). */
const RECHARGE_HELD = { trusted_actions: ['order_coffee', 'submit_payment', 'wallet_top_up'] };

const captures = (bank: SimulatedGateway): number => bank.groundTruth.filter((e) => e.type === 'capture').length;

describe('MCP over Streamable HTTP', () => {
  it('refuses a request without a credential (401); /mcp is in the route table with its permission', async () => {
    const { a, url } = await start(STRICT);
    const res = await rawPost(
      url,
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      },
      {},
    );
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe('UNAUTHENTICATED');
    expect(a.http.routeTable.filter((r) => r.url === '/mcp')).toEqual(
      expect.arrayContaining([
        { method: 'POST', url: '/mcp', access: 'agent.message' },
        { method: 'GET', url: '/mcp', access: 'agent.message' },
      ]),
    );
  }, 60_000);

  it('lists the registry actions as tools with annotations, and the free-text tool', async () => {
    const { a, url } = await start(STRICT);
    const { client } = await connect(url, await agentKey(a, 'alice-bot', 'alice'));
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    for (const name of [
      'order_coffee',
      'recharge_phone',
      'query_order',
      'list_orders',
      'cancel_order',
      'refund',
      'query_balance',
      'top_up_wallet',
      'do_in_words',
    ]) {
      expect(byName.has(name), name).toBe(true);
    }
    expect(byName.get('query_balance')?.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: false });
    expect(byName.get('order_coffee')?.annotations).toMatchObject({ readOnlyHint: false, openWorldHint: true });
    expect(byName.get('refund')?.annotations).toMatchObject({ destructiveHint: true });
    // The registry's zod schema, as JSON Schema.
    expect(byName.get('order_coffee')?.inputSchema).toMatchObject({
      type: 'object',
      required: ['drink', 'size'],
      additionalProperties: false,
    });
    expect(byName.get('recharge_phone')?.description).toMatch(/integer fen/);
  }, 60_000);

  it('a held order: the person accepts in the client → paid once, audited as confirmed through MCP', async () => {
    const { a, url, bank } = await start(STRICT);
    const { client, asked } = await connect(url, await agentKey(a, 'alice-bot', 'alice'), 'accept');
    const r = await client.callTool({ name: 'order_coffee', arguments: { drink: 'latte', size: 'medium' } });
    expect(r.isError, JSON.stringify(r)).toBe(false);
    const s = structured(r);
    expect(s).toMatchObject({
      kind: 'paid',
      order: { status: 'COMPLETED', user_id: 'alice' },
      person: { via: 'mcp-elicitation', answer: 'accepted' },
    });
    // The question states exactly what is paid, to whom, how.
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatch(/¥\d+\.\d\d to merchant/);
    expect(asked[0]).toMatch(/by wallet/);
    expect(captures(bank)).toBe(1);
    const orderId = (s.order as { id: string }).id;
    const trail = await auditOf(a, 'order', orderId);
    const actors = trail.map((t) => t.actor);
    expect(actors).toContain('agent:alice-bot for user:alice');
    expect(actors).toContain('user:alice via mcp-elicitation (agent:alice-bot)');
  }, 60_000);

  it('a held order: the person declines → cancelled, nothing charged', async () => {
    const { a, url, bank } = await start(STRICT);
    const { client } = await connect(url, await agentKey(a, 'alice-bot', 'alice'), 'decline');
    const r = await client.callTool({ name: 'order_coffee', arguments: { drink: 'americano', size: 'large' } });
    expect(structured(r)).toMatchObject({
      kind: 'cancelled',
      order: { status: 'CANCELLED' },
      person: { via: 'mcp-elicitation', answer: 'declined' },
    });
    expect(captures(bank)).toBe(0);
  }, 60_000);

  it('a held top-up: accepted runs it through the confirmation use case; declined rejects the hold', async () => {
    const { a, url } = await start(STRICT);
    const key = await agentKey(a, 'alice-bot', 'alice');
    const yes = await connect(url, key, 'accept');
    const ran = structured(await yes.client.callTool({ name: 'top_up_wallet', arguments: { amount: 5000 } }));
    expect(ran).toMatchObject({
      kind: 'done',
      action: 'wallet_top_up',
      result: { held: { status: 'CONFIRMED', decided_by: 'user:alice via mcp-elicitation (agent:alice-bot)' } },
    });
    const balance = await a.services.wallet.balance({ ...ADMIN, userId: 'alice' });
    expect(balance.ok && balance.value.balance).toBe(5000);

    const no = await connect(url, key, 'decline');
    const rejected = structured(await no.client.callTool({ name: 'top_up_wallet', arguments: { amount: 7000 } }));
    expect(rejected).toMatchObject({ result: { held: { status: 'REJECTED' } }, person: { answer: 'declined' } });
    const after = await a.services.wallet.balance({ ...ADMIN, userId: 'alice' });
    expect(after.ok && after.value.balance).toBe(5000);
  }, 60_000);

  it('a client without elicitation gets the pending action and how the person confirms it', async () => {
    const { a, url, bank } = await start(STRICT);
    const { client } = await connect(url, await agentKey(a, 'alice-bot', 'alice'));
    const r = await client.callTool({ name: 'top_up_wallet', arguments: { amount: '100元' } });
    const s = structured(r);
    expect(s).toMatchObject({
      kind: 'awaiting_confirmation',
      confirm: { action: 'wallet_top_up', amount: 10000, payee: 'wallet' },
      person: { via: 'pending' },
    });
    expect((s.person as { how_to_confirm: string }).how_to_confirm).toMatch(/POST \/api\/v1\/confirmations\/hld_/);
    const order = structured(
      await client.callTool({ name: 'order_coffee', arguments: { drink: 'latte', size: 'medium' } }),
    );
    expect(order).toMatchObject({ kind: 'awaiting_confirmation', order: { status: 'AWAITING_CONFIRMATION' } });
    // The agent may cancel what waits (the person's order is never paid by it).
    const id = (order.order as { id: string }).id;
    expect(structured(await client.callTool({ name: 'cancel_order', arguments: { order_id: id } }))).toMatchObject({
      kind: 'cancelled',
      order: { id, status: 'CANCELLED' },
    });
    expect(captures(bank)).toBe(0);
  }, 60_000);

  it('with mcp.confirm_via_elicitation off, the person is never asked in the client', async () => {
    const { a, url } = await start({ ...STRICT, mcp: { confirm_via_elicitation: false } });
    const { client, asked } = await connect(url, await agentKey(a, 'alice-bot', 'alice'), 'accept');
    const s = structured(
      await client.callTool({ name: 'order_coffee', arguments: { drink: 'latte', size: 'medium' } }),
    );
    expect(s).toMatchObject({ kind: 'awaiting_confirmation', person: { via: 'pending' } });
    expect(asked).toHaveLength(0);
  }, 60_000);

  it('a retried call pays once: the same _meta key, and the same JSON-RPC request re-sent', async () => {
    const { a, url, bank } = await start({}); // trusted: orders pay at once
    const key = await agentKey(a, 'alice-bot', 'alice');
    const { client, transport } = await connect(url, key);
    const call = () =>
      client.callTool({
        name: 'order_coffee',
        arguments: { drink: 'latte', size: 'medium' },
        _meta: { 'open-autoglm/idempotency-key': 'retry-1' },
      });
    const first = await call();
    const second = await call();
    expect(structured(first)).toMatchObject({ kind: 'paid' });
    expect(structured(second)).toEqual(structured(first));
    expect(second._meta).toMatchObject({ 'open-autoglm/replayed': true });
    expect(captures(bank)).toBe(1);

    // The same JSON-RPC request (session and id) sent twice, as a proxy retrying a dropped POST would.
    const message = {
      jsonrpc: '2.0',
      id: 4242,
      method: 'tools/call',
      params: { name: 'order_coffee', arguments: { drink: 'mocha', size: 'large' } },
    };
    const post = async (): Promise<string> => {
      const res = await rawPost(url, message, {
        authorization: `Bearer ${key}`,
        'mcp-session-id': transport.sessionId ?? '',
        'mcp-protocol-version': transport.protocolVersion ?? '2025-06-18',
      });
      expect(res.status).toBe(200);
      const text = await res.text();
      const data = /^data: (.*)$/m.exec(text)?.[1] ?? text;
      return JSON.stringify((JSON.parse(data) as { result: CallToolResult }).result.structuredContent);
    };
    const once = await post();
    const again = await post();
    expect(again).toBe(once);
    expect(captures(bank)).toBe(2);
    const page = await a.services.orders.list(ADMIN, { limit: 50 });
    expect(page.data).toHaveLength(2);
  }, 60_000);

  it('within its mandate the agent pays at once; outside it the action is held, never paid', async () => {
    const { a, url, bank } = await start(STRICT);
    const key = await agentKey(a, 'alice-bot', 'alice');
    await grantCoffeeMandate(a, 'alice-bot');
    const { client } = await connect(url, key);
    const within = structured(
      await client.callTool({ name: 'order_coffee', arguments: { drink: 'latte', size: 'medium' } }),
    );
    expect(within).toMatchObject({ kind: 'paid' });
    expect(captures(bank)).toBe(1);
    // Four drinks: above the mandate's maximum per transaction, so it waits for the person.
    const outside = structured(
      await client.callTool({ name: 'order_coffee', arguments: { drink: 'latte', size: 'large', quantity: 4 } }),
    );
    expect(outside).toMatchObject({ kind: 'awaiting_confirmation', person: { via: 'pending' } });
    expect((outside.order as { status_reason: string }).status_reason).toMatch(/mandate/);
    // A top-up is not in the mandate at all: held too.
    const topUp = structured(await client.callTool({ name: 'top_up_wallet', arguments: { amount: 1000 } }));
    expect(topUp).toMatchObject({ kind: 'awaiting_confirmation' });
    expect(captures(bank)).toBe(1);
  }, 60_000);

  it('calls every tool; bad input is a stable-coded tool error, never a crash; resources read', async () => {
    const { a, url } = await start({});
    const { client } = await connect(url, await agentKey(a, 'alice-bot', 'alice'));
    const call = async (name: string, args: Record<string, unknown>) => client.callTool({ name, arguments: args });

    expect(structured(await call('top_up_wallet', { amount: 20000 }))).toMatchObject({
      kind: 'done',
      result: { top_up: { status: 'SUCCEEDED' } },
    });
    expect(structured(await call('query_balance', {}))).toMatchObject({ result: { wallet: { balance: 20000 } } });
    const rc = structured(await call('recharge_phone', { phone: '138 0013 8000', amount: '50元' }));
    expect(rc).toMatchObject({ kind: 'done', action: 'recharge_phone' });
    expect(JSON.stringify(rc)).not.toMatch(/13800138000/);
    const paid = structured(await call('order_coffee', { drink: 'latte', size: 'medium' }));
    const id = (paid.order as { id: string }).id;
    expect(structured(await call('query_order', { order_id: id }))).toMatchObject({ kind: 'found', order: { id } });
    expect(structured(await call('list_orders', { limit: 5 }))).toMatchObject({
      result: { orders: [expect.objectContaining({ id })] },
    });
    expect(structured(await call('refund', { order_id: id }))).toMatchObject({ kind: 'done', action: 'refund' });
    expect(structured(await call('do_in_words', { text: '来一杯中杯美式' }))).toMatchObject({ kind: 'paid' });

    const bad = await call('order_coffee', { drink: 'unicorn frappe', size: 'medium' });
    expect(bad.isError).toBe(true);
    expect(structured(bad)).toMatchObject({ kind: 'refused', code: 'UNKNOWN_DRINK' });
    expect(structured(await call('order_coffee', { drink: 'latte', size: 'medium', tip: 5 }))).toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    expect(structured(await call('order_coffee', { drink: 'latte' }))).toMatchObject({ code: 'MISSING_PARAMETERS' });
    expect(structured(await call('no_such_tool', {}))).toMatchObject({ code: 'UNKNOWN_TOOL' });
    expect(structured(await call('do_in_words', { text: '' }))).toMatchObject({ code: 'VALIDATION_FAILED' });

    const menu = await client.readResource({ uri: 'autoglm://menu' });
    expect(JSON.parse((menu.contents[0] as { text: string }).text)).toHaveProperty('drinks');
    const recent = await client.readResource({ uri: 'autoglm://orders/recent' });
    expect(
      (JSON.parse((recent.contents[0] as { text: string }).text) as { data: unknown[] }).data.length,
    ).toBeGreaterThan(0);
    const wallet = await client.readResource({ uri: 'autoglm://wallet' });
    expect(JSON.parse((wallet.contents[0] as { text: string }).text)).toMatchObject({ wallet: { user_id: 'alice' } });
  }, 90_000);

  it('a session belongs to the key that opened it', async () => {
    const { a, url } = await start(STRICT);
    const { transport } = await connect(url, await agentKey(a, 'alice-bot', 'alice'));
    const bob = await agentKey(a, 'bob-bot', 'bob');
    const res = await rawPost(
      url,
      { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} },
      { authorization: `Bearer ${bob}`, 'mcp-session-id': transport.sessionId ?? '' },
    );
    expect(res.status).toBe(404);
  }, 60_000);

  it('a held phone recharge: accepted in the client → recharged once, audited as confirmed through MCP', async () => {
    const { a, url, carriers } = await startRecharging(RECHARGE_HELD);
    await fund(a, 'alice', 20_000);
    const { client, asked } = await connect(url, await agentKey(a, 'alice-bot', 'alice'), 'accept');
    const r = await client.callTool({ name: 'recharge_phone', arguments: { phone: '13800138000', amount: 5000 } });
    expect(r.isError, JSON.stringify(r)).toBe(false);
    const s = structured(r);
    expect(s).toMatchObject({
      kind: 'done',
      action: 'recharge_phone',
      result: {
        held: { status: 'CONFIRMED', decided_by: 'user:alice via mcp-elicitation (agent:alice-bot)' },
        recharge: { amount: 5000 },
      },
      person: { via: 'mcp-elicitation', answer: 'accepted' },
    });
    expect(JSON.stringify(s)).not.toMatch(/13800138000/);
    // The question states the amount, the payee (masked) and the method.
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatch(/pay ¥50\.00 to 138\*\*\*\*8000 by wallet/);
    expect(asked[0]).not.toMatch(/13800138000/);
    await until(() => carriers.groundTruth.length > 0);
    await new Promise((res) => setTimeout(res, 200));
    expect(carriers.groundTruth).toHaveLength(1);
    expect(carriers.groundTruth[0]).toMatchObject({ phone: '13800138000', amount: { amount: 5000 } });
    const heldId = (s.result as { held: { id: string } }).held.id;
    const trail = await auditOf(a, 'held_action', heldId);
    expect(trail.map((t) => [t.action, t.actor])).toEqual([
      ['held_action.created', 'agent:alice-bot for user:alice'],
      ['held_action.confirmed', 'user:alice via mcp-elicitation (agent:alice-bot)'],
    ]);
  }, 60_000);

  it('a held phone recharge: the person declines → the hold rejected, nothing recharged or charged', async () => {
    const { a, url, carriers } = await startRecharging(RECHARGE_HELD);
    await fund(a, 'alice', 20_000);
    const { client, asked } = await connect(url, await agentKey(a, 'alice-bot', 'alice'), 'decline');
    const s = structured(
      await client.callTool({ name: 'recharge_phone', arguments: { phone: '13800138000', amount: 5000 } }),
    );
    expect(s).toMatchObject({
      result: { held: { status: 'REJECTED' } },
      person: { via: 'mcp-elicitation', answer: 'declined' },
    });
    expect(asked).toHaveLength(1);
    await new Promise((res) => setTimeout(res, 300));
    expect(carriers.groundTruth).toHaveLength(0);
    const balance = await a.services.wallet.balance({ ...ADMIN, userId: 'alice' });
    expect(balance.ok && balance.value.balance).toBe(20_000);
  }, 60_000);

  it('a recharge still processing is followed with progress notifications (progressToken)', async () => {
    const slow: ChannelProfile = { ...quick, processingMs: { min: 1200, max: 1400 } };
    // Trusted, so it runs at once; the call stops waiting for the engine after 100 ms, while the carrier still works.
    const { a, url, carriers } = await startRecharging({ server: { port: 0, wait_for_completion_ms: 100 } }, slow);
    await fund(a, 'alice', 20_000);
    const { client } = await connect(url, await agentKey(a, 'alice-bot', 'alice'));
    const progress: Array<{ progress: number; message?: string | undefined }> = [];
    const r = await client.callTool(
      { name: 'recharge_phone', arguments: { phone: '13800138000', amount: 5000 } },
      undefined,
      { onprogress: (p) => progress.push(p), timeout: 30_000 },
    );
    expect(r.isError, JSON.stringify(r)).toBe(false);
    expect(structured(r)).toMatchObject({
      kind: 'done',
      action: 'recharge_phone',
      result: { recharge: { status: 'SUCCEEDED', amount: 5000 } },
    });
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.map((p) => p.progress)).toEqual(progress.map((_, i) => i + 1));
    expect(progress[0]?.message).toMatch(/^recharge rch_\S+: (PENDING|SUBMITTED|PROCESSING)/);
    expect(progress.at(-1)?.message).toMatch(/SUCCEEDED$/);
    expect(JSON.stringify(progress)).not.toMatch(/13800138000/);
    expect(carriers.groundTruth).toHaveLength(1);
  }, 60_000);

  it('a retried recharge_batch call makes one batch: each number recharged once', async () => {
    const { a, url, carriers } = await startRecharging({
      trusted_actions: ['order_coffee', 'submit_payment', 'wallet_top_up', 'recharge_phone'],
    });
    await fund(a, 'alice', 50_000);
    const { client, asked } = await connect(url, await agentKey(a, 'alice-bot', 'alice'));
    const rows = [
      { phone: '13800138011', amount: 5000 },
      { phone: '13800138012', amount: 3000 },
    ];
    const call = () =>
      client.callTool(
        { name: 'recharge_batch', arguments: { rows }, _meta: { 'open-autoglm/idempotency-key': 'batch-retry-1' } },
        undefined,
        { timeout: 30_000 },
      );
    const first = structured(await call());
    expect(first).toMatchObject({ kind: 'done', result: { batch: { rows: 2, valid: 2 } } });
    const batchId = (first.result as { batch: { id: string } }).batch.id;
    // The retry, while the batch runs and after it has finished: the same batch, never a second.
    const during = await call();
    expect(during._meta).toMatchObject({ 'open-autoglm/replayed': true });
    expect((structured(during).result as { batch: { id: string } }).batch.id).toBe(batchId);
    for (let i = 0; i < 200; i++) {
      const b = await a.services.batch.get({ ...ADMIN, userId: 'alice' }, batchId);
      if (b.ok && b.value.done) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const after = structured(await call());
    expect((after.result as { batch: { id: string } }).batch.id).toBe(batchId);
    expect(asked).toHaveLength(0);
    expect(carriers.groundTruth).toHaveLength(2);
    const balance = await a.services.wallet.balance({ ...ADMIN, userId: 'alice' });
    expect(balance.ok && balance.value.balance).toBe(42_000);
  }, 60_000);

  it('recharge_batch: held whole, accepted in the client, followed with progress to the last row', async () => {
    const { a, url, carriers } = await startRecharging(RECHARGE_HELD);
    await fund(a, 'alice', 50_000);
    const { client, asked } = await connect(url, await agentKey(a, 'alice-bot', 'alice'), 'accept');
    const listed = (await client.listTools()).tools.find((t) => t.name === 'recharge_batch');
    expect(listed?.annotations).toMatchObject({ readOnlyHint: false, openWorldHint: true });
    const progress: Array<{ progress: number; total?: number | undefined; message?: string | undefined }> = [];
    const rows = [
      { phone: '13800138001', amount: 5000 },
      { phone: '13800138002', amount: 3000 },
      { phone: '12345', amount: 1000 },
      { phone: '13800138003', amount: 2000 },
    ];
    const r = await client.callTool({ name: 'recharge_batch', arguments: { rows } }, undefined, {
      onprogress: (p) => progress.push(p),
      timeout: 30_000,
    });
    expect(r.isError, JSON.stringify(r)).toBe(false);
    const s = structured(r);
    expect(s).toMatchObject({
      kind: 'done',
      action: 'recharge_batch',
      result: {
        held: { action: 'recharge_batch', status: 'CONFIRMED' },
        batch: { rows: 4, valid: 3, rejected_count: 1, succeeded: 3, done: true },
      },
      person: { via: 'mcp-elicitation', answer: 'accepted' },
    });
    expect(JSON.stringify(s)).not.toMatch(/13800138001/);
    // The person saw count and total, masked.
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatch(/pay ¥100\.00 to 3 phone numbers by wallet/);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ progress: 4, total: 4 });
    const steps = progress.map((p) => p.progress);
    expect(steps).toEqual([...steps].sort((x, y) => x - y));
    expect(new Set(steps).size).toBe(steps.length);
    expect(carriers.groundTruth).toHaveLength(3);
    const balance = await a.services.wallet.balance({ ...ADMIN, userId: 'alice' });
    expect(balance.ok && balance.value.balance).toBe(40_000);

    // Declined: the hold is rejected and nothing more is recharged; bad arguments are a coded error.
    const no = await connect(url, await agentKey(a, 'alice-bot2', 'alice'), 'decline');
    const declined = structured(
      await no.client.callTool({ name: 'recharge_batch', arguments: { rows: rows.slice(0, 2) } }),
    );
    expect(declined).toMatchObject({ result: { held: { status: 'REJECTED' } }, person: { answer: 'declined' } });
    const tooMany = Array.from({ length: 1001 }, () => ({ phone: '13800138001', amount: 1000 }));
    expect(
      structured(await no.client.callTool({ name: 'recharge_batch', arguments: { rows: tooMany } })),
    ).toMatchObject({ code: 'VALIDATION_FAILED' });
    await new Promise((res) => setTimeout(res, 300));
    expect(carriers.groundTruth).toHaveLength(3);
  }, 60_000);
});
