import { flagIds } from '../../domain/keys.js';
import type { ErrorCode } from '../../domain/result.js';
import type { GatewayNotification, NotificationAck, RawNotification } from '../../ports/payment-gateway.js';
import type { PaymentRecord, TopUpRecord } from '../../ports/records.js';
import type { Repositories } from '../../ports/repositories.js';
import { JOB } from '../jobs/job-kinds.js';
import { SYSTEM } from '../kernel/caller.js';
import type { ChangeSet } from '../kernel/change-set.js';
import type { Deps } from '../kernel/deps.js';
import { raiseFlagOnce } from '../kernel/review-flags.js';
import { tx } from '../kernel/tx.js';
import {
  closedByDecision,
  endClosedTradeAndQueue,
  markPaidAndFulfil,
  markPaymentFailed,
} from '../orders/orders-api.js';
import { loadRefund, settleRefund } from '../refunds/refunds-api.js';
import { flagLateCapture } from './late-capture.js';

/** What a callback did, for the transport to answer and for tests to check. */
export type CallbackResult =
  | { readonly accepted: true; readonly effect: CallbackEffect; readonly ack: NotificationAck }
  | {
      readonly accepted: false;
      readonly code: ErrorCode;
      readonly message: string;
      readonly ack: NotificationAck | null;
    };

/**
 * applied — moved a state; duplicate — this event was applied before; no_change — already in the
 * state the callback reports, or the callback is older news (never a move backwards); flagged —
 * contradicts what we recorded, handed to a person and to a query; queried — news of a wallet
 * top-up's (or a recharge's own) charge: its pay job asks the gateway now instead of at its next
 * turn, and settles it from that answer.
 */
export type CallbackEffect = 'applied' | 'duplicate' | 'no_change' | 'flagged' | 'queried';

/** Thrown inside the transaction to roll everything back and refuse. */
class Refusal extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Concurrent writers (the pay job, another callback) committed first: decide again on fresh state. */
const CONFLICT_RETRIES = 5;

/**
 * A gateway's asynchronous notification: verify its signature; refuse it when stale (outside
 * the window either way — skew inside it is tolerated) or when its nonce was seen (a replay);
 * apply it once. The event is CLAIMED first — its id inserted, in the same transaction as the
 * state change it causes — and the rest branches on whether the database took it: of any number
 * of concurrent deliveries (Alipay re-sends identical notifications; several instances may
 * receive them) exactly one applies and the others are acknowledged as duplicates. A late or
 * out-of-order notification never moves a state backwards: a success after we recorded a failure
 * is flagged (once) and settled by querying the gateway and giving the money back; an amount
 * that differs from ours is refused and flagged.
 */
