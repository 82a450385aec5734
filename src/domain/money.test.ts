import { describe, expect, it } from 'vitest';
import { addMoney, formatMoney, MAX_AMOUNT_MINOR, money, multiplyMoney, parseAmount, parseCurrency } from './money.js';

describe('money', () => {
  it.each([
    [-100, 'INVALID_AMOUNT'],
    [0, 'INVALID_AMOUNT'],
    [1.5, 'INVALID_AMOUNT'],
    [Number.NaN, 'INVALID_AMOUNT'],
    [Number.POSITIVE_INFINITY, 'INVALID_AMOUNT'],
    ['100', 'INVALID_AMOUNT'],
    [null, 'INVALID_AMOUNT'],
    [MAX_AMOUNT_MINOR + 1, 'AMOUNT_TOO_LARGE'],
    [1e20, 'AMOUNT_TOO_LARGE'],
  ])('refuses %s with %s', (value, code) => {
    const r = parseAmount(value);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe(code);
  });

  it('accepts positive integers up to the bound, and zero only where allowed', () => {
    expect(parseAmount(1)).toEqual({ ok: true, value: 1 });
    expect(parseAmount(MAX_AMOUNT_MINOR)).toEqual({ ok: true, value: MAX_AMOUNT_MINOR });
    expect(parseAmount(0, { allowZero: true })).toEqual({ ok: true, value: 0 });
  });

  it('defaults to CNY and refuses unknown currencies', () => {
    expect(money(3200)).toEqual({ ok: true, value: { amount: 3200, currency: 'CNY' } });
    const bad = money(100, 'XYZ');
    expect(!bad.ok && bad.error.code).toBe('INVALID_CURRENCY');
    expect(parseCurrency('cny').ok).toBe(false);
    expect(parseCurrency('USD').ok).toBe(true);
  });

  it('adds same-currency sums only, and multiplies by whole quantities', () => {
    expect(addMoney({ amount: 1, currency: 'CNY' }, { amount: 2, currency: 'CNY' })).toEqual({
      ok: true,
      value: { amount: 3, currency: 'CNY' },
    });
    expect(addMoney({ amount: 1, currency: 'CNY' }, { amount: 2, currency: 'USD' }).ok).toBe(false);
    expect(multiplyMoney({ amount: 3200, currency: 'CNY' }, 3)).toEqual({
      ok: true,
      value: { amount: 9600, currency: 'CNY' },
    });
    expect(multiplyMoney({ amount: 3200, currency: 'CNY' }, 0.5).ok).toBe(false);
    expect(multiplyMoney({ amount: MAX_AMOUNT_MINOR, currency: 'CNY' }, 2).ok).toBe(false);
  });

  it('formats for people without floating point', () => {
    expect(formatMoney({ amount: 3200, currency: 'CNY' })).toBe('¥32.00');
    expect(formatMoney({ amount: 5, currency: 'CNY' })).toBe('¥0.05');
    expect(formatMoney({ amount: 1999, currency: 'USD' })).toBe('USD 19.99');
    expect(formatMoney({ amount: 500, currency: 'JPY' })).toBe('JPY 500');
  });
});
