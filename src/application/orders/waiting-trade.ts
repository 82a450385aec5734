import type { GatewayPaymentResult } from '../../ports/payment-gateway.js';
import type { OrderRecord, PaymentRecord } from '../../ports/records.js';
import { amountMismatch, closeUnpaid } from '../jobs/gateway-step.js';
import { SYSTEM } from '../kernel/caller.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import { UseCaseError } from '../kernel/use-case-error.js';
import { markPaidAndFulfil } from './payment-outcome.js';

interface OrderWithPayment {
  readonly order: OrderRecord;
  readonly payment: PaymentRecord;
}

/** Whether the order's payment has a trade open at its gateway that its payer has not paid yet. */
export function waitsForPayer({ order, payment }: OrderWithPayment): boolean {
  return order.status === 'PAYMENT_PROCESSING' && payment.status === 'PENDING' && payment.outTradeNo !== null;
}

/**
 * Close the payment's waiting trade at its gateway before anything replaces it (a cancel, another
 * method): asked first, then closed, outside any transaction. Answers the out_trade_no closed.
 * A payer who paid first wins: the payment is settled as paid (the order goes on to be made) and
 * the caller is refused with ILLEGAL_TRANSITION. A gateway that cannot be asked, or will not
 * close, leaves everything as it was: TRADE_NOT_CLOSED, and the person may try again.
 */
export async function closeWaitingTrade(
  deps: Deps,
  found: OrderWithPayment,
  requestId: string | null,
): Promise<string> {
  const { payment } = found;
  const outTradeNo = payment.outTradeNo ?? '';
  const gateway = deps.gateways.get(payment.gateway);
  if (gateway === undefined) {
    throw new UseCaseError('TRADE_NOT_CLOSED', `gateway ${payment.gateway} is not configured: the trade stays open`);
  }
  let seen: GatewayPaymentResult;
  try {
    seen = await closeUnpaid(gateway, outTradeNo);
  } catch (e) {
    deps.logger.warn({ payment_id: payment.id, out_trade_no: outTradeNo, err: e }, 'could not close a waiting trade');
    throw new UseCaseError(
      'TRADE_NOT_CLOSED',
      'the gateway could not be asked to close the waiting trade: nothing changed, try again',
      { out_trade_no: outTradeNo },
    );
  }
  if (seen.status === 'succeeded') {
    await settlePaid(deps, found, seen, requestId);
    throw new UseCaseError('ILLEGAL_TRANSITION', 'the payer had already paid: the order goes on; refund it instead', {
      from: 'PAID',
      event: 'cancel',
      out_trade_no: outTradeNo,
    });
  }
  if (seen.status !== 'closed' && seen.status !== 'failed') {
    throw new UseCaseError('TRADE_NOT_CLOSED', `the gateway says the trade is still ${seen.status}: try again`, {
      out_trade_no: outTradeNo,
    });
  }
  return outTradeNo;
}

/** The gateway says the payer paid: book it as a callback would, unless something else already did. */
async function settlePaid(
  deps: Deps,
  { order }: OrderWithPayment,
  seen: GatewayPaymentResult,
  requestId: string | null,
): Promise<void> {
  await tx(deps.uow, { actor: SYSTEM.worker, now: deps.clock.now(), requestId }, async (r, changes) => {
    const fresh = await r.orders.getWithPayment(order.tenantId, order.id);
    if (fresh === undefined || !waitsForPayer(fresh) || fresh.payment.outTradeNo !== seen.outTradeNo) return;
    // A capture of another amount is never booked: the pay job and the rules hand it to a person.
    if (amountMismatch(seen, fresh.payment) !== undefined) return;
    await markPaidAndFulfil(r, deps, changes, fresh.order, fresh.payment, seen.gatewayTradeNo ?? null, seen.paidAt);
  });
}
