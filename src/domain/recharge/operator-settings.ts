import type { OperatorId } from './number-segments.js';

export const REQUEST_ENCODINGS = ['utf-8', 'gbk'] as const;
export type RequestEncoding = (typeof REQUEST_ENCODINGS)[number];

/** How calls for one operator's numbers are made. */
export interface OperatorSettings {
  /** Per-call timeout toward a channel; past it the outcome is unknown and is resolved by query. */
  readonly timeoutMs: number;
  /**
   * Extra tries of a call whose outcome stayed unknown (timeout, transport error), always on
   * the same channel with the same order id, so the channel's idempotency makes them safe.
   */
  readonly retries: number;
  /** Character set of requests and responses on channels that honour it. */
  readonly encoding: RequestEncoding;
}

/**
 * Mobile 5 s / 2 / UTF-8, Unicom 8 s / 3 / GBK, Telecom 6 s / 2 / UTF-8 are the documents'
 * values. Broadnet and virtual operators are not in the documents: Broadnet rides on Mobile's
 * radio network and is given Mobile's values; MVNO numbers go through the MVNO's own systems,
 * which are slower, so they get the longest timeout.
 */
export const DEFAULT_OPERATOR_SETTINGS: Readonly<Record<OperatorId, OperatorSettings>> = {
  CHINA_MOBILE: { timeoutMs: 5000, retries: 2, encoding: 'utf-8' },
  CHINA_UNICOM: { timeoutMs: 8000, retries: 3, encoding: 'gbk' },
  CHINA_TELECOM: { timeoutMs: 6000, retries: 2, encoding: 'utf-8' },
  CHINA_BROADNET: { timeoutMs: 5000, retries: 2, encoding: 'utf-8' },
  VIRTUAL: { timeoutMs: 8000, retries: 2, encoding: 'utf-8' },
};
