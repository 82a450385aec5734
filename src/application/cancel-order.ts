import type { Result } from '../domain/result.js';
import type { OrderRecord } from '../ports/records.js';
import { asResult, type Caller, type Deps, UseCaseError } from './context.js';
import { ChangeSet } from './state-changes.js';

/** Cancel an order that still waits for the person. Cancelling a cancelled order is harmless. */
export async function cancelOrder(
  deps: Deps,
  caller: Caller,
  orderId: string,
  reason: string,
): Promise<Result<OrderRecord>> {
  const now = deps.clock.now();
  return asResult(() =>
    deps.uow.run(async (r) => {
      const order = await r.orders.get(caller.tenantId, orderId);
      if (order === undefined) throw new UseCaseError('ORDER_NOT_FOUND', `no order ${orderId}`);
      if (order.status === 'CANCELLED') return order;
      if (order.status !== 'AWAITING_CONFIRMATION' && order.status !== 'AWAITING_PAYMENT') {
        throw new UseCaseError('ILLEGAL_TRANSITION', `an order in ${order.status} cannot be cancelled`, {
          from: order.status,
          event: 'cancel',
        });
      }
      const cs = new ChangeSet({ actor: caller.actor, now, requestId: caller.requestId });
      const cancelled = cs.moveOrder(order, [{ type: 'cancel', reason }], reason);
      await cs.saveOrder(r, order, cancelled);
      const payment = await r.payments.get(caller.tenantId, order.paymentId);
      if (payment !== undefined && payment.status === 'CREATED')
        await cs.savePayment(r, payment, cs.movePayment(payment, { type: 'cancel' }));
      await cs.flush(r);
      return cancelled;
    }),
  );
}