export async function handleCallback(deps: Deps, gatewayName: string, raw: RawNotification): Promise<CallbackResult> {
  const gateway = deps.gateways.get(gatewayName);
  if (gateway === undefined) {
    return { accepted: false, code: 'GATEWAY_NOT_CONFIGURED', message: `no gateway named ${gatewayName}`, ack: null };
  }
  const verdict = await gateway.verifyNotification(raw);
  if (!verdict.ok) {
    const code: ErrorCode =
      verdict.code === 'MALFORMED_NOTIFICATION' ? 'CALLBACK_MALFORMED' : 'CALLBACK_SIGNATURE_INVALID';
    deps.logger.warn({ gateway: gatewayName, code: verdict.code }, `callback refused: ${verdict.message}`);
    return { accepted: false, code, message: verdict.message, ack: gateway.acknowledge(false) };
  }
  const n = verdict.notification;
  const refuse = (code: ErrorCode, message: string): CallbackResult => ({
    accepted: false,
    code,
    message,
    ack: gateway.acknowledge(false),
  });
  const accept = (effect: CallbackEffect): CallbackResult => ({
    accepted: true,
    effect,
    ack: gateway.acknowledge(true),
  });
  // A genuine re-send of an event we already applied is answered as success whatever its age:
  // gateways retry with the first send's time, and the answer they need is "got it". (A cheap
  // read that spares the common case a transaction; the claim below is what decides.)
  if (await deps.uow.read.callbacks.seenEvent(gatewayName, n.eventId)) return accept('duplicate');
  const now = deps.clock.now();
  const windowMs = deps.settings.callbackWindowMs;
  if (n.timestamp !== undefined && Math.abs(now - n.timestamp) > windowMs) {
    deps.logger.warn(
      { gateway: gatewayName, event_id: n.eventId, skew_ms: now - n.timestamp },
      'callback refused: outside the timestamp window',
    );
    return refuse('CALLBACK_STALE', `the notification's timestamp is more than ${windowMs / 1000} s from now`);
  }

  const payment = await deps.uow.read.payments.getByOutTradeNo(n.outTradeNo);
  const topUp =
    payment === undefined && n.kind === 'payment'
      ? await deps.uow.read.topUps.getByOutTradeNo(n.outTradeNo)
      : undefined;
  if (topUp !== undefined && topUp.gateway === gatewayName) {
    try {
      return accept(await queryTopUpNow(deps, gatewayName, n, topUp, now));
    } catch (e) {
      if (e instanceof Refusal) return refuse(e.code, e.message);
      throw e;
    }
  }
  if (payment === undefined) {
    deps.logger.warn(
      { gateway: gatewayName, event_id: n.eventId, out_trade_no: n.outTradeNo },
      'callback refused: unknown payment',
    );
    return refuse('CALLBACK_UNKNOWN_PAYMENT', `no payment was sent under out_trade_no ${n.outTradeNo}`);
  }
  if (payment.gateway !== gatewayName) {
    return refuse('CALLBACK_UNKNOWN_PAYMENT', `payment ${n.outTradeNo} was not sent through ${gatewayName}`);
  }

  const meta = { actor: SYSTEM.gateway(gatewayName), now, requestId: null };
  try {
    const effect = await tx(
      deps.uow,
      meta,
      async (r, changes): Promise<CallbackEffect> => {
        const claimed = await r.callbacks.recordEvent({
          gateway: gatewayName,
          eventId: n.eventId,
          tenantId: payment.tenantId,
          resourceId: payment.id,
          outcome: `${n.kind}:${n.status}`,
          at: now,
        });
        if (!claimed) return 'duplicate';
        if (n.nonce !== undefined && !(await r.callbacks.useNonce(gatewayName, n.nonce, now + 2 * windowMs))) {
          throw new Refusal('CALLBACK_REPLAYED', 'this nonce was already used: a replayed notification');
        }
        return n.kind === 'payment' ? applyPayment(r, deps, changes, n, payment) : applyRefund(r, deps, changes, n);
      },
      { retryConflicts: CONFLICT_RETRIES },
    );
    deps.logger.info(
      { gateway: gatewayName, event_id: n.eventId, kind: n.kind, out_trade_no: n.outTradeNo, effect },
      'callback accepted',
    );
    return accept(effect);
  } catch (e) {
    if (e instanceof Refusal) {
      deps.logger.warn({ gateway: gatewayName, event_id: n.eventId, code: e.code }, `callback refused: ${e.message}`);
      if (e.code === 'CALLBACK_AMOUNT_MISMATCH') await flagAmountMismatch(deps, payment, n, now);
      return refuse(e.code, e.message);
    }
    throw e;
  }
}

async function applyPayment(
  r: Repositories,
  deps: Deps,
  changes: ChangeSet,
  n: Extract<GatewayNotification, { kind: 'payment' }>,
  stale: PaymentRecord,
): Promise<CallbackEffect> {
  const found = await r.orders.getWithPayment(stale.tenantId, stale.orderId);
  if (found === undefined) throw new Refusal('CALLBACK_UNKNOWN_PAYMENT', `payment ${stale.id} has no order`);
  const { order, payment } = found;
  if (n.amount !== undefined && (n.amount.amount !== payment.amount || n.amount.currency !== payment.currency)) {
    throw new Refusal(
      'CALLBACK_AMOUNT_MISMATCH',
      `the notification says ${n.amount.amount} ${n.amount.currency}; ` +
        `the payment is ${payment.amount} ${payment.currency}`,
    );
  }
  switch (n.status) {
    case 'pending':
      return 'no_change';
    case 'succeeded':
      if (payment.status === 'PENDING' && order.status === 'PAYMENT_PROCESSING') {
        await markPaidAndFulfil(r, deps, changes, order, payment, n.gatewayTradeNo ?? null, n.paidAt);
        return 'applied';
      }
      if (payment.status === 'PAID' || payment.status === 'PARTIALLY_REFUNDED' || payment.status === 'REFUNDED') {
        return 'no_change';
      }
      // We recorded a failure or a cancel, the gateway says the money was taken: never move back.
      await flagLateCapture(r, changes, deps, payment, { order_id: order.id });
      return 'flagged';
    case 'failed':
    case 'closed': {
      if (payment.status !== 'PENDING' || order.status !== 'PAYMENT_PROCESSING') {
        if (payment.status === 'PAID' || payment.status === 'PARTIALLY_REFUNDED') {
          // Older news arriving late: the success we hold came after it. Recorded, not applied.
          changes.audit(
            'payment',
            payment.tenantId,
            payment.id,
            'callback.stale_ignored',
            { status: payment.status },
            { gateway_says: n.status },
          );
        }
        return 'no_change';
      }
      // News of a trade the payment has since left behind (a switch opened the next one).
      if (payment.outTradeNo !== n.outTradeNo) return 'no_change';
      if (closedByDecision(payment)) {
        // The person's cancel or switch closed it: ended as their request would end it.
        await endClosedTradeAndQueue(r, deps, changes, order, payment);
        return 'applied';
      }
      const code = n.failureCode ?? (n.status === 'closed' ? 'TRADE_CLOSED' : 'DECLINED');
      await markPaymentFailed(r, changes, order, payment, code);
      return 'applied';
    }
    default: {
      const never: never = n.status;
      throw new Error(`unexpected status ${String(never)}`);
    }
  }
}

