import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ORDER_EVENT_TYPES,
  ORDER_STATUSES,
  type OrderEvent,
  type OrderEventType,
  type OrderStatus,
  TERMINAL_ORDER_STATUSES,
  transitionOrder,
} from './order.js';

function event(type: OrderEventType): OrderEvent {
  switch (type) {
    case 'cancel':
    case 'payment_failed':
    case 'fulfilment_failed':
      return { type, reason: 'because' };
    default:
      return { type };
  }
}

/** The complete table of legal moves; every other (status, event) pair must be refused. */
const LEGAL: Readonly<Partial<Record<OrderStatus, Partial<Record<OrderEventType, OrderStatus>>>>> = {
  CREATED: {
    require_confirmation: 'AWAITING_CONFIRMATION',
    await_payment: 'AWAITING_PAYMENT',
    submit_payment: 'PAYMENT_PROCESSING',
  },
  AWAITING_CONFIRMATION: { confirm: 'PAYMENT_PROCESSING', cancel: 'CANCELLED', expire: 'CANCELLED' },
  AWAITING_PAYMENT: { confirm: 'PAYMENT_PROCESSING', cancel: 'CANCELLED', expire: 'CANCELLED' },
  PAYMENT_PROCESSING: { payment_succeeded: 'PAID', payment_failed: 'FAILED', cancel: 'CANCELLED' },
  PAID: { start_fulfilment: 'FULFILLING', refund_requested: 'REFUNDING' },
  FULFILLING: { fulfilled: 'COMPLETED', fulfilment_failed: 'REFUNDING' },
  COMPLETED: { refund_requested: 'REFUNDING' },
  REFUNDING: { refunded: 'REFUNDED' },
};

describe('order state machine', () => {
  const pairs = ORDER_STATUSES.flatMap((s) => ORDER_EVENT_TYPES.map((e) => [s, e] as const));
  it.each(pairs)('%s + %s', (status, type) => {
    const expected = LEGAL[status]?.[type];
    const r = transitionOrder(status, event(type));
    if (expected === undefined) {
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('ILLEGAL_TRANSITION');
        expect(r.error.details).toEqual({ resource: 'order', from: status, event: type });
      }
    } else {
      expect(r).toEqual({ ok: true, value: expected });
    }
  });

  const events = fc.constantFrom(...ORDER_EVENT_TYPES).map(event);

  it('no event sequence reaches an unknown state, leaves a terminal state, or pays a refunded order again', () => {
    fc.assert(
      fc.property(fc.array(events, { maxLength: 40 }), (seq) => {
        let status: OrderStatus = 'CREATED';
        let terminal: OrderStatus | undefined;
        let refunded = false;
        for (const e of seq) {
          const r = transitionOrder(status, e);
          if (terminal !== undefined) expect(r.ok).toBe(false);
          if (!r.ok) continue;
          if (r.value === 'PAID') expect(status).toBe('PAYMENT_PROCESSING');
          status = r.value;
          expect(ORDER_STATUSES).toContain(status);
          if (status === 'REFUNDED') refunded = true;
          if (refunded) expect(['PAID', 'COMPLETED', 'FULFILLING']).not.toContain(status);
          if (TERMINAL_ORDER_STATUSES.has(status)) terminal = status;
        }
      }),
    );
  });

  it('COMPLETED is not terminal: a completed order can still be refunded (issue 17 asked; not a bug)', () => {
    expect(TERMINAL_ORDER_STATUSES.has('COMPLETED')).toBe(false);
    expect(transitionOrder('COMPLETED', event('refund_requested'))).toEqual({ ok: true, value: 'REFUNDING' });
  });

  it('every status except the terminal ones has a way out', () => {
    for (const s of ORDER_STATUSES) {
      const exits = ORDER_EVENT_TYPES.filter((t) => transitionOrder(s, event(t)).ok);
      expect(exits.length === 0).toBe(TERMINAL_ORDER_STATUSES.has(s));
    }
  });
});
