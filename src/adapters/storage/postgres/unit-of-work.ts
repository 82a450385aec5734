import type { Kysely } from 'kysely';
import { DEFAULT_AUDIT_SHARDS } from '../../../domain/audit-chain.js';
import type { FieldCipher } from '../../../ports/field-cipher.js';
import type { JobRecord } from '../../../ports/records.js';
import type { ReadRepositories, Repositories, UnitOfWork, UnitOfWorkMeter } from '../../../ports/repositories.js';
import type { CamelCaseDatabase } from '../schema.js';
import type { CredentialCache } from './credential-cache.js';
import { isStalePlan } from './prepared-statements.js';
import { createPostgresRepositories, type TransactionEffects } from './repositories.js';
import type { StatementMeters } from './statement-meters.js';
import type { FaultInjection } from './transaction-faults.js';

/** SQLSTATEs after which the whole transaction may simply run again. */
const RETRYABLE = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected

/** Whether the transaction that failed with `e` may simply run again. */
const retryable = (e: unknown): boolean =>
  RETRYABLE.has((e as { code?: unknown }).code as string) ||
  // A prepared statement made stale by a migration (another instance's): the text has a new name now.
  isStalePlan(e);
/** Runs of one unit of work at most: the first and two re-runs. */
export const MAX_TRIES = 3;

/**
 * A unit of work on PostgreSQL: one real transaction (READ COMMITTED) on one pooled connection.
 * Correctness never rests on the isolation level: every update is version- or lease-checked,
 * keys are UNIQUE, claims use FOR UPDATE SKIP LOCKED, spending decisions take a per-user lock.
 * A transaction the server aborts as a deadlock or serialization failure, or because a prepared
 * statement went stale, is run again (the work only touches the database, so running it again is
 * safe).
 *
 * With `injection` (tests), each attempt runs inside it, so that a test can have the server fail
 * chosen statements of chosen attempts (see TransactionFaults).
 */
export class PostgresUnitOfWork implements UnitOfWork {
  readonly read: ReadRepositories;
  /** The repositories outside any transaction: each statement commits on its own. */
  private readonly outside: Repositories;

  constructor(
    private readonly db: Kysely<CamelCaseDatabase>,
    /** What follows a commit; a promise when the caller must not be answered before it settles. */
    private readonly afterCommit: (effects: TransactionEffects) => Promise<void> | undefined,
    private readonly cipher: FieldCipher,
    private readonly meters: StatementMeters,
    private readonly injection?: FaultInjection,
    private readonly auditShards: number = DEFAULT_AUDIT_SHARDS,
    credentials?: CredentialCache,
  ) {
    this.outside = createPostgresRepositories(db, cipher, undefined, DEFAULT_AUDIT_SHARDS, credentials);
    this.read = this.outside;
  }

  run<T>(work: (repos: Repositories) => Promise<T>, meter?: UnitOfWorkMeter): Promise<T> {
    return meter === undefined ? this.attempts(work) : this.meters.run(meter, () => this.attempts(work));
  }

  /**
   * The claim is one statement (PostgresJobs.claimDue), sent alone with no BEGIN or COMMIT. It is
   * not run again on failure: its row locks are taken with SKIP LOCKED, so it never waits on
   * another transaction (no deadlock), and a failed poll is simply followed by the next one.
   */
  claimDue(owner: string, now: number, leaseUntil: number, limit: number): Promise<JobRecord[]> {
    return this.outside.jobs.claimDue(owner, now, leaseUntil, limit);
  }

  private async attempts<T>(work: (repos: Repositories) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const effects: TransactionEffects = { jobsAvailable: false, credentialsChanged: false };
      const once = (): Promise<T> =>
        this.db
          .transaction()
          .execute((trx) => work(createPostgresRepositories(trx, this.cipher, effects, this.auditShards)));
      let value: T;
      try {
        value = await (this.injection === undefined ? once() : this.injection.attempt(attempt, once));
      } catch (e) {
        if (attempt >= MAX_TRIES || !retryable(e)) throw e;
        continue;
      }
      // Committed: never run again, whatever follows.
      const after = this.afterCommit(effects);
      if (after !== undefined) await after;
      return value;
    }
  }
}
