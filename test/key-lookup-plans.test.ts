import { DefaultQueryCompiler, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openPostgres, type PostgresStorage } from '../src/adapters/storage/postgres/database.js';
import { createTestDatabase, postgresWanted, type TestDatabase } from './support/pg-db.js';
import { quiet } from './support/quiet-logger.js';
import { orderFixture, paymentFixture } from './support/records.js';
import { testCipher } from './support/test-cipher.js';

/**
 * PostgreSQL keeps one generic plan per prepared statement and connection until the table's
 * statistics change. A table with none yet (new, or autovacuum off) and few rows makes every index
 * look alike, and a by-key lookup that also checks the tenant or a job's status was planned on an
 * index starting with that column: every update of an order read all of its tenant's orders, more
 * with each order. Each statement an order and a read send by key must be planned on its table's
 * primary key, with no statistics, as the generic plan the server keeps.
 */
const wanted = await postgresWanted();

describe.skipIf(!wanted)('by-key statements on PostgreSQL, planned with no statistics', () => {
  let db: TestDatabase;
  let s: PostgresStorage;
  const compiled: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('pgc_key_plans');
    s = await openPostgres(db.url, { poolSize: 2, logger: quiet, cipher: testCipher() });
    // No statistics, whatever the server's autovacuum does meanwhile.
    const tables = ['orders', 'payments', 'jobs', 'refunds', 'wallet_top_ups', 'recharges', 'mandates', 'held_actions'];
    for (const t of tables) await sql.raw(`alter table ${t} set (autovacuum_enabled = false)`).execute(s.db);
    await s.unitOfWork.run(async (r) => {
      for (let i = 0; i < 200; i++) {
        await r.orders.insert(orderFixture(`o${i}`, { userId: `u${i % 7}` }));
        await r.payments.insert(paymentFixture(`pay_o${i}`, `o${i}`));
      }
    });
    const compile = vi.spyOn(DefaultQueryCompiler.prototype, 'compileQuery');
    // What an order and a read run by key, each compiled once here (hot queries) and recorded.
    const o = orderFixture('o1');
    const p = paymentFixture('pay_o1', 'o1');
    await s.unitOfWork.read.orders.get('t1', 'o1');
    await s.unitOfWork.read.orders.getWithPaymentIfAny('t1', 'o1');
    await s.unitOfWork.read.payments.get('t1', 'pay_o1');
    await s.unitOfWork.read.refunds.get('t1', 'rf1');
    await s.unitOfWork.read.topUps.get('t1', 'tu1');
    await s.unitOfWork.read.recharges.get('t1', 'rc1');
    await s.unitOfWork.read.mandates.get('t1', 'm1');
    await s.unitOfWork.read.held.get('t1', 'h1');
    await s.unitOfWork.run(async (r) => {
      const job = await r.jobs.enqueue({
        id: 'j1',
        now: 1000,
        tenantId: 't1',
        kind: 'pay',
        resourceId: 'o1',
        runAt: 1000,
        leaseTo: { owner: 'w1', until: 60_000 },
      });
      await r.payments.update({ ...p, status: 'PAID', version: 2 }, 1);
      await r.orders.update({ ...o, status: 'PAID', version: 2 }, 1);
      await r.jobs.advance(job, 'w1', 1001, { kind: 'fulfil', priority: 0, leaseUntil: 60_000 });
      await r.jobs.renew('j1', 'w1', 1002, 60_000);
      await r.jobs.complete('j1', 'w1', 1003);
      await r.mandates.spend('t1', 'm1', 100, 0, 1004);
      await r.mandates.giveBack('t1', 'm1', 100, 0);
      await r.mandates.revoke('t1', 'm1', 'user:u1', 1005);
      await r.held.decide('t1', 'h1', { digest: 'd', to: 'CONFIRMED', by: 'user:u1', now: 1006, resultId: null });
    });
    for (const r of compile.mock.results) if (r.type === 'return') compiled.push(r.value.sql.replace(/\s+/g, ' '));
    compile.mockRestore();
  });
  afterAll(async () => {
    await s?.close();
    await db?.drop();
  });

  /** The plan the server keeps for `text` once it goes generic, as EXPLAIN prints it. */
  async function genericPlan(text: string): Promise<string> {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query('set plan_cache_mode = force_generic_plan');
      await c.query(`prepare s as ${text}`);
      const n = Math.max(0, ...[...text.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
      const args = n === 0 ? '' : `(${Array<string>(n).fill('null').join(', ')})`;
      const { rows } = await c.query<{ 'QUERY PLAN': string }>(`explain execute s${args}`);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    } finally {
      await c.end();
    }
  }

  it.each([
    ['an order by tenant and id', /^select \* from "orders" where "id" = \$1/],
    ['an order with its payment', /^select "o"\.\*, .* from "orders" as "o" left join "payments"/],
    ['a payment by tenant and id', /^select \* from "payments" where "id" = \$1/],
    ['a version-checked update of an order', /^update "orders" set .* \/\*batch:version\*\/$/],
    ['a version-checked update of a payment', /^update "payments" set .* \/\*batch:version\*\/$/],
    ['a leased job moved to its next step', /^update "jobs" set "kind" = .* \/\*batch:lease\*\/$/],
    ['a leased job completed', /^update "jobs" set "status" = .* \/\*batch:lease\*\/$/],
    ['a lease renewed', /^update "jobs" set "lease_until" = /],
    ['a refund by tenant and id', /^select \* from "refunds" where "id" = \$1/],
    ['a top-up by tenant and id', /^select \* from "wallet_top_ups" where "id" = \$1/],
    ['a recharge by tenant and id', /^select \* from "recharges" where "id" = \$1/],
    ['a mandate by tenant and id', /^select \* from "mandates" where "id" = \$1/],
    ['a mandate spent within its budget', /^update "mandates" set "spent" = \(case/],
    ['a mandate given its spend back', /^update "mandates" set "spent" = case/],
    ['a mandate revoked', /^update "mandates" set "revoked_at"/],
    ['a held action by tenant and id', /^select \* from "held_actions" where "id" = \$1/],
    ['a held action decided', /^update "held_actions" set "status"/],
  ])('%s: on the primary key only', async (_what, shape) => {
    const texts = compiled.filter((t) => shape.test(t));
    expect(texts).toHaveLength(1);
    const plan = await genericPlan(texts[0]!);
    const indexes = [...plan.matchAll(/Index (?:Only )?Scan (?:Backward )?using (\w+)/g)].map((m) => m[1]);
    expect(indexes.length, plan).toBeGreaterThan(0);
    expect(
      indexes.filter((i) => !i!.endsWith('_pkey')),
      plan,
    ).toEqual([]);
    expect(plan).not.toMatch(/Seq Scan/);
  });
});
