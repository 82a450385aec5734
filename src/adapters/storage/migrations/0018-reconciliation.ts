import { type Kysely, sql } from 'kysely';
import { onPostgres } from './on-postgres.js';

/**
 * Migration 0018_reconciliation: our records against the channels' statements.
 * - `reconciliations`: one run per source and day, with its report (JSON).
 * - `reconciliation_repairs`: what a run proposed for each problem item, UNIQUE(source, item,
 *   action) so re-running a day never proposes (or applies) the same repair twice.
 * - indexes by creation time on the tables a day's items are gathered from.
 * Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const pg = onPostgres(db);
  const idType = pg ? sql`text collate "C"` : sql`text`;
  await db.schema
    .createTable('reconciliations')
    .addColumn('id', idType, (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('business_date', 'text', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('file_name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('report_json', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('reconciliations_source_day')
    .on('reconciliations')
    .columns(['source', 'business_date', 'id'])
    .execute();
  await db.schema
    .createTable('reconciliation_repairs')
    .addColumn('id', idType, (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('reconciliation_id', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('business_date', 'text', (c) => c.notNull())
    .addColumn('item_key', 'text', (c) => c.notNull())
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('why', 'text', (c) => c.notNull())
    .addColumn('not_before', 'bigint')
    .addColumn('item_json', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('result', 'text')
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addUniqueConstraint('reconciliation_repairs_once', ['source', 'item_key', 'action'])
    .execute();
  await db.schema
    .createIndex('reconciliation_repairs_day')
    .on('reconciliation_repairs')
    .columns(['source', 'business_date', 'item_key'])
    .execute();
  for (const table of ['payments', 'wallet_top_ups', 'refunds', 'recharges']) {
    await db.schema.createIndex(`${table}_created`).on(table).columns(['created_at']).execute();
  }
}
