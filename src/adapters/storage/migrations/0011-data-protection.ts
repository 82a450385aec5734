import { type Kysely, sql } from 'kysely';

/**
 * Migration 0011_data_protection: data at rest. Data keys (each wrapped by the master key, which
 * the database never holds); keyed blind indexes beside the phone numbers they index (the numbers
 * themselves are sealed from now on, in the same columns); a keyed digest of each conversation,
 * for compare-and-set on a value that is sealed under a fresh IV at every write.
 *
 * Rows written before it keep their plaintext until `autoglm keys rotate-data-key` seals them
 * (they read correctly meanwhile: a value without the `v1:` prefix is plaintext).
 * Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('data_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // w1:<base64url(iv ‖ AES-256-GCM(master-derived key, data key) ‖ tag)>, the id bound as AAD.
    .addColumn('wrapped', 'text', (c) => c.notNull())
    // active (new values are sealed with it) → retiring (a rotation is moving its values) → retired.
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('retired_at', 'bigint')
    .execute();
  // At most one active key, whatever races: a second instance's first key, a second rotation.
  await db.schema
    .createIndex('data_keys_one_active')
    .on('data_keys')
    .column('status')
    .unique()
    .where(sql.ref('status'), '=', 'active')
    .execute();

  await db.schema.alterTable('recharges').addColumn('phone_index', 'text').execute();
  await db.schema.createIndex('recharges_phone_index').on('recharges').columns(['tenant_id', 'phone_index']).execute();

  // The duplicate-number check of a batch looks numbers up by their blind index now.
  await db.schema.alterTable('recharge_batch_rows').addColumn('phone_index', 'text').execute();
  await db.schema.dropIndex('recharge_batch_rows_phone').execute();
  await db.schema
    .createIndex('recharge_batch_rows_phone_index')
    .on('recharge_batch_rows')
    .columns(['batch_id', 'phone_index'])
    .execute();

  await db.schema.alterTable('agent_sessions').addColumn('context_digest', 'text').execute();
}
