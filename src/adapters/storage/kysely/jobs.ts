import { type Expression, type ExpressionBuilder, type Kysely, sql, type SqlBool } from 'kysely';
import type { JobRecord, JobStatus } from '../../../ports/records.js';
import type { JobRepository, NewJob } from '../../../ports/repositories.js';
import type { CamelCaseDatabase, NewRow, Row } from '../schema.js';
import type { Engine } from '../storage.js';
import { maskText } from '../../../domain/mask.js';
import { filterOnly, num, numOrNull } from './columns.js';
import { currentTraceparent } from '../../tracing/trace-context.js';
import { BATCHABLE } from './batchable.js';
import { HotInsert, hotQuery } from './hot-query.js';

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

const INSERT_JOB = new HotInsert<CamelCaseDatabase, 'jobs', NewRow<'jobs'>>('jobs', (q) =>
  q.modifyEnd(BATCHABLE.insert),
);

interface ClaimArgs {
  owner: string;
  now: number;
  leaseUntil: number;
  limit: number;
}

/**
 * A claim of up to `limit` jobs that `due` picks, walking the `jobs_claim` index (status,
 * priority desc, run_at) in order; on PostgreSQL the rows another claimer holds are skipped.
 */
function claim(
  engine: Engine,
  due: (eb: ExpressionBuilder<CamelCaseDatabase, 'jobs'>, a: ClaimArgs) => Expression<SqlBool>,
) {
  return hotQuery((db: Kysely<CamelCaseDatabase>, a: ClaimArgs) => {
    let candidates = db
      .selectFrom('jobs')
      .select('id')
      .where((eb) => due(eb, a))
      .orderBy('priority', 'desc')
      .orderBy('runAt', 'asc')
      .limit(a.limit);
    if (engine === 'postgres') candidates = candidates.forUpdate().skipLocked();
    return db
      .updateTable('jobs')
      .set((eb) => ({
        status: 'running',
        leaseOwner: a.owner,
        leaseUntil: a.leaseUntil,
        // Typed as read (number | string, for pg's bigint strings); written as the number it is.
        attempts: eb('attempts', '+', 1).$castTo<number>(),
        updatedAt: a.now,
      }))
      .where('id', 'in', candidates)
      .returningAll();
  });
}

/** Per engine: jobs whose lease ran out (a crashed worker's; few), then due queued ones. */
function claims(engine: Engine) {
  return {
    expired: claim(engine, (eb, a) =>
      eb.and([eb('status', '=', 'running'), eb('leaseUntil', '<', a.now), eb('leaseOwner', '<>', a.owner)]),
    ),
    queued: claim(engine, (eb, a) => eb.and([eb('status', '=', 'queued'), eb('runAt', '<=', a.now)])),
  };
}

const CLAIMS = { sqlite: claims('sqlite'), postgres: claims('postgres') } as const;

/**
 * One update of a leased job, written only while this worker still holds the lease. Every such
 * update finds the job by its key; the lease is checked on that row (columns.ts filterOnly): a
 * plan on the claim index's `status = 'running'` would read every running job.
 */
const ADVANCE_JOB = hotQuery(
  (
    db: Kysely<CamelCaseDatabase>,
    a: { kind: string; priority: number; now: number; leaseUntil: number; id: string; owner: string },
  ) =>
    db
      .updateTable('jobs')
      .set({
        kind: a.kind,
        priority: a.priority,
        attempts: 1,
        runAt: a.now,
        leaseUntil: a.leaseUntil,
        lastError: null,
        updatedAt: a.now,
      })
      .where('id', '=', a.id)
      .where(filterOnly('status'), '=', 'running')
      .where('leaseOwner', '=', a.owner)
      .modifyEnd(BATCHABLE.lease),
);

const COMPLETE_JOB = hotQuery((db: Kysely<CamelCaseDatabase>, a: { now: number; id: string; owner: string }) =>
  db
    .updateTable('jobs')
    .set({ status: 'done', leaseOwner: null, leaseUntil: null, updatedAt: a.now })
    .where('id', '=', a.id)
    .where(filterOnly('status'), '=', 'running')
    .where('leaseOwner', '=', a.owner)
    .modifyEnd(BATCHABLE.lease),
);

export class KyselyJobs implements JobRepository {
  constructor(
    protected readonly db: Kysely<CamelCaseDatabase>,
    protected readonly engine: Engine,
  ) {}

  async enqueue(job: NewJob & { readonly id: string; readonly now: number }): Promise<JobRecord> {
    const row = jobRow(job);
    await INSERT_JOB.execute(this.db, [row]);
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
    const { expired: claimExpired, queued: claimQueued } = CLAIMS[this.engine];
    const expired = await claimExpired.rows(this.db, { owner, now, leaseUntil, limit });
    const queued =
      expired.length >= limit
        ? []
        : await claimQueued.rows(this.db, { owner, now, leaseUntil, limit: limit - expired.length });
    return [...expired, ...queued].map(toJob).sort((a, b) => b.priority - a.priority || a.runAt - b.runAt);
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
      .where(filterOnly('status'), '=', 'running')
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
    return (await COMPLETE_JOB.affected(this.db, { now, id, owner })) === 1;
  }

  async advance(
    job: JobRecord,
    owner: string,
    now: number,
    next: { readonly kind: string; readonly priority: number; readonly leaseUntil: number },
  ): Promise<JobRecord | undefined> {
    const changed = await ADVANCE_JOB.affected(this.db, {
      kind: next.kind,
      priority: next.priority,
      now,
      leaseUntil: next.leaseUntil,
      id: job.id,
      owner,
    });
    return changed === 1 ? advanced(job, owner, now, next) : undefined;
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
      .where(filterOnly('status'), '=', 'running')
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
      .where(filterOnly('status'), '=', 'running')
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
