import SqliteDatabase from 'better-sqlite3';
import { Kysely, type Migration, Migrator, SqliteDialect, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrateToLatest, migrations } from './index.js';

describe('migration 0008_recharge_pay_jobs', () => {
  it('moves live charge jobs of directly paid recharges to recharge.pay, and nothing else', async () => {
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SqliteDatabase(':memory:') }) });
    const before = new Migrator({
      db,
      provider: {
        getMigrations: (): Promise<Record<string, Migration>> =>
          Promise.resolve(Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0008'))),
      },
    });
    expect((await before.migrateToLatest()).error).toBeUndefined();
    const topUp = (id: string, rechargeId: string | null): Promise<unknown> =>
      sql`insert into wallet_top_ups (id, tenant_id, user_id, amount, currency, status, gateway, method, out_trade_no,
            created_by, updated_by, created_at, updated_at, version, recharge_id)
          values (${id}, 't', 'u', 100, 'CNY', 'PENDING', 'sim', 'wallet', ${`${id}_1`},
            'a', 'a', 0, 0, 1, ${rechargeId})`.execute(db);
    const job = (id: string, resource: string, status: string): Promise<unknown> =>
      sql`insert into jobs (id, tenant_id, kind, resource_id, payload_json, priority, run_at, attempts, max_attempts,
            status, created_by, created_at, updated_at)
          values (${id}, 't', 'wallet.top_up', ${resource}, '{}', 10, 0, 0, 8, ${status}, 'system', 0, 0)`.execute(db);
    await topUp('wtu_direct', 'rch_1');
    await topUp('wtu_wallet', null);
    await job('j1', 'wtu_direct', 'queued');
    await job('j2', 'wtu_wallet', 'queued');
    await job('j3', 'wtu_direct', 'done');
    await migrateToLatest(db);
    const kinds = await sql<{ id: string; kind: string }>`select id, kind from jobs order by id`.execute(db);
    expect(kinds.rows).toEqual([
      { id: 'j1', kind: 'recharge.pay' },
      { id: 'j2', kind: 'wallet.top_up' },
      { id: 'j3', kind: 'wallet.top_up' },
    ]);
    await db.destroy();
  });
});
