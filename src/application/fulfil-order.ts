import { MerchantUnknownOutcomeError, type MerchantOrderResult } from '../ports/merchant.js';
import type { JobRecord } from '../ports/records.js';
import type { Deps } from './context.js';
import { JOB, PRIORITY } from './job-kinds.js';
import { createRefund } from './request-refund.js';
import { completeJob, enqueueLeased, type JobOutcome, type KnownState } from './run-jobs.js';
import { ChangeSet, fulfilmentKeyFor } from './state-changes.js';

const ACTOR = 'system:worker';

/**
 * Job `order.fulfil`: hand the paid order to the merchant, once. Later attempts query first.
 * A definite refusal moves the order to REFUNDING and queues the refund: the person never pays
 * for a drink nobody makes.
 */
export async function fulfilOrder(job: JobRecord, deps: Deps, known?: KnownState): Promise<JobOutcome> {
  const { uow, clock } = deps;
  const order = known?.order ?? (await uow.read.orders.get(job.tenantId, job.resourceId));
  if (order === undefined) return { kind: 'give_up', error: 'order not found' };
  if (order.status !== 'FULFILLING') {
    await uow.run((r) => completeJob(r, job, deps, clock.now()));
    return { kind: 'done' };
  }
  const key = fulfilmentKeyFor(order.id);
  let result: MerchantOrderResult;
  try {
    result = job.attempts > 1 ? await deps.merchant.query(key) : { status: 'not_found' };
    if (result.status === 'not_found') {
      result = await deps.merchant.submit({
        idempotencyKey: key,
        orderId: order.id,
        drink: order.drink,
        size: order.size,
        quantity: order.quantity,
        options: order.options,
      });
    }
  } catch (e) {
    const unknown = e instanceof MerchantUnknownOutcomeError;
    return {
      kind: 'retry',
      error: `${unknown ? 'outcome unknown' : 'merchant error'}: ${e instanceof Error ? e.message : String(e)}`,
    };
  }

  const now = clock.now();
  if (result.status === 'accepted') {
    const cs = new ChangeSet({ actor: ACTOR, now, requestId: null });
    const completed = cs.moveOrder(order, [{ type: 'fulfilled' }], null);
    await uow.run(async (r) => {
      await cs.saveOrder(r, order, completed);
      await cs.flush(r);
      await completeJob(r, job, deps, now);
    });
    deps.logger.info({ order_id: order.id, merchant_order_id: result.merchantOrderId }, 'order fulfilled');
    return { kind: 'done', ...(known === undefined ? {} : { state: { order: completed, payment: known.payment } }) };
  }
  if (result.status === 'rejected') {
    const reason = `merchant refused: ${result.reason ?? 'unknown reason'}`;
    const refundId = deps.ids.next('rfd');
    const refundJob = await uow.run(async (r) => {
      const payment =
        known?.payment.id === order.paymentId ? known.payment : await r.payments.get(order.tenantId, order.paymentId);
      if (payment === undefined) throw new Error(`order ${order.id} has no payment`);
      const cs = new ChangeSet({ actor: ACTOR, now, requestId: null });
      await cs.saveOrder(r, order, cs.moveOrder(order, [{ type: 'fulfilment_failed', reason }], reason));
      // Everything paid goes back: a refund with its own key, sent by its own job.
      const refund = await createRefund(r, cs, {
        id: refundId,
        order,
        payment,
        amount: payment.amount - payment.refundedAmount,
        reason,
        n: 1,
      });
      const next = await enqueueLeased(
        r,
        deps,
        { tenantId: order.tenantId, kind: JOB.executeRefund, resourceId: refund.id, priority: PRIORITY.refund },
        now,
      );
      await cs.flush(r);
      await completeJob(r, job, deps, now);
      return next;
    });
    deps.logger.warn({ order_id: order.id, reason }, 'fulfilment failed; refunding');
    return { kind: 'done', followUps: [{ job: refundJob }] };
  }
  return { kind: 'retry', error: 'merchant does not know the order yet' };
}