async function applyRefund(
  r: Repositories,
  deps: Deps,
  changes: ChangeSet,
  n: Extract<GatewayNotification, { kind: 'refund' }>,
): Promise<CallbackEffect> {
  const refund = await r.refunds.getByOutRefundNo(n.outRefundNo);
  if (refund === undefined) {
    throw new Refusal('CALLBACK_UNKNOWN_PAYMENT', `no refund was sent under out_refund_no ${n.outRefundNo}`);
  }
  if (n.amount !== undefined && (n.amount.amount !== refund.amount || n.amount.currency !== refund.currency)) {
    throw new Refusal(
      'CALLBACK_AMOUNT_MISMATCH',
      `the notification says ${n.amount.amount} ${n.amount.currency}; ` +
        `the refund is ${refund.amount} ${refund.currency}`,
    );
  }
  if (n.status === 'pending') return 'no_change';
  const x = await loadRefund(r, refund);
  if (x === undefined) throw new Refusal('CALLBACK_UNKNOWN_PAYMENT', `refund ${refund.id} has no order`);
  const outcome = {
    status: n.status,
    ...(n.failureCode === undefined ? {} : { failureCode: n.failureCode }),
    ...(n.gatewayRefundNo === undefined ? {} : { gatewayRefundNo: n.gatewayRefundNo }),
    ...(n.refundedAt === undefined ? {} : { refundedAt: n.refundedAt }),
  };
  const settled = await settleRefund(r, deps, changes, x, outcome);
  if (settled === 'applied') return 'applied';
  return (x.refund.status === 'SUCCEEDED') === (n.status === 'succeeded') ? 'no_change' : 'flagged';
}

/** The refusal itself rolled back; the finding is written on its own (once per event) so a person sees it. */
async function flagAmountMismatch(
  deps: Deps,
  payment: PaymentRecord,
  n: GatewayNotification,
  now: number,
): Promise<void> {
  await tx(deps.uow, { actor: SYSTEM.gateway(payment.gateway), now, requestId: null }, (r, changes) =>
    raiseFlagOnce(
      r,
      changes,
      flagIds.once(`CALLBACK_AMOUNT_MISMATCH_${payment.gateway}_${n.eventId}`),
      { tenantId: payment.tenantId, type: 'payment', id: payment.id },
      'CALLBACK_AMOUNT_MISMATCH',
      {
        event_id: n.eventId,
        kind: n.kind,
        notified_amount: n.amount?.amount ?? null,
        notified_currency: n.amount?.currency ?? null,
        payment_amount: payment.amount,
        payment_currency: payment.currency,
      },
    ),
  );
}

/**
 * A notification about a wallet top-up's charge (or a recharge's own payment, which is a top-up):
 * what settles a top-up is its pay job, which queries the gateway — the notification is news that
 * the answer may have changed, not the answer. It is claimed once like any event (a re-send is a
 * duplicate, a reused nonce a replay) and brings the job's next query forward to now.
 */
async function queryTopUpNow(
  deps: Deps,
  gatewayName: string,
  n: GatewayNotification,
  topUp: TopUpRecord,
  now: number,
): Promise<CallbackEffect> {
  const windowMs = deps.settings.callbackWindowMs;
  return tx(deps.uow, { actor: SYSTEM.gateway(gatewayName), now, requestId: null }, async (r) => {
    const claimed = await r.callbacks.recordEvent({
      gateway: gatewayName,
      eventId: n.eventId,
      tenantId: topUp.tenantId,
      resourceId: topUp.id,
      outcome: `${n.kind}:${n.status}`,
      at: now,
    });
    if (!claimed) return 'duplicate';
    if (n.nonce !== undefined && !(await r.callbacks.useNonce(gatewayName, n.nonce, now + 2 * windowMs))) {
      throw new Refusal('CALLBACK_REPLAYED', 'this nonce was already used: a replayed notification');
    }
    const kind = topUp.rechargeId === undefined ? JOB.payTopUp : JOB.payRecharge;
    return (await r.jobs.wake(kind, topUp.id, now)) ? 'queried' : 'no_change';
  });
}
