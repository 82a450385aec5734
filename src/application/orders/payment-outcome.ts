import type { OrderRecord, PaymentRecord } from '../../ports/records.js';
import type { Repositories } from '../../ports/repositories.js';
import { JOB, PRIORITY } from '../jobs/job-kinds.js';
import { enqueueJob } from '../jobs/job-steps.js';
import type { ChangeSet } from '../kernel/change-set.js';
import type { Deps } from '../kernel/deps.js';

/**
 * PENDING → PAID (its capture journal with it) and the order on to fulfilment, in the caller's
 * transaction: the pay job, a gateway's callback and a repair rule all settle a capture here.
 */
export async function markPaid(
  r: Repositories,
  changes: ChangeSet,
  order: OrderRecord,
  payment: PaymentRecord,
  gatewayTradeNo: string | null,
  /** The gateway's own time of the capture, when it reported one. */
  paidAt?: number,
): Promise<{ order: OrderRecord; payment: PaymentRecord }> {
  const paid = changes.movePayment(payment, { type: 'succeed' }, { gatewayTradeNo }, undefined, paidAt);
  const fulfilling = changes.moveOrder(order, [{ type: 'payment_succeeded' }, { type: 'start_fulfilment' }], null);
  await changes.savePayment(r, payment, paid);
  await changes.saveOrder(r, order, fulfilling);
  return { order: fulfilling, payment: paid };
}

/** `markPaid`, and the fulfilment queued for any worker (the pay job, if still waiting, then finds nothing to do). */
export async function markPaidAndFulfil(
  r: Repositories,
  deps: Deps,
  changes: ChangeSet,
  order: OrderRecord,
  payment: PaymentRecord,
  gatewayTradeNo: string | null,
  paidAt?: number,
): Promise<void> {
  await markPaid(r, changes, order, payment, gatewayTradeNo, paidAt);
  await enqueueJob(
    r,
    deps,
    { tenantId: order.tenantId, kind: JOB.fulfilOrder, resourceId: order.id, priority: PRIORITY.fulfil },
    changes.meta.now,
  );
}

/** PENDING → FAILED with the gateway's code, and the order with it. */
export async function markPaymentFailed(
  r: Repositories,
  changes: ChangeSet,
  order: OrderRecord,
  payment: PaymentRecord,
  code: string,
  reason = `payment failed: ${code}`,
): Promise<{ order: OrderRecord; payment: PaymentRecord }> {
  const failedPayment = changes.movePayment(payment, { type: 'fail', reason: code }, { failureCode: code });
  const failedOrder = changes.moveOrder(order, [{ type: 'payment_failed', reason: code }], reason);
  await changes.savePayment(r, payment, failedPayment);
  await changes.saveOrder(r, order, failedOrder);
  return { order: failedOrder, payment: failedPayment };
}
