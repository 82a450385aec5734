import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  beijingTimestamp,
  classifyCode,
  fenToYuan,
  mapTradeStatus,
  parseBeijingTimestamp,
  responseKey,
  yuanToFen,
  yuanToMoney,
} from './alipay-mapping.js';

describe('fen ↔ yuan strings', () => {
  it.each([
    [1, '0.01'],
    [10, '0.10'],
    [99, '0.99'],
    [100, '1.00'],
    [8888, '88.88'],
    [3200, '32.00'],
    [100_001, '1000.01'],
    [10_000_000_000, '100000000.00'],
    [0, '0.00'],
  ])('%i fen → "%s"', (fen, yuan) => {
    expect(fenToYuan(fen)).toBe(yuan);
    expect(yuanToFen(yuan)).toBe(fen);
  });

  it.each([
    ['1', 100],
    ['0.5', 50],
    ['0.01', 1],
    ['88.8', 8880],
    ['100000000', 10_000_000_000],
    ['100000000.00', 10_000_000_000],
  ])('reads "%s" as %i fen', (yuan, fen) => {
    expect(yuanToFen(yuan)).toBe(fen);
  });

  it.each([
    '',
    '.5',
    '1.',
    '1.001',
    '-1',
    '+1',
    '1e3',
    ' 1',
    '1 ',
    '1,000.00',
    '01.00',
    '0x10',
    'NaN',
    'Infinity',
    '100000000.01',
    '1.2.3',
    '１',
  ])('refuses "%s"', (yuan) => {
    expect(yuanToFen(yuan)).toBeUndefined();
  });

  it('refuses fractions, negatives and unsafe integers instead of formatting them', () => {
    for (const bad of [1.5, -1, Number.NaN, Number.MAX_SAFE_INTEGER + 1])
      expect(() => fenToYuan(bad)).toThrow(RangeError);
  });

  it('round-trips every amount exactly (no float drift, e.g. 0.1 + 0.2)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10_000_000_000 }), (fen) => yuanToFen(fenToYuan(fen)) === fen));
    expect(yuanToFen('0.30')).toBe(30);
    expect(fenToYuan(29)).toBe('0.29');
  });

  it('gives Money in CNY', () => {
    expect(yuanToMoney('12.34')).toEqual({ amount: 1234, currency: 'CNY' });
    expect(yuanToMoney(undefined)).toBeUndefined();
    expect(yuanToMoney('abc')).toBeUndefined();
  });
});

describe('trade_status → our status', () => {
  it.each([
    ['WAIT_BUYER_PAY', 'pending'],
    ['TRADE_SUCCESS', 'succeeded'],
    ['TRADE_FINISHED', 'succeeded'],
    ['TRADE_CLOSED', 'closed'],
    ['TRADE_PENDING', undefined],
    ['trade_success', undefined],
    [undefined, undefined],
  ])('%s → %s', (status, ours) => {
    expect(mapTradeStatus(status)).toBe(ours);
  });
});

describe('openapi codes → outcome', () => {
  it.each([
    ['10000', undefined, 'ok'],
    ['40004', 'ACQ.TRADE_NOT_EXIST', 'not_exist'],
    ['40004', 'ACQ.TRADE_HAS_SUCCESS', 'business'],
    ['40004', 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', 'business'],
    ['40004', 'ACQ.SYSTEM_ERROR', 'unknown'],
    ['40004', undefined, 'unknown'],
    ['20000', 'isp.unknow-error', 'unknown'],
    ['20000', undefined, 'unknown'],
    ['10003', undefined, 'unknown'],
    ['40002', 'isv.invalid-signature', 'invalid_request'],
    ['40002', 'isv.invalid-app-id', 'invalid_request'],
    ['40001', 'isv.missing-method', 'invalid_request'],
    ['40006', undefined, 'invalid_request'],
    ['99999', undefined, 'unknown'],
    [undefined, undefined, 'unknown'],
  ])('code %s sub_code %s → %s', (code, sub, kind) => {
    expect(classifyCode(code, sub).kind).toBe(kind);
  });
});

describe('Beijing timestamps', () => {
  it('formats UTC instants in Beijing time, as the openapi wants', () => {
    expect(beijingTimestamp(Date.UTC(2026, 0, 31, 16, 0, 5))).toBe('2026-02-01 00:00:05');
    expect(beijingTimestamp(Date.UTC(2026, 5, 1, 3, 4, 5))).toBe('2026-06-01 11:04:05');
  });

  it('parses notify_time back to the instant, and refuses what is not a time', () => {
    expect(parseBeijingTimestamp('2026-02-01 00:00:05')).toBe(Date.UTC(2026, 0, 31, 16, 0, 5));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000 }),
        (s) => parseBeijingTimestamp(beijingTimestamp(s * 1000)) === s * 1000,
      ),
    );
    for (const bad of [
      '2026-02-30 10:00:00',
      '2026-13-01 10:00:00',
      '2026-01-01 24:00:00',
      '2026-01-01T10:00:00',
      '1700000000',
      '',
    ]) {
      expect(parseBeijingTimestamp(bad)).toBeUndefined();
    }
  });

  it('names response nodes after the method', () => {
    expect(responseKey('alipay.trade.fastpay.refund.query')).toBe('alipay_trade_fastpay_refund_query_response');
  });
});
