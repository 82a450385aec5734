import { keys } from '../../domain/keys.js';
import { postings } from '../../domain/ledger/postings.js';
import { settledAt } from '../../domain/settled-at.js';
import type { JobRecord, TopUpRecord } from '../../ports/records.js';
import type { Repositories } from '../../ports/repositories.js';
import { refundOnce, runGatewayStep } from '../jobs/gateway-step.js';
import { JOB, PRIORITY } from '../jobs/job-kinds.js';
import type { JobOutcome } from '../jobs/job-runner.js';
import { completeJob, enqueueJob } from '../jobs/job-steps.js';
import { SYSTEM } from '../kernel/caller.js';
import { type ChangeSet, conflict } from '../kernel/change-set.js';
import type { Deps } from '../kernel/deps.js';
import { raiseFlag } from '../kernel/review-flags.js';
import { tx } from '../kernel/tx.js';
import { UseCaseError } from '../kernel/use-case-error.js';

async function saveRefundStatus(
  r: Repositories,
  changes: ChangeSet,
  prev: TopUpRecord,
  refundStatus: NonNullable<TopUpRecord['refundStatus']>,
  reportedAt?: number,
): Promise<void> {
  const next: TopUpRecord = {
    ...prev,
    refundStatus,
    ...(refundStatus === 'SUCCEEDED' ? { refundSettledAt: settledAt(reportedAt, prev, changes.meta.now) } : {}),
    updatedBy: changes.meta.actor,
    updatedAt: changes.meta.now,
    version: prev.version + 1,
  };
  if (!(await r.topUps.update(next, prev.version))) throw conflict('top-up', prev.id);
  changes.audit(
    'top_up',
    prev.tenantId,
    prev.id,
    `top_up.refund_${refundStatus.toLowerCase()}`,
    { refund_status: prev.refundStatus ?? null, version: prev.version },
    { refund_status: refundStatus, version: next.version, out_refund_no: keys.topUpRefund(prev.id) },
  );
}

/** Inside the caller's transaction: mark the payment to be refunded and queue the job that does it. */
export async function requestPaymentRefund(
  r: Repositories,
  deps: Pick<Deps, 'ids' | 'workerId' | 'settings'>,
  changes: ChangeSet,
  tenantId: string,
  topUpId: string,
): Promise<void> {
  const topUp = await r.topUps.get(tenantId, topUpId);
  if (topUp === undefined) {
    throw new UseCaseError('TOP_UP_NOT_FOUND', `the payment ${topUpId} of a failed recharge is missing`);
  }
  if (topUp.refundStatus !== undefined) return;
  await saveRefundStatus(r, changes, topUp, 'PENDING');
  await enqueueJob(
    r,
    deps,
    { tenantId, kind: JOB.refundRechargePayment, resourceId: topUpId, priority: PRIORITY.refund },
    changes.meta.now,
  );
}

/**
 * Job `recharge.refund_payment`: give a failed recharge's own payment back through its gateway,
 * exactly once (the gateway step: send first, ask before sending again, one key per payment). A
 * refusal leaves the money owed in `refunds_due` and flags it for a person.
 */
export function refundRechargePayment(deps: Deps, job: JobRecord): Promise<JobOutcome> {
  return runGatewayStep(job, deps, {
    load: () => deps.uow.read.topUps.get(job.tenantId, job.resourceId),
    due: (topUp) => topUp.refundStatus === 'PENDING',
    gateway: (topUp) => topUp.gateway,
    call: (gateway, topUp, first) => {
      const money = { amount: topUp.amount, currency: topUp.currency };
      return refundOnce(gateway, first, {
        outTradeNo: topUp.outTradeNo,
        outRefundNo: keys.topUpRefund(topUp.id),
        amount: money,
        total: money,
        reason: 'phone recharge failed',
      });
    },
    commit: async (topUp, result) => {
      const now = deps.clock.now();
      await tx(deps.uow, { actor: SYSTEM.worker, now, requestId: null }, async (r, changes) => {
        const fresh = await r.topUps.get(topUp.tenantId, topUp.id);
        if (fresh?.refundStatus === 'PENDING') {
          if (result.status === 'succeeded') {
            await saveRefundStatus(r, changes, fresh, 'SUCCEEDED', result.refundedAt);
            changes.book(postings.rechargePaymentRefunded(fresh));
          } else {
            await saveRefundStatus(r, changes, fresh, 'FAILED');
            await raiseFlag(
              r,
              changes,
              deps.ids,
              { tenantId: fresh.tenantId, type: 'top_up', id: fresh.id },
              'REFUND_FAILED',
              {
                recharge_id: fresh.rechargeId ?? null,
                amount: fresh.amount,
                failure_code: result.failureCode ?? 'REFUND_FAILED',
              },
            );
          }
        }
        await completeJob(r, job, deps, now);
      });
      if (result.status === 'succeeded') {
        deps.logger.info(
          { top_up_id: topUp.id, recharge_id: topUp.rechargeId, amount: topUp.amount },
          'payment of a failed recharge refunded',
        );
      } else {
        deps.logger.warn(
          { top_up_id: topUp.id, recharge_id: topUp.rechargeId, failure_code: result.failureCode },
          'refund of a failed recharge refused; flagged for review',
        );
      }
      return { kind: 'done' };
    },
  });
}
