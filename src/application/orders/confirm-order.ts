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
import { closeWaitingTrade, reopenWith, waitsForPayer } from './waiting-trade.js';

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
    // Another method for a payment whose trade waits for its payer: that trade is closed at its
    // gateway first, so the person can never pay twice (a payer who paid first wins).
    const switching =
      peek !== undefined &&
      canActOn(caller, peek.order.userId) &&
      waitsForPayer(peek) &&
      method !== peek.payment.method;
    let closed: string | null = null;
    if (switching) {
      if (route !== undefined && !route.ok)
        throw new UseCaseError(route.error.code, route.error.message, route.error.details);
      // The switch is recorded on the payment before its trade is closed: whoever hears of the
      // close first (this request, or the pay job, a callback, a repair rule) reopens the payment
      // with this method and gateway, so the order goes on with them either way.
      closed = await closeWaitingTrade(
        deps,
        peek,
        { reason: 'METHOD_CHANGED', method, gateway: route?.value ?? peek.payment.gateway },
        caller.actor,
        caller.requestId,
      );
    }
    return tx(
      deps.uow,
      { actor: caller.actor, now, requestId: caller.requestId },
      async (r, changes) => {
        const found = await r.orders.getWithPayment(caller.tenantId, orderId);
        // Another person's order does not exist for this caller (an operator may act for anyone).
        if (found === undefined || !canActOn(caller, found.order.userId)) {
          throw new UseCaseError('ORDER_NOT_FOUND', `no order ${orderId}`);
        }
        const { order, payment } = found;
        if (closed !== null && waitsForPayer(found) && payment.outTradeNo === closed && route?.ok === true) {
          const reopened = reopenWith(changes, payment, method, route.value);
          await changes.savePayment(r, payment, reopened);
          const payJob = await enqueuePayJob(r, deps, reopened, now);
          await recordRecoveryPoint(r, caller.tenantId, idempotency, order.id);
          return { order, payment: reopened, payJob };
        }
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
      },
      // A switch's closed trade may be reopened by the pay job (or a callback) at the same moment:
      // read again, and find the order going on with the new method.
      { retryConflicts: 5 },
    );
  });
}
