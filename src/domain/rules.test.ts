import { describe, expect, it } from 'vitest';
import { BUILT_IN_RULES, ruleMatches, ruleRunId } from './rules.js';

const rule = (name: string) => {
  const r = BUILT_IN_RULES.find((x) => x.name === name);
  if (r === undefined) throw new Error(name);
  return r;
};
const MIN = 60_000;

describe('repair rules', () => {
  it.each([
    ['cancel-unpaid', 'AWAITING_PAYMENT', 31, true],
    ['cancel-unpaid', 'AWAITING_CONFIRMATION', 29, false],
    ['cancel-unpaid', 'COMPLETED', 90, false],
    ['settle-pending-payment', 'PAYMENT_PROCESSING', 11, true],
    ['retry-fulfilment', 'FULFILLING', 11, true],
    ['refund-unfulfilled', 'FULFILLING', 59, false],
    ['refund-unfulfilled', 'FULFILLING', 61, true],
    ['recheck-failed-payment', 'FAILED', 11, true],
    ['recheck-failed-payment', 'FAILED', 25 * 60, false],
  ] as const)('%s on %s after %i min → %s', (name, status, minutes, expected) => {
    expect(ruleMatches(rule(name), { status, updatedAt: 0 }, minutes * MIN)).toBe(expected);
  });

  it('runs once per order state: the same id while the order is unchanged, a new one after it moves', () => {
    const r = rule('retry-fulfilment');
    expect(ruleRunId(r, 'ord_1', 3)).toBe(ruleRunId(r, 'ord_1', 3));
    expect(ruleRunId(r, 'ord_1', 4)).not.toBe(ruleRunId(r, 'ord_1', 3));
  });
});
