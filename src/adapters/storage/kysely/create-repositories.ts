import type { Kysely } from 'kysely';
import { DEFAULT_AUDIT_SHARDS } from '../../../domain/audit-chain.js';
import type { FieldCipher } from '../../../ports/field-cipher.js';
import type { Repositories } from '../../../ports/repositories.js';
import type { CamelCaseDatabase } from '../schema.js';
import type { Engine } from '../storage.js';
import { KyselyAgentSessions } from './agent-sessions.js';
import { KyselyAuditLog } from './audit-log.js';
import { KyselyCallbackInbox } from './callback-inbox.js';
import { KyselyHeldActions } from './held-actions.js';
import { KyselyDataKeys } from './data-keys.js';
import { KyselyIdempotency } from './idempotency.js';
import { KyselyIdentity } from './identity.js';
import { KyselyJobs } from './jobs.js';
import { KyselyLedger } from './ledger.js';
import { KyselyMandates } from './mandates.js';
import { KyselyOrders } from './orders.js';
import { KyselyPayments } from './payments.js';
import { KyselyReconciliations } from './reconciliations.js';
import { KyselyRecharges } from './recharges.js';
import { KyselyRefunds } from './refunds.js';
import { KyselyReviewFlags } from './review-flags.js';
import { KyselySourceBlocks } from './source-blocks.js';
import { KyselyTopUps } from './top-ups.js';
import { KyselyWallets } from './wallets.js';
import { KyselyWebhooks } from './webhooks.js';

/**
 * The query-builder repositories bound to one handle (a transaction's connection or the pool),
 * seen through `withCamelCase`. Each engine's own repositories start from these and replace the
 * few it does differently. Those that store phone numbers (or words that may hold one) seal them
 * with `cipher`.
 */
export function createRepositories(db: Kysely<CamelCaseDatabase>, engine: Engine, cipher: FieldCipher): Repositories {
  return {
    orders: new KyselyOrders(db),
    payments: new KyselyPayments(db),
    jobs: new KyselyJobs(db, engine),
    audit: new KyselyAuditLog(db, DEFAULT_AUDIT_SHARDS, engine),
    idempotency: new KyselyIdempotency(db, cipher),
    refunds: new KyselyRefunds(db),
    ledger: new KyselyLedger(db, engine),
    callbacks: new KyselyCallbackInbox(db),
    flags: new KyselyReviewFlags(db),
    sessions: new KyselyAgentSessions(db, cipher),
    wallets: new KyselyWallets(db),
    topUps: new KyselyTopUps(db),
    recharges: new KyselyRecharges(db, cipher),
    dataKeys: new KyselyDataKeys(db, cipher),
    identity: new KyselyIdentity(db),
    blocks: new KyselySourceBlocks(db),
    held: new KyselyHeldActions(db, cipher),
    mandates: new KyselyMandates(db),
    webhooks: new KyselyWebhooks(db, engine, cipher),
    reconciliations: new KyselyReconciliations(db),
  };
}
