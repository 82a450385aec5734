import type { JobRecord, OrderRecord, PaymentRecord } from '../../ports/records.js';
import type { Deps } from '../kernel/deps.js';
import { LeaseLostError } from './job-steps.js';
import type { JobSpan } from '../../ports/tracing.js';

/** Runs without tracing tell nobody how they ended. */
const UNTRACED: JobSpan = { outcome: () => undefined };

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

/**
 * What a handler did. `done` means the handler already finished or advanced the job inside the
 * same transaction as the state change it caused (so a crash can never separate the two).
 */
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

/** What a handler is given besides its job. */
export interface JobRun {
  /** The order and payment as the job's creator committed them, when it knew them. */
  readonly known?: KnownState;
  /**
   * Aborted when this process lost the job's lease (another worker took it over): stop calling
   * the outside world; the final commit would be refused anyway.
   */
  readonly signal: LeaseSignal;
}

/**
 * Whether this process still holds a job's lease. A plain flag, not an AbortSignal: one is made
 * per job run, and an AbortController costs measurably on the order hot path.
 */
export interface LeaseSignal {
  readonly aborted: boolean;
}

export type JobHandler = (job: JobRecord, run: JobRun) => Promise<JobOutcome>;

export interface RunnerOptions {
  readonly concurrency: number;
  readonly pollIntervalMs: number;
}

type RunnerDeps = Pick<
  Deps,
  'uow' | 'clock' | 'logger' | 'random' | 'settings' | 'workerId' | 'coordination' | 'tracing'
>;

/**
 * The worker loop: claims due jobs (priority, run-at, attempts, lease), runs them through their
 * handlers with bounded concurrency, retries with capped exponential backoff and jitter, and
 * picks up whatever a crashed process left leased. While a job runs its lease is renewed every
 * third of the lease time, so a slow step (a channel that takes minutes) is never taken over by
 * another loop, and a job this process runs is never claimed by it again. Polls, retries and
 * renewals are scheduled on the injected clock.
 * The request path also hands it jobs it created already leased (`runLeased`) so a paid order
 * completes without waiting for the next poll.
 */
export class JobRunner {
  private running = false;
  private readonly handlers = new Map<string, JobHandler>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** The jobs this process runs now, whose leases the one renewal loop keeps. */
  private readonly held = new Map<
    string,
    { readonly job: JobRecord; readonly signal: { aborted: boolean }; readonly log: () => Deps['logger'] }
  >();
  private cancelRenewal: (() => void) | undefined;
  private stopped = false;
  private cancelTimer: (() => void) | undefined;
  private wakeRequested = false;
  private polling: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  private nextOrphanSweep = 0;

  constructor(
    private readonly deps: RunnerDeps,
    private readonly options: RunnerOptions,
  ) {}

