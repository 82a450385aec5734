import { checkRefundable } from '../domain/refund.js';
import type { Result } from '../domain/result.js';
import type { JobRecord, OrderRecord, PaymentRecord, RefundRecord } from '../ports/records.js';
import type { Repositories } from '../ports/repositories.js';
import { asResult, type Caller, type Deps, UseCaseError } from './context.js';
import { JOB, PRIORITY } from './job-kinds.js';
import type { IdempotencyRef } from './place-order.js';
import { enqueueLeased } from './run-jobs.js';
import { ChangeSet, refundKeyFor } from './state-changes.js';

export interface RequestedRefund {
  readonly refund: RefundRecord;
  readonly order: OrderRecord;
  readonly payment: PaymentRecord;
  /** The job this process holds to send the refund; run it next. */
  readonly job: JobRecord;
}

/** Order statuses whose payment may be given back in part. */
const PARTIALLY_REFUNDABLE = new Set(['PAID', 'FULFILLING', 'COMPLETED']);
/** Order statuses that may go to REFUNDING when everything is given back. */
const FULLY_REFUNDABLE = new Set(['PAID', 'COMPLETED']);

/**
 * A person (or an operator) asks for money back: all that is left, or `amount` minor units.
 * The refund is recorded PENDING with its own idempotency key, and the amount is reserved at
 * once — pending refunds count — so two requests together can never give back more than was
 * paid. The payment row's version is bumped in the same transaction, so concurrent requests on
 * another instance conflict instead of both passing the check. The gateway is called by the job.
 */
export async function requestRefund(
  deps: Deps,
  caller: Caller,
  orderId: string,
  request: { readonly amount?: number; readonly reason?: string },
  idempotency?: IdempotencyRef,
): Promise<Result<RequestedRefund>> {
  const now = deps.clock.now();
  const refundId = deps.ids.next('rfd');
  return asResult(() =>
    deps.uow.run(async (r) => {
      const found = await r.orders.getWithPayment(caller.tenantId, orderId);
      if (found === undefined) throw new UseCaseError('ORDER_NOT_FOUND', `no order ${orderId}`);
      const { order, payment } = found;
      if (
        (payment.status !== 'PAID' && payment.status !== 'PARTIALLY_REFUNDED') ||
        !PARTIALLY_REFUNDABLE.has(order.status) ||
        payment.outTradeNo === null
      ) {
        throw new UseCaseError(
          'REFUND_NOT_ALLOWED',
          `an order in ${order.status} with its payment ${payment.status} cannot be refunded`,
          {
            order_status: order.status,
            payment_status: payment.status,
          },
        );
      }
      const existing = await r.refunds.listByPayment(caller.tenantId, payment.id);
      const reserved = existing.filter((x) => x.status !== 'FAILED').reduce((s, x) => s + x.amount, 0);
      const amount = request.amount ?? payment.amount - reserved;
      const fits = checkRefundable(payment.amount, reserved, amount);
      if (!fits.ok) throw new UseCaseError(fits.error.code, fits.error.message, fits.error.details);
      const full = fits.value === 0;
      if (full && !FULLY_REFUNDABLE.has(order.status)) {
        throw new UseCaseError(
          'REFUND_NOT_ALLOWED',
          `the order is ${order.status}: refund part of it now, or all of it once it is completed`,
          { order_status: order.status },
        );
      }
      const cs = new ChangeSet({ actor: caller.actor, now, requestId: caller.requestId });
      const refund = await createRefund(r, cs, {
        id: refundId,
        order,
        payment,
        amount,
        reason: request.reason ?? 'requested by the customer',
        n: existing.length + 1,
      });
      const moved = full
        ? cs.moveOrder(order, [{ type: 'refund_requested' }], request.reason ?? 'refund requested')
        : order;
      await cs.saveOrder(r, order, moved);
      // The reservation above read the refunds; touching the payment makes a concurrent request conflict.
      const touched: PaymentRecord = {
        ...payment,
        updatedBy: caller.actor,
        updatedAt: now,
        version: payment.version + 1,
      };
      await cs.savePayment(r, payment, touched);
      const job = await enqueueLeased(
        r,
        deps,
        { tenantId: caller.tenantId, kind: JOB.executeRefund, resourceId: refund.id, priority: PRIORITY.refund },
        now,
      );
      await cs.flush(r);
      if (idempotency !== undefined)
        await r.idempotency.setRecoveryPoint(caller.tenantId, idempotency.scope, idempotency.key, refund.id);
      return { refund, order: moved, payment: touched, job };
    }),
  );
}

/** Insert a PENDING refund (the n-th of its payment) with its audit row. */
export async function createRefund(
  r: Repositories,
  cs: ChangeSet,
  x: {
    readonly id: string;
    readonly order: OrderRecord;
    readonly payment: PaymentRecord;
    readonly amount: number;
    readonly reason: string;
    readonly n: number;
  },
): Promise<RefundRecord> {
  const { now, actor } = cs.meta;
  const refund: RefundRecord = {
    id: x.id,
    tenantId: x.order.tenantId,
    orderId: x.order.id,
    paymentId: x.payment.id,
    outRefundNo: refundKeyFor(x.payment.id, x.n),
    amount: x.amount,
    currency: x.payment.currency,
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
  cs.audit('refund', refund.tenantId, refund.id, 'refund.requested', null, {
    status: refund.status,
    amount: refund.amount,
    currency: refund.currency,
    order_id: refund.orderId,
    payment_id: refund.paymentId,
    out_refund_no: refund.outRefundNo,
    reason: refund.reason,
  });
  return refund;
}
