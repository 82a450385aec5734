import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionRegistry } from '../src/application/agent/agent-api.js';
import { Interpreter, toParseOutput } from '../src/application/agent/agent-api.js';
import { DEFAULT_MENU } from '../src/domain/menu.js';
import type { Logger } from '../src/ports/logger.js';
import type { App } from '../src/composition/create-app.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { runCliCaptured } from './support/cli-run.js';
import { adminKeyOf, startTestApp } from './support/test-app.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
const local = new Interpreter({
  registry: new ActionRegistry(),
  menu: () => DEFAULT_MENU,
  mode: 'grammar-only',
  logger: quiet,
});

let app: App;
let url: string;
const gateway = new SimulatedGateway();
beforeAll(async () => {
  app = (await startTestApp({ trusted_actions: ['order_coffee'] }, { gateway })).app;
  url = await app.listen();
});
afterAll(async () => {
  await app.close();
});

async function cli(...args: string[]): Promise<{ out: string[]; err: string[]; code: number }> {
  return run(args);
}

/** Run the CLI; `answers` are typed at the confirmation prompt, in order. */
async function run(
  args: string[],
  answers: string[] = [],
): Promise<{ out: string[]; err: string[]; code: number; asked: string[] }> {
  const asked: string[] = [];
  const r = await runCliCaptured(args, {
    defaultUrl: url,
    apiKey: adminKeyOf(app),
    parseLocal: async (text) => toParseOutput(await local.interpret(text)),
    ask: (q) => {
      asked.push(q);
      return Promise.resolve(answers.shift() ?? '');
    },
  });
  return { ...r, asked };
}

describe('autoglm CLI against a running service', () => {
  it('orders, lists, confirms and shows an order', async () => {
    const placed = await cli('order', 'latte', 'large', '-q', '2', '--json');
    // Placed, not paid: left for the person's confirmation, which is not a success.
    expect(placed.code).toBe(2);
    const order = (JSON.parse(placed.out[0] ?? '{}') as { order: { id: string; status: string; amount: number } })
      .order;
    expect(order).toMatchObject({ status: 'AWAITING_PAYMENT', amount: 7000 });

    const list = await cli('orders', '--status', 'AWAITING_PAYMENT');
    expect(list.out.join('\n')).toContain(order.id);

    const confirmed = await cli('confirm', order.id);
    expect(confirmed.code).toBe(0);
    expect(confirmed.out.join('\n')).toMatch(/status\s+COMPLETED/);
    expect(confirmed.out.join('\n')).toContain('70.00 CNY');

    const shown = await cli('get', order.id, '--json');
    expect((JSON.parse(shown.out[0] ?? '{}') as { order: { status: string } }).order.status).toBe('COMPLETED');
  });

  it('prints one error line with a stable code and exits non-zero on bad input', async () => {
    const r = await cli('order', 'tea', 'medium');
    expect(r.code).toBe(1);
    expect(r.err.join('\n')).toMatch(/^error UNKNOWN_DRINK: .* \(request \S+\)/);
    const bad = await cli('order', 'latte', 'medium', '-q', 'zero');
    expect(bad.code).not.toBe(0);
  });

  it('shows the menu', async () => {
    const r = await cli('menu');
    expect(r.code).toBe(0);
    expect(r.out.join('\n')).toMatch(/latte\s+拿铁 Latte\s+small 28\.00\s+medium 32\.00/);
    const json = await cli('menu', '--json');
    const menu = JSON.parse(json.out[0] ?? '{}') as {
      sizes: Array<{ id: string; name_zh: string }>;
      drinks: unknown[];
    };
    expect(menu.sizes).toContainEqual({ id: 'medium', name_zh: '中杯' });
    expect(menu.drinks.length).toBeGreaterThan(4);
  });

  it('--version and --help exit 0', async () => {
    const v = await cli('--version');
    expect(v).toMatchObject({ code: 0, out: ['0.0.0-test'] });
    expect((await cli('--help')).code).toBe(0);
  });

  it('says clearly when the service is not running', async () => {
    const r = await cli('get', 'ord_x', '--url', 'http://127.0.0.1:9');
    expect(r.code).toBe(1);
    expect(r.err.join('\n')).toMatch(/SERVICE_UNREACHABLE/);
  });
});

