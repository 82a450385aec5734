import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { account, makeJournal, transfer } from './journal.js';
import { checkRefundable, REFUND_STATUSES, transitionRefund } from '../refund.js';

const base = {
  id: 'jrn_1',
  tenantId: 't',
  kind: 'payment.captured',
  resourceType: 'payment',
  resourceId: 'pay_1',
  currency: 'CNY' as const,
  at: 0,
  actor: 'system',
};

describe('ledger journals', () => {
  it('accepts a balanced transfer', () => {
    const j = makeJournal({ ...base, postings: transfer(account.gateway('sim'), account.sales('t'), 3200) });
    expect(j.ok).toBe(true);
  });

  it.each([
    [
      'unbalanced',
      [
        { account: 'gateway:x', amount: 100 },
        { account: 'sales:t', amount: -99 },
      ],
    ],
    ['a single posting', [{ account: 'gateway:x', amount: 0 }]],
    [
      'a zero posting',
      [
        { account: 'gateway:x', amount: 0 },
        { account: 'sales:t', amount: 0 },
      ],
    ],
    [
      'a fractional posting',
      [
        { account: 'gateway:x', amount: 0.5 },
        { account: 'sales:t', amount: -0.5 },
      ],
    ],
    [
      'a nameless account',
      [
        { account: 'nothing', amount: 1 },
        { account: 'sales:t', amount: -1 },
      ],
    ],
  ])('refuses %s', (_label, postings) => {
    const j = makeJournal({ ...base, postings });
    expect(j.ok).toBe(false);
    if (!j.ok) expect(j.error.code).toBe('LEDGER_UNBALANCED');
  });

  it('every transfer of any positive amount balances', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000_000_000 }), (n) => {
        const j = makeJournal({ ...base, postings: transfer('wallet:u', 'gateway:g', n) });
        return j.ok && j.value.postings.reduce((s, p) => s + p.amount, 0) === 0;
      }),
    );
  });
});

describe('refunds', () => {
  it('moves only from PENDING, and terminal states stay terminal', () => {
    for (const s of REFUND_STATUSES) {
      for (const e of [{ type: 'succeed' as const }, { type: 'fail' as const, reason: 'x' }]) {
        const r = transitionRefund(s, e);
        expect(r.ok).toBe(s === 'PENDING');
      }
    }
    expect(transitionRefund('PENDING', { type: 'succeed' })).toEqual({ ok: true, value: 'SUCCEEDED' });
    expect(transitionRefund('PENDING', { type: 'fail', reason: 'x' })).toEqual({ ok: true, value: 'FAILED' });
  });

  it('a FAILED refund is sent again or settled outside; nothing else is retried or settled outside', () => {
    const retry = { type: 'retry' as const };
    const outside = { type: 'settle_outside' as const, note: 'paid back by bank transfer' };
    expect(transitionRefund('FAILED', retry)).toEqual({ ok: true, value: 'PENDING' });
    expect(transitionRefund('FAILED', outside)).toEqual({ ok: true, value: 'SETTLED_OUTSIDE' });
    for (const s of REFUND_STATUSES.filter((x) => x !== 'FAILED')) {
      expect(transitionRefund(s, retry).ok).toBe(false);
      expect(transitionRefund(s, outside).ok).toBe(false);
    }
    expect(transitionRefund('SETTLED_OUTSIDE', { type: 'succeed' }).ok).toBe(false);
  });

  it.each([
    [1000, 0, 1000, true],
    [1000, 400, 600, true],
    [1000, 400, 601, false],
    [1000, 1000, 1, false],
    [1000, 0, 0, false],
    [1000, 0, -5, false],
    [1000, 0, 1.5, false],
  ])('paid %i, reserved %i, asking %s → allowed %s', (paid, reserved, asked, allowed) => {
    expect(checkRefundable(paid, reserved, asked).ok).toBe(allowed);
  });

  it('no sequence of allowed refunds ever exceeds what was paid', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(fc.integer({ min: -10, max: 1_000_000 }), { maxLength: 30 }),
        (paid, asks) => {
          let reserved = 0;
          for (const a of asks) if (checkRefundable(paid, reserved, a).ok) reserved += a;
          return reserved <= paid;
        },
      ),
    );
  });
});
