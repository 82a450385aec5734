import type { JobRecord, OrderRecord, PaymentRecord } from '../ports/records.js';
import type { Repositories } from '../ports/repositories.js';
import type { Deps } from './context.js';

/**
 * What a handler did. `done` means the handler already marked the job finished inside the same
 * transaction as the state change it caused (so a crash can never separate the two).
 */
/**
 * What a job's creator already knows of the order it works on, as committed. The handler may use
 * it instead of reading the rows again: every write is version-checked, so a stale copy can
 * only make the transaction fail and the job retry from fresh state, never overwrite anything.
 */
export interface KnownState {
  readonly order: OrderRecord;
  readonly payment: PaymentRecord;
}

/** A job this process holds, with what its creator knew. */
export interface LeasedJob {
  readonly job: JobRecord;
  readonly known?: KnownState;
}

export type JobOutcome =
  | {
      readonly kind: 'done';
      /** Jobs created for this process to run next, at once. */
      readonly followUps?: readonly LeasedJob[];
      /** The order and payment as this job left them. */
      readonly state?: KnownState;
    }
  | { readonly kind: 'retry'; readonly error: string; readonly delayMs?: number }
  | { readonly kind: 'give_up'; readonly error: string };

export type JobHandler = (job: JobRecord, deps: Deps, known?: KnownState) => Promise<JobOutcome>;

/** Thrown inside a transaction when this process no longer holds the job's lease: roll back. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

export interface RunnerOptions {
  readonly concurrency: number;
  readonly pollIntervalMs: number;
}

/**
 * The worker loop: claims due jobs (priority, run-at, attempts, lease), runs them through their
 * handlers with bounded concurrency, retries with capped exponential backoff and jitter, and on
 * start picks up whatever a crashed process left leased once the lease has expired.
 * The request path also hands it jobs it created already leased (`runLeased`) so a paid order
 * completes without waiting for the next poll.
 */
export class JobRunner {
  private running = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private wakeRequested = false;
  private polling: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  private nextOrphanSweep = 0;

  constructor(
    private readonly deps: Deps,
    private readonly handlers: Readonly<Record<string, JobHandler>>,
    private readonly options: RunnerOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    // Another instance announced due work: look now instead of at the next idle poll.
    this.unsubscribe = this.deps.coordination.onAnnounce(() => this.wake());
    this.nextOrphanSweep = 0;
    this.schedule(0);
  }

