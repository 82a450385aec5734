import { describe, expect, it } from 'vitest';
import {
  type Carrier,
  detectOperator,
  NUMBER_SEGMENTS,
  type OperatorId,
  rechargeTarget,
  type SegmentCategory,
} from './number-segments.js';
import { normalizePhoneNumber } from './phone-number.js';

/** A number in a segment: pad the prefix to the segment's length with a fixed tail. */
const numberIn = (prefix: string, length = 11): string => (prefix + '0123456789012').slice(0, length);

type Row = [prefix: string, operator: OperatorId | null, network: Carrier | null, category: SegmentCategory];

// Written out from PROTOCOLS.md, independently of the table in the code.
const TABLE: Row[] = [
  ...[
    '1340',
    '1341',
    '1342',
    '1343',
    '1344',
    '1345',
    '1346',
    '1347',
    '1348',
    '135',
    '136',
    '137',
    '138',
    '139',
    '150',
    '151',
    '152',
    '157',
    '158',
    '159',
    '172',
    '178',
    '182',
    '183',
    '184',
    '187',
    '188',
    '195',
    '197',
    '198',
  ].map((p): Row => [p, 'CHINA_MOBILE', 'CHINA_MOBILE', 'mobile']),
  ['147', 'CHINA_MOBILE', 'CHINA_MOBILE', 'data_card'],
  ['1440', 'CHINA_MOBILE', 'CHINA_MOBILE', 'iot'],
  ['1441', 'CHINA_MOBILE', 'CHINA_MOBILE', 'iot'],
  ['148', 'CHINA_MOBILE', 'CHINA_MOBILE', 'iot'],
  ...['130', '131', '132', '155', '156', '166', '175', '176', '185', '186', '196'].map((p): Row => [
    p,
    'CHINA_UNICOM',
    'CHINA_UNICOM',
    'mobile',
  ]),
  ['145', 'CHINA_UNICOM', 'CHINA_UNICOM', 'data_card'],
  ['146', 'CHINA_UNICOM', 'CHINA_UNICOM', 'iot'],
  ...[
    '133',
    '153',
    '173',
    '17400',
    '17401',
    '17402',
    '17403',
    '17404',
    '17405',
    '177',
    '180',
    '181',
    '189',
    '190',
    '191',
    '193',
    '199',
  ].map((p): Row => [p, 'CHINA_TELECOM', 'CHINA_TELECOM', 'mobile']),
  ['1349', 'CHINA_TELECOM', 'CHINA_TELECOM', 'satellite'],
  ['149', 'CHINA_TELECOM', 'CHINA_TELECOM', 'data_card'],
  ['1410', 'CHINA_TELECOM', 'CHINA_TELECOM', 'iot'],
  ['192', 'CHINA_BROADNET', 'CHINA_BROADNET', 'mobile'],
  ...['165', '1703', '1705', '1706'].map((p): Row => [p, 'VIRTUAL', 'CHINA_MOBILE', 'virtual']),
  ...['167', '171', '1704', '1707', '1708', '1709'].map((p): Row => [p, 'VIRTUAL', 'CHINA_UNICOM', 'virtual']),
  ...['162', '1700', '1701', '1702'].map((p): Row => [p, 'VIRTUAL', 'CHINA_TELECOM', 'virtual']),
  ['1749', null, null, 'maritime_satellite'],
  ...['17406', '17407', '17408', '17409', '17410', '17411', '17412'].map((p): Row => [p, null, null, 'emergency']),
];

