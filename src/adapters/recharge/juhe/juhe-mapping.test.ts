import { describe, expect, it } from 'vitest';
import { encodeQuery } from '../keep-alive-http.js';
import { fenToCardnum, gameStateToStatus, staToStatus, yuanToFen } from './juhe-mapping.js';

describe('juhe mapping', () => {
  it('face values: fen → whole yuan, nothing else', () => {
    expect(fenToCardnum({ amount: 10_000, currency: 'CNY' })).toBe('100');
    expect(fenToCardnum({ amount: 1000, currency: 'CNY' })).toBe('10');
    for (const bad of [
      { amount: 1050, currency: 'CNY' as const },
      { amount: 0, currency: 'CNY' as const },
      { amount: 1000, currency: 'USD' as const },
    ]) {
      expect(() => fenToCardnum(bad)).toThrow(RangeError);
    }
  });

  it.each([
    ['100', 10_000],
    ['99.5', 9950],
    ['99.50', 9950],
    ['0.01', 1],
    [' 12.34 ', 1234],
    [98.8, 9880],
  ])('yuan %j → %i fen, exactly', (yuan, fen) => {
    expect(yuanToFen(yuan)).toEqual({ amount: fen, currency: 'CNY' });
  });

  it.each(['-1', '1.234', 'abc', '', '1e3', null, undefined])('refuses %j as money', (v) => {
    expect(yuanToFen(v)).toBeUndefined();
  });

  it('game_state 0/1/9 and callback sta 1/9', () => {
    expect([0, '0', '1', '9', '2'].map(gameStateToStatus)).toEqual([
      'processing',
      'processing',
      'succeeded',
      'failed',
      undefined,
    ]);
    expect(['1', '9', '0', undefined].map(staToStatus)).toEqual(['succeeded', 'failed', undefined, undefined]);
  });

  it('percent-encodes in the operator charset', () => {
    expect(encodeQuery({ q: '充值', n: 'a b' }, 'gbk')).toBe('q=%B3%E4%D6%B5&n=a%20b');
    expect(encodeQuery({ q: '充值' }, 'utf-8')).toBe('q=%E5%85%85%E5%80%BC');
  });
});
