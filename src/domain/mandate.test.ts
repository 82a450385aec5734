import { describe, expect, it } from 'vitest';
import {
  claimsMatch,
  covers,
  mandateClaims,
  mandateGrantSchema,
  type MandateState,
  periodEndOf,
  periodStartOf,
} from './mandate.js';

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0); // Thursday 2026-12-03 20:00 in Shanghai
const m: MandateState = {
  id: 'mdt_1',
  tenantId: 't',
  userId: 'alice',
  agentId: 'bot',
  actions: ['order_coffee', 'recharge_phone'],
  payees: ['merchant'],
  currency: 'CNY',
  maxPerTransaction: 5_000,
  budget: 20_000,
  period: 'week',
  createdAt: NOW - 86_400_000,
  expiresAt: NOW + 86_400_000,
  revokedAt: null,
};
const use = { action: 'order_coffee' as const, payee: 'merchant', amount: 3_200, currency: 'CNY', now: NOW };
const code = (r: ReturnType<typeof covers>): string => (r.ok ? 'ok' : r.error.code);

describe('what a mandate covers', () => {
  it('covers a use within every term, and names the first term a use falls outside of', () => {
    expect(code(covers(m, use))).toBe('ok');
    expect(code(covers(m, { ...use, amount: 5_000 }))).toBe('ok');
    expect(code(covers(m, { ...use, amount: 5_001 }))).toBe('MANDATE_AMOUNT_EXCEEDED');
    expect(code(covers(m, { ...use, action: 'refund' }))).toBe('MANDATE_ACTION_NOT_COVERED');
    expect(code(covers(m, { ...use, payee: 'china_mobile' }))).toBe('MANDATE_PAYEE_NOT_COVERED');
    expect(code(covers({ ...m, payees: [] }, { ...use, payee: 'china_mobile' }))).toBe('ok');
    expect(code(covers(m, { ...use, currency: 'USD' }))).toBe('MANDATE_CURRENCY_NOT_COVERED');
    expect(code(covers(m, { ...use, now: m.expiresAt }))).toBe('MANDATE_EXPIRED');
    expect(code(covers({ ...m, revokedAt: NOW - 1 }, use))).toBe('MANDATE_REVOKED');
  });

  it('signed claims match the stored terms, and no longer once a term is changed', () => {
    const claims = JSON.parse(JSON.stringify(mandateClaims(m))) as Record<string, unknown>;
    expect(claimsMatch(claims, m)).toBe(true);
    expect(claimsMatch(claims, { ...m, budget: 20_001 })).toBe(false);
    expect(claimsMatch(claims, { ...m, payees: [] })).toBe(false);
    expect(claimsMatch(claims, { ...m, agentId: 'other' })).toBe(false);
  });
});

describe("budget periods in the business day's time zone (Shanghai, +480)", () => {
  const at = (iso: string): number => Date.parse(iso);
  it('day, week from Monday, calendar month, and a total that never restarts', () => {
    expect(periodStartOf('day', NOW, 480, 0)).toBe(at('2026-12-02T16:00:00Z'));
    expect(periodStartOf('week', NOW, 480, 0)).toBe(at('2026-11-29T16:00:00Z'));
    expect(periodStartOf('month', NOW, 480, 0)).toBe(at('2026-11-30T16:00:00Z'));
    expect(periodStartOf('total', NOW, 480, 123)).toBe(123);
    expect(periodEndOf('day', at('2026-12-02T16:00:00Z'), 480)).toBe(at('2026-12-03T16:00:00Z'));
    expect(periodEndOf('week', at('2026-11-29T16:00:00Z'), 480)).toBe(at('2026-12-06T16:00:00Z'));
    expect(periodEndOf('month', at('2026-11-30T16:00:00Z'), 480)).toBe(at('2026-12-31T16:00:00Z'));
    expect(periodEndOf('total', 123, 480)).toBeNull();
    // Sunday 23:59 local is still last week; Monday 00:00 local starts a new one.
    expect(periodStartOf('week', at('2026-12-06T15:59:00Z'), 480, 0)).toBe(at('2026-11-29T16:00:00Z'));
    expect(periodStartOf('week', at('2026-12-06T16:00:00Z'), 480, 0)).toBe(at('2026-12-06T16:00:00Z'));
  });
});

describe('a grant request', () => {
  const good = {
    agent: 'bot',
    actions: ['order_coffee'],
    max_per_transaction: 100,
    budget: 1_000,
    period: 'day',
    expires_at: '2027-01-01T00:00:00Z',
  };
  it('takes the documented fields, defaults payees and currency, and refuses anything else', () => {
    const ok = mandateGrantSchema.safeParse(good);
    expect(ok.success && ok.data).toMatchObject({ payees: [], currency: 'CNY' });
    expect(mandateGrantSchema.safeParse({ ...good, budget: 99 }).success).toBe(false);
    expect(mandateGrantSchema.safeParse({ ...good, extra: 1 }).success).toBe(false);
    expect(mandateGrantSchema.safeParse({ ...good, actions: [] }).success).toBe(false);
    expect(mandateGrantSchema.safeParse({ ...good, payees: ['Not A Name'] }).success).toBe(false);
    expect(mandateGrantSchema.safeParse({ ...good, max_per_transaction: -1 }).success).toBe(false);
  });
});
