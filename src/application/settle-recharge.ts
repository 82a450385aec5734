import { account, transfer } from '../domain/ledger.js';
import {
  currentAttempt,
  deliveredAttempt,
  type RechargeState,
  TERMINAL_RECHARGE_STATUSES,
  transitionRecharge,
} from '../domain/recharge/recharge.js';
import { type ChannelVerdict, decideVerdict } from '../domain/recharge/verdict.js';
import type { RechargeChannelResult } from '../ports/recharge-channel.js';
import type { RechargeRecord } from '../ports/records.js';
import type { ReadRepositories, Repositories } from '../ports/repositories.js';
import { type Deps, UseCaseError } from './context.js';
import { raiseFlag } from './execute-refund.js';
import { JOB, PRIORITY } from './job-kinds.js';
import { requestPaymentRefund } from './refund-recharge-payment.js';
import { type ChangeMeta, ChangeSet } from './state-changes.js';

/**
 * The ONE commit of a recharge move, inside the caller's transaction, for the recharge job, the
 * channel callbacks and the repair rules alike: the version-checked state, its audit row, and
 * the money of a terminal state —
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
  deps: Deps,
  prev: RechargeRecord,
  state: RechargeState,
  meta: ChangeMeta,
): Promise<RechargeRecord> {
  const { now } = meta;
  const next: RechargeRecord = { ...prev, state, updatedBy: meta.actor, updatedAt: now, version: prev.version + 1 };
  if (!(await r.recharges.update(next, prev.version)))
    throw new UseCaseError('CONCURRENT_MODIFICATION', `recharge ${prev.id} was changed by someone else`);
  const cs = new ChangeSet(meta);
  const corrected = prev.state.status === 'FAILED' && state.status === 'SUCCEEDED';
  const attempt = state.status === 'SUCCEEDED' ? deliveredAttempt(state) : state.attempts.at(-1);
  cs.audit(
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
  const post = (suffix: string, kind: string, debit: string, credit: string): void =>
    cs.post(
      prev.tenantId,
      `jrn_${prev.id}_${suffix}`,
      kind,
      'recharge',
      prev.id,
      prev.currency,
      transfer(debit, credit, prev.amount),
    );
  const clearing = account.rechargeClearing(prev.tenantId);
  if (state.status === 'SUCCEEDED' && attempt !== undefined) {
    if (corrected) {
      // The release gave the money back to the wallet: take it again, or book what the user owes.
      // A recharge paid directly had its payment refunded instead: the user owes it.
      const covered =
        prev.topUpId === undefined &&
        (await r.wallets.reserve(prev.tenantId, prev.userId, prev.currency, prev.amount, now));
      post(
        'reclaim',
        covered ? 'recharge.corrected' : 'recharge.corrected_receivable',
        covered ? account.wallet(prev.userId) : account.receivable(prev.userId),
        clearing,
      );
      await raiseFlag(
        r,
        deps,
        cs,
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
          found_by: meta.actor,
        },
      );
    }
    post('consume', 'recharge.succeeded', clearing, account.carrier(attempt.channel));
  } else if (state.status === 'FAILED') {
    // The money goes back where it came from: the wallet, or — a payment of its own paid the
    // recharge — the payer, by a refund of that payment (owed in refunds_due until refunded).
    // A recharge whose own payment never came in has nothing to give back.
    if (prev.topUpId === undefined) {
      post('release', 'recharge.failed', clearing, account.wallet(prev.userId));
      await r.wallets.credit(prev.tenantId, prev.userId, prev.currency, prev.amount, now);
    } else if (!(await awaitsPayment(r, prev))) {
      post('refund_due', 'recharge.refund_due', clearing, account.refundsDue(prev.tenantId));
      await requestPaymentRefund(r, deps, cs, prev.tenantId, prev.topUpId);
    }
  }
  if (TERMINAL_RECHARGE_STATUSES.has(state.status) && !TERMINAL_RECHARGE_STATUSES.has(prev.state.status)) {
    // A recharge someone was told about (its job gave up, a rule could not settle it) has its answer now.
    const flagId = `flg_${unresolvedFlagKey(prev.id)}`;
    if (await r.flags.resolve(prev.tenantId, flagId, now))
      cs.audit('recharge', prev.tenantId, prev.id, 'flag.resolved', null, {
        flag_id: flagId,
        code: 'RECHARGE_UNRESOLVED',
        status: state.status,
      });
  }
  await cs.flush(r);
  return next;
}

/** The key of a recharge's one RECHARGE_UNRESOLVED flag (its id is `flg_<key>`). */
const unresolvedFlagKey = (rechargeId: string): string => `RECHARGE_UNRESOLVED_${rechargeId}`;

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
  deps: Deps,
  rec: RechargeRecord,
  verdict: ChannelVerdict,
  meta: ChangeMeta,
): Promise<{ effect: SettleEffect; recharge: RechargeRecord }> {
  const d = decideVerdict(rec.state, verdict);
  switch (d.kind) {
    case 'move':
    case 'correct': {
      const moved = transitionRecharge(rec.state, d.event);
      if (!moved.ok) throw new UseCaseError(moved.error.code, moved.error.message, moved.error.details);
      const next = await commitRecharge(r, deps, rec, moved.value, meta);
      if (!TERMINAL_RECHARGE_STATUSES.has(next.state.status) && currentAttempt(next.state) === undefined)
        await requeueRecharge(r, deps, next, meta.now);
      return { effect: d.kind === 'correct' ? 'corrected' : 'applied', recharge: next };
    }
    case 'flag': {
      const cs = new ChangeSet(meta);
      await raiseFlagOnce(r, cs, rec, `${d.code}_${verdict.key}`, d.code, {
        order_id: verdict.key,
        recorded: rec.state.status,
        channel_says: verdict.status,
        why: d.why,
      });
      await cs.flush(r);
      return { effect: 'flagged', recharge: rec };
    }
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

/** Queue the recharge's job again unless one is still queued or running (it continues from the stored state), or it awaits its payment. */
export async function requeueRecharge(r: Repositories, deps: Deps, rec: RechargeRecord, now: number): Promise<boolean> {
  if (await r.jobs.hasLive(JOB.executeRecharge, rec.id)) return false;
  if (await awaitsPayment(r, rec)) return false;
  await r.jobs.enqueue({
    id: deps.ids.next('job'),
    now,
    tenantId: rec.tenantId,
    kind: JOB.executeRecharge,
    resourceId: rec.id,
    priority: PRIORITY.pay,
    runAt: now,
    maxAttempts: deps.settings.maxAttempts,
  });
  return true;
}

/**
 * A recharge nobody could settle (its job gave up, or a rule asked and the channel still does not
 * know): the money stays in recharge clearing and a person is told, once per recharge.
 */
export function flagUnresolved(
  r: Repositories,
  cs: ChangeSet,
  rec: RechargeRecord,
  detail: Readonly<Record<string, unknown>>,
): Promise<boolean> {
  const attempt = rec.state.attempts.at(-1);
  return raiseFlagOnce(r, cs, rec, unresolvedFlagKey(rec.id), 'RECHARGE_UNRESOLVED', {
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
  });
}

/** A review flag under a deterministic id (audited when raised): raising it again does nothing. */
async function raiseFlagOnce(
  r: Repositories,
  cs: ChangeSet,
  rec: RechargeRecord,
  key: string,
  code: string,
  detail: Readonly<Record<string, unknown>>,
): Promise<boolean> {
  const id = `flg_${key}`;
  const raised = await r.flags.raiseOnce({
    id,
    tenantId: rec.tenantId,
    resourceType: 'recharge',
    resourceId: rec.id,
    code,
    detail,
    createdAt: cs.meta.now,
    resolvedAt: null,
  });
  if (raised)
    cs.audit('recharge', rec.tenantId, rec.id, `flag.${code.toLowerCase()}`, null, { flag_id: id, code, ...detail });
  return raised;
}

/**
 * Run `work` (one transaction that re-reads the recharge) again when a concurrent writer — the
 * job, a callback, a rule — committed first: the re-read sees its state and decides afresh.
 */
export async function withVersionRetry<T>(work: () => Promise<T>, tries = 5): Promise<T> {
  for (let i = 1; ; i += 1) {
    try {
      return await work();
    } catch (e) {
      if (!(e instanceof UseCaseError) || e.code !== 'CONCURRENT_MODIFICATION' || i >= tries) throw e;
    }
  }
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
