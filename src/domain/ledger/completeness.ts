import { journalIds } from '../keys.js';
import type { PaymentStatus } from '../payment.js';
import type { RechargeStatus } from '../recharge/recharge.js';
import type { RefundStatus } from '../refund.js';
import type { TopUpStatus } from '../wallet.js';

/**
 * Which journals (from `postings.ts`) a resource must have in its current state, and which it
 * may have. A balanced ledger can still be missing a journal — a capture recorded PAID whose
 * `payment.captured` never got written balances perfectly — so the ledger check also compares
 * every resource with this. `together`: journals that exist both or neither (a correction's pair).
 */
export interface JournalExpectation {
  readonly required: readonly string[];
  readonly allowed: readonly string[];
  readonly together?: ReadonlyArray<readonly [string, string]>;
}

const CAPTURED: ReadonlySet<PaymentStatus> = new Set(['PAID', 'PARTIALLY_REFUNDED', 'REFUNDED']);

export function expectedForPayment(p: { readonly id: string; readonly status: PaymentStatus }): JournalExpectation {
  if (CAPTURED.has(p.status)) return { required: [journalIds.paymentCaptured(p.id)], allowed: [] };
  if (p.status === 'FAILED' || p.status === 'CANCELLED') {
    // A capture that arrived after we failed the payment is booked through suspense, and its refund after it.
    return { required: [], allowed: [journalIds.lateCapture(p.id), journalIds.lateCaptureRefunded(p.id)] };
  }
  return { required: [], allowed: [] };
}

export function expectedForRefund(r: { readonly id: string; readonly status: RefundStatus }): JournalExpectation {
  return r.status === 'SUCCEEDED'
    ? { required: [journalIds.refundSucceeded(r.id)], allowed: [] }
    : { required: [], allowed: [] };
}

/** Journals booked on the top-up itself (a recharge's own payment books its capture on the recharge). */
export function expectedForTopUp(t: {
  readonly id: string;
  readonly status: TopUpStatus;
  readonly rechargeId?: string;
  readonly refundStatus?: 'PENDING' | 'SUCCEEDED' | 'FAILED';
}): JournalExpectation {
  if (t.status !== 'SUCCEEDED') return { required: [], allowed: [] };
  if (t.rechargeId === undefined) return { required: [journalIds.topUpCaptured(t.id)], allowed: [] };
  return t.refundStatus === 'SUCCEEDED'
    ? { required: [journalIds.topUpRefunded(t.id)], allowed: [] }
    : { required: [], allowed: [] };
}

/**
 * A recharge's journals. `funding`: the wallet (reserved when created) or a payment of its own
 * (`paymentCaptured`: whether that payment came in, booking it into clearing on the recharge).
 */
export function expectedForRecharge(r: {
  readonly id: string;
  readonly status: RechargeStatus;
  readonly funding:
    | { readonly kind: 'wallet' }
    | { readonly kind: 'direct'; readonly topUpId: string; readonly paymentCaptured: boolean };
}): JournalExpectation {
  const j = (step: Parameters<typeof journalIds.recharge>[1]): string => journalIds.recharge(r.id, step);
  const moneyIn =
    r.funding.kind === 'wallet'
      ? [j('reserve')]
      : r.funding.paymentCaptured
        ? [journalIds.topUpCaptured(r.funding.topUpId)]
        : [];
  // What a failure gives back: the wallet's reservation, or the payment (owed until refunded).
  const giveBack = r.funding.kind === 'wallet' ? j('release') : j('refund_due');
  switch (r.status) {
    case 'SUCCEEDED':
      // Corrected after a failure: the give-back and its reclaim come as a pair.
      return {
        required: [...moneyIn, j('consume')],
        allowed: [giveBack, j('reclaim')],
        together: [[giveBack, j('reclaim')]],
      };
    case 'FAILED':
      return { required: moneyIn.length === 0 ? [] : [...moneyIn, giveBack], allowed: [] };
    case 'CREATED':
    case 'SUBMITTING':
    case 'PROCESSING':
    case 'UNKNOWN':
    case 'AWAITING_FAILOVER':
      return { required: moneyIn, allowed: [] };
    default: {
      const never: never = r.status;
      throw new Error(`unknown recharge status ${String(never)}`);
    }
  }
}

/** What is wrong with a resource's journals: missing ones, unexpected ones, broken pairs. */
export interface JournalFinding {
  readonly missing: readonly string[];
  readonly unexpected: readonly string[];
}

export function checkJournals(expected: JournalExpectation, present: readonly string[]): JournalFinding | undefined {
  const have = new Set(present);
  const ok = new Set([...expected.required, ...expected.allowed]);
  const missing = expected.required.filter((id) => !have.has(id));
  for (const [a, b] of expected.together ?? []) {
    if (have.has(a) && !have.has(b)) missing.push(b);
    if (have.has(b) && !have.has(a)) missing.push(a);
  }
  const unexpected = present.filter((id) => !ok.has(id));
  return missing.length === 0 && unexpected.length === 0 ? undefined : { missing, unexpected };
}
