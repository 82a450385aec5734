import { describe, expect, it } from 'vitest';
import { DEFAULT_MENU, menuSchema, quote, SIZE_NAMES_ZH } from './menu.js';

const line = (over: Partial<Parameters<typeof quote>[1]> = {}) => ({
  drink: 'latte',
  size: 'medium',
  quantity: 1,
  options: {},
  ...over,
});

describe('menu', () => {
  it('prices a medium latte at 32.00 CNY and multiplies by quantity', () => {
    const one = quote(DEFAULT_MENU, line());
    expect(one.ok && one.value.total).toEqual({ amount: 3200, currency: 'CNY' });
    const two = quote(DEFAULT_MENU, line({ quantity: 2 }));
    expect(two.ok && two.value.total.amount).toBe(6400);
    expect(one.ok && one.value.description).toBe('1 × 中杯拿铁 medium latte');
  });

  it('adds surcharges for oat milk and extra shots', () => {
    const r = quote(DEFAULT_MENU, line({ options: { milk: 'oat', extra_shots: 2 } }));
    expect(r.ok && r.value.unitPrice.amount).toBe(3200 + 300 + 800);
  });

  it.each([
    [line({ drink: 'tea' }), 'UNKNOWN_DRINK'],
    [line({ size: 'huge' }), 'UNKNOWN_SIZE'],
    [line({ drink: 'flat_white', size: 'xlarge' }), 'UNKNOWN_SIZE'],
    [line({ quantity: 0 }), 'INVALID_QUANTITY'],
    [line({ quantity: 51 }), 'INVALID_QUANTITY'],
    [line({ quantity: 1.5 }), 'INVALID_QUANTITY'],
    [line({ drink: 'cappuccino', options: { temperature: 'iced' } }), 'UNKNOWN_OPTION'],
  ])('refuses %o with %s', (l, code) => {
    const r = quote(DEFAULT_MENU, l);
    expect(!r.ok && r.error.code).toBe(code);
  });

  it('tells what is allowed when it refuses', () => {
    const r = quote(DEFAULT_MENU, line({ drink: 'tea' }));
    expect(!r.ok && r.error.details?.allowed).toEqual(
      expect.arrayContaining(['latte', 'americano', 'cappuccino', 'mocha', 'flat_white']),
    );
    const s = quote(DEFAULT_MENU, line({ drink: 'flat_white', size: 'xlarge' }));
    expect(!s.ok && s.error.details?.allowed).toEqual(['small', 'medium']);
  });

  it('has the Chinese and English names people use', () => {
    const names = Object.fromEntries(DEFAULT_MENU.drinks.map((d) => [d.id, d.name_zh]));
    expect(names).toMatchObject({
      latte: '拿铁',
      americano: '美式',
      cappuccino: '卡布奇诺',
      mocha: '摩卡',
      flat_white: '馥芮白',
    });
    expect(SIZE_NAMES_ZH).toEqual({ small: '小杯', medium: '中杯', large: '大杯', xlarge: '超大杯' });
  });

  it('validates configured menus strictly', () => {
    expect(menuSchema.safeParse(DEFAULT_MENU).success).toBe(true);
    expect(
      menuSchema.safeParse({ drinks: [{ id: 'x', name_zh: 'x', name_en: 'x', prices: { small: -1 } }] }).success,
    ).toBe(false);
    expect(
      menuSchema.safeParse({ drinks: [{ id: 'Bad Id', name_zh: 'x', name_en: 'x', prices: { small: 1 } }] }).success,
    ).toBe(false);
    expect(menuSchema.safeParse({ ...DEFAULT_MENU, tax: 1 }).success).toBe(false);
  });
});