describe('operator detection from the number segment', () => {
  it.each(TABLE)('%s → %s on %s (%s)', (prefix, operator, network, category) => {
    const n = numberIn(prefix, category === 'iot' ? 13 : 11);
    const r = detectOperator(n);
    expect(r.ok && r.value).toEqual({ number: n, segment: prefix, category, operator, network });
  });

  it('the code table has exactly the rows of PROTOCOLS.md', () => {
    expect(NUMBER_SEGMENTS.map((e) => e.prefix).sort()).toEqual(TABLE.map((r) => r[0]).sort());
  });

  it.each([
    ['1400', 'PHONE_UNKNOWN_SEGMENT'],
    ['1442', 'PHONE_UNKNOWN_SEGMENT'],
    ['1411', 'PHONE_UNKNOWN_SEGMENT'],
    ['154', 'PHONE_UNKNOWN_SEGMENT'],
    ['160', 'PHONE_UNKNOWN_SEGMENT'],
    ['179', 'PHONE_UNKNOWN_SEGMENT'],
    ['17413', 'PHONE_UNKNOWN_SEGMENT'],
    ['17480', 'PHONE_UNKNOWN_SEGMENT'],
    ['194', 'PHONE_UNKNOWN_SEGMENT'],
    ['120', 'PHONE_UNKNOWN_SEGMENT'],
  ])('unallocated %s → %s', (prefix, code) => {
    const r = detectOperator(numberIn(prefix));
    expect(!r.ok && r.error.code).toBe(code);
  });

  it.each([
    ['13800138000', 'CHINA_MOBILE'],
    ['+86 138 0013 8000', 'CHINA_MOBILE'],
    ['+86-138-0013-8000', 'CHINA_MOBILE'],
    ['0086 13800138000', 'CHINA_MOBILE'],
    ['8613800138000', 'CHINA_MOBILE'],
    ['(+86) 186 0000 1111', 'CHINA_UNICOM'],
    ['１８９　１２３４　５６７８', 'CHINA_TELECOM'],
    ['＋８６１９２００００００００', 'CHINA_BROADNET'],
    ['189—1234—5678', 'CHINA_TELECOM'],
    [' 13800138000\n', 'CHINA_MOBILE'],
  ])('normalises %j', (typed, operator) => {
    const r = detectOperator(typed);
    expect(r.ok && r.value.operator).toBe(operator);
    expect(r.ok && r.value.number).toMatch(/^1\d{10}$/);
  });

  it.each([
    ['', 'PHONE_INVALID_FORMAT'],
    ['   ', 'PHONE_INVALID_FORMAT'],
    ['138OO138000', 'PHONE_INVALID_FORMAT'],
    ['138.0013.8000', 'PHONE_INVALID_FORMAT'],
    ['13800138000x', 'PHONE_INVALID_FORMAT'],
    ['+1 415 555 0100', 'PHONE_NOT_MOBILE'],
    ['+852 9123 4567', 'PHONE_NOT_MOBILE'],
    ['010-62345678', 'PHONE_NOT_MOBILE'],
    ['28800138000', 'PHONE_NOT_MOBILE'],
    ['1380013800', 'PHONE_INVALID_LENGTH'],
    ['138001380001', 'PHONE_INVALID_LENGTH'],
    ['1380013800012', 'PHONE_INVALID_LENGTH'],
    ['14800138000', 'PHONE_INVALID_LENGTH'],
    ['10086', 'PHONE_INVALID_LENGTH'],
    ['+86', 'PHONE_NOT_MOBILE'],
  ])('refuses %j with %s', (typed, code) => {
    const r = detectOperator(typed);
    expect(!r.ok && r.error.code).toBe(code);
  });

  it('refuses values that are not strings or safe numbers without throwing', () => {
    for (const v of [null, undefined, {}, [], true, -13800138000, 1.5, Number.NaN]) {
      const r = normalizePhoneNumber(v);
      expect(!r.ok && r.error.code).toBe('PHONE_INVALID_FORMAT');
    }
    const n = detectOperator(13800138000);
    expect(n.ok && n.value.number).toBe('13800138000');
  });
});

describe('which numbers can be recharged', () => {
  it.each([
    ['13800138000', true],
    ['17031234567', true],
    ['14712345678', true],
    ['19212345678', true],
    ['1440123456789', false],
    ['13491234567', false],
    ['17491234567', false],
    ['17408123456', false],
  ])('%s → %s', (n, rechargeable) => {
    const r = rechargeTarget(n);
    expect(r.ok).toBe(rechargeable);
    if (!r.ok) expect(r.error.code).toBe('PHONE_NOT_RECHARGEABLE');
  });

  it('the rechargeable categories are configurable', () => {
    expect(rechargeTarget('13491234567', ['mobile', 'satellite']).ok).toBe(true);
    const r = rechargeTarget('14712345678', ['mobile']);
    expect(!r.ok && r.error.details).toMatchObject({ category: 'data_card' });
    // Ranges no carrier sells stay refused whatever the configuration says.
    expect(rechargeTarget('17491234567', ['maritime_satellite']).ok).toBe(false);
  });

  it('reports an MVNO as VIRTUAL with its host network', () => {
    const r = rechargeTarget('17071234567');
    expect(r.ok && [r.value.operator, r.value.network]).toEqual(['VIRTUAL', 'CHINA_UNICOM']);
  });
});