describe('autoglm parse', () => {
  it('--json prints exactly one JSON object: intent, clarify, or error with a non-zero exit', async () => {
    const ok = await run(['parse', '--json', '给13800138000充100块话费']);
    expect(ok.code).toBe(0);
    expect(ok.out).toHaveLength(1);
    expect(JSON.parse(ok.out[0] ?? '')).toEqual({
      intent: { action: 'recharge_phone', params: { phone: '13800138000', amount: 10000, currency: 'CNY' } },
      source: 'grammar',
    });

    const q = await run(['parse', '--json', '来杯美式']);
    expect(q.code).toBe(0);
    expect(JSON.parse(q.out[0] ?? '')).toEqual({
      clarify: { action: 'order_coffee', missing: ['size'], question: '要什么杯型？（小杯/中杯/大杯/超大杯）' },
    });

    const bad = await run(['parse', '--json', '给13800138000充-100元']);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toHaveLength(1);
    expect(JSON.parse(bad.out[0] ?? '')).toMatchObject({ error: { code: 'INVALID_AMOUNT' } });
  });

  it('asks the running service with --url, and prints words without --json', async () => {
    const remote = await run(['parse', '--json', '--url', url, 'a', 'grande', 'latte', 'please']);
    expect(JSON.parse(remote.out[0] ?? '')).toEqual({
      intent: { action: 'order_coffee', params: { drink: 'latte', size: 'large', quantity: 1, options: {} } },
      source: 'grammar',
    });
    const remoteBad = await run(['parse', '--json', '--url', url, '给1380013800充100块']);
    expect(remoteBad.code).toBe(1);
    expect(JSON.parse(remoteBad.out[0] ?? '')).toMatchObject({ error: { code: 'INVALID_PHONE' } });
    const words = await run(['parse', '付吧']);
    expect(words.out.join('\n')).toBe('submit_payment {"order_id":"last"}  (grammar)');
  });
});

describe('autoglm do', () => {
  it('places the order, asks before paying, and pays only on yes', async () => {
    const captures = (): number => gateway.groundTruth.filter((e) => e.type === 'capture').length;
    const before = captures();
    const no = await run(['do', '来一杯中杯拿铁'], ['n']);
    expect(no.code).toBe(0);
    expect(no.asked[0]).toMatch(/^Confirm 1 × 中杯拿铁 medium latte, ¥32\.00\? \[y\/N\] $/);
    expect(no.out.join('\n')).toContain('not confirmed: nothing was paid');
    expect(captures()).toBe(before);

    const yes = await run(['do', '--json', '来一杯大杯拿铁'], ['y']);
    expect(yes.code).toBe(0);
    expect(yes.out).toHaveLength(1);
    expect(JSON.parse(yes.out[0] ?? '')).toMatchObject({
      outcome: { kind: 'paid', order: { status: 'COMPLETED', amount: 3500 } },
    });
    expect(captures()).toBe(before + 1);
  });

  it('--yes answers the question; a session carries on; refusals exit non-zero', async () => {
    const first = await run(['do', '点一杯摩卡']);
    expect(first.out.join('\n')).toContain('? 要什么杯型？');
    const session = /session (\S+)/.exec(first.err.join('\n'))?.[1] ?? '';
    const second = await run(['do', '--yes', '--session', session, '小杯']);
    expect(second.asked).toEqual([]);
    expect(second.out.join('\n')).toMatch(/paid: 1 × 小杯摩卡 small mocha, 31\.00 CNY/);
    // A new conversation has no "last" order to refund; the refusal exits non-zero.
    const refund = await run(['do', '把刚才那单退了']);
    expect(refund.code).toBe(1);
    expect(refund.out.join('\n')).toMatch(/^refused NO_LAST_ORDER/);
  });
});
