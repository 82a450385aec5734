import { type Kysely, sql } from 'kysely';
import { DEFAULT_AUDIT_SHARDS } from '../../../domain/audit-chain.js';
import type { FieldCipher } from '../../../ports/field-cipher.js';
import type { JobRecord } from '../../../ports/records.js';
import type { NewJob, Repositories } from '../../../ports/repositories.js';
import { KyselyAuditLog } from '../kysely/audit-log.js';
import { createRepositories } from '../kysely/create-repositories.js';
import { KyselyIdentity } from '../kysely/identity.js';
import { KyselyJobs } from '../kysely/jobs.js';
import { KyselyOrders } from '../kysely/orders.js';
import type { CamelCaseDatabase } from '../schema.js';
import { LOCK_NAMESPACE } from './locks.js';

/** What a transaction did that must be acted on after it commits. */
export interface TransactionEffects {
  /** A job became due for any worker (not leased to this one): wake idle peers. */
  jobsAvailable: boolean;
}

class PostgresOrders extends KyselyOrders {
  constructor(
    db: Kysely<CamelCaseDatabase>,
    private readonly inTransaction: boolean,
  ) {
    super(db);
  }

  /**
   * Several instances may decide orders for the same user at once, each reading the sum and then
   * inserting. Inside a transaction the user's spending lock is taken first, so a concurrent
   * decision for the same user waits for this one to commit and then sums its order too (each
   * READ COMMITTED statement sees what committed before it started). Two users whose keys share
   * a hash merely wait for each other.
   */
  override async sumCommittedSince(tenantId: string, userId: string, since: number, currency: string): Promise<number> {
    if (this.inTransaction) {
      const key = `${tenantId.length}:${tenantId}:${userId}`;
      await sql`select pg_advisory_xact_lock(${sql.lit(LOCK_NAMESPACE.userSpending)}, hashtext(${key}))`.execute(
        this.db,
      );
    }
    return super.sumCommittedSince(tenantId, userId, since, currency);
  }
}

class PostgresIdentity extends KyselyIdentity {
  constructor(private readonly handle: Kysely<CamelCaseDatabase>) {
    super(handle);
  }

  /**
   * Two admins demoting each other at once would each count two admins under READ COMMITTED and
   * leave none: the tenant's people lock makes the second wait, then count what the first left.
   */
  override async lockPeople(tenantId: string): Promise<void> {
    await sql`select pg_advisory_xact_lock(${sql.lit(LOCK_NAMESPACE.tenantPeople)}, hashtext(${tenantId}))`.execute(
      this.handle,
    );
  }
}

class PostgresJobs extends KyselyJobs {
  constructor(
    db: Kysely<CamelCaseDatabase>,
    private readonly effects: TransactionEffects | undefined,
  ) {
    super(db, 'postgres');
  }

  override async enqueue(job: NewJob & { readonly id: string; readonly now: number }): Promise<JobRecord> {
    const created = await super.enqueue(job);
    this.noteDue(job);
    return created;
  }

  override async enqueueIfAbsent(job: NewJob & { readonly id: string; readonly now: number }): Promise<boolean> {
    const added = await super.enqueueIfAbsent(job);
    if (added) this.noteDue(job);
    return added;
  }

  /** A job any worker may run now (not one this process holds): wake idle peers after commit. */
  private noteDue(job: NewJob & { readonly now: number }): void {
    if (job.leaseTo === undefined && job.runAt <= job.now && this.effects !== undefined)
      this.effects.jobsAvailable = true;
  }

  override async wake(kind: string, resourceId: string, now: number): Promise<boolean> {
    const woken = await super.wake(kind, resourceId, now);
    if (woken && this.effects !== undefined) this.effects.jobsAvailable = true;
    return woken;
  }

  override async release(id: string, owner: string, now: number, retryAt: number, error: string): Promise<boolean> {
    const released = await super.release(id, owner, now, retryAt, error);
    if (released && retryAt <= now && this.effects !== undefined) this.effects.jobsAvailable = true;
    return released;
  }
}

/**
 * Repositories on PostgreSQL: the shared Kysely ones, plus the per-user spending lock and the
 * note that wakes other workers. `effects` is given inside a transaction, absent for reads.
 */
export function createPostgresRepositories(
  db: Kysely<CamelCaseDatabase>,
  cipher: FieldCipher,
  effects?: TransactionEffects,
  auditShards: number = DEFAULT_AUDIT_SHARDS,
): Repositories {
  return {
    ...createRepositories(db, 'postgres', cipher),
    audit: new KyselyAuditLog(db, auditShards),
    orders: new PostgresOrders(db, effects !== undefined),
    jobs: new PostgresJobs(db, effects),
    identity: new PostgresIdentity(db),
  };
}
