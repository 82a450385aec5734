import { describe, expect, it } from 'vitest';
import { SETTLED_AT_SKEW_MS, settledAt } from './settled-at.js';

describe('settledAt', () => {
  const record = { createdAt: 1_000_000 };
  const recordedAt = 2_000_000;

  it.each([
    ['no time reported', undefined, recordedAt],
    ['a time between creation and recording', 1_500_000, 1_500_000],
    ['a time a little after we recorded it (skew)', recordedAt + SETTLED_AT_SKEW_MS, recordedAt + SETTLED_AT_SKEW_MS],
    ['a time far after we recorded it', recordedAt + SETTLED_AT_SKEW_MS + 1, recordedAt],
    [
      'a time a little before the record existed (skew)',
      1_000_000 - SETTLED_AT_SKEW_MS,
      1_000_000 - SETTLED_AT_SKEW_MS,
    ],
    ['a time long before the record existed', 1_000_000 - SETTLED_AT_SKEW_MS - 1, recordedAt],
    ['not an integer', 1_500_000.5, recordedAt],
    ['NaN', Number.NaN, recordedAt],
  ])('%s', (_what, reported, expected) => {
    expect(settledAt(reported, record, recordedAt)).toBe(expected);
  });
});
