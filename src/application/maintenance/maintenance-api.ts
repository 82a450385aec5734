import type { Repositories } from '../../ports/repositories.js';
import type { Runtime } from '../jobs/runtime.js';
import { SYSTEM } from '../kernel/caller.js';
import { tx } from '../kernel/tx.js';

/** What the sweep may delete, and how often it runs. */
export interface MaintenanceSettings {
  /** How often the sweep runs (0 = never on a timer). */
  readonly intervalMs: number;
  /** Finished jobs are kept this long after they finished (failed ones: `failedJobsRetentionMs`). */
  readonly doneJobsRetentionMs: number;
  readonly failedJobsRetentionMs: number;
  /** Rows deleted per statement: bounded, so the sweep never holds the database for long. */
  readonly batch: number;
}

/** What one sweep (or all of them, for `totals`) removed, per kind of row. */
export interface Purged {
  readonly idempotency_keys: number;
  readonly callback_nonces: number;
  readonly agent_sessions: number;
  readonly jobs_done: number;
  readonly jobs_failed: number;
}

/** Keeps the tables that would otherwise grow for ever to what is still needed. */
export interface MaintenanceApi {
  /** Purge now: expired idempotency keys, nonces and conversations; finished jobs past their retention. */
  sweep(): Promise<Purged>;
  /** Everything removed since this process started (the metric). */
  totals(): Purged;
  /** Jobs not finished yet, per status (queue depth); a cheap indexed count. */
  queueDepth(): Promise<Record<string, number>>;
  /**
   * How long the oldest job that is due (queued, its run-at passed) has waited, in ms; 0 when none
   * is due. Jobs queued for later (an expiry an hour away) are not a backlog.
   */
  oldestDueJobAgeMs(): Promise<number>;
  start(): void;
  stop(): void;
}

/** At most this many statements per kind per sweep: a large backlog is worked off over several sweeps. */
const ROUNDS = 20;

export function createMaintenance(runtime: Runtime, settings: MaintenanceSettings): { readonly api: MaintenanceApi } {
  const { deps } = runtime;
  const totals: Record<keyof Purged, number> = {
    idempotency_keys: 0,
    callback_nonces: 0,
    agent_sessions: 0,
    jobs_done: 0,
    jobs_failed: 0,
  };
  const drain = async (purge: (r: Repositories, now: number) => Promise<number>): Promise<number> => {
    let removed = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const now = deps.clock.now();
      const n = await tx(deps.uow, { actor: SYSTEM.maintenance, now, requestId: null }, (r) => purge(r, now));
      removed += n;
      if (n < settings.batch) break;
    }
    return removed;
  };
  let cancel: (() => void) | undefined;
  const api: MaintenanceApi = {
    async sweep() {
      const b = settings.batch;
      const run = drain;
      const purged: Purged = {
        idempotency_keys: await run((r, now) => r.idempotency.purgeExpired(now, b)),
        callback_nonces: await run((r, now) => r.callbacks.purgeNonces(now, b)),
        agent_sessions: await run((r, now) => r.sessions.purgeExpired(now, b)),
        jobs_done: await run((r, now) => r.jobs.purgeFinished('done', now - settings.doneJobsRetentionMs, b)),
        jobs_failed: await run((r, now) => r.jobs.purgeFinished('failed', now - settings.failedJobsRetentionMs, b)),
      };
      for (const k of Object.keys(purged) as Array<keyof Purged>) totals[k] += purged[k];
      const removed = (Object.values(purged) as number[]).reduce((a, n) => a + n, 0);
      if (removed > 0) deps.logger.info({ purged }, 'maintenance sweep removed expired rows');
      return purged;
    },
    totals: () => ({ ...totals }),
    queueDepth: () => deps.uow.read.jobs.countByStatus(['queued', 'running', 'failed']),
    async oldestDueJobAgeMs() {
      // The earliest run-at among queued jobs is the oldest due one when it has passed.
      const next = await deps.uow.read.jobs.nextRunAt();
      return next === undefined ? 0 : Math.max(0, deps.clock.now() - next);
    },
    start() {
      if (settings.intervalMs <= 0 || cancel !== undefined) return;
      const tick = (): void => {
        api
          .sweep()
          .catch((e: unknown) => deps.logger.warn({ err: e }, 'maintenance sweep failed'))
          .finally(() => {
            if (cancel !== undefined) cancel = deps.clock.schedule(settings.intervalMs, tick);
          });
      };
      cancel = deps.clock.schedule(settings.intervalMs, tick);
    },
    stop() {
      const c = cancel;
      cancel = undefined;
      c?.();
    },
  };
  return { api };
}
