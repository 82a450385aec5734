import { refundPlan } from '../../domain/refund.js';
import { PAYEE } from '../../domain/mandate.js';
import type { Result } from '../../domain/result.js';
import type { HeldActionRecord } from '../../ports/held-actions.js';
import type { JobRecord, OrderRecord, PaymentRecord, RefundRecord } from '../../ports/records.js';
import { JOB, PRIORITY } from '../jobs/job-kinds.js';
import { enqueueLeased } from '../jobs/job-steps.js';
import type { Caller } from '../kernel/caller.js';
import { canActOn } from '../kernel/ownership.js';
import type { Deps } from '../kernel/deps.js';
import { type Confirmed, policyGate, takeHold } from '../kernel/holds.js';
import { type IdempotencyRef, recordRecoveryPoint } from '../kernel/idempotency.js';
import { tx } from '../kernel/tx.js';
import { asResult, UseCaseError } from '../kernel/use-case-error.js';
import { openRefund } from './settle-refund.js';

export type RequestedRefund =
  | ({ readonly kind: 'made' } & MadeRefund)
  /** Held for the person's confirmation (`refund` not trusted, or above the threshold). */
  | { readonly kind: 'held'; readonly held: HeldActionRecord };

interface MadeRefund {
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
 * once — pending refunds count — so requests together can never give back more than was paid
 * (`openRefund` serialises them on the payment row). The gateway is called by the job.
 */
export async function requestRefund(
  deps: Deps,
  caller: Caller,
  orderId: string,
  request: { readonly amount?: number; readonly reason?: string },
  idempotency?: IdempotencyRef,
  confirmed?: Confirmed,
): Promise<Result<RequestedRefund>> {
  const now = deps.clock.now();
  return asResult(() =>
    tx(
      deps.uow,
      { actor: caller.actor, now, requestId: caller.requestId },
      async (r, changes) => {
        const found = await r.orders.getWithPayment(caller.tenantId, orderId);
        if (found === undefined || !canActOn(caller, found.order.userId)) {
          throw new UseCaseError('ORDER_NOT_FOUND', `no order ${orderId}`);
        }
        const { order, payment } = found;
        if (
          (payment.status !== 'PAID' && payment.status !== 'PARTIALLY_REFUNDED') ||
          !PARTIALLY_REFUNDABLE.has(order.status) ||
          payment.outTradeNo === null
        ) {
          throw new UseCaseError(
            'REFUND_NOT_ALLOWED',
            `an order in ${order.status} with its payment ${payment.status} cannot be refunded`,
            { order_status: order.status, payment_status: payment.status },
          );
        }
        // The one policy: a refund the person did not trust to run by itself waits for them,
        // showing exactly how much goes back to which order.
        const amount =
          request.amount ??
          refundPlan(payment.amount, await r.refunds.listByPayment(payment.tenantId, payment.id)).refundable;
        const held = await policyGate(r, changes, deps, caller, {
          action: 'refund',
          amounts: [amount],
          currency: payment.currency,
          confirmed,
          payee: PAYEE.merchant,
          hold: () => ({
            action: 'refund',
            params: { order_id: order.id, amount, ...(request.reason === undefined ? {} : { reason: request.reason }) },
            shown: {
              what: `退款 refund ¥${(amount / 100).toFixed(2)} of order ${order.id} (${order.description})`,
              amount,
              currency: payment.currency,
              payee: `order ${order.id}`,
              method: 'original payment',
            },
          }),
        });
        if (held !== undefined) {
          await recordRecoveryPoint(r, caller.tenantId, idempotency, held.id);
          return { kind: 'held', held } as const;
        }
        const opened = await openRefund(r, changes, deps, {
          order,
          payment,
          ...(request.amount === undefined ? {} : { amount: request.amount }),
          reason: request.reason ?? 'requested by the customer',
        });
        if (opened === undefined) {
          throw new UseCaseError('REFUND_EXCEEDS_PAYMENT', 'everything paid has been refunded or is being refunded', {
            paid: payment.amount,
            refundable: 0,
          });
        }
        const { refund } = opened;
        const full = opened.remaining === 0;
        if (full && !FULLY_REFUNDABLE.has(order.status)) {
          throw new UseCaseError(
            'REFUND_NOT_ALLOWED',
            `the order is ${order.status}: refund part of it now, or all of it once it is completed`,
            { order_status: order.status },
          );
        }
        const moved = full
          ? changes.moveOrder(order, [{ type: 'refund_requested' }], request.reason ?? 'refund requested')
          : order;
        await changes.saveOrder(r, order, moved);
        const job = await enqueueLeased(
          r,
          deps,
          { tenantId: caller.tenantId, kind: JOB.executeRefund, resourceId: refund.id, priority: PRIORITY.refund },
          now,
        );
        if (confirmed !== undefined) await takeHold(r, changes, caller, confirmed, refund.id);
        await recordRecoveryPoint(r, caller.tenantId, idempotency, refund.id);
        return { kind: 'made', refund, order: moved, payment: opened.payment, job } as const;
      },
      // A refund opened elsewhere at the same moment: decide again on what it left.
      { retryConflicts: 12 },
    ),
  );
}
