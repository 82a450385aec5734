import { describe, expect, it } from 'vitest';
import { FLAG_ACTIONS as SERVICE_FLAG_ACTIONS } from '../src/application/flags/flags-api.js';
import {
  MANDATE_ACTIONS as SERVICE_MANDATE_ACTIONS,
  MANDATE_PERIODS as SERVICE_PERIODS,
} from '../src/domain/mandate.js';
import { MAX_AMOUNT_MINOR } from '../src/domain/money.js';
import { FLAG_ACTIONS, MANDATE_ACTIONS, MANDATE_PERIODS } from '../web/src/api-admin.js';
import { fenToYuanText, MAX_FEN, parseYuan } from '../web/src/money.js';

/**
 * The console reads amounts typed in yuan into integer fen by their digits — never through a
 * float — and refuses what it cannot read exactly; its copies of the service's lists agree with it.
 */
describe('yuan typed in the console', () => {
  it.each([
    ['35', 3500],
    ['35.5', 3550],
    ['35.50', 3550],
    ['0.29', 29], // 0.29 * 100 is 28.999999999999996 in floating point
    ['0.57', 57], // and 0.57 * 100 is 56.99999999999999
    ['1.1', 110],
    ['.5', 50],
    ['12.', 1200],
    ['¥ 32.00', 3200],
    ['32元', 3200],
    ['３２．５', 3250],
    ['  7.05 ', 705],
    ['100000000', 10_000_000_000],
  ])('%s → %i fen', (text, fen) => {
    expect(parseYuan(text)).toEqual({ ok: true, fen });
  });

  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['1.005', 'decimals'],
    ['0.001', 'decimals'],
    ['1e3', 'format'],
    ['-5', 'format'],
    ['1,000', 'format'],
    ['12.3.4', 'format'],
    ['abc', 'format'],
    ['Infinity', 'format'],
    ['0x10', 'format'],
    ['.', 'format'],
    ['¥', 'empty'],
    ['0', 'zero'],
    ['0.00', 'zero'],
    ['100000000.01', 'too_large'],
  ])('%j is refused (%s)', (text, reason) => {
    expect(parseYuan(text)).toEqual({ ok: false, reason });
  });

  it('has the service’s bound, and fen print back as what a person would type', () => {
    expect(MAX_FEN).toBe(MAX_AMOUNT_MINOR);
    expect([1, 29, 3550, 10_000_000_000].map(fenToYuanText)).toEqual(['0.01', '0.29', '35.50', '100000000.00']);
    for (let fen = 1; fen < 20_000; fen += 7) expect(parseYuan(fenToYuanText(fen))).toEqual({ ok: true, fen });
  });
});

describe('the console’s copies of the service’s lists', () => {
  it('are the same as the service’s', () => {
    expect([...FLAG_ACTIONS]).toEqual([...SERVICE_FLAG_ACTIONS]);
    expect([...MANDATE_ACTIONS]).toEqual([...SERVICE_MANDATE_ACTIONS]);
    expect([...MANDATE_PERIODS]).toEqual([...SERVICE_PERIODS]);
  });
});
