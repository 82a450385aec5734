import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLimitsOnConfirm, decideOrder, policySchema } from './policy.js';

const cny = (amount: number) => ({ amount, currency: 'CNY' as const });
const seed = policySchema.parse({ auto_confirm_order: true, trusted_actions: ['order_coffee', 'submit_payment'] });

describe('policy', () => {
  it('accepts the seed policy and refuses unknown keys', () => {
    expect(seed).toEqual({ auto_confirm_order: true, trusted_actions: ['order_coffee', 'submit_payment'] });
    expect(policySchema.safeParse({ auto_confirm_order: true, trust_everything: true }).success).toBe(false);
    expect(policySchema.parse({})).toEqual({ auto_confirm_order: false, trusted_actions: [] });
  });

  it.each([
    ['seed policy', seed, 3200, 0, 'pay_now'],
    ['payment not trusted', { ...seed, trusted_actions: ['order_coffee'] }, 3200, 0, 'await_payment'],
    [
      'nothing trusted, no auto confirm',
      { auto_confirm_order: false, trusted_actions: [] },
      3200,
      0,
      'await_confirmation',
    ],
    ['auto confirm but payment untrusted', { auto_confirm_order: true, trusted_actions: [] }, 3200, 0, 'await_payment'],
    ['above the confirmation threshold', { ...seed, require_confirmation_above: 3000 }, 3200, 0, 'await_payment'],
    ['at the confirmation threshold', { ...seed, require_confirmation_above: 3200 }, 3200, 0, 'pay_now'],
    ['exactly at the daily limit', { ...seed, daily_limit_per_user: 5000 }, 3200, 1800, 'pay_now'],
  ])('%s → %s', (_name, policy, amount, spent, kind) => {
    const r = decideOrder(policySchema.parse(policy), { total: cny(amount), spentToday: spent });
    expect(r.ok && r.value.kind).toBe(kind);
  });

  it.each([
    ['over the per-order cap', { ...seed, max_order_amount: 3000 }, 3200, 0, 'POLICY_AMOUNT_CAP_EXCEEDED'],
    ['over the daily limit', { ...seed, daily_limit_per_user: 5000 }, 3200, 1801, 'DAILY_LIMIT_EXCEEDED'],
  ])('%s → %s', (_name, policy, amount, spent, code) => {
    const r = decideOrder(policySchema.parse(policy), { total: cny(amount), spentToday: spent });
    expect(!r.ok && r.error.code).toBe(code);
  });

  it('never pays at once unless submit_payment is trusted, whatever else the policy says', () => {
    const actions = fc.subarray(['order_coffee', 'query_order', 'refund', 'cancel_order', 'recharge_phone']);
    fc.assert(
      fc.property(
        fc.boolean(),
        actions,
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.nat(1_000_000),
        (auto, trusted, amount, spent) => {
          const r = decideOrder(
            { auto_confirm_order: auto, trusted_actions: trusted },
            { total: cny(amount), spentToday: spent },
          );
          expect(r.ok && r.value.kind).not.toBe('pay_now');
        },
      ),
    );
  });

  it('re-checks caps and limits on confirmation even when nothing is trusted', () => {
    const strict = policySchema.parse({ max_order_amount: 1000, daily_limit_per_user: 5000 });
    expect(checkLimitsOnConfirm(strict, { total: cny(900), spentToday: 0 }).ok).toBe(true);
    const cap = checkLimitsOnConfirm(strict, { total: cny(1001), spentToday: 0 });
    expect(!cap.ok && cap.error.code).toBe('POLICY_AMOUNT_CAP_EXCEEDED');
    const day = checkLimitsOnConfirm(strict, { total: cny(900), spentToday: 4500 });
    expect(!day.ok && day.error.code).toBe('DAILY_LIMIT_EXCEEDED');
  });
});
