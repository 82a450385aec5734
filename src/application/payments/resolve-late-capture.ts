import { keys } from '../../domain/keys.js';
import { postings } from '../../domain/ledger/postings.js';
import type { GatewayPaymentResult, GatewayRefundResult } from '../../ports/payment-gateway.js';
import type { JobRecord } from '../../ports/records.js';
import { retryReason, runGatewayStep } from '../jobs/gateway-step.js';
import type { JobOutcome } from '../jobs/job-runner.js';
import { completeJob } from '../jobs/job-steps.js';
import { SYSTEM } from '../kernel/caller.js';
import type { Deps } from '../kernel/deps.js';
import { raiseFlag } from '../kernel/review-flags.js';
import { tx } from '../kernel/tx.js';

interface Found {
  readonly seen: GatewayPaymentResult;
  readonly refund?: GatewayRefundResult;
}

/**
 * Job `payment.late_capture`: a gateway said it took money for a payment we had already
 * recorded as failed or cancelled. Never resurrect the order: ask the gateway; if the money
 * really was taken, give it back under a refund key of its own, and book both movements through
 * the suspense account so the ledger shows the money came and went. Pending trades are closed.
 */
export function resolveLateCapture(deps: Deps, job: JobRecord): Promise<JobOutcome> {
  return runGatewayStep(job, deps, {
    load: async () => {
      const payment = await deps.uow.read.payments.get(job.tenantId, job.resourceId);
      return payment?.outTradeNo === null ? undefined : payment;
    },
    due: (payment) => payment.status === 'FAILED' || payment.status === 'CANCELLED',
    gateway: (payment) => payment.gateway,
    call: async (gateway, payment) => {
      const outTradeNo = payment.outTradeNo ?? '';
      const outRefundNo = keys.lateCaptureRefund(outTradeNo);
      try {
        let seen = await gateway.query(outTradeNo);
        if (seen.status === 'pending') seen = await gateway.close(outTradeNo);
        let refund: GatewayRefundResult | undefined;
        if (seen.status === 'succeeded') {
          // Asked first: an earlier attempt may have sent this refund unheard.
          refund = await gateway.queryRefund(outTradeNo, outRefundNo);
          if (refund.status === 'not_found') {
            const money = { amount: payment.amount, currency: payment.currency };
            refund = await gateway.refund({
              outTradeNo,
              outRefundNo,
              amount: money,
              total: money,
              reason: 'payment arrived after the order had failed',
            });
          }
        }
        if (seen.status === 'pending' || refund?.status === 'pending' || refund?.status === 'not_found') {
          return { ok: false, retry: 'late capture still settling at the gateway' };
        }
        return { ok: true, result: { seen, ...(refund === undefined ? {} : { refund }) } satisfies Found };
      } catch (e) {
        return { ok: false, retry: retryReason(e) };
      }
    },
    commit: async (payment, { seen, refund }) => {
      const now = deps.clock.now();
      const subject = { tenantId: payment.tenantId, type: 'payment', id: payment.id };
      await tx(deps.uow, { actor: SYSTEM.worker, now, requestId: null }, async (r, changes) => {
        const booked = new Set((await r.ledger.journalsFor(payment.tenantId, payment.id)).map((j) => j.id));
        const book = (spec: ReturnType<typeof postings.lateCapture>): void => {
          if (!booked.has(spec.id)) changes.book(spec);
        };
        if (seen.status !== 'succeeded') {
          await raiseFlag(r, changes, deps.ids, subject, 'LATE_CAPTURE_NOT_CONFIRMED', { gateway_says: seen.status });
        } else {
          book(postings.lateCapture(payment));
          if (refund?.status === 'succeeded') {
            book(postings.lateCaptureRefunded(payment));
            await raiseFlag(r, changes, deps.ids, subject, 'LATE_CAPTURE_REFUNDED', {
              amount: payment.amount,
              out_refund_no: keys.lateCaptureRefund(payment.outTradeNo ?? ''),
            });
          } else {
            await raiseFlag(r, changes, deps.ids, subject, 'LATE_CAPTURE_REFUND_FAILED', {
              amount: payment.amount,
              failure_code: refund?.failureCode ?? null,
            });
          }
        }
        await completeJob(r, job, deps, now);
      });
      deps.logger.warn(
        { payment_id: payment.id, gateway_says: seen.status, refunded: refund?.status === 'succeeded' },
        'late capture resolved',
      );
      return { kind: 'done' };
    },
  });
}
