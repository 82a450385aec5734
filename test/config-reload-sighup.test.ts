import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { spawnUntil } from './support/spawn-until.js';
import { tempDbPath } from './support/temp-db.js';

/** Poll `check` until it holds (a signal is handled by the child in its own time). */
async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = performance.now() + 15_000;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('SIGHUP reloads policy in a running `autoglm serve`', () => {
  it('applies a new limit to the next order; a bad file is logged and the old limit stays', async () => {
    const db = tempDbPath();
    const file = `${db}.config.yaml`;
    const seed = 'auto_confirm_order: true\ntrusted_actions: [order_coffee, submit_payment]\n';
    writeFileSync(file, seed);
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AUTOGLM'))),
      AUTOGLM_CONFIG: file,
      AUTOGLM_DB: `sqlite:${db}`,
      AUTOGLM_HOST: '127.0.0.1',
      AUTOGLM_PORT: '0',
      AUTOGLM_LOG_LEVEL: 'info',
      AUTOGLM__AUTH__ADMIN_KEY_FILE: `${db}.admin-key`,
    };
    const { child, url, output } = await spawnUntil('test/support/serve-child.ts', [], env, 'service');
    try {
      const key = readFileSync(`${db}.admin-key`, 'utf8').trim();
      const order = async (): Promise<{ status: number; code?: string }> => {
        const res = await fetch(`${url}/api/v1/order`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ drink: 'latte', size: 'medium' }),
        });
        const body = (await res.json()) as { code?: string };
        return { status: res.status, ...(body.code === undefined ? {} : { code: body.code }) };
      };
      expect((await order()).status).toBe(201);

      writeFileSync(file, `${seed}max_order_amount: 100\n`);
      child.kill('SIGHUP');
      let refused: { status: number; code?: string } = { status: 0 };
      await until(async () => {
        refused = await order();
        return refused.status >= 400;
      }, 'the new limit');
      expect(output()).toContain('configuration reloaded');

      writeFileSync(file, `${seed}max_order_amount: -5\n`);
      child.kill('SIGHUP');
      await until(() => output().includes('configuration reload refused'), 'the refusal in the log');
      expect(await order()).toEqual(refused);
      // Still alive and serving after both signals.
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  }, 90_000);
});
