import type { Result } from '../../domain/result.js';
import type { OrderRecord } from '../../ports/records.js';
import type { Caller } from '../kernel/caller.js';
import { canActOn } from '../kernel/ownership.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import { asResult, UseCaseError } from '../kernel/use-case-error.js';

/** Cancel an order that still waits for the person. Cancelling a cancelled order is harmless. */
export async function cancelOrder(
  deps: Deps,
  caller: Caller,
  orderId: string,
  reason: string,
): Promise<Result<OrderRecord>> {
  return asResult(() =>
    tx(deps.uow, { actor: caller.actor, now: deps.clock.now(), requestId: caller.requestId }, async (r, changes) => {
      const found = await r.orders.getWithPayment(caller.tenantId, orderId);
      if (found === undefined || !canActOn(caller, found.order.userId)) {
        throw new UseCaseError('ORDER_NOT_FOUND', `no order ${orderId}`);
      }
      const { order, payment } = found;
      if (order.status === 'CANCELLED') return order;
      if (order.status !== 'AWAITING_CONFIRMATION' && order.status !== 'AWAITING_PAYMENT') {
        throw new UseCaseError('ILLEGAL_TRANSITION', `an order in ${order.status} cannot be cancelled`, {
          from: order.status,
          event: 'cancel',
        });
      }
      const cancelled = changes.moveOrder(order, [{ type: 'cancel', reason }], reason);
      await changes.saveOrder(r, order, cancelled);
      if (payment.status === 'CREATED')
        await changes.savePayment(r, payment, changes.movePayment(payment, { type: 'cancel' }));
      return cancelled;
    }),
  );
}