  /** Stop claiming; wait for in-flight jobs up to `deadlineMs` (unfinished ones keep their lease and expire). */
  async stop(deadlineMs = 10_000): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const all = Promise.allSettled([...this.inFlight, ...(this.polling === undefined ? [] : [this.polling])]);
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((r) => (timeout = setTimeout(r, deadlineMs)))]);
    if (timeout !== undefined) clearTimeout(timeout);
  }

  get isRunning(): boolean {
    return this.running;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Ask for a poll soon (new work was enqueued). */
  wake(): void {
    if (!this.running) return;
    this.wakeRequested = true;
    if (this.polling === undefined) this.schedule(0);
  }

  /**
   * Run a job this process already holds (created leased to it), then its follow-ups, without
   * polling. Resolves with the order and payment as the last job left them, when known.
   */
  runLeased(leased: LeasedJob): Promise<KnownState | undefined> {
    const p: Promise<KnownState | undefined> = this.chain([leased]).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
    return p;
  }

  private async chain(jobs: readonly LeasedJob[]): Promise<KnownState | undefined> {
    let next = jobs;
    let state: KnownState | undefined;
    while (next.length > 0) {
      const results = await Promise.all(
        next.filter((l) => l.job.leaseOwner === this.deps.workerId).map((l) => this.execute(l.job, l.known)),
      );
      next = results.flatMap((r) => r.followUps);
      state = results.at(-1)?.state ?? state;
    }
    return state;
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.polling = this.poll().finally(() => {
        this.polling = undefined;
      });
    }, ms);
    this.timer.unref?.();
  }

  private async poll(): Promise<void> {
    this.wakeRequested = false;
    let claimed: JobRecord[] = [];
    try {
      await this.sweepOrphans();
    } catch (e) {
      this.deps.logger.error({ err: e }, 'looking for the jobs of crashed workers failed');
    }
    try {
      const free = this.options.concurrency - this.inFlight.size;
      if (free > 0) {
        const now = this.deps.clock.now();
        claimed = await this.deps.uow.run((r) =>
          r.jobs.claimDue(this.deps.workerId, now, now + this.deps.settings.leaseMs, free),
        );
        // We took all we can run and more may be waiting: let idle instances help.
        if (claimed.length === free) this.deps.coordination.announce();
      }
    } catch (e) {
      this.deps.logger.error({ err: e }, 'job claim failed');
    }
    for (const job of claimed) {
      const p: Promise<void> = this.execute(job, undefined)
        .then((r) => this.chain(r.followUps))
        .then(() => undefined)
        .finally(() => {
          this.inFlight.delete(p);
          this.wake();
        });
      this.inFlight.add(p);
    }
    if (!this.running) return;
    const busy = claimed.length > 0 || this.wakeRequested;
    this.schedule(busy ? 0 : this.options.pollIntervalMs);
  }

  /**
   * On start, then every few seconds: jobs still leased to a worker that is gone (crashed,
   * killed) return to the queue at once instead of when their lease runs out.
   */
  private async sweepOrphans(): Promise<void> {
    const now = this.deps.clock.now();
    if (now < this.nextOrphanSweep) return;
    this.nextOrphanSweep = now + Math.min(5000, Math.max(500, Math.floor(this.deps.settings.leaseMs / 2)));
    const found = await this.deps.coordination.reclaimOrphans(now);
    if (found.jobs > 0) {
      this.deps.logger.warn({ owners: found.owners, jobs: found.jobs }, 'took back the jobs of workers that are gone');
      this.deps.coordination.announce();
    }
  }

  /** Run one claimed job; never throws. Returns follow-up jobs leased to us and the state it left. */
  private async execute(
    job: JobRecord,
    known: KnownState | undefined,
  ): Promise<{ followUps: readonly LeasedJob[]; state?: KnownState }> {
    const handler = this.handlers[job.kind];
    // Built only when something is logged: a child logger per job is measurable on the hot path.
    const log = (): Deps['logger'] =>
      this.deps.logger.child({
        job_id: job.id,
        job_kind: job.kind,
        resource_id: job.resourceId,
        attempt: job.attempts,
      });
    if (handler === undefined) {
      await this.finish(job, { kind: 'give_up', error: `no handler for job kind ${job.kind}` });
      log().error({}, 'job has no handler');
      return { followUps: [] };
    }
    let outcome: JobOutcome;
    try {
      outcome = await handler(
        job,
        this.deps,
        known !== undefined && known.order.id === job.resourceId ? known : undefined,
      );
    } catch (e) {
      if (e instanceof LeaseLostError) {
        log().warn({}, 'lease lost: another worker owns this job now; its work was rolled back');
        return { followUps: [] };
      }
      outcome = { kind: 'retry', error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
    }
    if (outcome.kind === 'done')
      return { followUps: outcome.followUps ?? [], ...(outcome.state === undefined ? {} : { state: outcome.state }) };
    await this.finish(job, outcome);
    if (outcome.kind === 'retry') log().warn({ error: outcome.error }, 'job will be retried');
    else log().error({ error: outcome.error }, 'job gave up');
    return { followUps: [] };
  }

  private async finish(job: JobRecord, outcome: Exclude<JobOutcome, { kind: 'done' }>): Promise<void> {
    const now = this.deps.clock.now();
    const s = this.deps.settings;
    try {
      await this.deps.uow.run(async (r) => {
        if (outcome.kind === 'give_up' || job.attempts >= job.maxAttempts) {
          await r.jobs.fail(job.id, this.deps.workerId, now, outcome.error);
          return;
        }
        const backoff = Math.min(s.retryMaxMs, s.retryBaseMs * 2 ** Math.max(0, job.attempts - 1));
        // Equal jitter: half fixed, half random, so retries of many jobs spread out.
        const delay = outcome.delayMs ?? Math.round(backoff / 2 + (backoff / 2) * this.deps.random());
        await r.jobs.release(job.id, this.deps.workerId, now, now + delay, outcome.error);
      });
    } catch (e) {
      this.deps.logger.error(
        { err: e, job_id: job.id },
        'could not record job outcome; the lease will expire and the job will run again',
      );
    }
    this.wake();
  }
}

/** Mark the job finished inside the current transaction, or abort it if the lease is gone. */
export async function completeJob(
  repos: { jobs: { complete(id: string, owner: string, now: number): Promise<boolean> } },
  job: JobRecord,
  deps: Deps,
  now: number,
): Promise<void> {
  if (!(await repos.jobs.complete(job.id, deps.workerId, now))) throw new LeaseLostError(`lease on ${job.id} lost`);
}

/**
 * Create a job already leased to this process, inside the current transaction, so the caller
 * can run it at once; if the process dies, the lease expires and any worker resumes it.
 */
export function enqueueLeased(
  repos: { jobs: { enqueue: Repositories['jobs']['enqueue'] } },
  deps: Deps,
  job: { readonly tenantId: string; readonly kind: string; readonly resourceId: string; readonly priority: number },
  now: number,
): Promise<JobRecord> {
  return repos.jobs.enqueue({
    ...job,
    id: deps.ids.next('job'),
    now,
    runAt: now,
    maxAttempts: deps.settings.maxAttempts,
    leaseTo: { owner: deps.workerId, until: now + deps.settings.leaseMs },
  });
}

/**
 * Finish this step and make the same job row the next step, still leased to this process
 * (one row per order's pipeline instead of one per step); aborts if the lease is gone.
 */
export async function advanceJob(
  repos: { jobs: { advance: Repositories['jobs']['advance'] } },
  job: JobRecord,
  deps: Deps,
  next: { readonly kind: string; readonly priority: number },
  now: number,
): Promise<JobRecord> {
  const advanced = await repos.jobs.advance(job.id, deps.workerId, now, {
    ...next,
    leaseUntil: now + deps.settings.leaseMs,
  });
  if (advanced === undefined) throw new LeaseLostError(`lease on ${job.id} lost`);
  return advanced;
}
