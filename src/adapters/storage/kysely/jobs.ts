import { type Expression, type ExpressionBuilder, type Kysely, sql, type SqlBool } from 'kysely';
import type { JobRecord, JobStatus } from '../../../ports/records.js';
import type { JobRepository, NewJob } from '../../../ports/repositories.js';
import type { CamelCaseDatabase, NewRow, Row } from '../schema.js';
import type { Engine } from '../storage.js';
import { maskText } from '../../../domain/mask.js';
import { num, numOrNull } from './columns.js';
import { currentTraceparent } from '../../tracing/trace-context.js';
import { BATCHABLE } from './batchable.js';

/**
 * An error as kept with its job: cut to 2,000 characters, phone and card numbers masked — it is
 * free text, and a channel's own words ("号码… 不支持") can carry the number it was asked about.
 */
const storedError = (error: string): string => maskText(error.slice(0, 2000));

/** A job as read: integers normalised, payload parsed. */
export function toJob(r: Row<'jobs'>): JobRecord {
  return {
    id: r.id,
    tenantId: r.tenantId,
    kind: r.kind,
    resourceId: r.resourceId,
    payload: JSON.parse(r.payloadJson) as Record<string, unknown>,
    priority: num(r.priority),
    runAt: num(r.runAt),
    attempts: num(r.attempts),
    maxAttempts: num(r.maxAttempts),
    status: r.status as JobStatus,
    leaseOwner: r.leaseOwner,
    leaseUntil: numOrNull(r.leaseUntil),
    lastError: r.lastError,
    createdAt: num(r.createdAt),
    updatedAt: num(r.updatedAt),
    traceparent: r.traceparent,
  };
}

/**
 * A leased job after advance(): the row its owner holds, with what advance() wrote. Made here,
 * not read back, so the write needs nothing back and may travel in a batch.
 */
export function advanced(
  job: JobRecord,
  owner: string,
  now: number,
  next: { readonly kind: string; readonly priority: number; readonly leaseUntil: number },
): JobRecord {
  return {
    ...job,
    kind: next.kind,
    priority: next.priority,
    attempts: 1,
    runAt: now,
    status: 'running',
    leaseOwner: owner,
    leaseUntil: next.leaseUntil,
    lastError: null,
    updatedAt: now,
  };
}

/** A new job's row, every column in table order; leased at once when `leaseTo` is given. */
export function jobRow(job: NewJob & { readonly id: string; readonly now: number }): NewRow<'jobs'> {
  return {
    id: job.id,
    tenantId: job.tenantId,
    kind: job.kind,
    resourceId: job.resourceId,
    payloadJson: JSON.stringify(job.payload ?? {}),
    priority: job.priority ?? 0,
    runAt: job.runAt,
    attempts: job.leaseTo === undefined ? 0 : 1,
    maxAttempts: job.maxAttempts ?? 8,
    status: job.leaseTo === undefined ? 'queued' : 'running',
    leaseOwner: job.leaseTo?.owner ?? null,
    leaseUntil: job.leaseTo?.until ?? null,
    lastError: null,
    createdBy: 'system',
    createdAt: job.now,
    updatedAt: job.now,
    // The trace of the work that enqueues the job, so its run continues that trace.
    traceparent: currentTraceparent(),
  };
}

export class KyselyJobs implements JobRepository {
  constructor(
    protected readonly db: Kysely<CamelCaseDatabase>,
    protected readonly engine: Engine,
  ) {}

  async enqueue(job: NewJob & { readonly id: string; readonly now: number }): Promise<JobRecord> {
    const row = jobRow(job);
    await this.db.insertInto('jobs').values(row).modifyEnd(BATCHABLE.insert).execute();
    return toJob(row);
  }

