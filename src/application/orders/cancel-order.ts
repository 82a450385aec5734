import type { Result } from '../../domain/result.js';
import type { OrderRecord } from '../../ports/records.js';
import type { Caller } from '../kernel/caller.js';
import { canActOn } from '../kernel/ownership.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import { asResult, UseCaseError } from '../kernel/use-case-error.js';
import { cancelWaiting, closeWaitingTrade, waitsForPayer } from './waiting-trade.js';

/**
 * Cancel an order that still waits for the person, or whose payment waits for its payer (a QR
 * code not yet scanned). A waiting trade is closed at its gateway first (asked, the cancel
 * recorded on the payment, then closed), so it can never be paid afterwards; whoever hears of the
 * close first — this request or the order's pay job, a callback, a repair rule — ends the order
 * CANCELLED, so the person never gets ILLEGAL_TRANSITION for a close they asked for. A payer who
 * paid before the close wins (the order is settled as paid and the cancel refused); a gateway that
 * cannot be asked, or does not confirm the close, answers `TRADE_NOT_CLOSED` (see
 * `closeWaitingTrade` for what a retry, or the pay job, then does). A capture the gateway reports
 * after the cancel anyway is a late capture: flagged and given back, like any other. Cancelling a
 * cancelled order is harmless.
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
    const closed = waitsForPayer(peek)
      ? await closeWaitingTrade(deps, peek, { reason: 'ORDER_CANCELLED', note: reason }, caller.actor, caller.requestId)
      : null;
    return tx(
      deps.uow,
      { actor: caller.actor, now: deps.clock.now(), requestId: caller.requestId },
      async (r, changes) => {
        const found = await r.orders.getWithPayment(caller.tenantId, orderId);
        if (found === undefined) throw new UseCaseError('ORDER_NOT_FOUND', `no order ${orderId}`);
        const { order, payment } = found;
        // Already cancelled: by an earlier cancel, or by whoever committed this cancel's closed trade first.
        if (order.status === 'CANCELLED') return order;
        const waitingClosed = closed !== null && waitsForPayer(found) && payment.outTradeNo === closed;
        if (closed !== null && waitsForPayer(found) && !waitingClosed) {
          // A switch recorded earlier was carried through meanwhile: another trade now waits.
          throw new UseCaseError('TRADE_NOT_CLOSED', 'the payment moved on to another trade meanwhile: try again', {
            out_trade_no: payment.outTradeNo,
          });
        }
        if (order.status !== 'AWAITING_CONFIRMATION' && order.status !== 'AWAITING_PAYMENT' && !waitingClosed) {
          throw new UseCaseError('ILLEGAL_TRANSITION', `an order in ${order.status} cannot be cancelled`, {
            from: order.status,
            event: 'cancel',
          });
        }
        return (await cancelWaiting(r, changes, order, payment, reason)).order;
      },
      // The pay job (or a callback) may end this very close at the same moment: read again, and
      // find it CANCELLED, rather than answer CONCURRENT_MODIFICATION.
      { retryConflicts: 5 },
    );
  });
}
