import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, sql, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresWanted, type TestDatabase } from '../../../../test/support/pg-db.js';
import { BATCHABLE } from './batchable.js';
import { HotInsert, HotQueryError, hotQuery } from './hot-query.js';

interface Db {
  notes: { tenant: string; id: string; body: string; n: number };
}

/** Every statement each database ran, in order. */
const ran = new WeakMap<Kysely<Db>, string[]>();

function logged(make: (log: (sql: string) => void) => Kysely<Db>): Kysely<Db> {
  const texts: string[] = [];
  const db = make((s) => texts.push(s));
  ran.set(db, texts);
  return db;
}

const engines: Array<{ name: string; open(): Promise<Kysely<Db>>; close?(): Promise<void> }> = [
  {
    name: 'sqlite',
    open: () =>
      Promise.resolve(
        logged(
          (log) =>
            new Kysely<Db>({
              dialect: new SqliteDialect({ database: new SqliteDatabase(':memory:') }),
              log: (e) => log(e.query.sql),
            }),
        ),
      ),
  },
];
let pgDb: TestDatabase | undefined;
if (await postgresWanted())
  engines.push({
    name: 'postgres',
    async open() {
      pgDb = await createTestDatabase('hotq');
      const url = pgDb.url;
      return logged(
        (log) =>
          new Kysely<Db>({
            dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 2 }) }),
            log: (e) => log(e.query.sql),
          }),
      );
    },
    close: () => pgDb?.drop() ?? Promise.resolve(),
  });

let builds = 0;
/** A note of one tenant by id: the tenant is a parameter like the id, never dropped. */
const noteById = hotQuery((db: Kysely<Db>, a: { tenant: string; id: string }) => {
  builds++;
  return db.selectFrom('notes').selectAll().where('tenant', '=', a.tenant).where('id', '=', a.id).limit(1);
});
const setBody = hotQuery((db: Kysely<Db>, a: { tenant: string; id: string; body: string }) =>
  db.updateTable('notes').set({ body: a.body }).where('tenant', '=', a.tenant).where('id', '=', a.id),
);
const insertNotes = new HotInsert<Db, 'notes', Db['notes']>('notes', (q) => q.modifyEnd(BATCHABLE.insert));