  /** Add the handlers of a capability's job kinds; a kind has exactly one handler. */
  register(handlers: Readonly<Record<string, JobHandler>>): void {
    for (const [kind, handler] of Object.entries(handlers)) {
      if (this.handlers.has(kind)) throw new Error(`job kind ${kind} has a handler already`);
      this.handlers.set(kind, handler);
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopped = false;
    // Another instance announced due work: look now instead of at the next idle poll.
    this.unsubscribe = this.deps.coordination.onAnnounce(() => this.wake());
    this.nextOrphanSweep = 0;
    this.schedule(0);
  }

  /**
   * Stop claiming; wait for in-flight jobs up to `deadlineMs` (real time: this is the process
   * shutting down). Jobs still running then stop renewing their leases, which expire, and any
   * worker resumes them.
   */
  async stop(deadlineMs = 10_000): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    const all = Promise.allSettled([...this.inFlight, ...(this.polling === undefined ? [] : [this.polling])]);
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((r) => (timeout = setTimeout(r, deadlineMs)))]);
    if (timeout !== undefined) clearTimeout(timeout);
    // Jobs still running past the deadline keep their leases only until they run out.
    this.stopped = true;
    this.cancelRenewal?.();
    this.cancelRenewal = undefined;
    this.held.clear();
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
    this.cancelTimer?.();
    this.cancelTimer = this.deps.clock.schedule(ms, () => {
      this.cancelTimer = undefined;
      this.polling = this.poll().finally(() => {
        this.polling = undefined;
      });
    });
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
        // A claim of its own (one round trip on PostgreSQL, idle or not).
        claimed = await this.deps.uow.claimDue(this.deps.workerId, now, now + this.deps.settings.leaseMs, free);
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

  /**
   * Keep the job's lease while it runs. One loop renews every lease this process holds, every
   * third of the lease time, in one transaction (no timer per job). A renewal the database refuses
   * means the lease is lost — or the job just finished — and a read tells which: only a job now
   * running under another owner aborts its run (and is reported).
   */
  private hold(job: JobRecord, log: () => Deps['logger']): { readonly signal: LeaseSignal; release(): void } {
    const entry = { job, signal: { aborted: false }, log };
    this.held.set(job.id, entry);
    this.scheduleRenewal();
    return {
      signal: entry.signal,
      release: () => {
        if (this.held.get(job.id) === entry) this.held.delete(job.id);
      },
    };
  }

  private scheduleRenewal(): void {
    if (this.cancelRenewal !== undefined || this.stopped || this.held.size === 0) return;
    const every = Math.max(1, Math.floor(this.deps.settings.leaseMs / 3));
    this.cancelRenewal = this.deps.clock.schedule(every, () => {
      void this.renewAll().finally(() => {
        this.cancelRenewal = undefined;
        this.scheduleRenewal();
      });
    });
  }

  private async renewAll(): Promise<void> {
    const { clock, uow, settings, workerId } = this.deps;
    const entries = [...this.held.values()];
    const now = clock.now();
    let lost: typeof entries;
    try {
      lost = await uow.run(async (r) => {
        const refused: typeof entries = [];
        for (const e of entries)
          if (!(await r.jobs.renew(e.job.id, workerId, now, now + settings.leaseMs))) refused.push(e);
        return refused;
      });
    } catch (e) {
      // The database did not answer: try again at the next round, while the leases may still be ours.
      this.deps.logger.warn({ err: e, jobs: entries.length }, 'could not renew job leases');
      return;
    }
    for (const e of lost) {
      if (this.held.get(e.job.id) !== e) continue; // it finished meanwhile
      const current = await uow.read.jobs.get(e.job.id);
      if (current?.status === 'running' && current.leaseOwner !== workerId) {
        this.held.delete(e.job.id);
        e.signal.aborted = true;
        e.log().warn({ owner: current.leaseOwner }, 'lease lost: another worker owns this job now; stopping here');
      }
    }
  }

  /**
   * Run one claimed job; never throws. Returns follow-up jobs leased to us and the state it left.
   * The run continues the trace that enqueued the job (its logs and outgoing calls name it).
   */
  private execute(
    job: JobRecord,
    known: KnownState | undefined,
  ): Promise<{ followUps: readonly LeasedJob[]; state?: KnownState }> {
    const tracing = this.deps.tracing;
    return tracing === undefined
      ? this.executeTraced(job, known, UNTRACED)
      : tracing.runJob(job, (span) => this.executeTraced(job, known, span));
  }

  private async executeTraced(
    job: JobRecord,
    known: KnownState | undefined,
    span: JobSpan,
  ): Promise<{ followUps: readonly LeasedJob[]; state?: KnownState }> {
    const handler = this.handlers.get(job.kind);
    // Built only when something is logged: a child logger per job is measurable on the hot path.
    const log = (): Deps['logger'] =>
      this.deps.logger.child({
        job_id: job.id,
        job_kind: job.kind,
        resource_id: job.resourceId,
        attempt: job.attempts,
      });
    if (handler === undefined) {
      span.outcome('give_up', `no handler for job kind ${job.kind}`);
      await this.finish(job, { kind: 'give_up', error: `no handler for job kind ${job.kind}` });
      log().error({}, 'job has no handler');
      return { followUps: [] };
    }
    const lease = this.hold(job, log);
    let outcome: JobOutcome;
    try {
      const relevant = known !== undefined && known.order.id === job.resourceId ? known : undefined;
      outcome = await handler(job, { signal: lease.signal, ...(relevant === undefined ? {} : { known: relevant }) });
    } catch (e) {
      if (e instanceof LeaseLostError || lease.signal.aborted) {
        if (!lease.signal.aborted)
          log().warn({}, 'lease lost: another worker owns this job now; its work was rolled back');
        span.outcome('lease_lost');
        return { followUps: [] };
      }
      outcome = { kind: 'retry', error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
    } finally {
      lease.release();
    }
    if (outcome.kind === 'done') span.outcome('done');
    else if (lease.signal.aborted) span.outcome('lease_lost');
    else span.outcome(outcome.kind, outcome.error);
    if (outcome.kind === 'done') {
      return { followUps: outcome.followUps ?? [], ...(outcome.state === undefined ? {} : { state: outcome.state }) };
    }
    if (lease.signal.aborted) return { followUps: [] };
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
