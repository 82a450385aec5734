import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { type CallToolResult, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { ADMIN, auditOf, grantCoffeeMandate, startTestApp, tempDbPath } from './support/test-app.js';

/**
 * `autoglm mcp` as a real child process speaking MCP over stdio, driven by the official SDK's
 * Client: in process on the local database (the default), and relayed to a running service's
 * /mcp with --url.
 */

let app: App | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
  await app?.close();
  app = undefined;
});

const CHILD = ['--import', 'tsx', 'test/support/cli-child.ts', 'mcp'];
/** The seed policy: coffee is trusted, a wallet top-up waits for the person. */
const SEED_ENV = {
  AUTOGLM_AUTO_CONFIRM_ORDER: 'true',
  AUTOGLM_TRUSTED_ACTIONS: 'order_coffee,submit_payment',
  AUTOGLM_LOG_LEVEL: 'warn',
};

async function agentKeyOn(dbPath: string): Promise<string> {
  const started = await startTestApp({}, {}, dbPath);
  try {
    const r = await started.app.services.identity.createKey(ADMIN, {
      role: 'agent',
      user: 'alice-bot',
      actsFor: 'alice',
    });
    if (!r.ok) throw new Error(r.error.message);
    return r.value.key;
  } finally {
    await started.app.close();
  }
}

async function spawnClient(
  args: string[],
  env: Record<string, string>,
  answer: 'accept' | 'decline' = 'accept',
): Promise<{ c: Client; asked: string[] }> {
  const c = new Client({ name: 'mcp-stdio-test', version: '1.0.0' }, { capabilities: { elicitation: {} } });
  const asked: string[] = [];
  c.setRequestHandler(ElicitRequestSchema, (req) => {
    asked.push(req.params.message);
    return answer === 'accept' ? { action: 'accept', content: { confirm: true } } : { action: 'decline' };
  });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...CHILD, ...args],
    env: { ...(process.env as Record<string, string>), ...env },
    stderr: 'pipe',
  });
  await c.connect(transport);
  client = c;
  return { c, asked };
}

const structured = (r: unknown): Record<string, unknown> =>
  (r as CallToolResult).structuredContent as Record<string, unknown>;

