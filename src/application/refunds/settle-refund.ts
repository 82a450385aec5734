import { keys } from '../../domain/keys.js';
import { checkRefundable, refundPlan } from '../../domain/refund.js';
import type { OrderRecord, PaymentRecord, RefundRecord } from '../../ports/records.js';
import type { ReadRepositories, Repositories } from '../../ports/repositories.js';
import type { ChangeSet } from '../kernel/change-set.js';
import type { Deps } from '../kernel/deps.js';
import { raiseFlag } from '../kernel/review-flags.js';
import { UseCaseError } from '../kernel/use-case-error.js';

/**
 * Open a PENDING refund of a payment, in the caller's transaction — the one way every path gives
 * money back (a person's request, a merchant's refusal, a repair rule): `amount` or, absent, all
 * that is left. What is left and the refund's number come from `refundPlan`, so pending refunds
 * hold their amount and a new refund never reuses an earlier one's out_refund_no. The payment's
 * version is bumped FIRST: two refunds opened at once on one payment (any instance) conflict
 * there, before either reads the refunds, instead of both passing the check. Undefined when
 * nothing is left to give back.
 */
export async function openRefund(
  r: Repositories,
  changes: ChangeSet,
  deps: Pick<Deps, 'ids'>,
  x: {
    readonly order: OrderRecord;
    readonly payment: PaymentRecord;
    readonly amount?: number;
    readonly reason: string;
  },
): Promise<{ readonly refund: RefundRecord; readonly payment: PaymentRecord; readonly remaining: number } | undefined> {
  const { order, payment } = x;
  const { now, actor } = changes.meta;
  const touched: PaymentRecord = { ...payment, updatedBy: actor, updatedAt: now, version: payment.version + 1 };
  await changes.savePayment(r, payment, touched);
  const existing = await r.refunds.listByPayment(payment.tenantId, payment.id);
  const plan = refundPlan(payment.amount, existing);
  if (x.amount === undefined && plan.refundable <= 0) return undefined;
  const amount = x.amount ?? plan.refundable;
  const fits = checkRefundable(payment.amount, plan.reserved, amount);
  if (!fits.ok) throw new UseCaseError(fits.error.code, fits.error.message, fits.error.details);
  const refund: RefundRecord = {
    id: deps.ids.next('rfd'),
    tenantId: order.tenantId,
    orderId: order.id,
    paymentId: payment.id,
    outRefundNo: keys.refund(payment.id, plan.nextNumber),
    amount,
    currency: payment.currency,
    status: 'PENDING',
    reason: x.reason,
    failureCode: null,
    gatewayRefundNo: null,
    createdBy: actor,
    updatedBy: actor,
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
  await r.refunds.insert(refund);
  changes.audit('refund', refund.tenantId, refund.id, 'refund.requested', null, {
    status: refund.status,
    amount: refund.amount,
    currency: refund.currency,
    order_id: refund.orderId,
    payment_id: refund.paymentId,
    out_refund_no: refund.outRefundNo,
    reason: refund.reason,
  });
  return { refund, payment: touched, remaining: fits.value };
}

/** A refund with its payment and order, as stored now. */
export interface RefundContext {
  readonly refund: RefundRecord;
  readonly payment: PaymentRecord;
  readonly order: OrderRecord;
}

/** The refund with its payment and order (inside a transaction, or for a read outside one). */
export async function loadRefund(
  r: Pick<ReadRepositories, 'refunds' | 'orders'>,
  refund: Pick<RefundRecord, 'tenantId' | 'id'>,
): Promise<RefundContext | undefined> {
  const fresh = await r.refunds.get(refund.tenantId, refund.id);
  if (fresh === undefined) return undefined;
  const found = await r.orders.getWithPayment(fresh.tenantId, fresh.orderId);
  return found === undefined ? undefined : { refund: fresh, ...found };
}

/**
 * Record a definite refund outcome from the gateway (its answer or its callback), in the
 * caller's transaction: the refund's state, the payment's refunded amount and its ledger
 * journal, and the order once everything was given back. A refund already settled is left as
 * it is (a late or duplicate outcome; a contradiction is flagged); a failure is flagged for a
 * person to look at.
 */
export async function settleRefund(
  r: Repositories,
  deps: Pick<Deps, 'ids'>,
  changes: ChangeSet,
  x: RefundContext,
  outcome: {
    readonly status: 'succeeded' | 'failed';
    readonly failureCode?: string;
    readonly gatewayRefundNo?: string;
    /** The gateway's own time of the refund, when it reported one. */
    readonly refundedAt?: number;
  },
): Promise<'applied' | 'already_settled'> {
  const { refund, payment, order } = x;
  const subject = { tenantId: refund.tenantId, type: 'refund', id: refund.id };
  if (refund.status !== 'PENDING') {
    if ((refund.status === 'SUCCEEDED') !== (outcome.status === 'succeeded')) {
      await raiseFlag(r, changes, deps.ids, subject, 'REFUND_STATUS_CONFLICT', {
        recorded: refund.status,
        gateway_says: outcome.status,
      });
    }
    return 'already_settled';
  }
  if (outcome.status === 'succeeded') {
    const done = changes.moveRefund(
      refund,
      { type: 'succeed' },
      outcome.gatewayRefundNo === undefined ? {} : { gatewayRefundNo: outcome.gatewayRefundNo },
      outcome.refundedAt,
    );
    const paid = changes.movePayment(payment, { type: 'refund', amount: refund.amount }, {}, refund);
    await changes.saveRefund(r, refund, done);
    await changes.savePayment(r, payment, paid);
    if (paid.status === 'REFUNDED') {
      const events =
        order.status === 'REFUNDING'
          ? [{ type: 'refunded' as const }]
          : order.status === 'PAID' || order.status === 'COMPLETED'
            ? [{ type: 'refund_requested' as const }, { type: 'refunded' as const }]
            : [];
      if (events.length > 0) await changes.saveOrder(r, order, changes.moveOrder(order, events));
    }
  } else {
    const code = outcome.failureCode ?? 'REFUND_FAILED';
    await changes.saveRefund(
      r,
      refund,
      changes.moveRefund(refund, { type: 'fail', reason: code }, { failureCode: code }),
    );
    await raiseFlag(r, changes, deps.ids, subject, 'REFUND_FAILED', {
      order_id: order.id,
      amount: refund.amount,
      failure_code: code,
      order_status: order.status,
    });
  }
  return 'applied';
}
