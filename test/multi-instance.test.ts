import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvelopeCipher } from '../src/adapters/crypto/envelope-cipher.js';
import { juheChannelEntry } from '../src/simulator/server/juhe-face.js';
import { createTestDatabase, postgresWanted, type TestDatabase } from './support/pg-db.js';
import { TEST_MASTER_KEY, TEST_MASTER_KEY_BASE64 } from './support/test-cipher.js';
import { spawnUntil } from './support/spawn-until.js';

/**
 * Three `autoglm serve` processes on one PostgreSQL database share a stream of auto-paid
 * orders interleaved with phone recharges (half and half, a fresh phone number per recharge,
 * paid from wallets topped up first). One instance is SIGKILLed in the middle; another is
 * stopped and started again. Afterwards every order and recharge is terminal, no job is left
 * leased, the ledger balances, and — by the ground truth of the one standalone simulator all of
 * them pay, order and recharge through (`autoglm simulator`, the outside world, in its own
 * process, recharges through its Juhe face) — no order was charged or made twice and no phone
 * was topped up twice.
 *
 * The lease is set far longer than the test: the killed instance's jobs can only come back
 * through the liveness check (its advisory lock vanishes with its connections).
 *
 * AUTOGLM_MULTI_INSTANCE_ITEMS (or the older AUTOGLM_MULTI_INSTANCE_ORDERS) sets the number of
 * items, orders and recharges together: 3000 by default.
 */
const ITEMS = Number(process.env.AUTOGLM_MULTI_INSTANCE_ITEMS ?? process.env.AUTOGLM_MULTI_INSTANCE_ORDERS ?? 3000);
const USERS = 50;
/** Every recharge is 10 yuan; each wallet gets enough for its share of recharges, and one more. */
const RECHARGE_FEN = 1000;
const TOP_UP_FEN = (Math.ceil(ITEMS / 2 / USERS) + 1) * RECHARGE_FEN;
/** Item n is an order when even, a recharge of phone `phoneOf(n)` when odd. */
const isRecharge = (n: number): boolean => n % 2 === 1;
const phoneOf = (n: number): string => `1380${String(n).padStart(7, '0')}`;
/** Each pair of items (an order, a recharge) goes to the next user, so recharges spread over every wallet. */
const userOf = (n: number): number => Math.floor(n / 2) % USERS;
const CLIENTS = 24;
const wanted = await postgresWanted();
const dir = mkdtempSync(join(tmpdir(), 'autoglm-multi-'));

interface Instance {
  readonly name: string;
  readonly child: ChildProcess;
  readonly url: string;
  alive: boolean;
}

/** The one outside world every instance pays and orders through. */
async function simulator(): Promise<{
  child: ChildProcess;
  url: string;
  secret: string;
  juhe: Record<string, unknown>;
}> {
  const journal = join(dir, 'sim');
  // Some top-ups are refused by the carrier (the recharge fails, the wallet gets its money back),
  // and accepted ones take a while to reach the phone (the service polls Juhe for them).
  const chaos = {
    latency: { type: 'uniform', min_ms: 5, max_ms: 40 },
    recharge_failure_rate: 0.05,
    recharge_processing_ms: { min: 10, max: 80 },
  };
  const started = await spawnUntil(
    'test/support/simulator-child.ts',
    ['--port', '0', '--seed', '11', '--journal-dir', journal, '--chaos', JSON.stringify(chaos)],
    process.env,
    'simulator',
  );
  return {
    ...started,
    secret: readFileSync(join(journal, 'native.secret'), 'utf8').trim(),
    juhe: juheChannelEntry(journal, started.url, true),
  };
}

async function serve(db: string, name: string, configFile: string): Promise<Instance> {
  const env = {
    ...process.env,
    AUTOGLM_LOG_LEVEL: 'warn',
    AUTOGLM_AUTO_CONFIRM_ORDER: 'true',
    AUTOGLM_TRUSTED_ACTIONS: 'order_coffee,submit_payment,recharge_phone,wallet_top_up',
    AUTOGLM__DATABASE__POOL_SIZE: '6',
    AUTOGLM__WORKER__LEASE_MS: '600000',
    AUTOGLM__WORKER__POLL_INTERVAL_MS: '100',
    AUTOGLM__WORKER__RETRY_BASE_MS: '50',
    // A load test from one client address: a per-IP request budget would only measure itself.
    AUTOGLM__RATE_LIMIT__ENABLED: 'false',
    // PostgreSQL is never started without a master key; every instance shares it.
    AUTOGLM_MASTER_KEY: TEST_MASTER_KEY_BASE64,
  };
  const { child, url } = await spawnUntil(
    'test/support/serve-child.ts',
    ['--port', '0', '--db', db, '--config', configFile],
    env,
    name,
  );
  return { name, child, url, alive: true };
}

