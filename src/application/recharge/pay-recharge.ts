import { postings } from '../../domain/ledger/postings.js';
import { transitionRecharge } from '../../domain/recharge/recharge.js';
import type { JobRecord, TopUpRecord } from '../../ports/records.js';
import type { Repositories } from '../../ports/repositories.js';
import {
  amountMismatch,
  chargeOnce,
  type DefiniteCharge,
  failureCodeOf,
  runGatewayStep,
} from '../jobs/gateway-step.js';
import { JOB, PRIORITY } from '../jobs/job-kinds.js';
import type { JobOutcome } from '../jobs/job-runner.js';
import { completeJob, enqueueLeased } from '../jobs/job-steps.js';
import { SYSTEM } from '../kernel/caller.js';
import type { ChangeSet } from '../kernel/change-set.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import { keepTopUpPayerAction, moveTopUp, saveTopUp } from '../wallet/wallet-api.js';
import { commitRecharge } from './commit-recharge.js';

/**
 * Job `recharge.pay`: charge a directly paid recharge's own payment through its gateway, exactly
 * once (the gateway step). The money goes straight into recharge clearing and the recharge starts
 * in the same transaction; a declined payment ends the recharge before any channel is asked.
 */
export function payRecharge(deps: Deps, job: JobRecord): Promise<JobOutcome> {
  return runGatewayStep(job, deps, {
    load: async () => {
      const topUp = await deps.uow.read.topUps.get(job.tenantId, job.resourceId);
      return topUp?.rechargeId === undefined ? undefined : { topUp, rechargeId: topUp.rechargeId };
    },
    due: ({ topUp }) => topUp.status === 'PENDING',
    gateway: ({ topUp }) => topUp.gateway,
    call: (gateway, { topUp }, first) =>
      chargeOnce(gateway, first, {
        outTradeNo: topUp.outTradeNo,
        amount: { amount: topUp.amount, currency: topUp.currency },
        subject: 'phone recharge',
        method: topUp.method,
        payer: topUp.userId,
      }),
    commit: ({ topUp, rechargeId }, result) => commitRechargeCharge(deps, job, topUp, rechargeId, result),
    waiting: ({ topUp }, pending) => keepTopUpPayerAction(deps, topUp, pending),
  });
}

/**
 * Record a directly paid recharge's charge answer (the pay job's, or the unpaid expiry's after it
 * closed the trade) in one transaction that also finishes `job`: paid, the money goes into
 * recharge clearing and the recharge starts; declined or closed, the recharge ends before any
 * channel is asked, and nothing moves.
 */
export async function commitRechargeCharge(
  deps: Deps,
  job: JobRecord,
  topUp: TopUpRecord,
  rechargeId: string,
  result: DefiniteCharge,
  /** Who the change is recorded as: the pay job's worker, or the rule that closed the trade. */
  actor: string = SYSTEM.worker,
): Promise<JobOutcome> {
  const now = deps.clock.now();
  const meta = { actor, now, requestId: null };
  if (result.status === 'succeeded') {
    const mismatch = amountMismatch(result, topUp);
    if (mismatch !== undefined) return { kind: 'give_up', error: mismatch };
    const next = await tx(deps.uow, meta, async (r, changes) => {
      await saveTopUp(
        r,
        topUp,
        moveTopUp(
          changes,
          topUp,
          { type: 'succeed' },
          { gatewayTradeNo: result.gatewayTradeNo ?? null },
          result.paidAt,
        ),
      );
      changes.book(postings.rechargePaid(topUp, rechargeId));
      await completeJob(r, job, deps, now);
      return enqueueLeased(
        r,
        deps,
        { tenantId: topUp.tenantId, kind: JOB.executeRecharge, resourceId: rechargeId, priority: PRIORITY.pay },
        now,
      );
    });
    deps.logger.info({ top_up_id: topUp.id, recharge_id: rechargeId, amount: topUp.amount }, 'recharge paid');
    return { kind: 'done', followUps: [{ job: next }] };
  }
  const code = failureCodeOf(result, topUp.closeReason);
  await tx(deps.uow, meta, async (r, changes) => {
    await saveTopUp(r, topUp, moveTopUp(changes, topUp, { type: 'fail', reason: code }, { failureCode: code }));
    await abandonUnpaidRecharge(r, deps, changes, topUp, rechargeId);
    await completeJob(r, job, deps, now);
  });
  deps.logger.warn({ top_up_id: topUp.id, failure_code: code, recharge_id: rechargeId }, 'recharge payment failed');
  return { kind: 'done' };
}

/** The payment for a directly paid recharge failed: the recharge ends before any channel is asked. */
async function abandonUnpaidRecharge(
  r: Repositories,
  deps: Deps,
  changes: ChangeSet,
  topUp: TopUpRecord,
  rechargeId: string,
): Promise<void> {
  const rec = await r.recharges.get(topUp.tenantId, rechargeId);
  if (rec === undefined) return;
  const moved = transitionRecharge(rec.state, { type: 'abandon', reason: 'PAYMENT_DECLINED' });
  if (!moved.ok) return; // already past CREATED: nothing to abandon
  await commitRecharge(r, deps, changes, rec, moved.value);
}
