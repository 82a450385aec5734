import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { SimulatedMerchant } from '../src/simulator/simulated-merchant.js';

/**
 * The real thing: the service runs as its own process and is SIGKILLed while orders are in
 * flight. The simulators keep their books in fsync'd journals (they are the outside world, which
 * does not die with us), so afterwards we can check what really happened at the "bank" and the
 * "shop" against what the restarted service says.
 */
const dir = mkdtempSync(join(tmpdir(), 'autoglm-kill-'));
const env = {
  ...process.env,
  AUTOGLM_LOG_LEVEL: 'warn',
  AUTOGLM_AUTO_CONFIRM_ORDER: 'true',
  AUTOGLM_TRUSTED_ACTIONS: 'order_coffee,submit_payment',
  AUTOGLM__SIMULATOR__JOURNAL_DIR: join(dir, 'sim'),
  AUTOGLM__SIMULATOR__LATENCY_MS: '{"min":20,"max":120}',
  AUTOGLM__WORKER__LEASE_MS: '1000',
  AUTOGLM__RESILIENCE__TIMEOUT_MS: '600',
  AUTOGLM__RECHARGE__OPERATORS: JSON.stringify(
    Object.fromEntries(
      ['CHINA_MOBILE', 'CHINA_UNICOM', 'CHINA_TELECOM', 'CHINA_BROADNET', 'VIRTUAL'].map((op) => [
        op,
        { timeout_ms: 600 },
      ]),
    ),
  ),
  AUTOGLM__WORKER__POLL_INTERVAL_MS: '50',
  AUTOGLM__WORKER__RETRY_BASE_MS: '50',
  // A key whose request died with the process is held this long before a retry may take it over.
  AUTOGLM__IDEMPOTENCY__LOCK_SECONDS: '3',
  AUTOGLM__SERVER__WAIT_FOR_COMPLETION_MS: '1000',
};

function serve(): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/support/serve-child.ts', '--port', '0', '--db', `sqlite:${join(dir, 'db.sqlite')}`],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    const timer = setTimeout(() => reject(new Error(`service did not start: ${out}`)), 20_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /running at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    });
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  });
}

/** The admin key the first start wrote beside the database: the test client acts for each user with it. */
const admin = (): string => `Bearer ${readFileSync(join(dir, 'admin-key'), 'utf8').trim()}`;

const order = (url: string, key: string): Promise<Response> =>
  fetch(`${url}/api/v1/order`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'idempotency-key': key,
      authorization: admin(),
      'x-act-for': `kill-${key}`,
    },
    body: JSON.stringify({ drink: 'latte', size: 'medium' }),
  });

interface OrderView {
  id: string;
  status: string;
  payment: { out_trade_no: string | null };
}

async function allOrders(url: string): Promise<OrderView[]> {
  const res = await fetch(`${url}/api/v1/orders?limit=200`, { headers: { authorization: admin() } });
  return ((await res.json()) as { data: OrderView[] }).data;
}

describe('SIGKILL in the middle of paying', () => {
  it(
    'after a restart every order completes with exactly one charge and one drink, ' +
      'and retried keys create nothing twice',
    async () => {
      const first = await serve();
      const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
      // Staggered, so that whenever the kill lands some requests are mid-flight whatever the machine's speed.
      const inflight = keys.map((k, i) =>
        new Promise((r) => setTimeout(r, i * 8))
          .then(() => order(first.url, k))
          .then(
            (r) => r.status,
            () => 0,
          ),
      );
      // Kill once the service is demonstrably working through them (the first answer is back),
      // not after a fixed time: on a loaded machine the first answers can take a while.
      await Promise.race([Promise.race(inflight), new Promise((r) => setTimeout(r, 10_000))]);
      await new Promise((r) => setTimeout(r, 30));
      first.child.kill('SIGKILL');
      const statuses = await Promise.all(inflight);
      expect(statuses.filter((s) => s === 0).length).toBeGreaterThan(0); // some really were cut off

      const second = await serve();
      try {
        // Recovery: leases expire, workers query before they call again.
        const atRestart = await allOrders(second.url);
        expect(atRestart.some((o) => o.status !== 'COMPLETED')).toBe(true); // there was work to resume
        let orders: OrderView[] = [];
        for (let i = 0; i < 100; i++) {
          orders = await allOrders(second.url);
          if (orders.every((o) => o.status === 'COMPLETED')) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(orders.map((o) => o.status).filter((s) => s !== 'COMPLETED')).toEqual([]);

        // Clients retry whatever got no answer, with the same keys — and, on 409 (a key whose first
        // request died mid-flight is still held), again after its Retry-After, as clients should.
        const retried = await Promise.all(
          keys.map(async (k) => {
            for (let attempt = 0; ; attempt++) {
              const r = await order(second.url, k);
              if (r.status !== 409 || attempt >= 10) return r.status;
              await new Promise((res) => setTimeout(res, 1000 * Number(r.headers.get('retry-after') ?? '1')));
            }
          }),
        );
        for (const s of retried) expect([201, 202]).toContain(s);
        for (let i = 0; i < 100; i++) {
          orders = await allOrders(second.url);
          if (orders.length === keys.length && orders.every((o) => o.status === 'COMPLETED')) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(orders).toHaveLength(keys.length);
      } finally {
        second.child.kill('SIGTERM');
        await new Promise((r) => second.child.once('exit', r));
      }

      // What the outside world recorded.
      const bank = new SimulatedGateway({ journalPath: join(dir, 'sim', 'gateway.jsonl') });
      const shop = new SimulatedMerchant({ journalPath: join(dir, 'sim', 'merchant.jsonl') });
      const captures = bank.groundTruth.filter((e) => e.type === 'capture');
      expect(captures).toHaveLength(keys.length);
      expect(new Set(captures.map((c) => c.outTradeNo)).size).toBe(keys.length);
      expect(shop.groundTruth).toHaveLength(keys.length);
      expect(new Set(shop.groundTruth.map((m) => m.orderId)).size).toBe(keys.length);
    },
    90_000,
  );
});
