import type { Kysely } from 'kysely';

/**
 * Migration 0005_recharge_batch_rows: batches kept row by row; recharges paid by a payment of their own.
 * Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // A batch is streamed into rows first (no money moves), then accepted in one step, then
  // turned into recharges a chunk at a time: memory stays flat however long the file is.
  await db.schema
    .alterTable('recharge_batches')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('accepted'))
    .execute();
  await db.schema
    .alterTable('recharge_batches')
    .addColumn('valid_rows', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('recharge_batches')
    .addColumn('rejected_rows', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('recharge_batches')
    .addColumn('format', 'text', (c) => c.notNull().defaultTo('csv'))
    .execute();
  await db.schema
    .alterTable('recharge_batches')
    .addColumn('updated_at', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createTable('recharge_batch_rows')
    .addColumn('batch_id', 'text', (c) => c.notNull())
    .addColumn('line', 'integer', (c) => c.notNull())
    // Normalised for a valid row; what was sent (cut to 40 characters) for a refused one.
    .addColumn('phone', 'text', (c) => c.notNull())
    .addColumn('operator', 'text')
    .addColumn('amount', 'bigint')
    // pending (valid, not yet a recharge) → accepted (a recharge) | rejected (with code).
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('code', 'text')
    .addColumn('message', 'text')
    .addColumn('recharge_id', 'text')
    .addPrimaryKeyConstraint('recharge_batch_rows_pk', ['batch_id', 'line'])
    .execute();
  await db.schema
    .createIndex('recharge_batch_rows_status')
    .on('recharge_batch_rows')
    .columns(['batch_id', 'status', 'line'])
    .execute();
  await db.schema
    .createIndex('recharge_batch_rows_phone')
    .on('recharge_batch_rows')
    .columns(['batch_id', 'phone'])
    .execute();
  // A recharge paid by a payment of its own (not from the wallet): the top-up that pays it,
  // and the refund of that payment when the recharge fails.
  await db.schema.alterTable('recharges').addColumn('top_up_id', 'text').execute();
  await db.schema.alterTable('wallet_top_ups').addColumn('recharge_id', 'text').execute();
  await db.schema.alterTable('wallet_top_ups').addColumn('refund_status', 'text').execute();
}