  async enqueueIfAbsent(job: NewJob & { readonly id: string; readonly now: number }): Promise<boolean> {
    const res = await this.db
      .insertInto('jobs')
      .values(jobRow(job))
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async claimDue(owner: string, now: number, leaseUntil: number, limit: number): Promise<JobRecord[]> {
    // Two claims, each walking the `jobs_claim` index (status, priority desc, run_at) in order
    // and stopping at `limit`: jobs whose lease ran out (a crashed worker's; few), then due
    // queued ones. One OR-ed query would read and sort every queued row on each claim, which
    // grows with the queue (a 100,000-row batch).
    // A lease of our own is never taken again: this process is still running that job (renewing
    // it), and a restarted process has a new owner id.
    const expired = await this.claimWhere(owner, now, leaseUntil, limit, (eb) =>
      eb.and([eb('status', '=', 'running'), eb('leaseUntil', '<', now), eb('leaseOwner', '<>', owner)]),
    );
    const queued =
      expired.length >= limit
        ? []
        : await this.claimWhere(owner, now, leaseUntil, limit - expired.length, (eb) =>
            eb.and([eb('status', '=', 'queued'), eb('runAt', '<=', now)]),
          );
    return [...expired, ...queued].map(toJob).sort((a, b) => b.priority - a.priority || a.runAt - b.runAt);
  }

  private async claimWhere(
    owner: string,
    now: number,
    leaseUntil: number,
    limit: number,
    due: (eb: ExpressionBuilder<CamelCaseDatabase, 'jobs'>) => Expression<SqlBool>,
  ): Promise<Array<Row<'jobs'>>> {
    let candidates = this.db
      .selectFrom('jobs')
      .select('id')
      .where(due)
      .orderBy('priority', 'desc')
      .orderBy('runAt', 'asc')
      .limit(limit);
    if (this.engine === 'postgres') candidates = candidates.forUpdate().skipLocked();
    return this.db
      .updateTable('jobs')
      .set((eb) => ({
        status: 'running',
        leaseOwner: owner,
        leaseUntil,
        // Typed as read (number | string, for pg's bigint strings); written as the number it is.
        attempts: eb('attempts', '+', 1).$castTo<number>(),
        updatedAt: now,
      }))
      .where('id', 'in', candidates)
      .returningAll()
      .execute();
  }

  async claimById(id: string, owner: string, now: number, leaseUntil: number): Promise<JobRecord | undefined> {
    const row = await this.db
      .updateTable('jobs')
      .set((eb) => ({
        status: 'running',
        leaseOwner: owner,
        leaseUntil,
        // Typed as read (number | string, for pg's bigint strings); written as the number it is.
        attempts: eb('attempts', '+', 1).$castTo<number>(),
        updatedAt: now,
      }))
      .where('id', '=', id)
      .where((eb) =>
        eb.or([eb('status', '=', 'queued'), eb.and([eb('status', '=', 'running'), eb('leaseUntil', '<', now)])]),
      )
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : toJob(row);
  }

  async renew(id: string, owner: string, now: number, leaseUntil: number): Promise<boolean> {
    const res = await this.db
      .updateTable('jobs')
      .set({ leaseUntil, updatedAt: now })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('leaseOwner', '=', owner)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async purgeFinished(status: 'done' | 'failed', before: number, limit: number): Promise<number> {
    const victims = this.db
      .selectFrom('jobs')
      .select('id')
      .where('status', '=', status)
      .where('updatedAt', '<', before)
      .limit(limit);
    const res = await this.db.deleteFrom('jobs').where('id', 'in', victims).executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  async complete(id: string, owner: string, now: number): Promise<boolean> {
    const res = await this.db
      .updateTable('jobs')
      .set({ status: 'done', leaseOwner: null, leaseUntil: null, updatedAt: now })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('leaseOwner', '=', owner)
      .modifyEnd(BATCHABLE.lease)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async advance(
    job: JobRecord,
    owner: string,
    now: number,
    next: { readonly kind: string; readonly priority: number; readonly leaseUntil: number },
  ): Promise<JobRecord | undefined> {
    const res = await this.db
      .updateTable('jobs')
      .set({
        kind: next.kind,
        priority: next.priority,
        attempts: 1,
        runAt: now,
        leaseUntil: next.leaseUntil,
        lastError: null,
        updatedAt: now,
      })
      .where('id', '=', job.id)
      .where('status', '=', 'running')
      .where('leaseOwner', '=', owner)
      .modifyEnd(BATCHABLE.lease)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1 ? advanced(job, owner, now, next) : undefined;
  }

  async release(id: string, owner: string, now: number, retryAt: number, error: string): Promise<boolean> {
    const res = await this.db
      .updateTable('jobs')
      .set({
        status: 'queued',
        leaseOwner: null,
        leaseUntil: null,
        runAt: retryAt,
        lastError: storedError(error),
        updatedAt: now,
      })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('leaseOwner', '=', owner)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async fail(id: string, owner: string, now: number, error: string): Promise<boolean> {
    const res = await this.db
      .updateTable('jobs')
      .set({
        status: 'failed',
        leaseOwner: null,
        leaseUntil: null,
        lastError: storedError(error),
        updatedAt: now,
      })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('leaseOwner', '=', owner)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toJob(row);
  }

  async wake(kind: string, resourceId: string, now: number): Promise<boolean> {
    const res = await this.db
      .updateTable('jobs')
      .set({ runAt: now, updatedAt: now })
      .where('resourceId', '=', resourceId)
      .where('kind', '=', kind)
      .where('status', '=', 'queued')
      .where('runAt', '>', now)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async hasLive(kind: string, resourceId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('jobs')
      .select('id')
      .where('resourceId', '=', resourceId)
      .where('kind', '=', kind)
      .where('status', 'in', ['queued', 'running'])
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async nextRunAt(): Promise<number | undefined> {
    // The earliest run-at of each priority is the first entry of its stretch of `jobs_claim`
    // (status, priority desc, run_at); the priorities are found by skipping through the index.
    // A handful of index probes, where min(run_at) over the status would read every queued entry
    // (a 100,000-row batch's worth, at every metrics scrape).
    const { rows } = await sql<{ next: number | string | null }>`
      with recursive priorities (p) as (
        select max(priority) from jobs where status = 'queued'
        union all
        select (select max(priority) from jobs where status = 'queued' and priority < p)
        from priorities where p is not null
      )
      select min((select min(run_at) from jobs where status = 'queued' and priority = p)) as next
      from priorities where p is not null`.execute(this.db);
    const next = rows[0]?.next;
    return next === null || next === undefined ? undefined : num(next);
  }

  async countByStatus(statuses?: readonly JobStatus[]): Promise<Record<string, number>> {
    if (statuses?.length === 0) return {};
    let q = this.db.selectFrom('jobs').select(['status', (eb) => eb.fn.countAll<number | string>().as('n')]);
    if (statuses !== undefined) q = q.where('status', 'in', [...statuses]);
    const rows = await q.groupBy('status').execute();
    return Object.fromEntries(rows.map((r) => [r.status, num(r.n)]));
  }
}
