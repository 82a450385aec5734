import { type Kysely, sql } from 'kysely';

/**
 * Migration 0006_recharge_settlement: finding a recharge from a channel order id; the indexes of the
 * recharge repair rules and of the live-job check.
 * Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // A channel's callback names only our order id (`attemptKey`: the recharge id's letters and
  // digits, then A<n>); this column finds the recharge from it, across tenants.
  await db.schema.alterTable('recharges').addColumn('key_body', 'text').execute();
  await sql`update recharges set key_body = replace(replace(id, '_', ''), '-', '')`.execute(db);
  await db.schema.createIndex('recharges_key_body').on('recharges').columns(['key_body']).execute();
  // The recharge repair rules look for recharges stuck in a status since before some instant.
  await db.schema.createIndex('recharges_status_updated').on('recharges').columns(['status', 'updated_at']).execute();
  // "Is a job still working on this recharge?"
  await db.schema.createIndex('jobs_resource').on('jobs').columns(['resource_id', 'kind', 'status']).execute();
}
