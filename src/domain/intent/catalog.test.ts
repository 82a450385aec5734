import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_MENU } from '../menu.js';
import { ActionCatalog } from './catalog.js';
import { SIZE_SYNONYMS } from './builtin-actions.js';

const catalog = new ActionCatalog();
const ctx = { menu: DEFAULT_MENU };

describe('one validation for every source', () => {
  it('normalises loose values and fills every default', () => {
    expect(catalog.resolve('recharge_phone', { phone: '+86 138-0013-8000', amount: '100元' }, ctx)).toEqual({
      kind: 'intent',
      intent: { action: 'recharge_phone', params: { phone: '13800138000', amount: 10_000, currency: 'CNY' } },
    });
    expect(
      catalog.resolve(
        'order_coffee',
        { drink: 'Flat White', size: '中杯', quantity: '两', options: { temperature: 'hot', sugar: '少糖' } },
        ctx,
      ),
    ).toEqual({
      kind: 'intent',
      intent: {
        action: 'order_coffee',
        params: { drink: 'flat_white', size: 'medium', quantity: 2, options: { temperature: 'hot', sugar: 'less' } },
      },
    });
    expect(catalog.resolve('cancel_order', {}, ctx)).toEqual({
      kind: 'intent',
      intent: { action: 'cancel_order', params: { order_id: 'last' } },
    });
  });

  it('maps sizes as coffee shops in China do', () => {
    const size = (s: string): unknown => {
      const r = catalog.resolve('order_coffee', { drink: 'latte', size: s }, ctx);
      return r.kind === 'intent' ? r.intent.params.size : r.kind;
    };
    expect([
      size('小杯'),
      size('中杯'),
      size('tall'),
      size('大杯'),
      size('grande'),
      size('超大杯'),
      size('venti'),
    ]).toEqual(['small', 'medium', 'medium', 'large', 'large', 'xlarge', 'xlarge']);
    expect(SIZE_SYNONYMS.tall).toBe('medium');
  });

  it.each([
    ['transfer', {}, 'UNKNOWN_ACTION'],
    ['recharge_phone', { phone: '13800138000', amount: 100, note: 'x' }, 'VALIDATION_FAILED'],
    ['recharge_phone', { phone: '1380013800', amount: 100 }, 'INVALID_PHONE'],
    ['recharge_phone', { phone: '13800138000', amount: '100' }, 'INVALID_AMOUNT'],
    ['recharge_phone', { phone: '13800138000', amount: -1 }, 'INVALID_AMOUNT'],
    ['recharge_phone', { phone: '13800138000', amount: 1.5 }, 'INVALID_AMOUNT'],
    ['recharge_phone', { phone: '13800138000', amount: 100, currency: 'USD' }, 'INVALID_CURRENCY'],
    ['order_coffee', { drink: 'tea', size: 'small' }, 'UNKNOWN_DRINK'],
    ['order_coffee', { drink: 'latte', size: 'huge' }, 'UNKNOWN_SIZE'],
    ['order_coffee', { drink: 'espresso', size: 'large' }, 'UNKNOWN_SIZE'],
    ['order_coffee', { drink: 'latte', size: 'small', quantity: 0 }, 'INVALID_QUANTITY'],
    ['order_coffee', { drink: 'latte', size: 'small', options: { sugar: 'lots' } }, 'UNKNOWN_OPTION'],
    ['order_coffee', { drink: 'latte', size: 'small', options: { whipped: true } }, 'VALIDATION_FAILED'],
    ['submit_payment', { order_id: '../../etc' }, 'VALIDATION_FAILED'],
    ['submit_payment', { order_id: 'last', confirmed: true }, 'VALIDATION_FAILED'],
  ])('%s %j → %s', (action, params, code) => {
    expect(catalog.resolve(action, params, ctx)).toMatchObject({ kind: 'error', error: { code } });
  });

  it('asks for missing required slots, in the person’s language', () => {
    expect(catalog.resolve('recharge_phone', { amount: 5000 }, ctx, 'en')).toMatchObject({
      kind: 'clarify',
      clarify: { action: 'recharge_phone', missing: ['phone'], question: 'Which mobile number should be topped up?' },
    });
    expect(catalog.resolve('order_coffee', { drink: 'espresso' }, ctx)).toMatchObject({
      kind: 'intent',
      intent: { params: { size: 'small' } },
    });
  });

  it('takes user actions: unique snake_case names, strict schemas', () => {
    const c = new ActionCatalog([
      { name: 'tip', description: 'tip', risk: 'low', schema: () => z.object({ amount: z.number().int() }).strict() },
    ]);
    expect(c.resolve('tip', { amount: 5 }, ctx)).toEqual({
      kind: 'intent',
      intent: { action: 'tip', params: { amount: 5 } },
    });
    expect(() => c.add({ name: 'tip', description: '', risk: 'low', schema: () => z.object({}) })).toThrow(/already/);
    expect(() => c.add({ name: 'Bad Name', description: '', risk: 'low', schema: () => z.object({}) })).toThrow(
      /snake_case/,
    );
  });
});
