import { type Kysely, sql } from 'kysely';

/**
 * Migration 0003_payments: the ledger, refunds, the callback inbox (events and nonces) and review flags.
 * Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ledger_postings')
    .addColumn('journal_id', 'text', (c) => c.notNull())
    .addColumn('line', 'integer', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('account', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount <> 0`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('ledger_postings_pk', ['journal_id', 'line'])
    .execute();
  await db.schema
    .createIndex('ledger_account')
    .on('ledger_postings')
    .columns(['tenant_id', 'account', 'currency'])
    .execute();
  await db.schema.createIndex('ledger_resource').on('ledger_postings').columns(['resource_id']).execute();

  await db.schema
    .createTable('refunds')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('order_id', 'text', (c) => c.notNull())
    .addColumn('payment_id', 'text', (c) => c.notNull())
    // One refund per key at the gateway: the key we send can never be shared.
    .addColumn('out_refund_no', 'text', (c) => c.notNull().unique())
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('failure_code', 'text')
    .addColumn('gateway_refund_no', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('refunds_payment').on('refunds').columns(['tenant_id', 'payment_id']).execute();

  await db.schema
    .createTable('callback_events')
    .addColumn('gateway', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('callback_events_pk', ['gateway', 'event_id'])
    .execute();

  await db.schema
    .createTable('callback_nonces')
    .addColumn('gateway', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('callback_nonces_pk', ['gateway', 'nonce'])
    .execute();
  await db.schema.createIndex('callback_nonces_expiry').on('callback_nonces').columns(['expires_at']).execute();

  await db.schema
    .createTable('review_flags')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('detail_json', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('resolved_at', 'bigint')
    .execute();
  // The repair rules look for orders stuck in a status since before some instant.
  await db.schema.createIndex('orders_status_updated').on('orders').columns(['status', 'updated_at']).execute();
  await db.schema
    .createIndex('review_flags_open')
    .on('review_flags')
    .columns(['tenant_id', 'resolved_at', 'created_at'])
    .execute();
}
