import { flagIds } from '../../domain/keys.js';
import { postings } from '../../domain/ledger/postings.js';
import {
  currentAttempt,
  deliveredAttempt,
  type RechargeState,
  TERMINAL_RECHARGE_STATUSES,
  transitionRecharge,
  withSettledAt,
} from '../../domain/recharge/recharge.js';
import { type ChannelVerdict, decideVerdict } from '../../domain/recharge/verdict.js';
import type { RechargeChannelResult } from '../../ports/recharge-channel.js';
import type { RechargeRecord } from '../../ports/records.js';
import type { ReadRepositories, Repositories } from '../../ports/repositories.js';
import { JOB, PRIORITY } from '../jobs/job-kinds.js';
import { enqueueJob } from '../jobs/job-steps.js';
import { type ChangeSet, conflict } from '../kernel/change-set.js';
import type { Deps } from '../kernel/deps.js';
import { raiseFlagOnce, resolveFlag } from '../kernel/review-flags.js';
import { UseCaseError } from '../kernel/use-case-error.js';
import { requestPaymentRefund } from './refund-recharge-payment.js';

type RechargeDeps = Pick<Deps, 'ids' | 'workerId' | 'settings'>;

/**
 * The ONE commit of a recharge move, inside the caller's transaction, for the recharge job, the
 * channel callbacks and the repair rules alike: the version-checked state, its audit row, and
 * the money of a terminal state (accounts decided by `postings.ts`) —
 * - SUCCEEDED: recharge clearing pays the carrier of the attempt that delivered;
 * - FAILED: clearing gives the reservation back to the wallet (and the wallet is credited), or,
 *   for a recharge paid by a payment of its own, owes it back (`refunds_due`) and queues its refund;
 * - FAILED → SUCCEEDED (a correction: the channel topped the phone up after all): the amount is
 *   taken back from the wallet into clearing — or, when the wallet no longer holds it, booked as
 *   the user's receivable (never an overdraft) — then clearing pays the carrier; flagged for review.
 * Throws CONCURRENT_MODIFICATION when `prev` is no longer the stored version (nothing is written).
 */
export async function commitRecharge(
  r: Repositories,
  deps: RechargeDeps,
  changes: ChangeSet,
  prev: RechargeRecord,
  moved: RechargeState,
): Promise<RechargeRecord> {
  const { now, actor } = changes.meta;
  // The delivering attempt keeps when the phone was topped up: the day the channel's list dates it.
  const state = withSettledAt(moved, now);
  const next: RechargeRecord = { ...prev, state, updatedBy: actor, updatedAt: now, version: prev.version + 1 };
  if (!(await r.recharges.update(next, prev.version))) throw conflict('recharge', prev.id);
  // A failed recharge's money came back (released or refunded): so does a mandate's budget for it.
  if (state.status === 'FAILED' && prev.state.status !== 'FAILED') changes.endedUnpaid(prev.tenantId, prev.id);
  const corrected = prev.state.status === 'FAILED' && state.status === 'SUCCEEDED';
  const attempt = state.status === 'SUCCEEDED' ? deliveredAttempt(state) : state.attempts.at(-1);
  changes.audit(
    'recharge',
    prev.tenantId,
    prev.id,
    corrected ? 'recharge.corrected' : `recharge.${state.status.toLowerCase()}`,
    { status: prev.state.status, attempt: prev.state.attempts.length, version: prev.version },
    {
      status: state.status,
      attempt: state.attempts.length,
      version: next.version,
      ...(attempt === undefined ? {} : { channel: attempt.channel, order_id: attempt.key }),
      ...(attempt?.channelOrderId === undefined ? {} : { channel_order_id: attempt.channelOrderId }),
      ...(state.status === 'FAILED' ? { reason: state.reason } : {}),
    },
  );
  if (state.status === 'SUCCEEDED' && attempt !== undefined) {
    if (corrected) {
      // The release gave the money back to the wallet: take it again, or book what the user owes.
      // A recharge paid directly had its payment refunded instead: the user owes it.
      const covered =
        prev.topUpId === undefined &&
        (await r.wallets.reserve(prev.tenantId, prev.userId, prev.currency, prev.amount, now));
      changes.book(postings.rechargeReclaimed(prev, covered));
      await raiseFlagOnce(
        r,
        changes,
        flagIds.once(`RECHARGE_STATUS_CORRECTED_${prev.id}`),
        { tenantId: prev.tenantId, type: 'recharge', id: prev.id },
        'RECHARGE_STATUS_CORRECTED',
        {
          recorded: 'FAILED',
          recorded_reason: prev.state.status === 'FAILED' ? prev.state.reason : null,
          channel_says: 'succeeded',
          channel: attempt.channel,
          order_id: attempt.key,
          amount: prev.amount,
          wallet_covered: covered,
          found_by: actor,
        },
      );
    }
    changes.book(postings.rechargeSucceeded(prev, attempt.channel));
  } else if (state.status === 'FAILED') {
    // The money goes back where it came from: the wallet, or — a payment of its own paid the
    // recharge — the payer, by a refund of that payment (owed in refunds_due until refunded).
    // A recharge whose own payment never came in has nothing to give back.
    if (prev.topUpId === undefined) {
      changes.book(postings.rechargeReleased(prev));
      await r.wallets.credit(prev.tenantId, prev.userId, prev.currency, prev.amount, now);
    } else if (!(await awaitsPayment(r, prev))) {
      changes.book(postings.rechargeRefundDue(prev));
      await requestPaymentRefund(r, deps, changes, prev.tenantId, prev.topUpId);
    }
  }
  if (TERMINAL_RECHARGE_STATUSES.has(state.status) && !TERMINAL_RECHARGE_STATUSES.has(prev.state.status)) {
    // A recharge someone was told about (its job gave up, a rule could not settle it) has its answer now.
    await resolveFlag(
      r,
      changes,
      flagIds.rechargeUnresolved(prev.id),
      { tenantId: prev.tenantId, type: 'recharge', id: prev.id },
      { code: 'RECHARGE_UNRESOLVED', status: state.status },
    );
  }
  return next;
}

