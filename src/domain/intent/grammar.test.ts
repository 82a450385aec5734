import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MENU } from '../menu.js';
import { ActionCatalog } from './catalog.js';
import { Grammar, withinOneEdit } from './grammar.js';
import { parseWithGrammar } from './interpret.js';

const catalog = new ActionCatalog();
const grammar = new Grammar(DEFAULT_MENU);
const ctx = { menu: DEFAULT_MENU };

/** Words the grammar reacts to, so random sentences often parse into something. */
const VOCAB = [
  '给',
  '充',
  '充值',
  '话费',
  '13800138000',
  '138 0013 8000',
  '+86',
  '0086',
  '1380013800',
  '100',
  '一百',
  '两百五',
  '块',
  '元',
  '¥',
  '30.5',
  '-',
  'e9',
  '点',
  '来',
  '一杯',
  '两杯',
  '杯',
  '大杯',
  '中杯',
  '超大杯',
  '拿铁',
  '美式',
  '浓缩',
  '冰',
  '热',
  '少糖',
  '燕麦奶',
  '加一份浓缩',
  '付吧',
  '取消',
  '退款',
  '查一下',
  '余额',
  '刚才那单',
  '不要',
  '别',
  'latte',
  'grande',
  'venti',
  'tall',
  'two',
  'a',
  'please',
  'pay',
  'cancel',
  'refund',
  'top up',
  'with',
  'ord_01ABCDEFGH',
  ' ',
  '，',
  '!',
  '😀',
  '\u0000',
  '１２３',
];

describe('the grammar under random input', () => {
  it('never throws on arbitrary unicode, and every answer is one of the three kinds', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 600 }), (text) => {
        const r = parseWithGrammar(grammar, catalog, ctx, text);
        expect(['intent', 'clarify', 'error']).toContain(r.kind);
      }),
      { numRuns: 3000 },
    );
  });

  it('any intent it accepts validates again, unchanged, through the catalog', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...VOCAB), { maxLength: 12 }), (words) => {
        const r = parseWithGrammar(grammar, catalog, ctx, words.join(''));
        if (r.kind !== 'intent') return;
        accepted++;
        const again = catalog.resolve(r.intent.action, r.intent.params, ctx);
        expect(again).toEqual(r);
        const schema = catalog.get(r.intent.action)?.schema(ctx);
        expect(schema?.safeParse(r.intent.params).success).toBe(true);
      }),
      { numRuns: 4000 },
    );
    // The property must have been exercised, not vacuously true.
    expect(accepted).toBeGreaterThan(200);
  });

  it('refuses over-long input with INPUT_TOO_LONG instead of reading it', () => {
    expect(parseWithGrammar(grammar, catalog, ctx, '拿铁'.repeat(400))).toMatchObject({
      kind: 'error',
      error: { code: 'INPUT_TOO_LONG' },
    });
  });
});

describe('typos', () => {
  it.each([
    ['lattee', 'latte', true],
    ['latt', 'latte', true],
    ['ltate', 'latte', true],
    ['americno', 'americano', true],
    ['mocah', 'mocha', true],
    ['lager', 'latte', false],
    ['moccha', 'mocha', true],
    ['tea', 'latte', false],
  ])('%s ~ %s: %s', (a, b, near) => {
    expect(withinOneEdit(a, b)).toBe(near);
  });
});

describe('a menu of the operator’s own', () => {
  it('reads drinks by their configured names', () => {
    const menu = {
      ...DEFAULT_MENU,
      drinks: [
        { id: 'oolong_latte', name_zh: '乌龙拿铁', name_en: 'Oolong Latte', iced: true, prices: { medium: 2600 } },
      ],
    };
    const g = new Grammar(menu);
    expect(parseWithGrammar(g, catalog, { menu }, '来一杯乌龙拿铁')).toEqual({
      kind: 'intent',
      intent: { action: 'order_coffee', params: { drink: 'oolong_latte', size: 'medium', quantity: 1, options: {} } },
    });
    expect(parseWithGrammar(g, catalog, { menu }, 'two oolong lattes please')).toMatchObject({
      kind: 'intent',
      intent: { params: { quantity: 2 } },
    });
  });
});
