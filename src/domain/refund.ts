import { assertNever, err, ok, type Result } from './result.js';

/**
 * A refund's own lifecycle, separate from the payment's: PENDING (asked, or sent with the
 * outcome unknown — resolved by querying the gateway) → SUCCEEDED | FAILED. A FAILED refund is
 * never a dead end: it is sent again (`retry`: back to PENDING, same record, same out_refund_no)
 * or an operator records that it was settled outside the system (`settle_outside`, terminal).
 * SUCCEEDED and SETTLED_OUTSIDE stay terminal; a late "succeeded" after FAILED is not a move, it
 * is a finding to flag.
 */
export const REFUND_STATUSES = ['PENDING', 'SUCCEEDED', 'FAILED', 'SETTLED_OUTSIDE'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

export type RefundEvent =
  | { readonly type: 'succeed' }
  | { readonly type: 'fail'; readonly reason: string }
  | { readonly type: 'retry' }
  | { readonly type: 'settle_outside'; readonly note: string };

function nextRefund(status: RefundStatus, event: RefundEvent): RefundStatus | undefined {
  switch (status) {
    case 'PENDING':
      if (event.type === 'succeed') return 'SUCCEEDED';
      if (event.type === 'fail') return 'FAILED';
      return undefined;
    case 'FAILED':
      if (event.type === 'retry') return 'PENDING';
      if (event.type === 'settle_outside') return 'SETTLED_OUTSIDE';
      return undefined;
    case 'SUCCEEDED':
    case 'SETTLED_OUTSIDE':
      return undefined;
    default:
      return assertNever(status);
  }
}

export function transitionRefund(status: RefundStatus, event: RefundEvent): Result<RefundStatus> {
  const to = nextRefund(status, event);
  return to !== undefined
    ? ok(to)
    : err('ILLEGAL_TRANSITION', `a refund in ${status} cannot take the event ${event.type}`, {
        resource: 'refund',
        from: status,
        event: event.type,
      });
}

/**
 * Whether a new refund of `requested` fits: what was paid, minus refunds that succeeded or may
 * still succeed (pending ones hold their amount), must cover it.
 */
export function checkRefundable(paid: number, reserved: number, requested: number): Result<number> {
  if (!Number.isSafeInteger(requested) || requested <= 0) {
    return err('INVALID_AMOUNT', 'a refund amount is a positive integer of minor units', { received: requested });
  }
  const left = paid - reserved;
  if (requested > left) {
    return err('REFUND_EXCEEDS_PAYMENT', `only ${left} of ${paid} can still be refunded`, {
      paid,
      already_refunded_or_pending: reserved,
      requested,
      refundable: left,
    });
  }
  return ok(left - requested);
}

/**
 * What is left to give back of a payment and the number of its next refund — the one rule every
 * path that refunds uses (a person's request, a merchant's refusal, a repair rule). Refunds that
 * succeeded, may still succeed, or were settled outside the system hold their amount; every
 * refund ever asked for, failed ones included, used up its number, so the next out_refund_no
 * never collides with an earlier one.
 */
export function refundPlan(
  paid: number,
  refunds: ReadonlyArray<{ readonly status: RefundStatus; readonly amount: number }>,
): { readonly reserved: number; readonly refundable: number; readonly nextNumber: number } {
  const reserved = refunds.filter((r) => r.status !== 'FAILED').reduce((sum, r) => sum + r.amount, 0);
  return { reserved, refundable: paid - reserved, nextNumber: refunds.length + 1 };
}
