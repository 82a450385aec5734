import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import * as m0001 from './0001-core.js';
import * as m0002 from './0002-agent-sessions.js';
import * as m0003 from './0003-payments.js';
import * as m0004 from './0004-recharges.js';
import * as m0005 from './0005-recharge-batch-rows.js';
import * as m0006 from './0006-recharge-settlement.js';
import * as m0007 from './0007-job-claim-index.js';
import * as m0008 from './0008-recharge-pay-jobs.js';
import * as m0009 from './0009-identity.js';
import * as m0010 from './0010-source-blocks.js';
import * as m0012 from './0012-holds-and-mandates.js';
import * as m0011 from './0011-data-protection.js';
import * as m0013 from './0013-webhooks.js';
import * as m0014 from './0014-flag-resolutions.js';
import * as m0016 from './0016-payer-action.js';
import * as m0017 from './0017-close-reason.js';
import * as m0018 from './0018-reconciliation.js';
import * as m0015 from './0015-audit-chain.js';
import * as m0019 from './0019-flows.js';
import * as m0020 from './0020-job-trace.js';
import * as m0021 from './0021-batch-pending-rows.js';
import * as m0022 from './0022-payment-closing.js';
import * as m0023 from './0023-write-batches.js';
import * as m0025 from './0025-settled-at.js';
import * as m0029 from './0029-audit-link.js';
import * as m0030 from './0030-principal-last-login.js';
import * as m0033 from './0033-recharge-batch-counts.js';
import * as m0034 from './0034-credential-notify.js';
import * as m0035 from './0035-append-only.js';
import { onPostgres } from './on-postgres.js';

/**
 * Numbered migrations, written with Kysely's schema builder so the same steps run on SQLite and
 * PostgreSQL. Never edit a released migration: add the next number.
 */
export const migrations: Record<string, Migration> = {
  '0001_core': m0001,
  '0002_agent_sessions': m0002,
  '0003_payments': m0003,
  '0004_recharges': m0004,
  '0005_recharge_batch_rows': m0005,
  '0006_recharge_settlement': m0006,
  '0007_job_claim_index': m0007,
  '0008_recharge_pay_jobs': m0008,
  '0009_identity': m0009,
  '0010_source_blocks': m0010,
  '0012_holds_and_mandates': m0012,
  // 0009 and 0010 are taken by work merged beside this one.
  '0011_data_protection': m0011,
  '0013_webhooks': m0013,
  '0014_flag_resolutions': m0014,
  '0015_audit_chain': m0015,
  '0016_payer_action': m0016,
  '0017_close_reason': m0017,
  '0018_reconciliation': m0018,
  '0019_flows': m0019,
  '0020_job_trace': m0020,
  '0021_batch_pending_rows': m0021,
  '0022_payment_closing': m0022,
  '0023_write_batches': m0023,
  // 0024 is taken by work beside this one.
  '0025_settled_at': m0025,
  // 0026 to 0028 are taken by work beside this one.
  '0029_audit_link': m0029,
  '0030_principal_last_login': m0030,
  // 0031 and 0032 were held for work beside this one.
  '0033_recharge_batch_counts': m0033,
  '0034_credential_notify': m0034,
  '0035_append_only': m0035,
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
