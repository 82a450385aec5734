import { checkLimitsOnConfirm } from '../domain/policy.js';
import type { Result } from '../domain/result.js';
import type { JobRecord, OrderRecord, PaymentRecord } from '../ports/records.js';
import { asResult, type Caller, type Deps, UseCaseError } from './context.js';
import { enqueuePayJob, type IdempotencyRef, submitPayment } from './place-order.js';
import { ChangeSet, startOfDay } from './state-changes.js';

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
    return deps.uow.run(async (r) => {
      const order = await r.orders.get(caller.tenantId, orderId);
      if (order === undefined) throw new UseCaseError('ORDER_NOT_FOUND', `no order ${orderId}`);
      const payment = await r.payments.get(caller.tenantId, order.paymentId);
      if (payment === undefined) throw new Error(`order ${orderId} has no payment`);
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
      const spent = await r.orders.sumCommittedSince(
        caller.tenantId,
        order.userId,
        startOfDay(now, deps.settings.dayOffsetMinutes),
        order.currency,
      );
      const limits = checkLimitsOnConfirm(deps.policy(), {
        total: { amount: order.amount, currency: order.currency },
        spentToday: spent - order.amount,
      });
      if (!limits.ok) throw new UseCaseError(limits.error.code, limits.error.message, limits.error.details);
      const cs = new ChangeSet({ actor: caller.actor, now, requestId: caller.requestId });
      const confirmed = cs.moveOrder(order, [{ type: 'confirm' }], null);
      if (route !== undefined && !route.ok)
        throw new UseCaseError(route.error.code, route.error.message, route.error.details);
      const withMethod = { ...payment, method, ...(route?.ok === true ? { gateway: route.value } : {}) };
      const started = submitPayment(cs, withMethod);
      await cs.saveOrder(r, order, confirmed);
      await cs.savePayment(r, payment, started);
      const payJob = await enqueuePayJob(r, deps, started, now);
      await cs.flush(r);
      if (idempotency !== undefined)
        await r.idempotency.setRecoveryPoint(caller.tenantId, idempotency.scope, idempotency.key, order.id);
      return { order: confirmed, payment: started, payJob };
    });
  });
}
