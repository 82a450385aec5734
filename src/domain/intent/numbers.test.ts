import { describe, expect, it } from 'vitest';
import { findAmount, parseChineseInteger, parseDecimal, yuanToFen } from './numbers.js';

describe('Chinese integers', () => {
  it.each([
    ['一', 1],
    ['十', 10],
    ['十五', 15],
    ['二十', 20],
    ['五十', 50],
    ['一百', 100],
    ['一百零五', 105],
    ['两百五', 250],
    ['两百五十', 250],
    ['一千零五十', 1050],
    ['一千五', 1500],
    ['三千', 3000],
    ['3千', 3000],
    ['一万', 10_000],
    ['三万五', 35_000],
    ['2万5', 25_000],
    ['一万零五百', 10_500],
    ['一亿', 100_000_000],
    ['一千亿', 100_000_000_000],
    ['壹佰', 100],
    ['贰拾', 20],
  ])('%s = %i', (text, value) => {
    expect(parseChineseInteger(text)).toBe(value);
  });

  it.each(['', '一二', '百', '万', 'abc', '十十', '五十百'])('%j is not a numeral', (text) => {
    expect(parseChineseInteger(text)).toBeUndefined();
  });
});

describe('decimals', () => {
  it.each([
    ['30', '30', ''],
    ['30.5', '30', '5'],
    ['1,000', '1000', ''],
    ['1,000.25', '1000', '25'],
    ['007', '7', ''],
    ['1e9', '1000000000', ''],
    ['1.5e2', '150', ''],
    ['三十点五', '30', '5'],
  ])('%s → %s.%s', (token, whole, fraction) => {
    expect(parseDecimal(token)).toEqual({ whole, fraction });
  });
});

describe('money phrases → fen', () => {
  const fen = (text: string): unknown => {
    const m = findAmount(text);
    if (m === undefined) return undefined;
    return m.amount.ok ? m.amount.value : m.amount.error.code;
  };
  it.each([
    ['100块', 10_000],
    ['一百元', 10_000],
    ['五十块', 5000],
    ['¥30', 3000],
    ['30元', 3000],
    ['30.5元', 3050],
    ['30.50元', 3050],
    ['两百五十块钱', 25_000],
    ['一千零五十元', 105_000],
    ['一百块五', 10_050],
    ['3块5毛', 350],
    ['5毛', 50],
    ['rmb 30', 3000],
    ['30 yuan', 3000],
    ['50 kuai', 5000],
    ['1,000元', 100_000],
    ['三十点五元', 3050],
    ['-100元', 'INVALID_AMOUNT'],
    ['负一百元', 'INVALID_AMOUNT'],
    ['0元', 'INVALID_AMOUNT'],
    ['30.555元', 'INVALID_AMOUNT'],
    // An exponent is refused whatever its value: never read as 100 yuan, nor as its last digit.
    ['1e2元', 'INVALID_AMOUNT'],
    ['1E2元', 'INVALID_AMOUNT'],
    ['¥1e2', 'INVALID_AMOUNT'],
    ['1e9元', 'INVALID_AMOUNT'],
    ['1e400元', 'INVALID_AMOUNT'],
    ['一千亿元', 'AMOUNT_TOO_LARGE'],
  ])('%s → %s', (text, expected) => {
    expect(fen(text)).toBe(expected);
  });

  it('needs a unit or a ¥ sign: a bare number is not money', () => {
    expect(findAmount('买30个')).toBeUndefined();
    expect(findAmount('13800138000')).toBeUndefined();
  });

  it('never loses or invents a fen', () => {
    for (let yuan = 0; yuan < 300; yuan++) {
      for (const jiao of [0, 5]) {
        expect(yuanToFen({ whole: String(yuan), fraction: `${jiao}` })).toEqual(
          yuan * 100 + jiao * 10 === 0
            ? expect.objectContaining({ ok: false })
            : { ok: true, value: yuan * 100 + jiao * 10 },
        );
      }
    }
  });
});
