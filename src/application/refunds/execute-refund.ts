import type { JobRecord } from '../../ports/records.js';
import { refundOnce, runGatewayStep } from '../jobs/gateway-step.js';
import type { JobOutcome } from '../jobs/job-runner.js';
import { completeJob } from '../jobs/job-steps.js';
import { SYSTEM } from '../kernel/caller.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import { loadRefund, settleRefund } from './settle-refund.js';

/**
 * Job `refund.execute`: send one PENDING refund to its payment's gateway, exactly once. The
 * first attempt sends; any later attempt (a retry, a resume after a crash) asks the gateway
 * about the refund's key first and only sends again, with the same key, if it never heard of it.
 */
export function executeRefund(deps: Deps, job: JobRecord): Promise<JobOutcome> {
  return runGatewayStep(job, deps, {
    load: () => loadRefund(deps.uow.read, { tenantId: job.tenantId, id: job.resourceId }),
    due: ({ refund, payment }) => refund.status === 'PENDING' && payment.outTradeNo !== null,
    gateway: ({ payment }) => payment.gateway,
    call: (gateway, { refund, payment }, first) =>
      refundOnce(gateway, first, {
        outTradeNo: payment.outTradeNo ?? '',
        outRefundNo: refund.outRefundNo,
        amount: { amount: refund.amount, currency: refund.currency },
        total: { amount: payment.amount, currency: payment.currency },
        reason: refund.reason,
      }),
    commit: async ({ refund }, result) => {
      const now = deps.clock.now();
      const outcome = {
        status: result.status,
        ...(result.failureCode === undefined ? {} : { failureCode: result.failureCode }),
        ...(result.gatewayRefundNo === undefined ? {} : { gatewayRefundNo: result.gatewayRefundNo }),
        ...(result.refundedAt === undefined ? {} : { refundedAt: result.refundedAt }),
      };
      await tx(deps.uow, { actor: SYSTEM.worker, now, requestId: null }, async (r, changes) => {
        const fresh = await loadRefund(r, refund);
        if (fresh !== undefined) await settleRefund(r, deps, changes, fresh, outcome);
        await completeJob(r, job, deps, now);
      });
      if (outcome.status === 'succeeded') {
        deps.logger.info({ order_id: refund.orderId, refund_id: refund.id, amount: refund.amount }, 'refund succeeded');
      } else {
        deps.logger.warn(
          { order_id: refund.orderId, refund_id: refund.id, failure_code: outcome.failureCode },
          'refund refused by the gateway; flagged for review',
        );
      }
      return { kind: 'done' };
    },
  });
}
