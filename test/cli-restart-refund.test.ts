import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ENGINES } from './support/cluster.js';
import { runCliCaptured } from './support/cli-run.js';
import { createTestDatabase, type TestDatabase } from './support/pg-db.js';
import { spawnUntil } from './support/spawn-until.js';
import { TEST_MASTER_KEY_BASE64 } from './support/test-cipher.js';
import { until } from './support/webhook-receiver.js';

/**
 * The README's quick start, followed literally with a restart in the middle: `autoglm serve` with
 * nothing configured (the embedded simulator journals its books under the data directory by
 * default), an order paid through the CLI, the service stopped and started again, and the order
 * refunded through the CLI — the simulator still knows the trade, so the refund is made.
 */
const exited = (c: ChildProcess): Promise<unknown> =>
  c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r));

describe.each(ENGINES)('autoglm serve restarted between paying and refunding, through the CLI, on %s', (engine) => {
  let db: TestDatabase | undefined;
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await Promise.all(children.map(exited));
    await db?.drop();
  });

  it('the refund after the restart succeeds: the embedded simulator remembered the trade', async () => {
    // The service runs in its own directory, so its ./data (PostgreSQL's data directory) is the test's.
    const dir = mkdtempSync(join(tmpdir(), 'autoglm-restart-cli-'));
    let dbArg: string;
    let dataDir: string;
    if (engine === 'postgres') {
      db = await createTestDatabase('restartcli');
      dbArg = db.url;
      dataDir = join(dir, 'data');
    } else {
      dbArg = `sqlite:${join(dir, 'db.sqlite')}`;
      dataDir = dir;
    }
    const env = {
      ...process.env,
      AUTOGLM_LOG_LEVEL: 'warn',
      AUTOGLM_AUTO_CONFIRM_ORDER: 'true',
      AUTOGLM_TRUSTED_ACTIONS: 'order_coffee,submit_payment,refund',
      AUTOGLM_MASTER_KEY: TEST_MASTER_KEY_BASE64,
    };
    const serve = async (): Promise<{ child: ChildProcess; url: string }> => {
      const s = await spawnUntil('test/support/serve-child.ts', ['--port', '0', '--db', dbArg], env, 'service', dir);
      children.push(s.child);
      return s;
    };
    const stop = async (c: ChildProcess): Promise<void> => {
      c.kill('SIGTERM');
      await exited(c);
      expect(c.exitCode).toBe(0);
    };

    const first = await serve();
    const apiKey = readFileSync(join(dataDir, 'admin-key'), 'utf8').trim();
    const cli = (url: string, ...args: string[]) => runCliCaptured(args, { defaultUrl: url, apiKey });

    const placed = await cli(first.url, 'order', 'latte', 'medium', '--json');
    expect(placed.code, placed.err.join('\n')).toBe(0);
    const order = (JSON.parse(placed.out[0] ?? '{}') as { order: { id: string; status: string } }).order;
    expect(order.status).toBe('COMPLETED');
    // The default journal, under the data directory: nothing was configured for it.
    expect(existsSync(join(dataDir, 'simulator', 'gateway.jsonl'))).toBe(true);
    await stop(first.child);

    const second = await serve();
    const refunded = await cli(second.url, 'refund', 'order', order.id, '--reason', 'after a restart', '--yes');
    expect(refunded.code, `${refunded.out.join('\n')}\n${refunded.err.join('\n')}`).toBe(0);
    const shown = await until(
      () => cli(second.url, 'get', order.id),
      (r) => /status\s+REFUNDED/.test(r.out.join('\n')),
      20_000,
    );
    expect(shown.out.join('\n')).toMatch(/status\s+REFUNDED/);
    const refunds = await cli(second.url, 'refund', 'list', order.id, '--json');
    expect(refunds.code).toBe(0);
    expect(refunds.out.join('\n')).toMatch(/"status":"SUCCEEDED"/);
    expect(refunds.out.join('\n')).not.toMatch(/"status":"FAILED"/);
    const ledger = await cli(second.url, 'ledger', 'check');
    expect(ledger.code, ledger.out.join('\n')).toBe(0);
    await stop(second.child);
  }, 180_000);
});
