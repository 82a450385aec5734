import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresWanted, type TestDatabase } from './support/pg-db.js';

/**
 * Three `autoglm serve` processes on one PostgreSQL database share a stream of auto-paid
 * orders. One is SIGKILLed in the middle; another is stopped and started again. Afterwards
 * every order is terminal, no job is left leased, and — by the ground truth of the one
 * standalone simulator all of them pay and order through (`autoglm simulator`, the outside
 * world, in its own process) — no order was charged or made twice.
 *
 * The lease is set far longer than the test: the killed instance's jobs can only come back
 * through the liveness check (its advisory lock vanishes with its connections).
 *
 * AUTOGLM_MULTI_INSTANCE_ORDERS sets the number of orders: 200 by default, which keeps the run
 * near a minute on the shared 2-core development machine; the full run is 3000.
 */
const ORDERS = Number(process.env.AUTOGLM_MULTI_INSTANCE_ORDERS ?? 200);
const CLIENTS = 24;
const wanted = await postgresWanted();
const dir = mkdtempSync(join(tmpdir(), 'autoglm-multi-'));

interface Instance {
  readonly name: string;
  readonly child: ChildProcess;
  readonly url: string;
  alive: boolean;
}

/** Start a process from the TypeScript sources; resolve when it prints its URL. */
function spawnUntil(script: string, args: readonly string[], env: NodeJS.ProcessEnv, name: string): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${out}`)), 60_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(?:running|listening) at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    });
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', () => reject(new Error(`${name} exited: ${out}`)));
  });
}

/** The one outside world every instance pays and orders through. */
async function simulator(): Promise<{ child: ChildProcess; url: string; secret: string }> {
  const journal = join(dir, 'sim');
  const started = await spawnUntil('test/support/simulator-child.ts', ['--port', '0', '--seed', '11', '--journal-dir', journal, '--chaos', '{"latency":{"type":"uniform","min_ms":5,"max_ms":40}}'], process.env, 'simulator');
  return { ...started, secret: readFileSync(join(journal, 'native.secret'), 'utf8').trim() };
}

async function serve(db: string, name: string, configFile: string): Promise<Instance> {
  const env = {
    ...process.env,
    AUTOGLM_LOG_LEVEL: 'warn',
    AUTOGLM_AUTO_CONFIRM_ORDER: 'true',
    AUTOGLM_TRUSTED_ACTIONS: 'order_coffee,submit_payment',
    AUTOGLM__DATABASE__POOL_SIZE: '6',
    AUTOGLM__WORKER__LEASE_MS: '600000',
    AUTOGLM__WORKER__POLL_INTERVAL_MS: '100',
    AUTOGLM__WORKER__RETRY_BASE_MS: '50',
  };
  const { child, url } = await spawnUntil('test/support/serve-child.ts', ['--port', '0', '--db', db, '--config', configFile], env, name);
  return { name, child, url, alive: true };
}

const exited = (c: ChildProcess): Promise<unknown> => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r)));

describe.runIf(wanted)('several instances on one PostgreSQL database', () => {
  let db: TestDatabase;
  let sql: pg.Client;
  let sim: { child: ChildProcess; url: string; secret: string } | undefined;
  const instances: Instance[] = [];
  beforeAll(async () => {
    db = await createTestDatabase('multi');
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
  });
  afterAll(async () => {
    for (const i of instances) if (i.child.exitCode === null) i.child.kill('SIGKILL');
    await Promise.all(instances.map((i) => exited(i.child)));
    if (sim !== undefined) {
      sim.child.kill('SIGTERM');
      await exited(sim.child);
    }
    await sql?.end();
    await db?.drop();
  });

  it(`share ${ORDERS} auto-paid orders through a SIGKILL and a restart: all terminal, none charged twice`, async () => {
    sim = await simulator();
    const configFile = join(dir, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        payment_gateway: 'sim-http',
        gateways: { 'sim-http': { type: 'simulator-http', base_url: sim.url, secret: sim.secret, timeout_ms: 5000 } },
        merchant: { type: 'http', base_url: sim.url, secret: sim.secret },
      }),
    );
    // Start one first so the others find the schema migrated (they would also wait on the lock).
    instances.push(await serve(db.url, 'a', configFile));
    instances.push(...(await Promise.all([serve(db.url, 'b1', configFile), serve(db.url, 'c', configFile)])));
    const live = (): Instance[] => instances.filter((i) => i.alive);

    let sent = 0;
    const statuses = new Map<number, number>();
    const servedBy = new Map<string, number>();
    const killAt = Math.floor(ORDERS / 4);
    const restartAt = Math.floor(ORDERS / 2);
    let killed = false;
    // Clients send orders round-robin to the live instances until `until` have been sent.
    const client = async (until: number): Promise<void> => {
      while (sent < until) {
        const n = sent++;
        const targets = live();
        const target = targets[n % targets.length]!;
        const status = await fetch(`${target.url}/api/v1/order`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': `m${n}`, 'x-user-id': `user-${n % 50}` },
          body: JSON.stringify({ drink: 'latte', size: 'medium' }),
        }).then(
          (r) => r.status,
          () => 0, // cut off by the kill: the order may or may not exist
        );
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status === 201) servedBy.set(target.name, (servedBy.get(target.name) ?? 0) + 1);
        if (!killed && sent >= killAt) {
          killed = true;
          const victim = instances[0]!;
          victim.alive = false;
          victim.child.kill('SIGKILL');
        }
      }
    };
    const started = Date.now();
    // Phase one: all three, then one SIGKILLed while orders are in flight.
    await Promise.all(Array.from({ length: CLIENTS }, () => client(restartAt)));
    // Phase two: another is stopped (SIGTERM: it drains) while the third keeps serving, and
    // started again; the rest of the orders go to the two that are up.
    const old = instances[1]!;
    old.alive = false;
    old.child.kill('SIGTERM');
    await Promise.all([
      (async () => {
        await exited(old.child);
        instances.push(await serve(db.url, 'b2', configFile));
      })(),
      client(restartAt + CLIENTS),
    ]);
    await Promise.all(Array.from({ length: CLIENTS }, () => client(ORDERS)));
    const sentIn = Date.now() - started;

    // Wait for the survivors to finish everything, including the killed instance's jobs.
    const terminal = ['COMPLETED', 'FAILED', 'CANCELLED', 'REFUNDED'];
    let open = -1;
    for (let i = 0; i < 600 && open !== 0; i++) {
      const r = await sql.query<{ n: string }>(
        `select count(*) as n from orders where status <> all($1) union all select count(*) from jobs where status in ('queued', 'running')`,
        [terminal],
      );
      open = r.rows.reduce((s, x) => s + Number(x.n), 0);
      if (open !== 0) await new Promise((r) => setTimeout(r, 200));
    }
    const elapsed = Date.now() - started;

    const orders = await sql.query<{ status: string; n: string }>('select status, count(*) as n from orders group by status order by status');
    const jobs = await sql.query<{ status: string; n: string }>('select status, count(*) as n from jobs group by status order by status');
    const leased = await sql.query<{ n: string }>("select count(*) as n from jobs where status = 'running' or lease_owner is not null");
    const unbalanced = await sql.query('select journal_id from ledger_postings group by journal_id having sum(amount) <> 0');
    const journals = await sql.query<{ n: string }>('select count(distinct journal_id) as n from ledger_postings');
    const pays = await sql.query<{ order_id: string; status: string; out_trade_no: string; gateway_trade_no: string | null }>('select order_id, status, out_trade_no, gateway_trade_no from payments');

    // The outside world's ground truth: what the one simulator really charged and made.
    const truth = (await (await fetch(`${sim.url}/_sim/ground-truth`)).json()) as {
      events: Array<{ type: string; outTradeNo: string }>;
      fulfilments: Array<{ orderId: string }>;
    };
    const captures = new Map<string, number>();
    for (const e of truth.events) if (e.type === 'capture') captures.set(e.outTradeNo, (captures.get(e.outTradeNo) ?? 0) + 1);
    const drinks = new Map<string, number>();
    for (const f of truth.fulfilments) drinks.set(f.orderId, (drinks.get(f.orderId) ?? 0) + 1);

    const count = (rows: Array<{ status: string; n: string }>): Record<string, number> => Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    const captured = [...captures.values()].reduce((s, n) => s + n, 0);
    process.stdout.write(
      `\nmulti-instance: ${ORDERS} orders sent to 3 instances (+1 restart) (answered in ${sentIn} ms, all terminal at ${elapsed} ms); answers ${JSON.stringify(Object.fromEntries(statuses))}, 201s by instance ${JSON.stringify(Object.fromEntries(servedBy))}\n` +
        `  orders ${JSON.stringify(count(orders.rows))}, jobs ${JSON.stringify(count(jobs.rows))}, still leased ${leased.rows[0]?.n}, ledger journals ${journals.rows[0]?.n} (unbalanced ${unbalanced.rows.length}); ` +
        `simulator: ${captured} captures for ${captures.size} payments, ${truth.fulfilments.length} drinks for ${drinks.size} orders\n`,
    );

    expect(open).toBe(0);
    expect(Object.keys(count(orders.rows))).toEqual(['COMPLETED']);
    expect(Number(leased.rows[0]?.n)).toBe(0);
    expect(count(jobs.rows)).toEqual({ done: pays.rows.length });
    expect(statuses.get(201)).toBeGreaterThan(ORDERS / 2);
    // The restarted instance took part.
    expect(servedBy.get('b2') ?? 0).toBeGreaterThan(0);
    // Exactly once, by the outside world's books: one capture per paid payment, none unknown to
    // us, one drink per order — across a SIGKILL mid-payment and a restart.
    expect(captured).toBe(pays.rows.length);
    for (const p of pays.rows) {
      expect(p.status).toBe('PAID');
      expect(captures.get(p.out_trade_no)).toBe(1);
      expect(drinks.get(p.order_id)).toBe(1);
    }
    expect(truth.fulfilments).toHaveLength(pays.rows.length);
    // The money's books balance, and every capture was booked.
    expect(unbalanced.rows).toEqual([]);
    expect(Number(journals.rows[0]?.n)).toBeGreaterThanOrEqual(pays.rows.length);
    // The killed instance really was cut off mid-work and others took its jobs over.
    expect(statuses.get(0) ?? 0).toBeGreaterThan(0);
  }, 240_000);
});
