import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  PAYMENT_STATUSES,
  type PaymentEvent,
  type PaymentState,
  type PaymentStatus,
  TERMINAL_PAYMENT_STATUSES,
  transitionPayment,
} from './payment.js';

const state = (status: PaymentStatus, refundedAmount = 0): PaymentState => ({
  status,
  amount: { amount: 1000, currency: 'CNY' },
  refundedAmount,
});

describe('payment state machine', () => {
  const table: Array<[PaymentStatus, PaymentEvent, PaymentStatus | 'ILLEGAL_TRANSITION' | 'INVALID_AMOUNT']> = [
    ['CREATED', { type: 'submit' }, 'PENDING'],
    ['CREATED', { type: 'succeed' }, 'ILLEGAL_TRANSITION'],
    ['CREATED', { type: 'cancel' }, 'CANCELLED'],
    ['CREATED', { type: 'refund', amount: 1 }, 'ILLEGAL_TRANSITION'],
    ['PENDING', { type: 'succeed' }, 'PAID'],
    ['PENDING', { type: 'fail', reason: 'x' }, 'FAILED'],
    ['PENDING', { type: 'cancel' }, 'CANCELLED'],
    ['PENDING', { type: 'submit' }, 'ILLEGAL_TRANSITION'],
    ['PAID', { type: 'refund', amount: 400 }, 'PARTIALLY_REFUNDED'],
    ['PAID', { type: 'refund', amount: 1000 }, 'REFUNDED'],
    ['PAID', { type: 'refund', amount: 1001 }, 'INVALID_AMOUNT'],
    ['PAID', { type: 'refund', amount: 0 }, 'INVALID_AMOUNT'],
    ['PAID', { type: 'refund', amount: -5 }, 'INVALID_AMOUNT'],
    ['PAID', { type: 'refund', amount: 1.5 }, 'INVALID_AMOUNT'],
    ['PAID', { type: 'fail', reason: 'late' }, 'ILLEGAL_TRANSITION'],
    ['PAID', { type: 'cancel' }, 'ILLEGAL_TRANSITION'],
    ['PAID', { type: 'succeed' }, 'ILLEGAL_TRANSITION'],
    ['FAILED', { type: 'succeed' }, 'ILLEGAL_TRANSITION'],
    ['CANCELLED', { type: 'succeed' }, 'ILLEGAL_TRANSITION'],
    ['REFUNDED', { type: 'succeed' }, 'ILLEGAL_TRANSITION'],
    ['REFUNDED', { type: 'refund', amount: 1 }, 'ILLEGAL_TRANSITION'],
  ];
  it.each(table)('%s + %o → %s', (from, ev, expected) => {
    const r = transitionPayment(state(from), ev);
    if (expected === 'ILLEGAL_TRANSITION' || expected === 'INVALID_AMOUNT') {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe(expected);
    } else {
      expect(r.ok && r.value.status).toBe(expected);
    }
  });

  it('partial refunds add up and stop exactly at the amount paid', () => {
    let s = state('PAID');
    for (const amount of [300, 300, 300]) {
      const r = transitionPayment(s, { type: 'refund', amount });
      if (!r.ok) throw new Error(r.error.message);
      s = r.value;
    }
    expect(s).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedAmount: 900 });
    expect(transitionPayment(s, { type: 'refund', amount: 101 }).ok).toBe(false);
    const last = transitionPayment(s, { type: 'refund', amount: 100 });
    expect(last.ok && last.value).toMatchObject({ status: 'REFUNDED', refundedAmount: 1000 });
  });

  it('over random event sequences refunds never exceed the payment, never shrink, and terminal stays terminal', () => {
    const ev = fc.oneof(
      fc.constant<PaymentEvent>({ type: 'submit' }),
      fc.constant<PaymentEvent>({ type: 'succeed' }),
      fc.constant<PaymentEvent>({ type: 'fail', reason: 'r' }),
      fc.constant<PaymentEvent>({ type: 'cancel' }),
      fc.integer({ min: -10, max: 1200 }).map((amount): PaymentEvent => ({ type: 'refund', amount })),
    );
    fc.assert(
      fc.property(fc.array(ev, { maxLength: 30 }), (seq) => {
        let s = state('CREATED');
        for (const e of seq) {
          const wasTerminal = TERMINAL_PAYMENT_STATUSES.has(s.status);
          const r = transitionPayment(s, e);
          if (wasTerminal) expect(r.ok).toBe(false);
          if (!r.ok) continue;
          expect(r.value.refundedAmount).toBeGreaterThanOrEqual(s.refundedAmount);
          expect(r.value.refundedAmount).toBeLessThanOrEqual(r.value.amount.amount);
          expect(PAYMENT_STATUSES).toContain(r.value.status);
          s = r.value;
        }
      }),
    );
  });
});
