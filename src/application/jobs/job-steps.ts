import type { JobRecord } from '../../ports/records.js';
import type { NewJob, Repositories } from '../../ports/repositories.js';
import type { Deps } from '../kernel/deps.js';

import { LeaseLostError } from '../../ports/write-outcomes.js';

export { LeaseLostError } from '../../ports/write-outcomes.js';

type JobDeps = Pick<Deps, 'workerId' | 'settings' | 'ids'>;

/** Mark the job finished inside the current transaction, or abort it if the lease is gone. */
export async function completeJob(r: Repositories, job: JobRecord, deps: JobDeps, now: number): Promise<void> {
  if (!(await r.jobs.complete(job.id, deps.workerId, now))) throw new LeaseLostError(`lease on ${job.id} lost`);
}

/**
 * Finish this step and make the same job row the next step, still leased to this process
 * (one row per order's pipeline instead of one per step); aborts if the lease is gone.
 */
export async function advanceJob(
  r: Repositories,
  job: JobRecord,
  deps: JobDeps,
  next: { readonly kind: string; readonly priority: number },
  now: number,
): Promise<JobRecord> {
  const advanced = await r.jobs.advance(job, deps.workerId, now, {
    ...next,
    leaseUntil: now + deps.settings.leaseMs,
  });
  if (advanced === undefined) throw new LeaseLostError(`lease on ${job.id} lost`);
  return advanced;
}

/** What a new job is about. */
export interface JobSubject {
  readonly tenantId: string;
  readonly kind: string;
  readonly resourceId: string;
  readonly priority: number;
}

/**
 * Create a job already leased to this process, inside the current transaction, so the caller
 * can run it at once; if the process dies, the lease expires and any worker resumes it.
 */
export function enqueueLeased(
  r: Repositories,
  deps: JobDeps,
  job: JobSubject & Pick<NewJob, 'payload'>,
  now: number,
): Promise<JobRecord> {
  return r.jobs.enqueue({
    ...job,
    id: deps.ids.next('job'),
    now,
    runAt: now,
    maxAttempts: deps.settings.maxAttempts,
    leaseTo: { owner: deps.workerId, until: now + deps.settings.leaseMs },
  });
}

/** Create a job any worker may run from `runAt` (default: now), inside the current transaction. */
export function enqueueJob(
  r: Repositories,
  deps: JobDeps,
  job: JobSubject & Pick<NewJob, 'payload'> & { readonly runAt?: number; readonly id?: string },
  now: number,
): Promise<JobRecord> {
  return r.jobs.enqueue({
    ...job,
    id: job.id ?? deps.ids.next('job'),
    now,
    runAt: job.runAt ?? now,
    maxAttempts: deps.settings.maxAttempts,
  });
}

/** Create a job under a deterministic id unless it exists (insert first); false: someone asked first. */
export function enqueueOnce(
  r: Repositories,
  deps: JobDeps,
  job: JobSubject & Pick<NewJob, 'payload'> & { readonly id: string },
  now: number,
): Promise<boolean> {
  return r.jobs.enqueueIfAbsent({ ...job, now, runAt: now, maxAttempts: deps.settings.maxAttempts });
}
