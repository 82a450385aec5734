import { keys } from '../../domain/keys.js';
import { type MerchantOrderResult, MerchantUnknownOutcomeError } from '../../ports/merchant.js';
import type { JobRecord } from '../../ports/records.js';
import { JOB, PRIORITY } from '../jobs/job-kinds.js';
import type { JobOutcome, KnownState } from '../jobs/job-runner.js';
import { completeJob, enqueueLeased } from '../jobs/job-steps.js';
import { SYSTEM } from '../kernel/caller.js';
import type { ChangeMeta } from '../kernel/change-set.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import { openRefund } from '../refunds/refunds-api.js';

/**
 * Job `order.fulfil`: hand the paid order to the merchant, once. Later attempts query first.
 * A definite refusal moves the order to REFUNDING and gives back all that is left of the payment
 * (a partial refund already asked for keeps its own): the person never pays for a drink nobody makes.
 */
export async function fulfilOrder(deps: Deps, job: JobRecord, known?: KnownState): Promise<JobOutcome> {
  const order = known?.order ?? (await deps.uow.read.orders.get(job.tenantId, job.resourceId));
  if (order === undefined) return { kind: 'give_up', error: 'order not found' };
  const meta = (): ChangeMeta => ({ actor: SYSTEM.worker, now: deps.clock.now(), requestId: null });
  if (order.status !== 'FULFILLING') {
    await tx(deps.uow, meta(), (r, changes) => completeJob(r, job, deps, changes.meta.now));
    return { kind: 'done' };
  }
  const key = keys.fulfilment(order.id);
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

  if (result.status === 'accepted') {
    const completed = await tx(deps.uow, meta(), async (r, changes) => {
      const next = changes.moveOrder(order, [{ type: 'fulfilled' }], null);
      await changes.saveOrder(r, order, next);
      await completeJob(r, job, deps, changes.meta.now);
      return next;
    });
    deps.logger.info({ order_id: order.id, merchant_order_id: result.merchantOrderId }, 'order fulfilled');
    return { kind: 'done', ...(known === undefined ? {} : { state: { order: completed, payment: known.payment } }) };
  }
  if (result.status === 'rejected') {
    const reason = `merchant refused: ${result.reason ?? 'unknown reason'}`;
    const refundJob = await tx(deps.uow, meta(), async (r, changes) => {
      const fresh = await r.orders.getWithPayment(order.tenantId, order.id);
      if (fresh === undefined) throw new Error(`order ${order.id} has no payment`);
      // Moved on meanwhile (a repair rule settled it): nothing of ours to refund.
      if (fresh.order.status !== 'FULFILLING') {
        await completeJob(r, job, deps, changes.meta.now);
        return undefined;
      }
      await changes.saveOrder(
        r,
        fresh.order,
        changes.moveOrder(fresh.order, [{ type: 'fulfilment_failed', reason }], reason),
      );
      const opened = await openRefund(r, changes, deps, { order: fresh.order, payment: fresh.payment, reason });
      const next =
        opened === undefined
          ? undefined
          : await enqueueLeased(
              r,
              deps,
              {
                tenantId: order.tenantId,
                kind: JOB.executeRefund,
                resourceId: opened.refund.id,
                priority: PRIORITY.refund,
              },
              changes.meta.now,
            );
      await completeJob(r, job, deps, changes.meta.now);
      return next;
    });
    deps.logger.warn({ order_id: order.id, reason }, 'fulfilment failed; refunding');
    return { kind: 'done', followUps: refundJob === undefined ? [] : [{ job: refundJob }] };
  }
  return { kind: 'retry', error: 'merchant does not know the order yet' };
}
