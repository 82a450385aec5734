import type { Result } from '../../domain/result.js';
import type { OrderRecord } from '../../ports/records.js';
import type { Caller } from '../kernel/caller.js';
import { canActOn } from '../kernel/ownership.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import { asResult, UseCaseError } from '../kernel/use-case-error.js';
import { closeWaitingTrade, waitsForPayer } from './waiting-trade.js';

/**
 * Cancel an order that still waits for the person, or whose payment waits for its payer (a QR
 * code not yet scanned). A waiting trade is closed at its gateway first (asked, then closed), so
 * it can never be paid afterwards; a payer who paid before the close wins (the order is settled
 * as paid and the cancel refused); a gateway that cannot be asked leaves the order as it was
 * (`TRADE_NOT_CLOSED`). A capture the gateway reports after the cancel anyway is a late capture:
 * flagged and given back, like any other. Cancelling a cancelled order is harmless.
 */
export async function cancelOrder(
  deps: Deps,
  caller: Caller,
  orderId: string,
  reason: string,
): Promise<Result<OrderRecord>> {
  return asResult(async () => {
    const peek = await deps.uow.read.orders.getWithPayment(caller.tenantId, orderId);
    if (peek === undefined || !canActOn(caller, peek.order.userId)) {
      throw new UseCaseError('ORDER_NOT_FOUND', `no order ${orderId}`);
    }
    // The trade this cancel closed (null: nothing was waiting at a gateway).
    const closed = waitsForPayer(peek) ? await closeWaitingTrade(deps, peek, caller.requestId) : null;
    return tx(
      deps.uow,
      { actor: caller.actor, now: deps.clock.now(), requestId: caller.requestId },
      async (r, changes) => {
        const found = await r.orders.getWithPayment(caller.tenantId, orderId);
        if (found === undefined) throw new UseCaseError('ORDER_NOT_FOUND', `no order ${orderId}`);
        const { order, payment } = found;
        if (order.status === 'CANCELLED') return order;
        const waitingClosed =
          order.status === 'PAYMENT_PROCESSING' &&
          payment.status === 'PENDING' &&
          closed !== null &&
          payment.outTradeNo === closed;
        if (order.status !== 'AWAITING_CONFIRMATION' && order.status !== 'AWAITING_PAYMENT' && !waitingClosed) {
          throw new UseCaseError('ILLEGAL_TRANSITION', `an order in ${order.status} cannot be cancelled`, {
            from: order.status,
            event: 'cancel',
          });
        }
        const cancelled = changes.moveOrder(order, [{ type: 'cancel', reason }], reason);
        await changes.saveOrder(r, order, cancelled);
        if (payment.status === 'CREATED' || payment.status === 'PENDING')
          await changes.savePayment(r, payment, changes.movePayment(payment, { type: 'cancel' }));
        return cancelled;
      },
    );
  });
}
