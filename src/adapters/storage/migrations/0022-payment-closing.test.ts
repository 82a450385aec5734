import SqliteDatabase from 'better-sqlite3';
import { CamelCasePlugin, Kysely, type Migration, Migrator, SqliteDialect, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { toPayment } from '../kysely/payments.js';
import type { CamelCaseDatabase } from '../schema.js';
import { migrateToLatest, migrations } from './index.js';

describe('migration 0022_payment_closing', () => {
  it('applies after the later numbers already ran, and leaves existing payments undecided', async () => {
    const raw = new SqliteDatabase(':memory:');
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: raw }) });
    // A database deployed before 0022 existed: every other migration ran, 0023 and later included.
    const before = new Migrator({
      db,
      allowUnorderedMigrations: true,
      provider: {
        getMigrations: (): Promise<Record<string, Migration>> =>
          Promise.resolve(
            Object.fromEntries(Object.entries(migrations).filter(([name]) => name !== '0022_payment_closing')),
          ),
      },
    });
    expect((await before.migrateToLatest()).error).toBeUndefined();
    await sql`insert into payments (id, tenant_id, order_id, status, amount, refunded_amount, currency, gateway,
          method, attempt, out_trade_no, created_by, updated_by, created_at, updated_at, version)
        values ('pay_1', 't', 'ord_1', 'PENDING', 100, 0, 'CNY', 'sim', 'sim_qr', 1, 'pay_1_1',
          'a', 'a', 0, 0, 2)`.execute(db);
    expect(await migrateToLatest(db)).toEqual(['0022_payment_closing']);
    const typed = new Kysely<CamelCaseDatabase>({
      dialect: new SqliteDialect({ database: raw }),
      plugins: [new CamelCasePlugin()],
    });
    const row = await typed.selectFrom('payments').selectAll().where('id', '=', 'pay_1').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ closeReason: null, closeNote: null, closeMethod: null, closeGateway: null });
    expect(toPayment(row)).not.toHaveProperty('closing');
    await db.destroy();
  });
});
