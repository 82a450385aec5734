import { type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SqlBool } from 'kysely';
import type { JobRecord, JobStatus } from '../../../ports/records.js';
import type { JobRepository, NewJob } from '../../../ports/repositories.js';
import type { Database, JobsTable } from '../schema.js';
import { num, numOrNull } from './columns.js';

export type Engine = 'sqlite' | 'postgres';

export function toJob(r: Selectable<JobsTable>): JobRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    kind: r.kind,
    resourceId: r.resource_id,
    payload: JSON.parse(r.payload_json) as Record<string, unknown>,
    priority: num(r.priority),
    runAt: num(r.run_at),
    attempts: num(r.attempts),
    maxAttempts: num(r.max_attempts),
    status: r.status as JobStatus,
    leaseOwner: r.lease_owner,
    leaseUntil: numOrNull(r.lease_until),
    lastError: r.last_error,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

export function jobRow(job: NewJob & { readonly id: string; readonly now: number }): Selectable<JobsTable> {
  return {
    id: job.id,
    tenant_id: job.tenantId,
    kind: job.kind,
    resource_id: job.resourceId,
    payload_json: JSON.stringify(job.payload ?? {}),
    priority: job.priority ?? 0,
    run_at: job.runAt,
    attempts: job.leaseTo === undefined ? 0 : 1,
    max_attempts: job.maxAttempts ?? 8,
    status: job.leaseTo === undefined ? 'queued' : 'running',
    lease_owner: job.leaseTo?.owner ?? null,
    lease_until: job.leaseTo?.until ?? null,
    last_error: null,
    created_by: 'system',
    created_at: job.now,
    updated_at: job.now,
  };
}

export class KyselyJobs implements JobRepository {
  constructor(
    protected readonly db: Kysely<Database>,
    protected readonly engine: Engine,
  ) {}

  async enqueue(job: NewJob & { readonly id: string; readonly now: number }): Promise<JobRecord> {
    const row = jobRow(job);
    await this.db.insertInto('jobs').values(row).execute();
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
      eb.and([eb('status', '=', 'running'), eb('lease_until', '<', now), eb('lease_owner', '<>', owner)]),
    );
    const queued =
      expired.length >= limit
        ? []
        : await this.claimWhere(owner, now, leaseUntil, limit - expired.length, (eb) =>
            eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', now)]),
          );
    return [...expired, ...queued].map(toJob).sort((a, b) => b.priority - a.priority || a.runAt - b.runAt);
  }

  private async claimWhere(
    owner: string,
    now: number,
    leaseUntil: number,
    limit: number,
    due: (eb: ExpressionBuilder<Database, 'jobs'>) => Expression<SqlBool>,
  ): Promise<Array<Selectable<JobsTable>>> {
    let candidates = this.db
      .selectFrom('jobs')
      .select('id')
      .where(due)
      .orderBy('priority', 'desc')
      .orderBy('run_at', 'asc')
      .limit(limit);
    if (this.engine === 'postgres') candidates = candidates.forUpdate().skipLocked();
    return this.db
      .updateTable('jobs')
      .set((eb) => ({
        status: 'running',
        lease_owner: owner,
        lease_until: leaseUntil,
        attempts: eb('attempts', '+', 1),
        updated_at: now,
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
        lease_owner: owner,
        lease_until: leaseUntil,
        attempts: eb('attempts', '+', 1),
        updated_at: now,
      }))
      .where('id', '=', id)
      .where((eb) =>
        eb.or([eb('status', '=', 'queued'), eb.and([eb('status', '=', 'running'), eb('lease_until', '<', now)])]),
      )
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : toJob(row);
  }

  async renew(id: string, owner: string, now: number, leaseUntil: number): Promise<boolean> {
    const res = await this.db
      .updateTable('jobs')
      .set({ lease_until: leaseUntil, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async purgeFinished(status: 'done' | 'failed', before: number, limit: number): Promise<number> {
    const victims = this.db
      .selectFrom('jobs')
      .select('id')
      .where('status', '=', status)
      .where('updated_at', '<', before)
      .limit(limit);
    const res = await this.db.deleteFrom('jobs').where('id', 'in', victims).executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  async complete(id: string, owner: string, now: number): Promise<boolean> {
    const res = await this.db
      .updateTable('jobs')
      .set({ status: 'done', lease_owner: null, lease_until: null, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async advance(
    id: string,
    owner: string,
    now: number,
    next: { readonly kind: string; readonly priority: number; readonly leaseUntil: number },
  ): Promise<JobRecord | undefined> {
    const row = await this.db
      .updateTable('jobs')
      .set({
        kind: next.kind,
        priority: next.priority,
        attempts: 1,
        run_at: now,
        lease_until: next.leaseUntil,
        last_error: null,
        updated_at: now,
      })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('lease_owner', '=', owner)
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : toJob(row);
  }

  async release(id: string, owner: string, now: number, retryAt: number, error: string): Promise<boolean> {
    const res = await this.db
      .updateTable('jobs')
      .set({
        status: 'queued',
        lease_owner: null,
        lease_until: null,
        run_at: retryAt,
        last_error: error.slice(0, 2000),
        updated_at: now,
      })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async fail(id: string, owner: string, now: number, error: string): Promise<boolean> {
    const res = await this.db
      .updateTable('jobs')
      .set({
        status: 'failed',
        lease_owner: null,
        lease_until: null,
        last_error: error.slice(0, 2000),
        updated_at: now,
      })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toJob(row);
  }

  async hasLive(kind: string, resourceId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('jobs')
      .select('id')
      .where('resource_id', '=', resourceId)
      .where('kind', '=', kind)
      .where('status', 'in', ['queued', 'running'])
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async nextRunAt(): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.min<number | string>('run_at').as('next'))
      .where('status', '=', 'queued')
      .executeTakeFirst();
    return row?.next === null || row?.next === undefined ? undefined : num(row.next);
  }

  async countByStatus(statuses?: readonly JobStatus[]): Promise<Record<string, number>> {
    if (statuses?.length === 0) return {};
    let q = this.db.selectFrom('jobs').select(['status', (eb) => eb.fn.countAll<number | string>().as('n')]);
    if (statuses !== undefined) q = q.where('status', 'in', [...statuses]);
    const rows = await q.groupBy('status').execute();
    return Object.fromEntries(rows.map((r) => [r.status, num(r.n)]));
  }
}