describe('autoglm mcp over stdio', () => {
  it('in process on the local database: a paid order, a retry paying once, a top-up the person confirms', async () => {
    const dbPath = tempDbPath();
    const key = await agentKeyOn(dbPath);
    const { c, asked } = await spawnClient(['--db', `sqlite:${dbPath}`], { ...SEED_ENV, AUTOGLM_API_KEY: key });
    const names = (await c.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['order_coffee', 'recharge_phone', 'top_up_wallet', 'do_in_words']));

    const meta = { 'open-autoglm/idempotency-key': 'stdio-order-1' };
    const first = await c.callTool({ name: 'order_coffee', arguments: { drink: 'latte', size: 'large' }, _meta: meta });
    expect(structured(first)).toMatchObject({ kind: 'paid', order: { status: 'COMPLETED' } });
    const again = await c.callTool({ name: 'order_coffee', arguments: { drink: 'latte', size: 'large' }, _meta: meta });
    expect(structured(again)).toEqual(structured(first));

    const topUp = structured(await c.callTool({ name: 'top_up_wallet', arguments: { amount: 3000 } }));
    expect(topUp).toMatchObject({ kind: 'done', result: { held: { status: 'CONFIRMED' } } });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatch(/¥30\.00 to wallet/);
    await c.close();
    client = undefined;

    // What the child did is in the database: one order, one top-up confirmed through the client.
    app = (await startTestApp({}, {}, dbPath)).app;
    const orders = await app.services.orders.list(ADMIN, { limit: 10 });
    expect(orders.data).toHaveLength(1);
    const heldId = (topUp.result as { held: { id: string } }).held.id;
    const trail = await auditOf(app, 'held_action', heldId);
    expect(trail.map((t) => t.actor)).toContain('user:alice via mcp-elicitation (agent:alice-bot)');
  }, 180_000);

  it('in process: a declined order charges nothing; outside its mandate the agent is held, then blocked', async () => {
    const dbPath = tempDbPath();
    const key = await agentKeyOn(dbPath);
    const seeded = await startTestApp({}, {}, dbPath);
    await grantCoffeeMandate(seeded.app, 'alice-bot');
    await seeded.app.close();
    // Nothing trusted; more than one ask outside the mandate blocks the key (the in-process mode has no HTTP hook).
    const config = `${dbPath}.config.json`;
    writeFileSync(config, JSON.stringify({ security: { block: { threshold: 1, refresh_ms: 50 } } }));
    const { c, asked } = await spawnClient(
      ['--db', `sqlite:${dbPath}`, '--config', config],
      { AUTOGLM_AUTO_CONFIRM_ORDER: 'false', AUTOGLM_TRUSTED_ACTIONS: '', AUTOGLM_API_KEY: key },
      'decline',
    );
    const call = async (name: string, args: Record<string, unknown>) =>
      structured(await c.callTool({ name, arguments: args }));

    // Within the mandate: paid at once, the person not asked.
    expect(await call('order_coffee', { drink: 'latte', size: 'medium' })).toMatchObject({
      kind: 'paid',
      order: { status: 'COMPLETED' },
    });
    expect(asked).toHaveLength(0);
    // Four drinks: above the mandate's maximum, so the person is asked; they decline: nothing charged.
    const declined = await call('order_coffee', { drink: 'latte', size: 'large', quantity: 4 });
    expect(declined).toMatchObject({ person: { via: 'mcp-elicitation', answer: 'declined' } });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatch(/¥/);
    // A top-up is outside the mandate too: asked, declined.
    expect(await call('top_up_wallet', { amount: 1000 })).toMatchObject({ person: { answer: 'declined' } });
    // Two violations are more than the threshold of one: from now on the key is refused before anything runs.
    await new Promise((res) => setTimeout(res, 200));
    const blocked = await call('order_coffee', { drink: 'latte', size: 'medium' });
    expect(blocked).toMatchObject({ kind: 'refused', code: 'SOURCE_BLOCKED' });
    expect(asked).toHaveLength(2);
    await c.close();
    client = undefined;

    app = (await startTestApp({}, {}, dbPath)).app;
    const orders = await app.services.orders.list(ADMIN, { limit: 10 });
    expect(orders.data.map((o) => o.status).sort()).toEqual(['CANCELLED', 'COMPLETED']);
    const wallet = await app.services.wallet.balance({ ...ADMIN, userId: 'alice' });
    expect(wallet.ok && wallet.value.balance).toBe(0);
    expect((await app.services.abuse.list()).map((b) => b.source)).toHaveLength(1);
  }, 180_000);

  it('--url relays to a running service: the service answers, elicitation included', async () => {
    const dbPath = tempDbPath();
    const key = await agentKeyOn(dbPath);
    app = (await startTestApp({ auto_confirm_order: false, trusted_actions: [] }, {}, dbPath)).app;
    const url = await app.listen();
    const { c, asked } = await spawnClient(['--url', url], { AUTOGLM_API_KEY: key, AUTOGLM_LOG_LEVEL: 'warn' });
    const r = structured(await c.callTool({ name: 'order_coffee', arguments: { drink: 'latte', size: 'medium' } }));
    expect(r).toMatchObject({ kind: 'paid', person: { via: 'mcp-elicitation', answer: 'accepted' } });
    expect(asked).toHaveLength(1);
    const orders = await app.services.orders.list(ADMIN, { limit: 10 });
    expect(orders.data.map((o) => o.status)).toEqual(['COMPLETED']);
  }, 180_000);

  it('refuses to start without a key, or with one the database does not know', () => {
    const dbPath = tempDbPath();
    const run = (args: string[], env: Record<string, string>) =>
      spawnSync(process.execPath, [...CHILD, '--db', `sqlite:${dbPath}`, ...args], {
        env: { ...process.env, AUTOGLM_API_KEY: '', ...env },
        encoding: 'utf8',
        input: '',
        timeout: 120_000,
      });
    const none = run([], {});
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/error API_KEY_REQUIRED/);
    const unknown = run(['--api-key', 'agk_nothing_here'], {});
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/error UNAUTHENTICATED/);
    expect(unknown.stdout).toBe('');
  }, 180_000);
});
