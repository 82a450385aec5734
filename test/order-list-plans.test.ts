import { DefaultQueryCompiler, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openPostgres, type PostgresStorage } from '../src/adapters/storage/postgres/database.js';
import type { OrderFilter } from '../src/ports/repositories.js';
import { createTestDatabase, postgresWanted, type TestDatabase } from './support/pg-db.js';
import { quiet } from './support/quiet-logger.js';
import { orderFixture } from './support/records.js';
import { testCipher } from './support/test-cipher.js';

/**
 * The orders list filtered by several statuses (the console's filters; "is anything unfinished?")
 * must read about as many rows as it returns, whatever the tenant holds. As one `status in (…)`
 * ordered by id, PostgreSQL may walk the primary key backwards and filter (it expects a match
 * soon): when the only unfinished orders are old, or there are none, it reads every order.
 */
const wanted = await postgresWanted();
const UNFINISHED = ['CREATED', 'AWAITING_PAYMENT', 'PAYMENT_PROCESSING', 'PAID', 'FULFILLING'] as const;

describe.skipIf(!wanted)('the orders list by status on PostgreSQL, 3,000 orders, the 5 oldest unfinished', () => {
  let db: TestDatabase;
  let s: PostgresStorage;

  beforeAll(async () => {
    db = await createTestDatabase('order_list_plans');
    s = await openPostgres(db.url, { poolSize: 2, logger: quiet, cipher: testCipher() });
    // Statistics only when a test asks for them, whatever the server's autovacuum does meanwhile.
    await sql`alter table orders set (autovacuum_enabled = false)`.execute(s.db);
    for (let b = 0; b < 6; b++) {
      await s.unitOfWork.run(async (r) => {
        for (let i = 0; i < 500; i++) {
          const n = b * 500 + i;
          const status = n < 5 ? 'PAYMENT_PROCESSING' : 'COMPLETED';
          await r.orders.insert(orderFixture(`ord_${String(n).padStart(6, '0')}`, { userId: `u${n % 7}`, status }));
        }
      });
    }
  }, 120_000);
  afterAll(async () => {
    await s?.close();
    await db?.drop();
  });

  /**
   * The statement `list(filter)` sends, run under EXPLAIN ANALYZE as the generic plan a prepared
   * statement settles on (`generic`) or as planned for its values: the buffers it touched.
   */
  async function cost(filter: OrderFilter, generic: boolean): Promise<{ buffers: number; ids: string[] }> {
    const compile = vi.spyOn(DefaultQueryCompiler.prototype, 'compileQuery');
    const listed = await s.unitOfWork.read.orders.list(filter);
    const sent = compile.mock.results.flatMap((r) => (r.type === 'return' ? [r.value] : []));
    compile.mockRestore();
    expect(sent).toHaveLength(1);
    const { sql: text, parameters } = sent[0]!;
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query(`set plan_cache_mode = ${generic ? 'force_generic_plan' : 'force_custom_plan'}`);
      await c.query(`prepare s as ${text}`);
      // EXECUTE takes its values as literals (they are text and numbers here).
      const args = parameters.map((v) => (typeof v === 'number' ? String(v) : c.escapeLiteral(String(v))));
      const { rows } = await c.query<{ 'QUERY PLAN': Array<{ Plan: Record<string, number> }> }>(
        `explain (analyze, buffers, format json) execute s(${args.join(', ')})`,
      );
      const plan = rows[0]!['QUERY PLAN'][0]!.Plan;
      return {
        buffers: (plan['Shared Hit Blocks'] ?? 0) + (plan['Shared Read Blocks'] ?? 0),
        ids: listed.map((o) => o.id),
      };
    } finally {
      await c.end();
    }
  }

  const unfinished = { tenantId: 't1', status: [...UNFINISHED], limit: 1 };
  const common = { tenantId: 't1', status: ['COMPLETED', 'CANCELLED'] as const, limit: 20 };

  // Before: 93 buffers with no statistics (the whole table, growing with it); 17 with them.
  it('with no statistics, as the generic plan: reads about what it returns', async () => {
    const oldest = await cost(unfinished, true);
    expect(oldest.ids).toEqual(['ord_000004']);
    expect(oldest.buffers).toBeLessThan(30);
    const page = await cost(common, true);
    expect(page.ids).toHaveLength(20);
    expect(page.buffers).toBeLessThan(30);
  });

  it('with statistics, as planned for its values: reads about what it returns', async () => {
    await sql`analyze orders`.execute(s.db);
    const oldest = await cost(unfinished, false);
    expect(oldest.ids).toEqual(['ord_000004']);
    expect(oldest.buffers).toBeLessThan(30);
    const page = await cost(common, false);
    expect(page.ids[0]).toBe('ord_002999');
    expect(page.buffers).toBeLessThan(30);
  });
});
