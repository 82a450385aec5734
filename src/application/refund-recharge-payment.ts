import { account, transfer } from '../domain/ledger.js';
import type { JobRecord, TopUpRecord } from '../ports/records.js';
import type { Repositories } from '../ports/repositories.js';
import { refundOnce } from './charge-once.js';
import { type Deps, UseCaseError } from './context.js';
import { raiseFlag } from './execute-refund.js';
import { JOB, PRIORITY } from './job-kinds.js';
import { completeJob, type JobOutcome } from './run-jobs.js';
import { ChangeSet } from './state-changes.js';

const ACTOR = 'system:worker';

/** The refund key of a directly paid recharge's payment: one per payment, so a retry never refunds twice. */
export const refundKeyOf = (topUp: Pick<TopUpRecord, 'id'>): string => `${topUp.id}_R1`;

async function saveRefundStatus(
  r: Repositories,
  cs: ChangeSet,
  prev: TopUpRecord,
  refundStatus: NonNullable<TopUpRecord['refundStatus']>,
): Promise<void> {
  const next: TopUpRecord = {
    ...prev,
    refundStatus,
    updatedBy: cs.meta.actor,
    updatedAt: cs.meta.now,
    version: prev.version + 1,
  };
  if (!(await r.topUps.update(next, prev.version)))
    throw new UseCaseError('CONCURRENT_MODIFICATION', `top-up ${prev.id} was changed by someone else`);
  cs.audit(
    'top_up',
    prev.tenantId,
    prev.id,
    `top_up.refund_${refundStatus.toLowerCase()}`,
    { refund_status: prev.refundStatus ?? null, version: prev.version },
    { refund_status: refundStatus, version: next.version, out_refund_no: refundKeyOf(prev) },
  );
}

/** Inside the caller's transaction: mark the payment to be refunded and queue the job that does it. */
export async function requestPaymentRefund(
  r: Repositories,
  deps: Deps,
  cs: ChangeSet,
  tenantId: string,
  topUpId: string,
): Promise<void> {
  const topUp = await r.topUps.get(tenantId, topUpId);
  if (topUp === undefined)
    throw new UseCaseError('TOP_UP_NOT_FOUND', `the payment ${topUpId} of a failed recharge is missing`);
  if (topUp.refundStatus !== undefined) return;
  await saveRefundStatus(r, cs, topUp, 'PENDING');
  await r.jobs.enqueue({
    id: deps.ids.next('job'),
    now: cs.meta.now,
    tenantId,
    kind: JOB.refundRechargePayment,
    resourceId: topUpId,
    priority: PRIORITY.refund,
    runAt: cs.meta.now,
    maxAttempts: deps.settings.maxAttempts,
  });
}

/**
 * Job `recharge.refund_payment`: give a failed recharge's own payment back through its gateway,
 * exactly once — the first attempt sends the refund, a later one (retry, resume) asks about its
 * key first and sends again, with the same key, only if the gateway never heard of it. A refusal
 * leaves the money owed in `refunds_due` and flags it for a person.
 */
export async function refundRechargePayment(job: JobRecord, deps: Deps): Promise<JobOutcome> {
  const topUp = await deps.uow.read.topUps.get(job.tenantId, job.resourceId);
  if (topUp === undefined) return { kind: 'give_up', error: 'top-up not found' };
  if (topUp.refundStatus !== 'PENDING') {
    await deps.uow.run((r) => completeJob(r, job, deps, deps.clock.now()));
    return { kind: 'done' };
  }
  const gateway = deps.gateways.get(topUp.gateway);
  if (gateway === undefined) return { kind: 'give_up', error: `gateway ${topUp.gateway} is not configured` };
  const outRefundNo = refundKeyOf(topUp);
  const money = { amount: topUp.amount, currency: topUp.currency };
  const refunded = await refundOnce(gateway, job.attempts <= 1, {
    outTradeNo: topUp.outTradeNo,
    outRefundNo,
    amount: money,
    total: money,
    reason: 'phone recharge failed',
  });
  if (!refunded.ok) return { kind: 'retry', error: refunded.retry };
  const { result } = refunded;
  if (result.status === 'pending') return { kind: 'retry', error: 'refund pending at the gateway' };
  if (result.status === 'not_found') return { kind: 'retry', error: 'gateway does not know the refund yet' };
  const now = deps.clock.now();
  const cs = new ChangeSet({ actor: ACTOR, now, requestId: null });
  await deps.uow.run(async (r) => {
    const fresh = await r.topUps.get(topUp.tenantId, topUp.id);
    if (fresh?.refundStatus === 'PENDING') {
      if (result.status === 'succeeded') {
        await saveRefundStatus(r, cs, fresh, 'SUCCEEDED');
        cs.post(
          fresh.tenantId,
          `jrn_${fresh.id}_refund`,
          'recharge.refunded',
          'top_up',
          fresh.id,
          fresh.currency,
          transfer(account.refundsDue(fresh.tenantId), account.gateway(fresh.gateway), fresh.amount),
        );
      } else {
        await saveRefundStatus(r, cs, fresh, 'FAILED');
        await raiseFlag(r, deps, cs, { tenantId: fresh.tenantId, type: 'top_up', id: fresh.id }, 'REFUND_FAILED', {
          recharge_id: fresh.rechargeId ?? null,
          amount: fresh.amount,
          failure_code: result.failureCode ?? 'REFUND_FAILED',
        });
      }
      await cs.flush(r);
    }
    await completeJob(r, job, deps, now);
  });
  if (result.status === 'succeeded')
    deps.logger.info(
      { top_up_id: topUp.id, recharge_id: topUp.rechargeId, amount: topUp.amount },
      'payment of a failed recharge refunded',
    );
  else
    deps.logger.warn(
      { top_up_id: topUp.id, recharge_id: topUp.rechargeId, failure_code: result.failureCode },
      'refund of a failed recharge refused; flagged for review',
    );
  return { kind: 'done' };
}
