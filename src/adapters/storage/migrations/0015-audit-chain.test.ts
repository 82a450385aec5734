import SqliteDatabase from 'better-sqlite3';
import { Kysely, type Migration, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { verifyTenantChains } from '../../../application/audit/verify-chain.js';
import { createTestDatabase, postgresWanted } from '../../../../test/support/pg-db.js';
import { KyselyAuditLog } from '../kysely/audit-log.js';
import { snakeCaseIdentifiers, withCamelCase } from '../kysely/with-camel-case.js';
import type { Database } from '../schema.js';
import { migrateToLatest, migrations } from './index.js';

const engines: Array<'sqlite' | 'postgres'> = ['sqlite', ...((await postgresWanted()) ? ['postgres' as const] : [])];

describe.each(engines)('migration 0015_audit_chain on %s', (engine) => {
  it('chains the rows a database already has, per (tenant, shard) in the order they were written', async () => {
    const pgDb = engine === 'postgres' ? await createTestDatabase('m0015') : undefined;
    const db = new Kysely<unknown>({
      // As the storage opens it: identifiers written in snake_case, so the repositories work on it too.
      dialect: snakeCaseIdentifiers(
        pgDb === undefined
          ? new SqliteDialect({ database: new SqliteDatabase(':memory:') })
          : new PostgresDialect({ pool: new pg.Pool({ connectionString: pgDb.url, max: 2 }) }),
      ),
    });
    try {
      const before = new Migrator({
        db,
        allowUnorderedMigrations: true,
        provider: {
          getMigrations: (): Promise<Record<string, Migration>> =>
            Promise.resolve(Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0015'))),
        },
      });
      expect((await before.migrateToLatest()).error).toBeUndefined();
      // Two tenants' rows interleaved, more than one page of the backfill (500) for one of them.
      const rows = Array.from({ length: 620 }, (_, i) => ({ tenant: i % 5 === 0 ? 't2' : 't1', i }));
      for (const r of rows) {
        const requestId = r.i % 2 === 0 ? null : `r${r.i}`;
        await sql`insert into audit_log (tenant_id, at, actor, action, resource_type, resource_id, before_json,
            after_json, request_id) values (${r.tenant}, ${1_700_000_000_000 + r.i}, 'user:alice', 'order.created',
            'order', ${`ord_${r.i}`}, null, ${JSON.stringify({ n: r.i })}, ${requestId})`.execute(db);
      }
      await migrateToLatest(db);

      const audit = new KyselyAuditLog(withCamelCase(db as Kysely<Database>), 64, engine);
      for (const [tenant, count] of [
        ['t1', rows.filter((r) => r.tenant === 't1').length],
        ['t2', rows.filter((r) => r.tenant === 't2').length],
      ] as const) {
        const report = await verifyTenantChains(audit, tenant);
        expect(report.problem).toBeUndefined();
        expect(report.rows).toBe(count);
        // Spread over many of the 64 chains; the heads account for every row.
        expect(report.chains.length).toBeGreaterThan(10);
        const heads = await audit.chainHeads(tenant);
        expect(heads.reduce((n, h) => n + h.seq, 0)).toBe(count);
      }
      // In id order: within each chain, seq rises with id; together the chains hold every row once.
      const t2: string[] = [];
      for (const chain of await audit.chains('t2')) {
        const page = await audit.chainPage(chain, 0, 1000);
        expect(page.map((r) => r.id)).toEqual([...page.map((r) => r.id)].sort((a, b) => a - b));
        expect(page.map((r) => r.shards)).toEqual(page.map(() => 64));
        t2.push(...page.map((r) => r.resourceId));
      }
      expect(t2.sort()).toEqual(
        rows
          .filter((r) => r.tenant === 't2')
          .map((r) => `ord_${r.i}`)
          .sort(),
      );
      // New rows link on to the migrated chain.
      await audit.appendMany([
        {
          tenantId: 't2',
          at: 1_800_000_000_000,
          actor: 'user:bob',
          action: 'order.created',
          resourceType: 'order',
          resourceId: 'ord_new',
          before: null,
          after: { n: 1 },
          requestId: null,
        },
      ]);
      const after = await verifyTenantChains(audit, 't2');
      expect(after.problem).toBeUndefined();
      expect(after.rows).toBe(t2.length + 1);
    } finally {
      await db.destroy();
      await pgDb?.drop();
    }
  }, 60_000);
});
