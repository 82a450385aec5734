import type { Kysely } from 'kysely';
import type { Repositories } from '../../../ports/repositories.js';
import type { Database } from '../schema.js';
import { KyselyAgentSessions } from './agent-sessions.js';
import { KyselyAuditLog } from './audit-log.js';
import { KyselyCallbackInbox } from './callback-inbox.js';
import { KyselyIdempotency } from './idempotency.js';
import { type Engine, KyselyJobs } from './jobs.js';
import { KyselyLedger } from './ledger.js';
import { KyselyOrders } from './orders.js';
import { KyselyPayments } from './payments.js';
import { KyselyRecharges } from './recharges.js';
import { KyselyRefunds } from './refunds.js';
import { KyselyReviewFlags } from './review-flags.js';
import { KyselyTopUps } from './top-ups.js';
import { KyselyWallets } from './wallets.js';

/** Repositories bound to one Kysely handle (a transaction's connection or the pool). */
export function createRepositories(db: Kysely<Database>, engine: Engine): Repositories {
  return {
    orders: new KyselyOrders(db),
    payments: new KyselyPayments(db),
    jobs: new KyselyJobs(db, engine),
    audit: new KyselyAuditLog(db),
    idempotency: new KyselyIdempotency(db),
    refunds: new KyselyRefunds(db),
    ledger: new KyselyLedger(db),
    callbacks: new KyselyCallbackInbox(db),
    flags: new KyselyReviewFlags(db),
    sessions: new KyselyAgentSessions(db),
    wallets: new KyselyWallets(db),
    topUps: new KyselyTopUps(db),
    recharges: new KyselyRecharges(db),
  };
}
