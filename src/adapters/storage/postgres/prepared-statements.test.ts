import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresWanted, type TestDatabase } from '../../../../test/support/pg-db.js';
import { quiet } from '../../../../test/support/quiet-logger.js';
import { orderFixture } from '../../../../test/support/records.js';
import { testCipher } from '../../../../test/support/test-cipher.js';
import type { Repositories } from '../../../ports/repositories.js';
import { openPostgres, type PostgresStorage } from './database.js';
import { isStalePlan, type PreparingOptions } from './prepared-statements.js';

const wanted = await postgresWanted();

/** A unit of work whose two writes travel as one batch: an order and its job. */
async function placeOrder(r: Repositories, id: string): Promise<void> {
  await r.orders.insert(orderFixture(id, { description: 'latte' }));
  await r.jobs.enqueue({ id: `job_${id}`, now: 0, tenantId: 't1', kind: 'k', resourceId: id, runAt: 60_000 });
}

interface Prepared {
  readonly name: string;
  readonly statement: string;
  readonly runs: number;
}

/**
 * The statements prepared on the pool's one connection. Asked without parameters, so it is never
 * prepared itself (pg sends it by the simple protocol).
 */
async function prepared(s: PostgresStorage): Promise<Prepared[]> {
  const r = await sql<Prepared>`
    select name, statement, (generic_plans + custom_plans)::int as runs
    from pg_prepared_statements order by prepare_time`.execute(s.db);
  return r.rows;
}

describe.runIf(wanted)('PostgreSQL prepared statements', () => {
  let db: TestDatabase;
  const opened: PostgresStorage[] = [];
  /** One connection, so that what it holds can be read from it. */
  const open = async (preparing: PreparingOptions): Promise<PostgresStorage> => {
    const s = await openPostgres(db.url, { poolSize: 1, logger: quiet, cipher: testCipher(), preparing });
    opened.push(s);
    return s;
  };
  /** Another instance's migration: a connection of its own, not the pool's. */
  const migrate = async (ddl: string): Promise<void> => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query(ddl);
    } finally {
      await c.end();
    }
  };
  beforeAll(async () => {
    db = await createTestDatabase('pgprep_prepared');
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });
  afterAll(() => db.drop());

  it('a write batch of one shape is sent unnamed until its third use, then by name, parsed once', async () => {
    const s = await open({ after: 3, perConnection: 50, names: 100 });
    const batch = (p: Prepared): boolean => p.statement.startsWith('with b0 as (insert into "orders"');
    await s.unitOfWork.run((r) => placeOrder(r, 'p1'));
    await s.unitOfWork.run((r) => placeOrder(r, 'p2'));
    expect((await prepared(s)).filter(batch)).toEqual([]);
    for (const id of ['p3', 'p4', 'p5', 'p6', 'p7', 'p8', 'p9']) await s.unitOfWork.run((r) => placeOrder(r, id));
    const [only, ...more] = (await prepared(s)).filter(batch);
    expect(more).toEqual([]);
    expect(only?.runs).toBe(7); // one statement on the server, run seven times
    const n = await sql<{ n: number }>`select count(*)::int as n from orders`.execute(s.db);
    expect(n.rows[0]?.n).toBe(9);
  });

  // database.prepared_statements: false, behind a pooler in transaction mode.
  it('with no names nothing is prepared', async () => {
    const s = await open({ after: 1, perConnection: 50, names: 0 });
    for (const id of ['n1', 'n2', 'n3', 'n4']) await s.unitOfWork.run((r) => placeOrder(r, id));
    expect(await prepared(s)).toEqual([]);
  });

  it('varied texts keep at most perConnection statements on a connection, and at most `names` named', async () => {
    const s = await open({ after: 1, perConnection: 4, names: 1000 });
    const shape = (i: number) => sql<{ v: number }>`select ${i}::int + ${sql.raw(String(i % 10))} as v`;
    for (let i = 0; i < 30; i++) expect((await shape(i).execute(s.db)).rows[0]?.v).toBe(i + (i % 10));
    let held = await prepared(s);
    expect(held.length).toBe(4);
    // The last four shapes used are the ones held.
    expect(held.map((p) => p.statement).sort()).toEqual([6, 7, 8, 9].map((k) => `select $1::int + ${k} as v`));

    // Inside a transaction nothing is dropped (DEALLOCATE could abort it): new texts go unnamed.
    await s.db.transaction().execute(async (trx) => {
      for (let i = 0; i < 10; i++) expect((await shape(i).execute(trx)).rows[0]?.v).toBe(i + (i % 10));
    });
    held = await prepared(s);
    expect(held.length).toBe(4);

    const few = await open({ after: 1, perConnection: 100, names: 3 });
    for (let i = 0; i < 20; i++) await shape(i).execute(few.db);
    expect((await prepared(few)).length).toBe(3);
  });

  it("after another instance's migration, a read alone is sent again unnamed, with the new column", async () => {
    const s = await open({ after: 1, perConnection: 50, names: 100 });
    await s.unitOfWork.run((r) => placeOrder(r, 'm1'));
    const read = () => sql<Record<string, unknown>>`select * from orders where id = ${'m1'}`.execute(s.db);
    expect((await read()).rows[0]).not.toHaveProperty('extra');
    await migrate(`alter table orders add column extra text default 'x'`);
    const after = await read(); // the prepared one fails (cached plan must not change result type)
    expect(after.rows[0]?.extra).toBe('x');
    expect((await read()).rows[0]?.extra).toBe('x'); // and by its new name
    await migrate('alter table orders drop column extra');
  });

  it("after another instance's migration, a unit of work that read with the stale statement runs again", async () => {
    const s = await open({ after: 1, perConnection: 50, names: 100 });
    await s.unitOfWork.run((r) => placeOrder(r, 'm2'));
    // Inside BEGIN: the read opens the transaction, the update comes after it.
    const work = async (r: Repositories) => {
      const o = (await r.orders.get('t1', 'm2'))!;
      await r.orders.update({ ...o, status: 'CANCELLED', version: o.version + 1 }, o.version);
      return o.version;
    };
    await s.unitOfWork.run(work);
    await migrate(`alter table orders add column extra2 text`);
    let runs = 0;
    const version = await s.unitOfWork.run((r) => {
      runs++;
      return work(r);
    });
    expect([runs, version]).toEqual([2, 2]);
    expect((await s.unitOfWork.read.orders.get('t1', 'm2'))?.version).toBe(3);
  });

  it('statements dropped behind its back (DEALLOCATE ALL) are prepared again', async () => {
    const s = await open({ after: 1, perConnection: 50, names: 100 });
    const read = () => sql<{ v: string }>`select ${'a'}::text as v`.execute(s.db);
    expect((await read()).rows[0]?.v).toBe('a');
    await sql`deallocate all`.execute(s.db);
    expect((await read()).rows[0]?.v).toBe('a');
    expect((await read()).rows[0]?.v).toBe('a');
    expect((await prepared(s)).length).toBe(1);
  });

  it('what counts as stale', () => {
    expect(isStalePlan({ code: '0A000', message: 'cached plan must not change result type' })).toBe(true);
    expect(isStalePlan({ code: '26000', message: 'prepared statement "autoglm_1" does not exist' })).toBe(true);
    expect(isStalePlan({ code: '0A000', message: 'something else unsupported' })).toBe(false);
    expect(isStalePlan({ code: '40001' })).toBe(false);
  });
});