/**
 * applied — the open attempt moved (succeeded, failed, accepted); corrected — a FAILED recharge
 * the channel says succeeded was corrected; no_change — we knew already (never a move backwards);
 * unresolved — the channel does not know yet; flagged — a contradiction handed to a person;
 * unknown — not an attempt of this recharge.
 */
export type SettleEffect = 'applied' | 'corrected' | 'no_change' | 'unresolved' | 'flagged' | 'unknown';

/**
 * Apply a channel's verdict about one attempt to the recharge as stored now (`rec`, read in this
 * same transaction), through the domain's decision and `commitRecharge`. A failure that leaves the
 * recharge awaiting failover re-queues its job unless one is still live, so dispatch continues.
 */
export async function settleVerdict(
  r: Repositories,
  deps: RechargeDeps,
  changes: ChangeSet,
  rec: RechargeRecord,
  verdict: ChannelVerdict,
): Promise<{ effect: SettleEffect; recharge: RechargeRecord }> {
  const d = decideVerdict(rec.state, verdict);
  switch (d.kind) {
    case 'move':
    case 'correct': {
      const moved = transitionRecharge(rec.state, d.event);
      if (!moved.ok) throw new UseCaseError(moved.error.code, moved.error.message, moved.error.details);
      const next = await commitRecharge(r, deps, changes, rec, moved.value);
      if (!TERMINAL_RECHARGE_STATUSES.has(next.state.status) && currentAttempt(next.state) === undefined) {
        await requeueRecharge(r, deps, next, changes.meta.now);
      }
      return { effect: d.kind === 'correct' ? 'corrected' : 'applied', recharge: next };
    }
    case 'flag':
      await raiseFlagOnce(
        r,
        changes,
        flagIds.once(`${d.code}_${verdict.key}`),
        { tenantId: rec.tenantId, type: 'recharge', id: rec.id },
        d.code,
        { order_id: verdict.key, recorded: rec.state.status, channel_says: verdict.status, why: d.why },
      );
      return { effect: 'flagged', recharge: rec };
    case 'no_change':
      return { effect: 'no_change', recharge: rec };
    case 'unresolved':
      return { effect: 'unresolved', recharge: rec };
    case 'unknown_attempt':
      return { effect: 'unknown', recharge: rec };
    default: {
      const never: never = d;
      throw new Error(`unknown decision ${JSON.stringify(never)}`);
    }
  }
}

/**
 * A recharge paid by a payment of its own that has not been captured (yet, or ever): it must not
 * reach a channel — nothing in recharge clearing pays for it. Its payment's job starts it once
 * the money is in.
 */
export async function awaitsPayment(r: Pick<ReadRepositories, 'topUps'>, rec: RechargeRecord): Promise<boolean> {
  if (rec.topUpId === undefined || rec.state.attempts.length > 0) return false;
  return (await r.topUps.get(rec.tenantId, rec.topUpId))?.status !== 'SUCCEEDED';
}

/** Queue the recharge's job again unless one is still live, or it awaits its payment. */
export async function requeueRecharge(
  r: Repositories,
  deps: RechargeDeps,
  rec: RechargeRecord,
  now: number,
): Promise<boolean> {
  if (await r.jobs.hasLive(JOB.executeRecharge, rec.id)) return false;
  if (await awaitsPayment(r, rec)) return false;
  await enqueueJob(
    r,
    deps,
    { tenantId: rec.tenantId, kind: JOB.executeRecharge, resourceId: rec.id, priority: PRIORITY.pay },
    now,
  );
  return true;
}

/**
 * A recharge nobody could settle (its job gave up, or a rule asked and the channel still does not
 * know): the money stays in recharge clearing and a person is told, once per recharge.
 */
export function flagUnresolved(
  r: Repositories,
  changes: ChangeSet,
  rec: RechargeRecord,
  detail: Readonly<Record<string, unknown>>,
): Promise<boolean> {
  const attempt = rec.state.attempts.at(-1);
  return raiseFlagOnce(
    r,
    changes,
    flagIds.rechargeUnresolved(rec.id),
    { tenantId: rec.tenantId, type: 'recharge', id: rec.id },
    'RECHARGE_UNRESOLVED',
    {
      status: rec.state.status,
      amount: rec.amount,
      currency: rec.currency,
      // A recharge paid directly and never dispatched may have no money in at all (its payment not captured).
      money_in:
        rec.topUpId !== undefined && rec.state.attempts.length === 0
          ? 'none unless its payment was captured'
          : 'recharge_clearing',
      ...(attempt === undefined ? {} : { channel: attempt.channel, order_id: attempt.key }),
      ...detail,
    },
  );
}

/** A channel's answer to `query` about attempt `key`, as a verdict. */
export function verdictOf(key: string, res: RechargeChannelResult): ChannelVerdict {
  return {
    key,
    status: res.status,
    ...(res.channelOrderId === undefined ? {} : { channelOrderId: res.channelOrderId }),
    ...(res.failureCode === undefined ? {} : { failureCode: res.failureCode }),
    ...(res.final === undefined ? {} : { final: res.final }),
  };
}
