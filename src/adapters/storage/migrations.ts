import { type Kysely, type Migration, type MigrationProvider, Migrator, PostgresAdapter, sql } from 'kysely';

/** Whether a migration runs on PostgreSQL (else SQLite): the few column types that differ branch on it. */
function onPostgres(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * Numbered migrations, written with Kysely's schema builder so the same steps run on SQLite and
 * PostgreSQL. Never edit a released migration: add the next number.
 */
const migrations: Record<string, Migration> = {
  '0001_core': {
    async up(db: Kysely<unknown>): Promise<void> {
      const pg = onPostgres(db);
      await db.schema
        .createTable('orders')
        // Keyset paging compares ids: byte order on both engines, whatever the database's locale.
        .addColumn('id', pg ? sql`text collate "C"` : 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('drink', 'text', (c) => c.notNull())
        .addColumn('size', 'text', (c) => c.notNull())
        .addColumn('quantity', 'integer', (c) => c.notNull())
        .addColumn('options_json', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('unit_amount', 'bigint', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount >= 0`))
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('payment_id', 'text', (c) => c.notNull().unique())
        .addColumn('status_reason', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('orders_tenant_user_created')
        .on('orders')
        .columns(['tenant_id', 'user_id', 'created_at'])
        .execute();
      await db.schema.createIndex('orders_tenant_status').on('orders').columns(['tenant_id', 'status', 'id']).execute();

      await db.schema
        .createTable('payments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('order_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
        .addColumn('refunded_amount', 'bigint', (c) =>
          c.notNull().check(sql`refunded_amount >= 0 and refunded_amount <= amount`),
        )
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('gateway', 'text', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        // One charge per key: the key we send to the gateway can never be shared by two payments.
        .addColumn('out_trade_no', 'text', (c) => c.unique())
        .addColumn('gateway_trade_no', 'text')
        .addColumn('failure_code', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('payments_order').on('payments').columns(['order_id']).execute();

      await db.schema
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'text', (c) => c.notNull())
        .addColumn('payload_json', 'text', (c) => c.notNull())
        .addColumn('priority', 'integer', (c) => c.notNull())
        .addColumn('run_at', 'bigint', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'bigint')
        .addColumn('last_error', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('jobs_due').on('jobs').columns(['status', 'run_at', 'priority']).execute();

      await db.schema
        .createTable('audit_log')
        // SQLite: the rowid (append-only, never deleted, so never reused). PostgreSQL: an identity.
        .addColumn('id', pg ? 'bigint' : 'integer', (c) =>
          pg ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey(),
        )
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('resource_type', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'text', (c) => c.notNull())
        .addColumn('before_json', 'text')
        .addColumn('after_json', 'text')
        .addColumn('request_id', 'text')
        .execute();
      await db.schema
        .createIndex('audit_resource')
        .on('audit_log')
        .columns(['tenant_id', 'resource_type', 'resource_id'])
        .execute();

      await db.schema
        .createTable('idempotency_keys')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('response_status', 'integer')
        .addColumn('response_body', 'text')
        .addColumn('response_headers_json', 'text')
        // The resource the first request created, committed with it: a retry after a crash
        // answers from it instead of doing the work again (Stripe's recovery point).
        .addColumn('recovery_point', 'text')
        .addColumn('locked_until', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['tenant_id', 'scope', 'key'])
        .execute();
      await db.schema.createIndex('idempotency_expiry').on('idempotency_keys').columns(['expires_at']).execute();
    },
  },
  '0002_agent_sessions': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('agent_sessions')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        // The pending intent and recent turns, as JSON text (same on every engine).
        .addColumn('context_json', 'text', (c) => c.notNull())
        .addColumn('last_order_id', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('agent_sessions_pk', ['tenant_id', 'id'])
        .execute();
      await db.schema.createIndex('agent_sessions_expiry').on('agent_sessions').columns(['expires_at']).execute();
    },
  },
  '0003_payments': {
    async up(db: Kysely<unknown>): Promise<void> {
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
    },
  },
  '0004_recharges': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('wallets')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        // The database itself refuses an overdraft, whatever the code above it does.
        .addColumn('balance', 'bigint', (c) => c.notNull().check(sql`balance >= 0`))
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('wallets_pk', ['tenant_id', 'user_id'])
        .execute();

      await db.schema
        .createTable('wallet_top_ups')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('gateway', 'text', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('out_trade_no', 'text', (c) => c.notNull().unique())
        .addColumn('gateway_trade_no', 'text')
        .addColumn('failure_code', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('recharges')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('phone', 'text', (c) => c.notNull())
        .addColumn('operator', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts_json', 'text', (c) => c.notNull())
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('batch_id', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('recharges_tenant_user')
        .on('recharges')
        .columns(['tenant_id', 'user_id', 'created_at'])
        .execute();
      await db.schema.createIndex('recharges_batch').on('recharges').columns(['batch_id', 'status']).execute();

      await db.schema
        .createTable('recharge_batches')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('rows', 'integer', (c) => c.notNull())
        .addColumn('rejected_json', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0005_recharge_batch_rows': {
    async up(db: Kysely<unknown>): Promise<void> {
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
    },
  },
  '0006_recharge_settlement': {
    async up(db: Kysely<unknown>): Promise<void> {
      // A channel's callback names only our order id (`attemptKey`: the recharge id's letters and
      // digits, then A<n>); this column finds the recharge from it, across tenants.
      await db.schema.alterTable('recharges').addColumn('key_body', 'text').execute();
      await sql`update recharges set key_body = replace(replace(id, '_', ''), '-', '')`.execute(db);
      await db.schema.createIndex('recharges_key_body').on('recharges').columns(['key_body']).execute();
      // The recharge repair rules look for recharges stuck in a status since before some instant.
      await db.schema
        .createIndex('recharges_status_updated')
        .on('recharges')
        .columns(['status', 'updated_at'])
        .execute();
      // "Is a job still working on this recharge?"
      await db.schema.createIndex('jobs_resource').on('jobs').columns(['resource_id', 'kind', 'status']).execute();
    },
  },
  '0007_job_claim_index': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Claims walk this index in the order they take jobs and stop at their limit, so a claim
      // costs the same with ten queued jobs or a 100,000-row batch's worth.
      // It replaces jobs_due (status, run_at, priority): with both, SQLite's planner picks jobs_due
      // for `status = ? AND run_at <= ?` and then sorts every due row.
      await db.schema.dropIndex('jobs_due').execute();
      await db.schema.createIndex('jobs_claim').on('jobs').columns(['status', 'priority desc', 'run_at']).execute();
    },
  },
};

class StaticProvider implements MigrationProvider {
  getMigrations(): Promise<Record<string, Migration>> {
    return Promise.resolve(migrations);
  }
}

/** Bring the schema to the newest version; throws with the failing migration's error. */
export async function migrateToLatest(db: Kysely<unknown>): Promise<string[]> {
  // Several instances may start at once. On PostgreSQL Kysely's migrator holds an advisory lock
  // around a transaction that re-reads which migrations ran, so exactly one applies each; the
  // bookkeeping tables live in the current schema, so another schema's copy never confuses it.
  const schema = onPostgres(db)
    ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s
    : undefined;
  const migrator = new Migrator({
    db,
    provider: new StaticProvider(),
    allowUnorderedMigrations: true,
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    throw error instanceof Error ? error : new Error(`migration failed: ${JSON.stringify(error)}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
