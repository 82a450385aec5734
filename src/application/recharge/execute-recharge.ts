import { type RechargeState, TERMINAL_RECHARGE_STATUSES } from '../../domain/recharge/recharge.js';
import type { JobRecord, RechargeRecord } from '../../ports/records.js';
import { JOB, PRIORITY } from '../jobs/job-kinds.js';
import type { JobOutcome, JobRun } from '../jobs/job-runner.js';
import { completeJob, enqueueJob, LeaseLostError } from '../jobs/job-steps.js';
import { SYSTEM } from '../kernel/caller.js';
import type { ChangeMeta } from '../kernel/change-set.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import { isConflict } from '../kernel/use-case-error.js';
import { awaitsPayment, commitRecharge, flagUnresolved } from './commit-recharge.js';
import { dispatchRecharge, type DispatchRechargeOutcome } from './dispatch-recharge.js';
import type { RechargeRuntime } from './recharge-runtime.js';

/**
 * Job `recharge.execute`: carry a recharge to its end across channels. Every new state is
 * committed (with its audit row) BEFORE the channel call it leads to, so the attempt's channel
 * and order id are on disk before any money can move; a retry or a resume starts from that
 * state and asks the open attempt's channel first. The terminal state commits together with its
 * money: the clearing account pays the carrier, or the wallet gets its reservation back. The
 * job's lease is renewed while it follows a slow channel; if it is lost anyway, the dispatch
 * stops at its next step instead of driving the recharge beside the new owner.
 */
export async function executeRecharge(
  deps: Deps,
  rt: RechargeRuntime,
  job: JobRecord,
  run: JobRun,
): Promise<JobOutcome> {
  let rec = await deps.uow.read.recharges.get(job.tenantId, job.resourceId);
  if (rec === undefined) return { kind: 'give_up', error: 'recharge not found' };
  const meta = (): ChangeMeta => ({ actor: SYSTEM.worker, now: deps.clock.now(), requestId: null });
  if (TERMINAL_RECHARGE_STATUSES.has(rec.state.status)) {
    await tx(deps.uow, meta(), (r, changes) => completeJob(r, job, deps, changes.meta.now));
    return { kind: 'done' };
  }
  if (await awaitsPayment(deps.uow.read, rec)) {
    // Never dispatched before its own payment is captured: the payment's job starts it then.
    await tx(deps.uow, meta(), (r, changes) => completeJob(r, job, deps, changes.meta.now));
    deps.logger.warn(
      { recharge_id: rec.id, top_up_id: rec.topUpId },
      'recharge not started: its payment is not captured',
    );
    return { kind: 'done' };
  }

  const persist = async (state: RechargeState): Promise<void> => {
    if (run.signal.aborted) throw new LeaseLostError(`lease on ${job.id} lost`);
    const prev = rec as RechargeRecord;
    rec = await tx(deps.uow, meta(), async (r, changes) => {
      const next = await commitRecharge(r, deps, changes, prev, state);
      if (TERMINAL_RECHARGE_STATUSES.has(state.status)) await completeJob(r, job, deps, changes.meta.now);
      return next;
    });
  };

  let outcome: DispatchRechargeOutcome;
  try {
    outcome = await dispatchRecharge(
      {
        router: rt.router,
        channels: rt.channels,
        clock: deps.clock,
        sleep: (ms) => new Promise((resolve) => deps.clock.schedule(ms, resolve)),
        operatorSettings: rt.operatorSettings,
        pollIntervalMs: rt.pollIntervalMs,
        processingDeadlineMs: rt.processingDeadlineMs,
        onTransition: persist,
        signal: run.signal,
      },
      {
        id: rec.id,
        phone: rec.phone,
        amount: { amount: rec.amount, currency: rec.currency },
        operator: rec.operator,
        maxAttempts: rec.state.maxAttempts,
        from: rec.state,
      },
    );
  } catch (e) {
    if (isConflict(e)) return handOver(deps, rt, job);
    if (e instanceof LeaseLostError) throw e;
    if (job.attempts >= job.maxAttempts) await giveUpUnresolved(deps, job, String(e));
    throw e;
  }
  const final = outcome.state;
  if (TERMINAL_RECHARGE_STATUSES.has(final.status)) {
    const log = {
      recharge_id: rec.id,
      status: final.status,
      channel: final.attempts.at(-1)?.channel,
      failovers: outcome.failovers,
      elapsed_ms: outcome.elapsedMs,
    };
    if (final.status === 'SUCCEEDED') deps.logger.info(log, 'recharge succeeded');
    else deps.logger.warn({ ...log, reason: final.status === 'FAILED' ? final.reason : undefined }, 'recharge failed');
    return { kind: 'done' };
  }
  if (run.signal.aborted) throw new LeaseLostError(`lease on ${job.id} lost`);
  const error = `recharge ${final.status}: the channel has not answered yet`;
  // This was the job's last try: the money stays in clearing, and a person is told.
  if (job.attempts >= job.maxAttempts) await giveUpUnresolved(deps, job, error);
  // The channel has not said yet: ask it again later, from the state just committed.
  return { kind: 'retry', error, delayMs: rt.pollIntervalMs };
}

/**
 * Someone else (a channel callback, a repair rule) committed a move first. Settled: this job is
 * done. Still open: a fresh job continues from the stored state (a conflict is not a failed try
 * and must not use up this job's attempts).
 */
async function handOver(deps: Deps, rt: RechargeRuntime, job: JobRecord): Promise<JobOutcome> {
  const now = deps.clock.now();
  const status = await tx(deps.uow, { actor: SYSTEM.worker, now, requestId: null }, async (r) => {
    const current = await r.recharges.get(job.tenantId, job.resourceId);
    await completeJob(r, job, deps, now);
    if (current !== undefined && !TERMINAL_RECHARGE_STATUSES.has(current.state.status)) {
      await enqueueJob(
        r,
        deps,
        {
          tenantId: job.tenantId,
          kind: JOB.executeRecharge,
          resourceId: job.resourceId,
          priority: PRIORITY.pay,
          runAt: now + rt.pollIntervalMs,
        },
        now,
      );
    }
    return current?.state.status;
  });
  deps.logger.info(
    { recharge_id: job.resourceId, status },
    'recharge moved by a callback or rule while its job ran: handed over',
  );
  return { kind: 'done' };
}

/** The job's attempts are used up and the recharge is still open: flag it (once); the money stays in clearing. */
async function giveUpUnresolved(deps: Deps, job: JobRecord, error: string): Promise<void> {
  const raised = await tx(
    deps.uow,
    { actor: SYSTEM.worker, now: deps.clock.now(), requestId: null },
    async (r, changes) => {
      const current = await r.recharges.get(job.tenantId, job.resourceId);
      if (current === undefined || TERMINAL_RECHARGE_STATUSES.has(current.state.status)) return false;
      return flagUnresolved(r, changes, current, {
        found_by: JOB.executeRecharge,
        job_attempts: job.attempts,
        last_error: error.slice(0, 200),
      });
    },
  );
  if (raised) {
    deps.logger.warn(
      { recharge_id: job.resourceId, job_attempts: job.attempts },
      'recharge unresolved after its job gave up: money kept in clearing, flagged for review',
    );
  }
}
