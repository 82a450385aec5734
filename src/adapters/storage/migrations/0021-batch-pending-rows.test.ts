import SqliteDatabase from 'better-sqlite3';
import { Kysely, type Migration, Migrator, SqliteDialect, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrateToLatest, migrations } from './index.js';

describe('migration 0021_batch_pending_rows', () => {
  it("counts each existing batch's pending rows once, and only those", async () => {
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SqliteDatabase(':memory:') }) });
    const before = new Migrator({
      db,
      provider: {
        getMigrations: (): Promise<Record<string, Migration>> =>
          Promise.resolve(Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0021'))),
      },
    });
    expect((await before.migrateToLatest()).error).toBeUndefined();
    const batch = (id: string): Promise<unknown> =>
      sql`insert into recharge_batches (id, tenant_id, user_id, rows, rejected_json, created_by, created_at, status)
          values (${id}, 't', 'u', 4, '[]', 'user:u', 0, 'accepted')`.execute(db);
    const row = (batchId: string, line: number, status: string): Promise<unknown> =>
      sql`insert into recharge_batch_rows (batch_id, line, phone, status)
          values (${batchId}, ${line}, 'x', ${status})`.execute(db);
    await batch('rcb_a');
    await batch('rcb_b');
    await row('rcb_a', 2, 'pending');
    await row('rcb_a', 3, 'accepted');
    await row('rcb_a', 4, 'pending');
    await row('rcb_a', 5, 'rejected');
    await row('rcb_b', 2, 'accepted');
    await migrateToLatest(db);
    const counted = await sql<{ id: string; pending_rows: number }>`
      select id, pending_rows from recharge_batches order by id`.execute(db);
    expect(counted.rows).toEqual([
      { id: 'rcb_a', pending_rows: 2 },
      { id: 'rcb_b', pending_rows: 0 },
    ]);
    await db.destroy();
  });
});