describe.each(engines)('hot queries on $name', (engine) => {
  let db: Kysely<Db>;

  beforeAll(async () => {
    db = await engine.open();
    await db.schema
      .createTable('notes')
      .addColumn('tenant', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('n', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('notes_pk', ['tenant', 'id'])
      .execute();
    await insertNotes.execute(db, [{ tenant: 't1', id: 'a', body: 'one', n: 1 }]);
    await insertNotes.execute(db, [
      { tenant: 't1', id: 'b', body: 'two', n: 2 },
      { tenant: 't2', id: 'a', body: 'other tenant', n: 3 },
      { n: 4, body: 'keys in another order', id: 'c', tenant: 't2' },
    ]);
  });

  afterAll(async () => {
    await db.destroy();
    await engine.close?.();
  });

  it('builds and compiles once, then runs the same text with each run its own values', async () => {
    const before = builds;
    expect(await noteById.first(db, { tenant: 't1', id: 'a' })).toMatchObject({ body: 'one', n: 1 });
    expect(await noteById.first(db, { tenant: 't1', id: 'b' })).toMatchObject({ body: 'two', n: 2 });
    expect(await noteById.first(db, { id: 'c', tenant: 't2' })).toMatchObject({ body: 'keys in another order' });
    expect(await noteById.rows(db, { tenant: 't1', id: 'nope' })).toEqual([]);
    // The first run on this database built it (the other engine's database has its own text).
    expect(builds - before).toBeLessThanOrEqual(1);
    const texts = ran.get(db)!.filter((s) => s.startsWith('select'));
    expect(texts).toHaveLength(4);
    expect(new Set(texts)).toEqual(new Set([noteById.sql(db)]));
    expect(noteById.sql(db)).toContain(engine.name === 'postgres' ? '$3' : '?'); // the limit stays a parameter
  });

  it("keeps the tenant a parameter: one tenant's id never finds another's row", async () => {
    expect(await noteById.first(db, { tenant: 't2', id: 'a' })).toMatchObject({ body: 'other tenant' });
    expect(await noteById.first(db, { tenant: 't1', id: 'c' })).toBeUndefined();
    expect(await setBody.affected(db, { tenant: 't1', id: 'c', body: 'x' })).toBe(0);
    expect(await setBody.affected(db, { tenant: 't2', id: 'c', body: 'changed' })).toBe(1);
    expect(await noteById.first(db, { tenant: 't2', id: 'c' })).toMatchObject({ body: 'changed' });
  });

  it('refuses values that do not fit: one missing, one extra, one undefined', async () => {
    const missing = { tenant: 't1' } as unknown as { tenant: string; id: string };
    await expect(noteById.first(db, missing)).rejects.toMatchObject({
      name: 'HotQueryError',
      code: 'HOT_QUERY_PARAMETERS',
    });
    const extra = { tenant: 't1', id: 'a', limit: 5 } as { tenant: string; id: string };
    await expect(noteById.first(db, extra)).rejects.toThrow(/3 values for 2 parameters.*limit not in the query/);
    const undef = { tenant: 't1', id: undefined } as unknown as { tenant: string; id: string };
    await expect(noteById.first(db, undef)).rejects.toThrow(HotQueryError);
    await expect(insertNotes.execute(db, [{ tenant: 't1', id: 'z', body: 'b' } as never])).rejects.toThrow(
      HotQueryError,
    );
    await expect(insertNotes.execute(db, [])).rejects.toThrow(HotQueryError);
    expect(await noteById.first(db, { tenant: 't1', id: 'z' })).toBeUndefined();
  });

  it('refuses a value that would be written into the SQL text instead of sent as a parameter', async () => {
    const inlined = hotQuery((d: Kysely<Db>, a: { n: number }) =>
      d.selectFrom('notes').selectAll().where('n', '=', sql.lit(a.n)),
    );
    await expect(inlined.rows(db, { n: 1 })).rejects.toThrow(HotQueryError);
  });

  it("runs inside a transaction, on the transaction's connection", async () => {
    await db.transaction().execute(async (trx) => {
      await insertNotes.execute(trx, [{ tenant: 't3', id: 'a', body: 'in the transaction', n: 5 }]);
      expect(await noteById.first(trx, { tenant: 't3', id: 'a' })).toMatchObject({ body: 'in the transaction' });
      await trx.deleteFrom('notes').where('tenant', '=', 't3').execute();
    });
    expect(await noteById.first(db, { tenant: 't3', id: 'a' })).toBeUndefined();
  });

  it('keeps what the builder adds after the values (the batchable mark)', () => {
    expect(
      ran
        .get(db)!
        .filter((s) => s.startsWith('insert'))
        .every((s) => s.endsWith('/*batch:insert*/')),
    ).toBe(true);
  });
});

describe('one hot query, two databases', () => {
  it('compiles for each database its own dialect', async () => {
    const a = new Kysely<Db>({ dialect: new SqliteDialect({ database: new SqliteDatabase(':memory:') }) });
    const b = new Kysely<Db>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none' }) }),
    });
    const q = hotQuery((db: Kysely<Db>, x: { id: string }) =>
      db.selectFrom('notes').select('body').where('id', '=', x.id),
    );
    expect(q.sql(a)).toBe('select "body" from "notes" where "id" = ?');
    expect(q.sql(b)).toBe('select "body" from "notes" where "id" = $1');
    expect(q.sql(a)).toBe('select "body" from "notes" where "id" = ?');
    await a.destroy();
    await b.destroy();
  });
});
