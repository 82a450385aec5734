import type { JobRecord } from '../../ports/records.js';
import type { PaymentGateway } from '../../ports/payment-gateway.js';
import {
  amountMismatch,
  type CallAnswer,
  chargeOnce,
  closeUnpaid,
  type DefiniteCharge,
  retryReason,
  runGatewayStep,
} from '../jobs/gateway-step.js';
import { JOB, PRIORITY } from '../jobs/job-kinds.js';
import type { JobOutcome, KnownState } from '../jobs/job-runner.js';
import { advanceJob, completeJob } from '../jobs/job-steps.js';
import { SYSTEM } from '../kernel/caller.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import { keepPayerAction } from './payer-action.js';
import { markPaid, markPaymentFailed } from './payment-outcome.js';
import { closedByDecision, endClosedTrade } from './waiting-trade.js';

/**
 * Job `order.pay`: charge the order's payment through its gateway, exactly once. The
 * out_trade_no was persisted before this job first ran; the gateway step creates on the first
 * attempt and queries first on any later one. No re-read before the commit: the version checks
 * refuse the write if a callback or a cancel moved anything meanwhile, and the job then retries
 * from fresh state.
 */
export function payOrder(deps: Deps, job: JobRecord, known?: KnownState): Promise<JobOutcome> {
  return runGatewayStep(job, deps, {
    load: async () => known ?? (await deps.uow.read.orders.getWithPayment(job.tenantId, job.resourceId)),
    // Nothing left to charge: cancelled, or already settled by a callback or another run.
    due: ({ order, payment }) =>
      order.status === 'PAYMENT_PROCESSING' && payment.status === 'PENDING' && payment.outTradeNo !== null,
    gateway: ({ payment }) => payment.gateway,
    call: (gateway, { order, payment }, first) =>
      payment.closing !== undefined
        ? carryCloseThrough(gateway, payment.outTradeNo ?? '')
        : chargeOnce(gateway, first, {
            outTradeNo: payment.outTradeNo ?? '',
            amount: { amount: payment.amount, currency: payment.currency },
            subject: order.description,
            method: payment.method,
            payer: order.userId,
          }),
    waiting: ({ order, payment }, pending) => keepPayerAction(deps, order, payment, pending),
    commit: async ({ order, payment }, result) => {
      const now = deps.clock.now();
      const meta = { actor: SYSTEM.worker, now, requestId: null };
      if (result.status === 'succeeded') {
        const mismatch = amountMismatch(result, payment);
        if (mismatch !== undefined) return { kind: 'give_up', error: mismatch };
        const { state, next } = await tx(deps.uow, meta, async (r, changes) => {
          const moved = await markPaid(r, changes, order, payment, result.gatewayTradeNo ?? null, result.paidAt);
          return {
            state: moved,
            next: await advanceJob(r, job, deps, { kind: JOB.fulfilOrder, priority: PRIORITY.fulfil }, now),
          };
        });
        deps.logger.info(
          {
            order_id: order.id,
            payment_id: payment.id,
            out_trade_no: payment.outTradeNo,
            amount: payment.amount,
            currency: payment.currency,
          },
          'Payment submitted successfully',
        );
        return { kind: 'done', followUps: [{ job: next, known: state }], state };
      }
      if (closedByDecision(payment)) {
        // The person's cancel or switch closed it: end it as their request would (it finds it done).
        const ended = await tx(deps.uow, meta, async (r, changes) => {
          const end = await endClosedTrade(r, changes, order, payment);
          // A switch: this job pays the new trade next (a fresh first attempt, which creates it).
          if (end.reopened) {
            return { end, next: await advanceJob(r, job, deps, { kind: JOB.payOrder, priority: PRIORITY.pay }, now) };
          }
          await completeJob(r, job, deps, now);
          return { end, next: undefined };
        });
        deps.logger.info(
          { order_id: order.id, payment_id: payment.id, close_reason: payment.closing.reason },
          'waiting trade closed as the person asked',
        );
        const state = { order: ended.end.order, payment: ended.end.payment };
        return ended.next === undefined
          ? { kind: 'done', state }
          : { kind: 'done', followUps: [{ job: ended.next, known: state }], state };
      }
      const code = result.failureCode ?? (result.status === 'closed' ? 'TRADE_CLOSED' : 'DECLINED');
      const state = await tx(deps.uow, meta, async (r, changes) => {
        const moved = await markPaymentFailed(r, changes, order, payment, code);
        await completeJob(r, job, deps, now);
        return moved;
      });
      deps.logger.warn({ order_id: order.id, payment_id: payment.id, failure_code: code }, 'payment failed');
      return { kind: 'done', state };
    },
  });
}

/**
 * A payment whose waiting trade the person decided to close (a cancel or a switch recorded on it,
 * whose request may have died before the close or before its commit): the pay job no longer
 * charges it but carries the close through — asked, closed if still unpaid — and commits the
 * answer: closed, the order ends as the person asked; paid first, the payer wins. The job asks
 * again (with backoff) until the gateway answers, so nothing waits on a request that is gone.
 */
async function carryCloseThrough(gateway: PaymentGateway, outTradeNo: string): Promise<CallAnswer<DefiniteCharge>> {
  try {
    const seen = await closeUnpaid(gateway, outTradeNo);
    if (seen.status === 'pending' || seen.status === 'not_found') {
      return { ok: false, retry: 'the gateway has not closed the trade yet' };
    }
    return { ok: true, result: { ...seen, status: seen.status } };
  } catch (e) {
    return { ok: false, retry: retryReason(e) };
  }
}
