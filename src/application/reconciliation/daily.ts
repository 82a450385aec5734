import type { JobRecord } from '../../ports/records.js';
import { JOB, PRIORITY } from '../jobs/job-kinds.js';
import type { JobHandler } from '../jobs/job-runner.js';
import { completeJob } from '../jobs/job-steps.js';
import type { Runtime } from '../jobs/runtime.js';
import { type Caller, SYSTEM } from '../kernel/caller.js';
import { tx } from '../kernel/tx.js';
import type { ReconciliationApi } from './reconciliation-api.js';

const DAY_MS = 86_400_000;

export interface DailySettings {
  /** Minutes after the business day's midnight to run (10:30 → 630). */
  readonly atMinute: number;
  readonly dayOffsetMinutes: number;
  /** Names to reconcile; empty: every source that gives a statement. */
  readonly sources: readonly string[];
  /** The tenant the runs are recorded under. */
  readonly tenantId: string;
}

/** `YYYY-MM-DD` of the business day containing `ms`. */
export function businessDateOf(ms: number, offsetMinutes: number): string {
  return new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 10);
}

/** Milliseconds from `now` until the next `atMinute` of a business day. */
export function untilNext(now: number, atMinute: number, offsetMinutes: number): number {
  const local = now + offsetMinutes * 60_000;
  const todayAt = Math.floor(local / DAY_MS) * DAY_MS + atMinute * 60_000;
  return (todayAt > local ? todayAt : todayAt + DAY_MS) - local;
}

const systemCaller = (tenantId: string): Caller => ({
  tenantId,
  userId: SYSTEM.reconciliation,
  actor: SYSTEM.reconciliation,
  requestId: null,
  role: 'admin',
});

/**
 * The daily run: at the configured time each instance asks for yesterday's reconciliation of
 * each source as a job with a deterministic id (one per source and day, whichever instance asks
 * first), so a day is reconciled once; a statement not ready yet is retried with the job's backoff.
 */
export function createDailyReconciliation(
  runtime: Runtime,
  api: ReconciliationApi,
  settings: DailySettings,
): {
  readonly jobs: Readonly<Record<string, JobHandler>>;
  start(): void;
  stop(): void;
  enqueueDay(date: string): Promise<number>;
} {
  const { deps, runner } = runtime;
  let cancel: (() => void) | undefined;
  const names = (): string[] =>
    settings.sources.length > 0
      ? [...settings.sources]
      : api
          .sources()
          .filter((s) => s.fetches)
          .map((s) => s.name);

  const enqueueDay = async (date: string): Promise<number> => {
    const now = deps.clock.now();
    let queued = 0;
    await tx(deps.uow, { actor: SYSTEM.reconciliation, now, requestId: null }, async (r) => {
      for (const source of names()) {
        const made = await r.jobs.enqueueIfAbsent({
          id: `job_reconcile_${source}_${date}`,
          tenantId: settings.tenantId,
          kind: JOB.reconcileDay,
          resourceId: `${source}@${date}`,
          priority: PRIORITY.expire,
          payload: { source, date },
          now,
          runAt: now,
          maxAttempts: Math.max(deps.settings.maxAttempts, 24),
        });
        if (made) queued++;
      }
    });
    if (queued > 0) runner.wake();
    return queued;
  };

  const handler: JobHandler = async (job: JobRecord) => {
    const source = String(job.payload.source);
    const date = String(job.payload.date);
    // A statement not ready yet is tried again every half hour: only the last try keeps a failed
    // run, so the runs list does not fill with a day's early tries.
    const last = job.attempts >= job.maxAttempts;
    const r = await api.run(systemCaller(settings.tenantId), { source, date, keepUnavailable: last });
    if (!r.ok && r.error.code === 'STATEMENT_UNAVAILABLE' && !last) {
      deps.logger.info(
        { source, date, attempt: job.attempts },
        'statement not ready yet: the daily reconciliation tries again',
      );
      return { kind: 'retry', error: r.error.message, delayMs: 30 * 60_000 };
    }
    if (!r.ok)
      deps.logger.error({ source, date, code: r.error.code, error: r.error.message }, 'daily reconciliation failed');
    const now = deps.clock.now();
    await tx(deps.uow, { actor: SYSTEM.reconciliation, now, requestId: null }, (tr) => completeJob(tr, job, deps, now));
    return { kind: 'done' };
  };

  return {
    jobs: { [JOB.reconcileDay]: handler },
    enqueueDay,
    start() {
      if (cancel !== undefined) return;
      const tick = (): void => {
        const yesterday = businessDateOf(deps.clock.now() - DAY_MS, settings.dayOffsetMinutes);
        enqueueDay(yesterday)
          .catch((e: unknown) => deps.logger.error({ err: e }, 'could not queue the daily reconciliation'))
          .finally(() => {
            if (cancel !== undefined)
              cancel = deps.clock.schedule(
                untilNext(deps.clock.now(), settings.atMinute, settings.dayOffsetMinutes),
                tick,
              );
          });
      };
      cancel = deps.clock.schedule(untilNext(deps.clock.now(), settings.atMinute, settings.dayOffsetMinutes), tick);
    },
    stop() {
      cancel?.();
      cancel = undefined;
    },
  };
}
