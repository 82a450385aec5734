import { journalIds } from '../keys.js';
import type { Currency } from '../money.js';
import { account, type Posting, transfer } from './journal.js';

/**
 * The ONLY place that decides which accounts a business event moves. Each function names one
 * event and returns its journal (id from `journalIds`, so an event is booked at most once); the
 * use cases never pick accounts themselves. `completeness.ts` says which of these journals each
 * resource must have, so a missing journal is found, not only an unbalanced one.
 */
export interface JournalSpec {
  readonly id: string;
  readonly tenantId: string;
  /** e.g. `payment.captured`, `refund.succeeded`, `recharge.reserved` */
  readonly kind: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly currency: Currency;
  readonly postings: readonly Posting[];
}

interface Money {
  readonly tenantId: string;
  readonly amount: number;
  readonly currency: Currency;
}

type PaymentLike = Money & { readonly id: string; readonly gateway: string };
type RefundLike = Money & { readonly id: string };
type TopUpLike = Money & { readonly id: string; readonly gateway: string; readonly userId: string };
type RechargeLike = Money & { readonly id: string; readonly userId: string };

const spec = (
  id: string,
  kind: string,
  resource: { readonly type: string; readonly id: string },
  m: Money,
  debit: string,
  credit: string,
): JournalSpec => ({
  id,
  tenantId: m.tenantId,
  kind,
  resourceType: resource.type,
  resourceId: resource.id,
  currency: m.currency,
  postings: transfer(debit, credit, m.amount),
});

export const postings = {
  /** A customer's payment captured by its gateway: the gateway holds it for us, earned as sales. */
  paymentCaptured: (p: PaymentLike): JournalSpec =>
    spec(
      journalIds.paymentCaptured(p.id),
      'payment.captured',
      { type: 'payment', id: p.id },
      p,
      account.gateway(p.gateway),
      account.sales(p.tenantId),
    ),

  /** Money given back through the payment's gateway: the reverse of a capture, for `refund.amount`. */
  refundSucceeded: (refund: RefundLike, gateway: string): JournalSpec =>
    spec(
      journalIds.refundSucceeded(refund.id),
      'refund.succeeded',
      { type: 'refund', id: refund.id },
      refund,
      account.sales(refund.tenantId),
      account.gateway(gateway),
    ),

  /** A capture for a payment we had failed: held in suspense, never earned. */
  lateCapture: (p: PaymentLike): JournalSpec =>
    spec(
      journalIds.lateCapture(p.id),
      'payment.late_capture',
      { type: 'payment', id: p.id },
      p,
      account.gateway(p.gateway),
      account.suspense(p.tenantId),
    ),

  /** That late capture given back: suspense empties. */
  lateCaptureRefunded: (p: PaymentLike): JournalSpec =>
    spec(
      journalIds.lateCaptureRefunded(p.id),
      'refund.late_capture',
      { type: 'payment', id: p.id },
      p,
      account.suspense(p.tenantId),
      account.gateway(p.gateway),
    ),

  /** A wallet top-up captured: the user's prepaid balance (what we owe them) grows. */
  walletToppedUp: (t: TopUpLike): JournalSpec =>
    spec(
      journalIds.topUpCaptured(t.id),
      'wallet.top_up',
      { type: 'top_up', id: t.id },
      t,
      account.gateway(t.gateway),
      account.wallet(t.userId),
    ),

  /** A recharge's own payment captured: straight into recharge clearing, booked on the recharge. */
  rechargePaid: (t: TopUpLike, rechargeId: string): JournalSpec =>
    spec(
      journalIds.topUpCaptured(t.id),
      'recharge.paid',
      { type: 'recharge', id: rechargeId },
      t,
      account.gateway(t.gateway),
      account.rechargeClearing(t.tenantId),
    ),

  /** A failed recharge's own payment refunded by its gateway: nothing is owed any more. */
  rechargePaymentRefunded: (t: TopUpLike): JournalSpec =>
    spec(
      journalIds.topUpRefunded(t.id),
      'recharge.refunded',
      { type: 'top_up', id: t.id },
      t,
      account.refundsDue(t.tenantId),
      account.gateway(t.gateway),
    ),

  /** A recharge paid from the wallet: the amount leaves the wallet for recharge clearing. */
  rechargeReserved: (r: RechargeLike): JournalSpec =>
    spec(
      journalIds.recharge(r.id, 'reserve'),
      'recharge.reserved',
      { type: 'recharge', id: r.id },
      r,
      account.wallet(r.userId),
      account.rechargeClearing(r.tenantId),
    ),

  /** The channel topped the phone up: clearing pays the carrier that delivered. */
  rechargeSucceeded: (r: RechargeLike, channel: string): JournalSpec =>
    spec(
      journalIds.recharge(r.id, 'consume'),
      'recharge.succeeded',
      { type: 'recharge', id: r.id },
      r,
      account.rechargeClearing(r.tenantId),
      account.carrier(channel),
    ),

  /** A wallet-paid recharge failed: the reservation goes back to the wallet. */
  rechargeReleased: (r: RechargeLike): JournalSpec =>
    spec(
      journalIds.recharge(r.id, 'release'),
      'recharge.failed',
      { type: 'recharge', id: r.id },
      r,
      account.rechargeClearing(r.tenantId),
      account.wallet(r.userId),
    ),

  /** A directly paid recharge failed: its payment is owed back until the gateway refunds it. */
  rechargeRefundDue: (r: RechargeLike): JournalSpec =>
    spec(
      journalIds.recharge(r.id, 'refund_due'),
      'recharge.refund_due',
      { type: 'recharge', id: r.id },
      r,
      account.rechargeClearing(r.tenantId),
      account.refundsDue(r.tenantId),
    ),

  /**
   * A FAILED recharge the channel did top up after all: the money given back is taken again —
   * from the wallet when it still holds it, else booked as what the user owes (never an overdraft).
   */
  rechargeReclaimed: (r: RechargeLike, fromWallet: boolean): JournalSpec =>
    spec(
      journalIds.recharge(r.id, 'reclaim'),
      fromWallet ? 'recharge.corrected' : 'recharge.corrected_receivable',
      { type: 'recharge', id: r.id },
      r,
      fromWallet ? account.wallet(r.userId) : account.receivable(r.userId),
      account.rechargeClearing(r.tenantId),
    ),
} as const;
