import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/interfaces/cli/cli.js';
import type { App } from '../src/main.js';
import { startTestApp } from './support/test-app.js';

let app: App;
let url: string;
beforeAll(async () => {
  app = (await startTestApp({ trusted_actions: ['order_coffee'] })).app;
  url = await app.listen();
});
afterAll(async () => {
  await app.close();
});

async function cli(...args: string[]): Promise<{ out: string[]; err: string[]; code: number }> {
  const out: string[] = [];
  const err: string[] = [];
  process.exitCode = 0;
  await runCli(['node', 'autoglm', ...args], {
    serve: () => Promise.reject(new Error('not in this test')),
    simulator: () => Promise.reject(new Error('not in this test')),
    version: '0.0.0-test',
    defaultUrl: url,
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  });
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, err, code };
}

describe('autoglm CLI against a running service', () => {
  it('orders, lists, confirms and shows an order', async () => {
    const placed = await cli('order', 'latte', 'large', '-q', '2', '--json');
    expect(placed.code).toBe(0);
    const order = (JSON.parse(placed.out[0] ?? '{}') as { order: { id: string; status: string; amount: number } }).order;
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
    expect(r.err.join('\n')).toMatch(/^error UNKNOWN_DRINK: /);
    const bad = await cli('order', 'latte', 'medium', '-q', 'zero');
    expect(bad.code).not.toBe(0);
  });

  it('shows the menu', async () => {
    const r = await cli('menu');
    expect(r.code).toBe(0);
    expect(r.out.join('\n')).toMatch(/latte\s+拿铁 Latte\s+small 28\.00\s+medium 32\.00/);
    const json = await cli('menu', '--json');
    const menu = JSON.parse(json.out[0] ?? '{}') as { sizes: Array<{ id: string; name_zh: string }>; drinks: unknown[] };
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
