import { describe, expect, it } from 'vitest';
import { jsonDepthExceeds } from './hygiene.js';

describe('jsonDepthExceeds: nesting counted before JSON.parse', () => {
  it.each([
    ['{}', 1, false],
    ['{"a":[1,{"b":2}]}', 3, false],
    ['{"a":[1,{"b":2}]}', 2, true],
    ['[[[]]]', 2, true],
    // Brackets inside strings (escaped quotes included) are text, not nesting.
    ['{"t":"[[[[{{{{"}', 1, false],
    ['{"t":"a\\"[[[["}', 1, false],
    ['{"t":"\\\\"}', 1, false],
    ['["\\\\",[[]]]', 2, true],
  ])('%s with limit %i → %s', (text, limit, deeper) => {
    expect(jsonDepthExceeds(text, limit)).toBe(deeper);
  });

  it('stops early on a huge body without recursion', () => {
    expect(jsonDepthExceeds('['.repeat(1_000_000), 32)).toBe(true);
  });
});
