import { account, transfer } from '../domain/ledger.js';
import type { FaceValueRules } from '../domain/recharge/face-values.js';
import type { OperatorId, SegmentCategory } from '../domain/recharge/number-segments.js';
import type { OperatorSettings } from '../domain/recharge/operator-settings.js';
import { type RechargeState, TERMINAL_RECHARGE_STATUSES } from '../domain/recharge/recharge.js';
import type { RechargeChannel } from '../ports/recharge-channel.js';
import type { JobRecord, RechargeRecord } from '../ports/records.js';
import type { Repositories } from '../ports/repositories.js';
import { requestPaymentRefund } from './refund-recharge-payment.js';
import type { ChannelRouter } from './channel-router.js';
import { type Deps, UseCaseError } from './context.js';
import { dispatchRecharge } from './dispatch-recharge.js';
import type { BatchLimits } from './request-recharge-batch.js';
import { completeJob, type JobOutcome } from './run-jobs.js';
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

  const persist = async (state: RechargeState): Promise<void> => {
    const prev: RechargeRecord = rec as RechargeRecord;
    const now = deps.clock.now();
    const cs = new ChangeSet({ actor: ACTOR, now, requestId: null });
    const next: RechargeRecord = { ...prev, state, updatedBy: ACTOR, updatedAt: now, version: prev.version + 1 };
    const attempt = state.attempts.at(-1);
    cs.audit('recharge', prev.tenantId, prev.id, `recharge.${state.status.toLowerCase()}`, { status: prev.state.status, attempt: prev.state.attempts.length, version: prev.version }, {
      status: state.status,
      attempt: state.attempts.length,
      version: next.version,
      ...(attempt === undefined ? {} : { channel: attempt.channel, order_id: attempt.key }),
      ...(attempt?.channelOrderId === undefined ? {} : { channel_order_id: attempt.channelOrderId }),
      ...(state.status === 'FAILED' ? { reason: state.reason } : {}),
    });
    if (state.status === 'SUCCEEDED' && attempt !== undefined) {
      cs.post(prev.tenantId, `jrn_${prev.id}_consume`, 'recharge.succeeded', 'recharge', prev.id, prev.currency, transfer(account.rechargeClearing(prev.tenantId), account.carrier(attempt.channel), prev.amount));
    }
    await deps.uow.run(async (r) => {
      if (!(await r.recharges.update(next, prev.version))) throw new UseCaseError('CONCURRENT_MODIFICATION', `recharge ${prev.id} was changed by someone else`);
      if (state.status === 'FAILED') await giveBack(r, deps, cs, prev);
      await cs.flush(r);
      if (TERMINAL_RECHARGE_STATUSES.has(state.status)) await completeJob(r, job, deps, now);
    });
    rec = next;
  };

  const outcome = await dispatchRecharge(
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
    { id: rec.id, phone: rec.phone, amount: { amount: rec.amount, currency: rec.currency }, operator: rec.operator, maxAttempts: rec.state.maxAttempts, from: rec.state },
  );
  const final = outcome.state;
  if (TERMINAL_RECHARGE_STATUSES.has(final.status)) {
    const log = { recharge_id: rec.id, status: final.status, channel: final.attempts.at(-1)?.channel, failovers: outcome.failovers, elapsed_ms: outcome.elapsedMs };
    if (final.status === 'SUCCEEDED') deps.logger.info(log, 'recharge succeeded');
    else deps.logger.warn({ ...log, reason: final.status === 'FAILED' ? final.reason : undefined }, 'recharge failed');
    return { kind: 'done' };
  }
  // The channel has not said yet: ask it again later, from the state just committed.
  return { kind: 'retry', error: `recharge ${final.status}: the channel has not answered yet`, delayMs: rt.pollIntervalMs };
}

/**
 * A recharge failed: its money goes back where it came from, in the caller's transaction — to
 * the wallet, or, when a payment of its own paid it, to the payer through a refund of that
 * payment (owed in `refunds_due` until the gateway has refunded it).
 */
export async function giveBack(r: Repositories, deps: Deps, cs: ChangeSet, rec: RechargeRecord): Promise<void> {
  const clearing = account.rechargeClearing(rec.tenantId);
  if (rec.topUpId === undefined) {
    cs.post(rec.tenantId, `jrn_${rec.id}_release`, 'recharge.failed', 'recharge', rec.id, rec.currency, transfer(clearing, account.wallet(rec.userId), rec.amount));
    await r.wallets.credit(rec.tenantId, rec.userId, rec.currency, rec.amount, cs.meta.now);
    return;
  }
  cs.post(rec.tenantId, `jrn_${rec.id}_refund_due`, 'recharge.refund_due', 'recharge', rec.id, rec.currency, transfer(clearing, account.refundsDue(rec.tenantId), rec.amount));
  await requestPaymentRefund(r, deps, cs, rec.tenantId, rec.topUpId);
}
