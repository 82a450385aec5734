import { keys } from '../../domain/keys.js';
import type { GatewayPaymentResult } from '../../ports/payment-gateway.js';
import type { OrderRecord, PaymentClosing, PaymentRecord } from '../../ports/records.js';
import type { Repositories } from '../../ports/repositories.js';
import { amountMismatch, closeUnpaid } from '../jobs/gateway-step.js';
import { JOB, PRIORITY } from '../jobs/job-kinds.js';
import { enqueueJob } from '../jobs/job-steps.js';
import { SYSTEM } from '../kernel/caller.js';
import type { ChangeSet } from '../kernel/change-set.js';
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
 * method): asked first; then, still unpaid, WHY it is closed (`closing`) is recorded on the
 * payment in its own transaction, and only then is it closed, outside any transaction. Answers
 * the out_trade_no closed. Whoever commits the closed trade from then on (this request, or the
 * order's pay job, a callback, the repair rules, reconciliation, if they hear of it first) ends the
 * order as the person asked (`endClosedTrade`), never as a failed payment.
 *
 * A payer who paid first wins: the payment is settled as paid (the order goes on to be made) and
 * the caller is refused with ILLEGAL_TRANSITION. A gateway that cannot be asked leaves everything
 * as it was: TRADE_NOT_CLOSED. A gateway that fails after the decision was recorded (the close
 * errs or times out, or this process dies) leaves it recorded: the decision stands and is carried
 * through — the person's retry closes and ends it at once; otherwise the order's pay job, which
 * from then on closes instead of charging, ends it as soon as the gateway answers (and, should the
 * pay job have given up, the repair rule `settle-pending-payment` closes it at `expires_at` and
 * ends it the same way). Nothing is left waiting on a request that is gone. We carry the decision
 * through rather than forget it because a close we did not hear back from may have taken effect:
 * forgotten, the trade would end FAILED on TRADE_CLOSED and the person's retry would be refused.
 * A later request overwrites it while the trade still waits (the person's latest word counts).
 */
export async function closeWaitingTrade(
  deps: Deps,
  found: OrderWithPayment,
  closing: PaymentClosing,
  actor: string,
  requestId: string | null,
): Promise<string> {
  const { payment } = found;
  const outTradeNo = payment.outTradeNo ?? '';
  const gateway = deps.gateways.get(payment.gateway);
  if (gateway === undefined) {
    throw new UseCaseError('TRADE_NOT_CLOSED', `gateway ${payment.gateway} is not configured: the trade stays open`);
  }
  // Whether the decision got recorded between the question and the close (set inside the close).
  const decided: { recorded: 'not_asked' | 'recorded' | 'moved' } = { recorded: 'not_asked' };
  let seen: GatewayPaymentResult;
  try {
    seen = await closeUnpaid(gateway, outTradeNo, async () => {
      decided.recorded = (await recordClosing(deps, found, closing, actor, requestId)) ? 'recorded' : 'moved';
      return decided.recorded === 'recorded';
    });
  } catch (e) {
    deps.logger.warn({ payment_id: payment.id, out_trade_no: outTradeNo, err: e }, 'could not close a waiting trade');
    throw new UseCaseError(
      'TRADE_NOT_CLOSED',
      decided.recorded === 'recorded'
        ? 'the gateway did not confirm the close of the waiting trade: the order is as it was and the ' +
            'request is recorded; try again (the order is ended as asked once the gateway closes the trade)'
        : 'the gateway could not be asked to close the waiting trade: nothing changed, try again',
      { out_trade_no: outTradeNo },
    );
  }
  if (decided.recorded === 'moved') {
    throw new UseCaseError('TRADE_NOT_CLOSED', 'the payment changed while its trade was being closed: try again', {
      out_trade_no: outTradeNo,
    });
  }
  if (seen.status === 'succeeded') {
    await settlePaid(deps, found, seen, requestId);
    // Refused as the request that asked: a cancel, or a confirm with another method.
    const switching = closing.reason === 'METHOD_CHANGED';
    throw new UseCaseError(
      'ILLEGAL_TRANSITION',
      switching
        ? 'the payer had already paid with the first method: the order goes on paid that way'
        : 'the payer had already paid: the order goes on; refund it instead',
      { from: 'PAID', event: switching ? 'confirm' : 'cancel', out_trade_no: outTradeNo },
    );
  }
  if (seen.status !== 'closed' && seen.status !== 'failed') {
    throw new UseCaseError('TRADE_NOT_CLOSED', `the gateway says the trade is still ${seen.status}: try again`, {
      out_trade_no: outTradeNo,
    });
  }
  // Closed before this request asked (an earlier run of it, or of another, closed it; the gateway
  // ended it): the person's latest word is what the other paths carry through, if they commit first.
  if (decided.recorded === 'not_asked' && !sameClosing(payment.closing, closing)) {
    await recordClosing(deps, found, closing, actor, requestId);
  }
  return outTradeNo;
}

/**
 * Record on the payment why its waiting trade is about to be closed, durably, before the close:
 * one transaction, audited (`payment.closing`), written version-checked over the payment as it is
 * now, so a commit from a copy read before it (the pay job's) is refused and read again. True when
 * recorded (or already so); false when the payment no longer waits on that trade (paid, ended, or
 * another trade opened) — then nothing may be closed.
 */
async function recordClosing(
  deps: Pick<Deps, 'uow' | 'clock'>,
  { order, payment }: OrderWithPayment,
  closing: PaymentClosing,
  actor: string,
  requestId: string | null,
): Promise<boolean> {
  return tx(
    deps.uow,
    { actor, now: deps.clock.now(), requestId },
    async (r, changes) => {
      const fresh = await r.orders.getWithPayment(order.tenantId, order.id);
      if (fresh === undefined || !waitsForPayer(fresh) || fresh.payment.outTradeNo !== payment.outTradeNo) return false;
      const prev = fresh.payment;
      if (sameClosing(prev.closing, closing)) return true;
      const next: PaymentRecord = {
        ...prev,
        closing,
        updatedBy: actor,
        updatedAt: changes.meta.now,
        version: prev.version + 1,
      };
      changes.audit(
        'payment',
        prev.tenantId,
        prev.id,
        'payment.closing',
        { version: prev.version, ...(prev.closing === undefined ? {} : { close_reason: prev.closing.reason }) },
        { out_trade_no: prev.outTradeNo, ...closingShown(closing), version: next.version },
      );
      await changes.savePayment(r, prev, next);
      return true;
    },
    // The pay job may keep what the payer needs on the payment meanwhile: read again and record.
    { retryConflicts: 5 },
  );
}

function sameClosing(a: PaymentClosing | undefined, b: PaymentClosing): boolean {
  if (a === undefined || a.reason !== b.reason) return false;
  return a.reason === 'ORDER_CANCELLED'
    ? b.reason === 'ORDER_CANCELLED' && a.note === b.note
    : b.reason === 'METHOD_CHANGED' && a.method === b.method && a.gateway === b.gateway;
}

function closingShown(c: PaymentClosing): Record<string, string> {
  return c.reason === 'ORDER_CANCELLED'
    ? { close_reason: c.reason }
    : { close_reason: c.reason, method: c.method, gateway: c.gateway };
}

/** The order and its payment as a closed trade's ending left them; `reopened` when a new trade is to be paid. */
export interface ClosedTradeEnding {
  readonly order: OrderRecord;
  readonly payment: PaymentRecord;
  readonly reopened: boolean;
}

/**
 * End, in the caller's transaction, an order whose waiting trade was closed by a decision recorded
 * on its payment (`closing`): the one ending every path commits, so the outcome is the same
 * whichever commits first. A cancel: the order CANCELLED with the cancel's note, the payment
 * CANCELLED, nothing booked. A switch: the payment under a new attempt with the chosen method and
 * gateway (`reopened`; the caller queues its pay job). Version-checked writes.
 */
export async function endClosedTrade(
  r: Repositories,
  changes: ChangeSet,
  order: OrderRecord,
  payment: PaymentRecord & { readonly closing: PaymentClosing },
): Promise<ClosedTradeEnding> {
  const { closing } = payment;
  if (closing.reason === 'METHOD_CHANGED') {
    const reopened = reopenWith(changes, payment, closing.method, closing.gateway);
    await changes.savePayment(r, payment, reopened);
    return { order, payment: reopened, reopened: true };
  }
  return { ...(await cancelWaiting(r, changes, order, payment, closing.note)), reopened: false };
}

/** Whether the payment's trade was closed by a decision recorded on it: `endClosedTrade` ends it. */
export function closedByDecision(
  payment: PaymentRecord,
): payment is PaymentRecord & { readonly closing: PaymentClosing } {
  return payment.closing !== undefined && payment.status === 'PENDING';
}

/**
 * `endClosedTrade` from a path that holds no pay job of the order (a callback, a repair rule,
 * reconciliation): a reopened payment's pay job is queued for any worker.
 */
export async function endClosedTradeAndQueue(
  r: Repositories,
  deps: Deps,
  changes: ChangeSet,
  order: OrderRecord,
  payment: PaymentRecord & { readonly closing: PaymentClosing },
): Promise<ClosedTradeEnding> {
  const end = await endClosedTrade(r, changes, order, payment);
  if (end.reopened) {
    await enqueueJob(
      r,
      deps,
      { tenantId: payment.tenantId, kind: JOB.payOrder, resourceId: payment.orderId, priority: PRIORITY.pay },
      changes.meta.now,
    );
  }
  return end;
}

/** The order CANCELLED with `note`, and its payment, not yet paid, with it. */
export async function cancelWaiting(
  r: Repositories,
  changes: ChangeSet,
  order: OrderRecord,
  payment: PaymentRecord,
  note: string,
): Promise<{ order: OrderRecord; payment: PaymentRecord }> {
  const cancelled = changes.moveOrder(order, [{ type: 'cancel', reason: note }], note);
  await changes.saveOrder(r, order, cancelled);
  if (payment.status !== 'CREATED' && payment.status !== 'PENDING') return { order: cancelled, payment };
  const ended = changes.movePayment(payment, { type: 'cancel' });
  await changes.savePayment(r, payment, ended);
  return { order: cancelled, payment: ended };
}

/**
 * The payment, still PENDING, under a new attempt (a new out_trade_no) with the method and
 * gateway the person chose now; its closed trade (and the decision that closed it) is left
 * behind, audited.
 */
export function reopenWith(changes: ChangeSet, payment: PaymentRecord, method: string, gateway: string): PaymentRecord {
  const attempt = payment.attempt + 1;
  const { actor, now } = changes.meta;
  const { closing: _closed, ...rest } = payment;
  const next: PaymentRecord = {
    ...rest,
    method,
    gateway,
    attempt,
    outTradeNo: keys.outTradeNo(payment.id, attempt),
    gatewayTradeNo: null,
    qrCode: null,
    payUrl: null,
    payExpiresAt: null,
    updatedBy: actor,
    updatedAt: now,
    version: payment.version + 1,
  };
  changes.audit(
    'payment',
    payment.tenantId,
    payment.id,
    'payment.method_changed',
    { method: payment.method, gateway: payment.gateway, out_trade_no: payment.outTradeNo, version: payment.version },
    { method, gateway, out_trade_no: next.outTradeNo, version: next.version },
  );
  return next;
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
