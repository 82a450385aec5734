import type { FaceValueRules } from '../domain/recharge/face-values.js';
import type { OperatorId, SegmentCategory } from '../domain/recharge/number-segments.js';
import type { OperatorSettings } from '../domain/recharge/operator-settings.js';
import { type RechargeState, TERMINAL_RECHARGE_STATUSES } from '../domain/recharge/recharge.js';
import type { RechargeRule } from '../domain/rules.js';
import type { RechargeChannel } from '../ports/recharge-channel.js';
import type { JobRecord, RechargeRecord } from '../ports/records.js';
import type { ChannelRouter } from './channel-router.js';
import { type Deps, UseCaseError } from './context.js';
import { dispatchRecharge, type DispatchRechargeOutcome } from './dispatch-recharge.js';
import { JOB, PRIORITY } from './job-kinds.js';
import type { BatchLimits } from './request-recharge-batch.js';
import { completeJob, type JobOutcome } from './run-jobs.js';
import { awaitsPayment, commitRecharge, flagUnresolved } from './settle-recharge.js';
import { ChangeSet } from './state-changes.js';

const ACTOR = 'system:worker';

/** The recharge side of the engine, built by main.ts from the `recharge` configuration. */
export interface RechargeRuntime {
  readonly router: ChannelRouter;
  readonly channels: ReadonlyMap<string, RechargeChannel>;
  readonly operatorSettings: Readonly<Record<OperatorId, OperatorSettings>>;
  readonly faceValues: FaceValueRules;
  readonly rechargeableCategories: readonly SegmentCategory[];
  /** Channels tried per recharge at most. */
  readonly maxAttempts: number;
  readonly pollIntervalMs: number;
  readonly processingDeadlineMs: number;
  /** How big a batch may be and how many of its rows go per transaction. */
  readonly batchLimits: BatchLimits;
  readonly sleep: (ms: number) => Promise<void>;
  /** Repair rules for stuck or wrongly failed recharges (absent = none). */
  readonly rules?: readonly RechargeRule[];
}

/**
 * Job `recharge.execute`: carry a recharge to its end across channels. Every new state is
 * committed (with its audit row) BEFORE the channel call it leads to, so the attempt's channel
 * and order id are on disk before any money can move; a retry or a resume starts from that
 * state and asks the open attempt's channel first. The terminal state commits together with its
 * money: the clearing account pays the carrier, or the wallet gets its reservation back.
 */
export async function executeRecharge(job: JobRecord, deps: Deps, rt: RechargeRuntime): Promise<JobOutcome> {
  let rec = await deps.uow.read.recharges.get(job.tenantId, job.resourceId);
  if (rec === undefined) return { kind: 'give_up', error: 'recharge not found' };
  if (TERMINAL_RECHARGE_STATUSES.has(rec.state.status)) {
    await deps.uow.run((r) => completeJob(r, job, deps, deps.clock.now()));
    return { kind: 'done' };
  }
  if (await awaitsPayment(deps.uow.read, rec)) {
    // Never dispatched before its own payment is captured: the payment's job starts it then.
    await deps.uow.run((r) => completeJob(r, job, deps, deps.clock.now()));
    deps.logger.warn(
      { recharge_id: rec.id, top_up_id: rec.topUpId },
      'recharge not started: its payment is not captured',
    );
    return { kind: 'done' };
  }

  const persist = async (state: RechargeState): Promise<void> => {
    const prev: RechargeRecord = rec as RechargeRecord;
    const now = deps.clock.now();
    rec = await deps.uow.run(async (r) => {
      const next = await commitRecharge(r, deps, prev, state, { actor: ACTOR, now, requestId: null });
      if (TERMINAL_RECHARGE_STATUSES.has(state.status)) await completeJob(r, job, deps, now);
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
        sleep: rt.sleep,
        operatorSettings: rt.operatorSettings,
        pollIntervalMs: rt.pollIntervalMs,
        processingDeadlineMs: rt.processingDeadlineMs,
        onTransition: persist,
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
    if (e instanceof UseCaseError && e.code === 'CONCURRENT_MODIFICATION') return handOver(job, deps, rt);
    if (job.attempts >= job.maxAttempts) await giveUpUnresolved(job, deps, String(e));
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
  const error = `recharge ${final.status}: the channel has not answered yet`;
  // This was the job's last try: the money stays in clearing, and a person is told.
  if (job.attempts >= job.maxAttempts) await giveUpUnresolved(job, deps, error);
  // The channel has not said yet: ask it again later, from the state just committed.
  return { kind: 'retry', error, delayMs: rt.pollIntervalMs };
}

/**
 * Someone else (a channel callback, a repair rule) committed a move first. Settled: this job is
 * done. Still open: a fresh job continues from the stored state (a conflict is not a failed try
 * and must not use up this job's attempts).
 */
async function handOver(job: JobRecord, deps: Deps, rt: RechargeRuntime): Promise<JobOutcome> {
  const now = deps.clock.now();
  const status = await deps.uow.run(async (r) => {
    const current = await r.recharges.get(job.tenantId, job.resourceId);
    await completeJob(r, job, deps, now);
    if (current !== undefined && !TERMINAL_RECHARGE_STATUSES.has(current.state.status)) {
      await r.jobs.enqueue({
        id: deps.ids.next('job'),
        now,
        tenantId: job.tenantId,
        kind: JOB.executeRecharge,
        resourceId: job.resourceId,
        priority: PRIORITY.pay,
        runAt: now + rt.pollIntervalMs,
        maxAttempts: job.maxAttempts,
      });
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
async function giveUpUnresolved(job: JobRecord, deps: Deps, error: string): Promise<void> {
  const now = deps.clock.now();
  const raised = await deps.uow.run(async (r) => {
    const current = await r.recharges.get(job.tenantId, job.resourceId);
    if (current === undefined || TERMINAL_RECHARGE_STATUSES.has(current.state.status)) return false;
    const cs = new ChangeSet({ actor: ACTOR, now, requestId: null });
    const flagged = await flagUnresolved(r, cs, current, {
      found_by: JOB.executeRecharge,
      job_attempts: job.attempts,
      last_error: error.slice(0, 200),
    });
    await cs.flush(r);
    return flagged;
  });
  if (raised)
    deps.logger.warn(
      { recharge_id: job.resourceId, job_attempts: job.attempts },
      'recharge unresolved after its job gave up: money kept in clearing, flagged for review',
    );
}
