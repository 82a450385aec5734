import { checkRefundable, refundPlan } from '../../domain/refund.js';
import type { Result } from '../../domain/result.js';
import type { JobRecord, RefundRecord } from '../../ports/records.js';
import type { Repositories } from '../../ports/repositories.js';
import { JOB, PRIORITY } from '../jobs/job-kinds.js';
import { enqueueLeased } from '../jobs/job-steps.js';
import type { Caller } from '../kernel/caller.js';
import type { ChangeSet } from '../kernel/change-set.js';
import type { Deps } from '../kernel/deps.js';
import { canActOn } from '../kernel/ownership.js';
import { resolveFlagsOf } from '../kernel/review-flags.js';
import { tx } from '../kernel/tx.js';
import { asResult, UseCaseError } from '../kernel/use-case-error.js';
import { loadRefund, type RefundContext } from './settle-refund.js';

/** One transaction as the caller, whose expected refusals come back as values; conflicts are decided again. */
function asCaller<T>(
  deps: Deps,
  caller: Caller,
  body: (r: Repositories, changes: ChangeSet, now: number) => Promise<T>,
): Promise<Result<T>> {
  const now = deps.clock.now();
  const meta = { actor: caller.actor, now, requestId: caller.requestId };
  return asResult(() => tx(deps.uow, meta, (r, changes) => body(r, changes, now), { retryConflicts: 12 }));
}

/** The refund the caller may act on, as stored now, inside the transaction; it must have FAILED. */
async function failedRefund(r: Repositories, caller: Caller, refundId: string): Promise<RefundContext> {
  const found = await loadRefund(r, { tenantId: caller.tenantId, id: refundId });
  if (found === undefined || !canActOn(caller, found.order.userId)) {
    throw new UseCaseError('REFUND_NOT_FOUND', `no refund ${refundId}`);
  }
  if (found.refund.status !== 'FAILED') {
    throw new UseCaseError(
      'REFUND_NOT_FAILED',
      `the refund is ${found.refund.status}: only a FAILED refund is sent again or settled outside`,
      { refund_status: found.refund.status },
    );
  }
  return found;
}

/**
 * A FAILED refund is sent again: the same refund record goes back to PENDING and its job sends
 * it under the same out_refund_no, so the gateway can never pay it twice. What it gives back must
 * still fit what is left of the payment (another refund may have been made meanwhile): the
 * payment's version is bumped first, as `openRefund` does, so two retries or a retry and a new
 * refund at once conflict instead of both passing the check. The REFUND_FAILED flag it raised is
 * resolved (a new failure raises a new one).
 */
export function retryRefund(
  deps: Deps,
  caller: Caller,
  refundId: string,
): Promise<Result<{ readonly refund: RefundRecord; readonly job: JobRecord }>> {
  return asCaller(deps, caller, async (r, changes, now) => {
    const { refund, payment } = await failedRefund(r, caller, refundId);
    await changes.savePayment(r, payment, {
      ...payment,
      updatedBy: changes.meta.actor,
      updatedAt: now,
      version: payment.version + 1,
    });
    const plan = refundPlan(payment.amount, await r.refunds.listByPayment(payment.tenantId, payment.id));
    const fits = checkRefundable(payment.amount, plan.reserved, refund.amount);
    if (!fits.ok) throw new UseCaseError(fits.error.code, fits.error.message, fits.error.details);
    const again = changes.moveRefund(refund, { type: 'retry' }, { failureCode: null });
    await changes.saveRefund(r, refund, again);
    changes.audit('refund', refund.tenantId, refund.id, 'refund.retried', null, {
      out_refund_no: refund.outRefundNo,
      amount: refund.amount,
      previous_failure_code: refund.failureCode,
    });
    await resolveFlagsOf(r, changes, subjectOf(refund), 'REFUND_FAILED', { resolution: 'retried' });
    const job = await enqueueLeased(
      r,
      deps,
      { tenantId: refund.tenantId, kind: JOB.executeRefund, resourceId: refund.id, priority: PRIORITY.refund },
      now,
    );
    return { refund: again, job };
  });
}

/**
 * An operator records that a FAILED refund was settled outside the system (paid back by bank
 * transfer, in cash, or waived with the person's agreement), with a note: the refund ends
 * SETTLED_OUTSIDE and keeps its amount out of what may still be refunded; nothing is booked,
 * because no money moved through the system (the gateway still holds the payment, and the
 * ledger says so). An order waiting in REFUNDING for it, or with nothing left to give back, is
 * REFUNDED. Audited with the note; its REFUND_FAILED flag is resolved with it.
 */
export function settleRefundOutside(
  deps: Deps,
  caller: Caller,
  refundId: string,
  note: string,
): Promise<Result<RefundRecord>> {
  return asCaller(deps, caller, async (r, changes) => {
    const { refund, payment, order } = await failedRefund(r, caller, refundId);
    const settled = changes.moveRefund(refund, { type: 'settle_outside', note });
    await changes.saveRefund(r, refund, settled);
    changes.audit('refund', refund.tenantId, refund.id, 'refund.settled_outside', null, {
      amount: refund.amount,
      currency: refund.currency,
      order_id: order.id,
      failure_code: refund.failureCode,
      note,
    });
    const left = refundPlan(payment.amount, await r.refunds.listByPayment(payment.tenantId, payment.id));
    await closeOrderIfAllGivenBack(r, changes, order, left.refundable, note);
    await resolveFlagsOf(r, changes, subjectOf(refund), 'REFUND_FAILED', { resolution: 'settled_outside' }, note);
    return settled;
  });
}

async function closeOrderIfAllGivenBack(
  r: Repositories,
  changes: ChangeSet,
  order: RefundContext['order'],
  refundable: number,
  note: string,
): Promise<void> {
  if (refundable > 0) return;
  const events =
    order.status === 'REFUNDING'
      ? [{ type: 'refunded' as const }]
      : order.status === 'PAID' || order.status === 'COMPLETED'
        ? [{ type: 'refund_requested' as const }, { type: 'refunded' as const }]
        : [];
  if (events.length > 0)
    await changes.saveOrder(r, order, changes.moveOrder(order, events, `settled outside: ${note}`));
}

function subjectOf(refund: RefundRecord): { tenantId: string; type: string; id: string } {
  return { tenantId: refund.tenantId, type: 'refund', id: refund.id };
}
