import { checkLimitsOnConfirm } from '../../domain/policy.js';
import type { Result } from '../../domain/result.js';
import type { JobRecord, OrderRecord, PaymentRecord } from '../../ports/records.js';
import type { Caller } from '../kernel/caller.js';
import { canActOn } from '../kernel/ownership.js';
import type { Deps } from '../kernel/deps.js';
import { spentToday } from '../kernel/spending.js';
import { type IdempotencyRef, recordRecoveryPoint } from '../kernel/idempotency.js';
import { tx } from '../kernel/tx.js';
import { asResult, UseCaseError } from '../kernel/use-case-error.js';
import { enqueuePayJob, submitPayment } from './place-order.js';

export interface ConfirmedOrder {
  readonly order: OrderRecord;
  readonly payment: PaymentRecord;
  /** The pay job this process now holds; run it next. Null when the order was already past confirmation. */
  readonly payJob: JobRecord | null;
}

/**
 * The person confirms a waiting order (and thereby its payment). Limits are checked again, since
 * spending may have grown or the policy changed since the order was placed. Confirming an order
 * that is already being paid or is paid is harmless and returns it as it is.
 */
export async function confirmOrder(
  deps: Deps,
  caller: Caller,
  orderId: string,
  options: { readonly paymentMethod?: string } = {},
  idempotency?: IdempotencyRef,
): Promise<Result<ConfirmedOrder>> {
  const now = deps.clock.now();
  return asResult(async () => {
    const peek = await deps.uow.read.orders.getWithPayment(caller.tenantId, orderId);
    const method = options.paymentMethod ?? peek?.payment.method ?? deps.settings.paymentMethod;
    // The gateway is chosen now, just before the first call, from the method the person confirmed.
    const route =
      peek === undefined
        ? undefined
        : deps.routeGateway({ amount: { amount: peek.order.amount, currency: peek.order.currency }, method });
    return tx(deps.uow, { actor: caller.actor, now, requestId: caller.requestId }, async (r, changes) => {
      const found = await r.orders.getWithPayment(caller.tenantId, orderId);
      // Another person's order does not exist for this caller (an operator may act for anyone).
      if (found === undefined || !canActOn(caller, found.order.userId)) {
        throw new UseCaseError('ORDER_NOT_FOUND', `no order ${orderId}`);
      }
      const { order, payment } = found;
      if (
        order.status === 'PAYMENT_PROCESSING' ||
        order.status === 'PAID' ||
        order.status === 'FULFILLING' ||
        order.status === 'COMPLETED'
      ) {
        return { order, payment, payJob: null };
      }
      if (order.status !== 'AWAITING_CONFIRMATION' && order.status !== 'AWAITING_PAYMENT') {
        throw new UseCaseError('ILLEGAL_TRANSITION', `an order in ${order.status} cannot be confirmed`, {
          from: order.status,
          event: 'confirm',
        });
      }
      // Today's spending of the order's person, across orders and recharges.
      const spent = await spentToday(r, deps, { ...caller, userId: order.userId }, now, order.currency);
      const limits = checkLimitsOnConfirm(deps.policy(), {
        total: { amount: order.amount, currency: order.currency },
        spentToday: spent - order.amount,
      });
      if (!limits.ok) throw new UseCaseError(limits.error.code, limits.error.message, limits.error.details);
      const confirmed = changes.moveOrder(order, [{ type: 'confirm' }], null);
      if (route !== undefined && !route.ok) {
        throw new UseCaseError(route.error.code, route.error.message, route.error.details);
      }
      const withMethod = { ...payment, method, ...(route?.ok === true ? { gateway: route.value } : {}) };
      const started = submitPayment(changes, withMethod);
      await changes.saveOrder(r, order, confirmed);
      await changes.savePayment(r, payment, started);
      const payJob = await enqueuePayJob(r, deps, started, now);
      await recordRecoveryPoint(r, caller.tenantId, idempotency, order.id);
      return { order: confirmed, payment: started, payJob };
    });
  });
}
