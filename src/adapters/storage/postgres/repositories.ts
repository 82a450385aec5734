import { type Kysely, sql } from 'kysely';
import { DEFAULT_AUDIT_SHARDS } from '../../../domain/audit-chain.js';
import type { FieldCipher } from '../../../ports/field-cipher.js';
import type { JobRecord } from '../../../ports/records.js';
import type { NewJob, Repositories } from '../../../ports/repositories.js';
import { KyselyAuditLog } from '../kysely/audit-log.js';
import { hotQuery } from '../kysely/hot-query.js';
import { createRepositories } from '../kysely/create-repositories.js';
import { KyselyIdentity } from '../kysely/identity.js';
import { KyselyJobs, toJob } from '../kysely/jobs.js';
import { KyselyOrders } from '../kysely/orders.js';
import type { CamelCaseDatabase, Row } from '../schema.js';
import type { CredentialCache, KeyWithPrincipal } from './credential-cache.js';
import { LOCK_NAMESPACE } from './locks.js';

/** What a transaction did that must be acted on after it commits. */
export interface TransactionEffects {
  /** A job became due for any worker (not leased to this one): wake idle peers. */
  jobsAvailable: boolean;
  /** API keys or principals were changed: this process's credential cache must forget them. */
  credentialsChanged: boolean;
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
  constructor(
    private readonly handle: Kysely<CamelCaseDatabase>,
    private readonly effects: TransactionEffects | undefined,
    private readonly credentials: CredentialCache | undefined,
  ) {
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

  /** Outside transactions, from this process's cache when it may answer (CredentialCache). */
  override async getKeyWithPrincipal(id: string): Promise<KeyWithPrincipal | undefined> {
    const cache = this.credentials;
    if (cache === undefined) return super.getKeyWithPrincipal(id);
    const kept = cache.get(id);
    if (kept !== undefined) return kept;
    const mark = cache.mark();
    const found = await super.getKeyWithPrincipal(id);
    if (found !== undefined) cache.put(id, found, mark);
    return found;
  }

  // What authentication reads changes: the cache is cleared as the transaction commits.
  override setPassword(tenantId: string, id: string, passwordHash: string): Promise<boolean> {
    this.changed();
    return super.setPassword(tenantId, id, passwordHash);
  }

  override changePrincipal(
    tenantId: string,
    id: string,
    change: Parameters<KyselyIdentity['changePrincipal']>[2],
  ): Promise<boolean> {
    this.changed();
    return super.changePrincipal(tenantId, id, change);
  }

  override revokeKeysOfPerson(tenantId: string, personId: string, at: number): Promise<string[]> {
    this.changed();
    return super.revokeKeysOfPerson(tenantId, personId, at);
  }

  override revokeKey(tenantId: string, id: string, at: number): Promise<boolean> {
    this.changed();
    return super.revokeKey(tenantId, id, at);
  }

  private changed(): void {
    if (this.effects !== undefined) this.effects.credentialsChanged = true;
    // Outside a transaction the statement commits on its own: forget now, and again when told.
    else this.credentials?.invalidate();
  }
}

/** PostgresJobs.claimDue's one statement (the worker's poll: compiled once). */
const CLAIM_DUE = hotQuery(
  (_: Kysely<CamelCaseDatabase>, a: { owner: string; now: number; leaseUntil: number; limit: number }) =>
    sql<Row<'jobs'>>`
      with recursive priorities as (
        (select priority from jobs where status = 'queued' order by priority desc limit 1)
        union all
        select (select j.priority from jobs j where j.status = 'queued' and j.priority < p.priority
                order by j.priority desc limit 1)
        from priorities p where p.priority is not null
      ), expired as (
        select id from jobs
        where status = 'running' and lease_until < ${a.now} and lease_owner <> ${a.owner}
        order by priority desc, run_at limit ${a.limit} for update skip locked
      ), queued as (
        select q.id from priorities p cross join lateral (
          select id from jobs
          where status = 'queued' and priority = p.priority and run_at <= ${a.now}
          order by run_at limit ${a.limit} for update skip locked
        ) q
      )
      update jobs
      set status = 'running', lease_owner = ${a.owner}, lease_until = ${a.leaseUntil},
        attempts = attempts + 1, updated_at = ${a.now}
      where id in (select id from expired union all select id from queued limit ${a.limit})
      returning *`,
);

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

  /**
   * One statement, outside a transaction one round trip: the expired leases (a crashed worker's;
   * few), then the due queued jobs, `limit` in all, rows another claimer holds skipped. The outer
   * LIMIT stops the queued half once the expired half gave enough (an Append runs its halves in
   * order, each only as far as it is read). A row another claim took between our snapshot and our
   * lock is checked again under the lock and skipped when it no longer matches: no job is held twice.
   * The queued half walks the `jobs_claim` index (status, priority desc, run_at) one priority at a
   * time, the distinct priorities found by skipping through the index (a handful), so it reads only
   * the due rows it takes: jobs waiting for a later run-at (every unpaid order's expiry, retries
   * backing off) are never read, not even by an idle poll, and nothing is sorted. One OR-ed query
   * would read and sort every queued row instead.
   * A lease of our own is never taken again: this process is still running that job (renewing
   * it), and a restarted process has a new owner id.
   */
  override async claimDue(owner: string, now: number, leaseUntil: number, limit: number): Promise<JobRecord[]> {
    const rows = await CLAIM_DUE.rows(this.db, { owner, now, leaseUntil, limit });
    return rows.map(toJob).sort((a, b) => b.priority - a.priority || a.runAt - b.runAt);
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
 * note that wakes other workers. `effects` is given inside a transaction, absent for reads;
 * `credentials`, the process's cache of API keys, for reads.
 */
export function createPostgresRepositories(
  db: Kysely<CamelCaseDatabase>,
  cipher: FieldCipher,
  effects?: TransactionEffects,
  auditShards: number = DEFAULT_AUDIT_SHARDS,
  credentials?: CredentialCache,
): Repositories {
  return {
    ...createRepositories(db, 'postgres', cipher),
    audit: new KyselyAuditLog(db, auditShards),
    orders: new PostgresOrders(db, effects !== undefined),
    jobs: new PostgresJobs(db, effects),
    identity: new PostgresIdentity(db, effects, credentials),
  };
}