const exited = (c: ChildProcess): Promise<unknown> =>
  c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r));

describe.runIf(wanted)('several instances on one PostgreSQL database', () => {
  let db: TestDatabase;
  let sql: pg.Client;
  let sim: Awaited<ReturnType<typeof simulator>> | undefined;
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

  it(
    `share ${ITEMS} orders and phone recharges through a SIGKILL and a restart: all terminal, ` +
      `none charged or topped up twice`,
    async () => {
      sim = await simulator();
      const configFile = join(dir, 'config.json');
      writeFileSync(
        configFile,
        JSON.stringify({
          payment_gateway: 'sim-http',
          auth: { admin_key_file: join(dir, 'admin-key') },
          gateways: { 'sim-http': { type: 'simulator-http', base_url: sim.url, secret: sim.secret, timeout_ms: 5000 } },
          merchant: { type: 'http', base_url: sim.url, secret: sim.secret },
          recharge: {
            poll_interval_ms: 50,
            processing_deadline_ms: 30_000,
            // One channel: a refused top-up fails the recharge (nowhere to fail over to). Keep a
            // run of refusals from opening the breaker for the rest of the test.
            routing: { breaker: { consecutive_failures: 50 } },
            channels: { 'sim-juhe': sim.juhe },
          },
        }),
      );
      // Start one first so the others find the schema migrated (they would also wait on the lock).
      instances.push(await serve(db.url, 'a', configFile));
      // The first start wrote the admin key: the clients are an operator's tool acting for each user.
      const adminKey = readFileSync(join(dir, 'admin-key'), 'utf8').trim();
      const actFor = (user: string): Record<string, string> => ({
        authorization: `Bearer ${adminKey}`,
        'x-act-for': user,
      });
      instances.push(...(await Promise.all([serve(db.url, 'b1', configFile), serve(db.url, 'c', configFile)])));
      const live = (): Instance[] => instances.filter((i) => i.alive);

      // Every user's wallet first, through the payment simulator.
      const a = instances[0]!;
      for (let u = 0; u < USERS; u++) {
        const r = await fetch(`${a.url}/api/v1/wallet/top-ups`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': `t${u}`, ...actFor(`user-${u}`) },
          body: JSON.stringify({ amount: TOP_UP_FEN }),
        });
        expect(r.status, await r.text()).toBe(201);
      }

      let sent = 0;
      const statuses = { order: new Map<number, number>(), recharge: new Map<number, number>() };
      const servedBy = new Map<string, number>();
      const killAt = Math.floor(ITEMS / 4);
      const restartAt = Math.floor(ITEMS / 2);
      let killed = false;
      // Clients send items round-robin to the live instances until `until` have been sent.
      const client = async (until: number): Promise<void> => {
        while (sent < until) {
          const n = sent++;
          const targets = live();
          const target = targets[n % targets.length]!;
          const recharge = isRecharge(n);
          const status = await fetch(`${target.url}${recharge ? '/api/v1/recharges' : '/api/v1/order'}`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'idempotency-key': `m${n}`,
              ...actFor(`user-${userOf(n)}`),
            },
            body: JSON.stringify(
              recharge ? { phone: phoneOf(n), amount: RECHARGE_FEN } : { drink: 'latte', size: 'medium' },
            ),
          }).then(
            (r) => r.status,
            () => 0, // cut off by the kill: the item may or may not exist
          );
          const counts = recharge ? statuses.recharge : statuses.order;
          counts.set(status, (counts.get(status) ?? 0) + 1);
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
      // Phase one: all three, then one SIGKILLed while items are in flight.
      await Promise.all(Array.from({ length: CLIENTS }, () => client(restartAt)));
      // Phase two: another is stopped (SIGTERM: it drains) while the third keeps serving, and
      // started again; the rest of the items go to the two that are up.
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
      await Promise.all(Array.from({ length: CLIENTS }, () => client(ITEMS)));
      const sentIn = Date.now() - started;

      // Wait for the survivors to finish everything, including the killed instance's jobs and the
      // jobs still to come from the audit outbox (each finished recharge's notice is enqueued when
      // the dispatcher reaches its audit row, a moment after the recharge itself ended).
      const terminal = ['COMPLETED', 'FAILED', 'CANCELLED', 'REFUNDED'];
      let open = -1;
      for (let i = 0; i < 900 && open !== 0; i++) {
        const r = await sql.query<{ n: string }>(
          `select count(*) as n from orders where status <> all($1)
         union all select count(*) from recharges where status not in ('SUCCEEDED', 'FAILED')
         union all select count(*) from jobs where status in ('queued', 'running')
         union all select count(*) from audit_log
           where id > coalesce((select position from webhook_cursor where name = 'audit'), 0)`,
          [terminal],
        );
        open = r.rows.reduce((s, x) => s + Number(x.n), 0);
        if (open !== 0) await new Promise((r) => setTimeout(r, 200));
      }
      const elapsed = Date.now() - started;

      const count = (rows: Array<{ status: string; n: string }>): Record<string, number> =>
        Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
      const orders = await sql.query<{ status: string; n: string }>(
        'select status, count(*) as n from orders group by status order by status',
      );
      const jobs = await sql.query<{ status: string; n: string }>(
        'select status, count(*) as n from jobs group by status order by status',
      );
      const leased = await sql.query<{ n: string }>(
        "select count(*) as n from jobs where status = 'running' or lease_owner is not null",
      );
      const unbalanced = await sql.query(
        'select journal_id from ledger_postings group by journal_id having sum(amount) <> 0',
      );
      const journals = await sql.query<{ n: string }>('select count(distinct journal_id) as n from ledger_postings');
      const pays = await sql.query<{ order_id: string; status: string; out_trade_no: string }>(
        'select order_id, status, out_trade_no from payments',
      );
      const topUps = await sql.query<{ user_id: string; status: string; amount: string; out_trade_no: string }>(
        'select user_id, status, amount, out_trade_no from wallet_top_ups',
      );
      const sealed = await sql.query<{ id: string; user_id: string; phone: string; status: string; amount: string }>(
        'select id, user_id, phone, status, amount from recharges',
      );
      // The numbers are sealed at rest: opened here with the instances' master key and data keys.
      expect(sealed.rows.every((r) => r.phone.startsWith('v1:'))).toBe(true);
      const cipher = new EnvelopeCipher(TEST_MASTER_KEY);
      for (const k of (await sql.query<{ id: string; wrapped: string }>('select id, wrapped from data_keys')).rows)
        cipher.addKey(k.id, k.wrapped);
      const recharges = { rows: sealed.rows.map((r) => ({ ...r, phone: cipher.open(r.phone, 'recharges.phone') })) };
      const wallets = await sql.query<{ user_id: string; balance: string }>('select user_id, balance from wallets');

      // The outside world's ground truth: what the one simulator really charged, made and topped up.
      const truth = (await (await fetch(`${sim.url}/_sim/ground-truth`)).json()) as {
        events: Array<{ type: string; outTradeNo: string }>;
        fulfilments: Array<{ orderId: string }>;
      };
      const phoneTruth = (await (await fetch(`${sim.url}/_sim/recharge-ground-truth`)).json()) as {
        top_ups: number;
        events: Array<{ order_id: string; phone: string; amount: number }>;
      };
      const captures = new Map<string, number>();
      for (const e of truth.events)
        if (e.type === 'capture') captures.set(e.outTradeNo, (captures.get(e.outTradeNo) ?? 0) + 1);
      const drinks = new Map<string, number>();
      for (const f of truth.fulfilments) drinks.set(f.orderId, (drinks.get(f.orderId) ?? 0) + 1);
      const toppedUp = new Map<string, Array<{ order_id: string; amount: number }>>();
      for (const e of phoneTruth.events) toppedUp.set(e.phone, [...(toppedUp.get(e.phone) ?? []), e]);

      const rechargeStatus: Record<string, number> = {};
      for (const r of recharges.rows) rechargeStatus[r.status] = (rechargeStatus[r.status] ?? 0) + 1;
      const captured = [...captures.values()].reduce((s, n) => s + n, 0);
      const phonesTwice = [...toppedUp.values()].filter((t) => t.length > 1).length;
      const fmt = (m: Map<number, number>): string => JSON.stringify(Object.fromEntries(m));
      // Each live instance's own view at GET /metrics: the recharge calls it saw end, its queue.
      const scraped = await Promise.all(
        live().map(async (i) => {
          const text = await (await fetch(`${i.url}/metrics`)).text();
          const value = (line: string): number =>
            Number(new RegExp(`^${line.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
          return {
            name: i.name,
            succeeded: value('autoglm_recharge_attempts_total{channel="sim-juhe",outcome="success"}'),
            queued: value('autoglm_jobs{status="queued"}'),
          };
        }),
      );
      process.stdout.write(
        `\nmulti-instance: ${ITEMS} items (${ITEMS - Math.floor(ITEMS / 2)} orders, ` +
          `${Math.floor(ITEMS / 2)} recharges) sent to 3 instances (+1 restart) ` +
          `(answered in ${sentIn} ms, all terminal at ${elapsed} ms); ` +
          `answers: orders ${fmt(statuses.order)}, recharges ${fmt(statuses.recharge)}; ` +
          `201s by instance ${JSON.stringify(Object.fromEntries(servedBy))}\n` +
          `  orders ${JSON.stringify(count(orders.rows))}, recharges ${JSON.stringify(rechargeStatus)}, ` +
          `wallet top-ups ${topUps.rows.length}, jobs ${JSON.stringify(count(jobs.rows))}, ` +
          `still leased ${leased.rows[0]?.n}, ` +
          `ledger journals ${journals.rows[0]?.n} (unbalanced ${unbalanced.rows.length})\n` +
          `  simulator: ${captured} captures for ${captures.size} payments and top-ups, ` +
          `${truth.fulfilments.length} drinks for ${drinks.size} orders, ` +
          `${phoneTruth.top_ups} top-ups to ${toppedUp.size} phones (phones topped up twice: ${phonesTwice}); ` +
          `/metrics of the live instances ${JSON.stringify(scraped)}\n`,
      );

      expect(open).toBe(0);
      expect(Object.keys(count(orders.rows))).toEqual(['COMPLETED']);
      expect(Number(leased.rows[0]?.n)).toBe(0);
      expect(Object.keys(count(jobs.rows))).toEqual(['done']);
      expect(statuses.order.get(201)).toBeGreaterThan(ITEMS / 4);
      expect(statuses.recharge.get(201)).toBeGreaterThan(ITEMS / 8);
      // The restarted instance took part.
      expect(servedBy.get('b2') ?? 0).toBeGreaterThan(0);
      // Exactly once, by the outside world's books: one capture per paid payment and top-up, none
      // unknown to us, one drink per order — across a SIGKILL mid-payment and a restart.
      expect(captured).toBe(pays.rows.length + topUps.rows.length);
      for (const p of pays.rows) {
        expect(p.status).toBe('PAID');
        expect(captures.get(p.out_trade_no)).toBe(1);
        expect(drinks.get(p.order_id)).toBe(1);
      }
      for (const t of topUps.rows) {
        expect(t.status).toBe('SUCCEEDED');
        expect(captures.get(t.out_trade_no)).toBe(1);
      }
      expect(truth.fulfilments).toHaveLength(pays.rows.length);
      // Every recharge ended; no phone was topped up twice; a SUCCEEDED recharge reached its phone
      // exactly once (under one of its own attempts' order ids), a FAILED one never.
      expect(Object.keys(rechargeStatus).filter((st) => st !== 'SUCCEEDED' && st !== 'FAILED')).toEqual([]);
      expect(phonesTwice).toBe(0);
      for (const r of recharges.rows) {
        const got = toppedUp.get(r.phone) ?? [];
        if (r.status === 'SUCCEEDED') {
          expect(got).toHaveLength(1);
          expect(got[0]?.order_id.startsWith(`${r.id.replace(/[^A-Za-z0-9]/g, '')}A`)).toBe(true);
          expect(got[0]?.amount).toBe(Number(r.amount));
        } else {
          expect(got).toEqual([]);
        }
      }
      expect(phoneTruth.top_ups).toBe(rechargeStatus.SUCCEEDED ?? 0);
      // The instances still up counted their own successful calls to the channel, no more than there were.
      for (const m of scraped) expect(m.queued).toBe(0);
      const countedOk = scraped.reduce((n, m) => n + m.succeeded, 0);
      expect(countedOk).toBeGreaterThan(0);
      expect(countedOk).toBeLessThanOrEqual(rechargeStatus.SUCCEEDED ?? 0);
      // The money's books balance: every wallet holds its top-ups less its succeeded recharges
      // (failed ones gave their reservation back), and every capture was booked.
      const expected = new Map<string, number>();
      for (const t of topUps.rows) expected.set(t.user_id, (expected.get(t.user_id) ?? 0) + Number(t.amount));
      for (const r of recharges.rows)
        if (r.status === 'SUCCEEDED') expected.set(r.user_id, (expected.get(r.user_id) ?? 0) - Number(r.amount));
      expect(Object.fromEntries(wallets.rows.map((w) => [w.user_id, Number(w.balance)]))).toEqual(
        Object.fromEntries(expected),
      );
      expect(unbalanced.rows).toEqual([]);
      expect(Number(journals.rows[0]?.n)).toBeGreaterThanOrEqual(
        pays.rows.length + topUps.rows.length + recharges.rows.length,
      );
      // The killed instance really was cut off mid-work and others took its jobs over.
      expect((statuses.order.get(0) ?? 0) + (statuses.recharge.get(0) ?? 0)).toBeGreaterThan(0);
    },
    600_000,
  );
});
