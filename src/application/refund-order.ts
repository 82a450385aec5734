import { type GatewayRefundResult, GatewayUnknownOutcomeError } from '../ports/payment-gateway.js';
import type { JobRecord } from '../ports/records.js';
import type { Deps } from './context.js';
import { completeJob, type JobOutcome } from './run-jobs.js';
import { ChangeSet, refundKeyFor } from './state-changes.js';

const ACTOR = 'system:worker';

/**
 * Job `order.refund`: give back the whole remaining amount of a REFUNDING order. The refund's
 * own key (out_refund_no) makes a repeated call harmless at the gateway.
 */
export async function refundOrder(job: JobRecord, deps: Deps): Promise<JobOutcome> {
  const { uow, clock } = deps;
  const found = await uow.read.orders.getWithPayment(job.tenantId, job.resourceId);
  if (found === undefined) return { kind: 'give_up', error: 'order or payment not found' };
  const { order, payment } = found;
  if (order.status !== 'REFUNDING' || payment.outTradeNo === null) {
    await uow.run((r) => completeJob(r, job, deps, clock.now()));
    return { kind: 'done' };
  }
  const remaining = payment.amount - payment.refundedAmount;
  const gateway = deps.gateways.get(payment.gateway);
  if (gateway === undefined) return { kind: 'give_up', error: `gateway ${payment.gateway} is not configured` };
  let result: GatewayRefundResult = { status: 'succeeded', outRefundNo: '' };
  if (remaining > 0) {
    try {
      result = await gateway.refund({
        outTradeNo: payment.outTradeNo,
        outRefundNo: refundKeyFor(payment.id, 1),
        amount: { amount: remaining, currency: payment.currency },
        reason: order.statusReason ?? 'order could not be fulfilled',
      });
    } catch (e) {
      const unknown = e instanceof GatewayUnknownOutcomeError;
      return { kind: 'retry', error: `${unknown ? 'outcome unknown' : 'gateway error'}: ${e instanceof Error ? e.message : String(e)}` };
    }
  }
  if (result.status === 'pending') return { kind: 'retry', error: 'refund pending at the gateway' };
  if (result.status === 'failed') return { kind: 'give_up', error: `refund refused by gateway: ${result.failureCode ?? 'unknown'}` };
  const now = clock.now();
  await uow.run(async (r) => {
    const cs = new ChangeSet({ actor: ACTOR, now, requestId: null });
    if (remaining > 0) await cs.savePayment(r, payment, cs.movePayment(payment, { type: 'refund', amount: remaining }));
    await cs.saveOrder(r, order, cs.moveOrder(order, [{ type: 'refunded' }]));
    await cs.flush(r);
    await completeJob(r, job, deps, now);
  });
  deps.logger.info({ order_id: order.id, amount: remaining }, 'order refunded');
  return { kind: 'done' };
}
