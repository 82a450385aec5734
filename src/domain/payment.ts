import type { Money } from './money.js';
import { assertNever, err, ok, type Result } from './result.js';

/**
 * Payment lifecycle (MISSION.md part 4): CREATED → PENDING → PAID | FAILED | CANCELLED;
 * PAID → PARTIALLY_REFUNDED / REFUNDED. PENDING also covers "outcome unknown" (a timeout):
 * it is resolved by querying the gateway, never by paying again.
 */
export const PAYMENT_STATUSES = [
  'CREATED',
  'PENDING',
  'PAID',
  'FAILED',
  'CANCELLED',
  'PARTIALLY_REFUNDED',
  'REFUNDED',
] as const;

export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const TERMINAL_PAYMENT_STATUSES: ReadonlySet<PaymentStatus> = new Set(['FAILED', 'CANCELLED', 'REFUNDED']);

/** The part of a payment the state machine reasons about. */
export interface PaymentState {
  readonly status: PaymentStatus;
  readonly amount: Money;
  /** Minor units refunded so far; never above `amount.amount`. */
  readonly refundedAmount: number;
}

export type PaymentEvent =
  | { readonly type: 'submit' }
  | { readonly type: 'succeed' }
  | { readonly type: 'fail'; readonly reason: string }
  | { readonly type: 'cancel' }
  | { readonly type: 'refund'; readonly amount: number };

export type PaymentEventType = PaymentEvent['type'];

function illegal(from: PaymentStatus, event: PaymentEvent): Result<PaymentState> {
  return err('ILLEGAL_TRANSITION', `a payment in ${from} cannot take the event ${event.type}`, {
    resource: 'payment',
    from,
    event: event.type,
  });
}

/** Pure transition function for payments; refunds are bounded by what was paid. */
export function transitionPayment(state: PaymentState, event: PaymentEvent): Result<PaymentState> {
  const { status } = state;
  switch (event.type) {
    case 'submit':
      return status === 'CREATED' ? ok({ ...state, status: 'PENDING' }) : illegal(status, event);
    case 'succeed':
      return status === 'PENDING' ? ok({ ...state, status: 'PAID' }) : illegal(status, event);
    case 'fail':
      return status === 'PENDING' ? ok({ ...state, status: 'FAILED' }) : illegal(status, event);
    case 'cancel':
      return status === 'CREATED' || status === 'PENDING'
        ? ok({ ...state, status: 'CANCELLED' })
        : illegal(status, event);
    case 'refund': {
      if (status !== 'PAID' && status !== 'PARTIALLY_REFUNDED') return illegal(status, event);
      if (!Number.isSafeInteger(event.amount) || event.amount <= 0) {
        return err('INVALID_AMOUNT', 'refund amount must be a positive integer of minor units', {
          received: event.amount,
        });
      }
      const refunded = state.refundedAmount + event.amount;
      if (refunded > state.amount.amount) {
        return err('INVALID_AMOUNT', 'refund would exceed the amount paid', {
          paid: state.amount.amount,
          alreadyRefunded: state.refundedAmount,
          requested: event.amount,
        });
      }
      return ok({
        ...state,
        refundedAmount: refunded,
        status: refunded === state.amount.amount ? 'REFUNDED' : 'PARTIALLY_REFUNDED',
      });
    }
    default:
      return assertNever(event);
  }
}
