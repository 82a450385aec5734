import { account, transfer } from '../domain/ledger.js';
import {
  type GatewayPaymentResult,
  type GatewayRefundResult,
  GatewayUnknownOutcomeError,
} from '../ports/payment-gateway.js';
import type { JobRecord } from '../ports/records.js';
import type { Deps } from './context.js';
import { raiseFlag } from './execute-refund.js';
import { completeJob, type JobOutcome } from './run-jobs.js';
import { ChangeSet } from './state-changes.js';

const ACTOR = 'system:worker';

/**
 * Job `payment.late_capture`: a gateway said it took money for a payment we had already
 * recorded as failed or cancelled. Never resurrect the order: ask the gateway; if the money
 * really was taken, give it back under a refund key of its own, and book both movements through
 * the suspense account so the ledger shows the money came and went. Pending trades are closed.
 */
export async function resolveLateCapture(job: JobRecord, deps: Deps): Promise<JobOutcome> {
  const { uow, clock } = deps;
  const payment = await uow.read.payments.get(job.tenantId, job.resourceId);
  if (payment === undefined || payment.outTradeNo === null) return { kind: 'give_up', error: 'payment not found' };
  if (payment.status !== 'FAILED' && payment.status !== 'CANCELLED') {
    await uow.run((r) => completeJob(r, job, deps, clock.now()));
    return { kind: 'done' };
  }
  const gateway = deps.gateways.get(payment.gateway);
  if (gateway === undefined) return { kind: 'give_up', error: `gateway ${payment.gateway} is not configured` };
  const outRefundNo = `${payment.outTradeNo}_late`;
  let seen: GatewayPaymentResult;
  let refund: GatewayRefundResult | undefined;
  try {
    seen = await gateway.query(payment.outTradeNo);
    if (seen.status === 'pending') seen = await gateway.close(payment.outTradeNo);
    if (seen.status === 'succeeded') {
      refund = await gateway.queryRefund(payment.outTradeNo, outRefundNo);
      if (refund.status === 'not_found') {
        refund = await gateway.refund({
          outTradeNo: payment.outTradeNo,
          outRefundNo,
          amount: { amount: payment.amount, currency: payment.currency },
          total: { amount: payment.amount, currency: payment.currency },
          reason: 'payment arrived after the order had failed',
        });
      }
    }
  } catch (e) {
    const unknown = e instanceof GatewayUnknownOutcomeError;
    return {
      kind: 'retry',
      error: `${unknown ? 'outcome unknown' : 'gateway error'}: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
  if (seen.status === 'pending' || refund?.status === 'pending' || refund?.status === 'not_found')
    return { kind: 'retry', error: 'late capture still settling at the gateway' };
  const now = clock.now();
  const subject = { tenantId: payment.tenantId, type: 'payment', id: payment.id };
  await uow.run(async (r) => {
    const cs = new ChangeSet({ actor: ACTOR, now, requestId: null });
    const booked = new Set((await r.ledger.journalsFor(payment.tenantId, payment.id)).map((j) => j.id));
    const post = (suffix: string, kind: string, debit: string, credit: string): void => {
      const id = `jrn_${payment.id}_${suffix}`;
      if (!booked.has(id))
        cs.post(
          payment.tenantId,
          id,
          kind,
          'payment',
          payment.id,
          payment.currency,
          transfer(debit, credit, payment.amount),
        );
    };
    if (seen.status !== 'succeeded') {
      await raiseFlag(r, deps, cs, subject, 'LATE_CAPTURE_NOT_CONFIRMED', { gateway_says: seen.status });
    } else {
      post(
        'late_capture',
        'payment.late_capture',
        account.gateway(payment.gateway),
        account.suspense(payment.tenantId),
      );
      if (refund?.status === 'succeeded') {
        post(
          'late_refund',
          'refund.late_capture',
          account.suspense(payment.tenantId),
          account.gateway(payment.gateway),
        );
        await raiseFlag(r, deps, cs, subject, 'LATE_CAPTURE_REFUNDED', {
          amount: payment.amount,
          out_refund_no: outRefundNo,
        });
      } else {
        await raiseFlag(r, deps, cs, subject, 'LATE_CAPTURE_REFUND_FAILED', {
          amount: payment.amount,
          failure_code: refund?.failureCode ?? null,
        });
      }
    }
    await cs.flush(r);
    await completeJob(r, job, deps, now);
  });
  deps.logger.warn(
    { payment_id: payment.id, gateway_says: seen.status, refunded: refund?.status === 'succeeded' },
    'late capture resolved',
  );
  return { kind: 'done' };
}
