import { type GatewayRefundResult, GatewayUnknownOutcomeError } from '../ports/payment-gateway.js';
import type { JobRecord } from '../ports/records.js';
import type { Deps } from './context.js';
import { completeJob, type JobOutcome } from './run-jobs.js';
import { changeOrder, changePayment, refundKeyFor } from './state-changes.js';

const ACTOR = 'system:worker';

/**
 * Job `order.refund`: give back the whole remaining amount of a REFUNDING order. The refund's
 * own key (out_refund_no) makes a repeated call harmless at the gateway.
 */
export async function refundOrder(job: JobRecord, deps: Deps): Promise<JobOutcome> {
  const { uow, clock } = deps;
  const order = await uow.read.orders.get(job.tenantId, job.resourceId);
  const payment = order === undefined ? undefined : await uow.read.payments.get(job.tenantId, order.paymentId);
  if (order === undefined || payment === undefined) return { kind: 'give_up', error: 'order or payment not found' };
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
    const o = await r.orders.get(order.tenantId, order.id);
    const p = await r.payments.get(order.tenantId, payment.id);
    if (o === undefined || p === undefined) throw new Error('order vanished');
    if (remaining > 0) await changePayment(r, p, { type: 'refund', amount: remaining }, {}, { actor: ACTOR, now, requestId: null });
    await changeOrder(r, o, { type: 'refunded' }, { actor: ACTOR, now, requestId: null });
    await completeJob(r, job, deps, now);
  });
  deps.logger.info({ order_id: order.id, amount: remaining }, 'order refunded');
  return { kind: 'done' };
}
