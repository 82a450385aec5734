import { err, ok, type Result } from '../result.js';
import { normalizePhoneNumber } from './phone-number.js';

/**
 * Number segments (号段) of mainland China, from PROTOCOLS.md: VincentSit/ChinaMobilePhoneNumberRegex
 * (2020-05, after zh.wikipedia) cross-checked with libphonenumber. Allocations after 2020 are
 * unconfirmed, and since 携号转网 (number portability, 2019-12) a prefix names the network a
 * number was issued on, not necessarily the one it is on today: channels must still be allowed
 * to answer "wrong operator".
 */

export const CARRIERS = ['CHINA_MOBILE', 'CHINA_UNICOM', 'CHINA_TELECOM', 'CHINA_BROADNET'] as const;
/** A network operator that owns spectrum and numbers. */
export type Carrier = (typeof CARRIERS)[number];

/** What a recharge is routed and configured by: a carrier, or a virtual operator (MVNO) on one. */
export const OPERATORS = [...CARRIERS, 'VIRTUAL'] as const;
export type OperatorId = (typeof OPERATORS)[number];

export const SEGMENT_CATEGORIES = [
  'mobile',
  'virtual',
  'data_card',
  'iot',
  'satellite',
  'maritime_satellite',
  'emergency',
] as const;
export type SegmentCategory = (typeof SEGMENT_CATEGORIES)[number];

export interface SegmentEntry {
  /** Leading digits; the longest matching prefix wins (1349 over 134, 1703 over 170). */
  readonly prefix: string;
  readonly category: SegmentCategory;
  /** The network the numbers live on (an MVNO's host); null for ranges no carrier sells. */
  readonly network: Carrier | null;
}

const entries = (network: Carrier | null, category: SegmentCategory, prefixes: readonly string[]): SegmentEntry[] =>
  prefixes.map((prefix) => ({ prefix, category, network }));

const range = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

/** The complete table of PROTOCOLS.md. */
export const NUMBER_SEGMENTS: readonly SegmentEntry[] = [
  // China Mobile
  ...entries('CHINA_MOBILE', 'mobile', [
    ...range(1340, 1348),
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
  ]),
  ...entries('CHINA_MOBILE', 'data_card', ['147']),
  ...entries('CHINA_MOBILE', 'iot', ['1440', '1441', '148']),
  // China Unicom
  ...entries('CHINA_UNICOM', 'mobile', ['130', '131', '132', '155', '156', '166', '175', '176', '185', '186', '196']),
  ...entries('CHINA_UNICOM', 'data_card', ['145']),
  ...entries('CHINA_UNICOM', 'iot', ['146']),
  // China Telecom
  ...entries('CHINA_TELECOM', 'mobile', [
    '133',
    '153',
    '173',
    ...range(17400, 17405),
    '177',
    '180',
    '181',
    '189',
    '190',
    '191',
    '193',
    '199',
  ]),
  ...entries('CHINA_TELECOM', 'satellite', ['1349']),
  ...entries('CHINA_TELECOM', 'data_card', ['149']),
  ...entries('CHINA_TELECOM', 'iot', ['1410']),
  // China Broadnet
  ...entries('CHINA_BROADNET', 'mobile', ['192']),
  // Virtual operators, by host network: 170 is split by its 4th digit, 171 is all Unicom MVNO.
  ...entries('CHINA_MOBILE', 'virtual', ['165', '1703', '1705', '1706']),
  ...entries('CHINA_UNICOM', 'virtual', ['167', '171', '1704', '1707', '1708', '1709']),
  ...entries('CHINA_TELECOM', 'virtual', ['162', '1700', '1701', '1702']),
  // The rest of 174: maritime satellite and the MIIT emergency-communications ranges.
  ...entries(null, 'maritime_satellite', ['1749']),
  ...entries(null, 'emergency', range(17406, 17412)),
];

const BY_PREFIX: ReadonlyMap<string, SegmentEntry> = new Map(NUMBER_SEGMENTS.map((e) => [e.prefix, e]));
const LONGEST_PREFIX = Math.max(...NUMBER_SEGMENTS.map((e) => e.prefix.length));

/** What a number's segment says about it. */
export interface NumberInfo {
  /** National digits (11, or 13 for IoT). */
  readonly number: string;
  /** The matching entry of the table. */
  readonly segment: string;
  readonly category: SegmentCategory;
  /** VIRTUAL for MVNO segments; the carrier otherwise; null for ranges no carrier sells. */
  readonly operator: OperatorId | null;
  /** Host network (for an MVNO, the carrier it rides on). */
  readonly network: Carrier | null;
}

function lookup(digits: string): SegmentEntry | undefined {
  for (let len = Math.min(LONGEST_PREFIX, digits.length); len >= 3; len -= 1) {
    const hit = BY_PREFIX.get(digits.slice(0, len));
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/**
 * Normalise a typed number and identify its segment. Refusals, besides those of
 * `normalizePhoneNumber`: `PHONE_UNKNOWN_SEGMENT` (a 1xx prefix no operator was allocated) and
 * `PHONE_INVALID_LENGTH` (13 digits on an 11-digit segment, or the reverse for IoT).
 */
export function detectOperator(input: unknown): Result<NumberInfo> {
  const normalized = normalizePhoneNumber(input);
  if (!normalized.ok) return normalized;
  const number = normalized.value;
  const entry = lookup(number);
  if (entry === undefined) {
    return err('PHONE_UNKNOWN_SEGMENT', 'this number segment is not allocated to any mobile operator', {
      prefix: number.slice(0, 4),
    });
  }
  const expected = entry.category === 'iot' ? 13 : 11;
  if (number.length !== expected) {
    return err('PHONE_INVALID_LENGTH', `numbers in segment ${entry.prefix} have ${expected} digits`, {
      length: number.length,
      expected,
    });
  }
  const operator: OperatorId | null = entry.category === 'virtual' ? 'VIRTUAL' : entry.network;
  return ok({ number, segment: entry.prefix, category: entry.category, operator, network: entry.network });
}

/**
 * Categories a phone top-up (话费充值) can reach by default. Data cards (145/147/149) carry a
 * prepaid balance and are topped up like phones. IoT cards (13 digits) are billed to enterprises,
 * satellite phones (1349 天通) are recharged only through the carrier's own counters, and the
 * maritime and emergency ranges are not consumer lines: aggregators refuse all of them.
 */
export const DEFAULT_RECHARGEABLE_CATEGORIES: readonly SegmentCategory[] = ['mobile', 'virtual', 'data_card'];

/** A number a recharge may be attempted for. */
export interface RechargeTarget extends NumberInfo {
  readonly operator: OperatorId;
  readonly network: Carrier;
}

/** Detect and check that the number can be recharged: `PHONE_NOT_RECHARGEABLE` otherwise. */
export function rechargeTarget(
  input: unknown,
  rechargeable: readonly SegmentCategory[] = DEFAULT_RECHARGEABLE_CATEGORIES,
): Result<RechargeTarget> {
  const info = detectOperator(input);
  if (!info.ok) return info;
  const { operator, network, category } = info.value;
  if (operator === null || network === null || !rechargeable.includes(category)) {
    return err('PHONE_NOT_RECHARGEABLE', `numbers of category ${category} cannot be topped up`, {
      category,
      segment: info.value.segment,
      rechargeable_categories: [...rechargeable],
    });
  }
  return ok({ ...info.value, operator, network });
}
