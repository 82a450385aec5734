import { MAX_AMOUNT_MINOR, type Money } from '../../../domain/money.js';
import type { GatewayPaymentStatus } from '../../../ports/payment-gateway.js';

/**
 * Everything that translates between our terms and Alipay's lives here: yuan strings, trade
 * statuses, business codes and Beijing-time timestamps. Nothing else in the connector knows
 * that Alipay counts in yuan.
 */

/** Alipay settles in CNY; the openapi amounts are CNY yuan strings with two decimals. */
export const ALIPAY_CURRENCY = 'CNY' as const;

/** Alipay's clock: every timestamp it sends or expects is Beijing time (UTC+8), without zone. */
const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

/** 3200 fen → "32.00". Integer arithmetic only: a float never touches the amount. */
export function fenToYuan(fen: number): string {
  if (!Number.isSafeInteger(fen) || fen < 0) throw new RangeError(`not an amount in fen: ${String(fen)}`);
  const whole = Math.trunc(fen / 100);
  const cents = fen - whole * 100;
  return `${whole}.${String(cents).padStart(2, '0')}`;
}

/**
 * "88.88" → 8888 fen; "1" → 100; "0.5" → 50. Refuses anything that is not a plain decimal with
 * at most two places (no signs, exponents, spaces or thousands separators), and amounts above
 * the absurd bound. Answers undefined rather than guessing.
 */
export function yuanToFen(yuan: string): number | undefined {
  const m = /^(0|[1-9]\d{0,10})(?:\.(\d{1,2}))?$/.exec(yuan);
  if (m === null) return undefined;
  const whole = Number(m[1]);
  const frac = Number((m[2] ?? '').padEnd(2, '0'));
  const fen = whole * 100 + frac;
  return Number.isSafeInteger(fen) && fen <= MAX_AMOUNT_MINOR ? fen : undefined;
}

/** A yuan string from Alipay as Money, or undefined when it is not a valid amount. */
export function yuanToMoney(yuan: string | undefined): Money | undefined {
  if (yuan === undefined) return undefined;
  const fen = yuanToFen(yuan);
  return fen === undefined ? undefined : { amount: fen, currency: ALIPAY_CURRENCY };
}

/** The trade statuses Alipay reports (query responses and notifications). */
export type AlipayTradeStatus = 'WAIT_BUYER_PAY' | 'TRADE_SUCCESS' | 'TRADE_FINISHED' | 'TRADE_CLOSED';

/**
 * Only TRADE_SUCCESS and TRADE_FINISHED mean paid. TRADE_CLOSED covers both "never paid and
 * timed out/closed" and "fully refunded"; a caller who saw the payment succeed keeps its refund
 * states, it never reads closed as "was never paid" (that is the state machine's job).
 */
export function mapTradeStatus(
  status: string | undefined,
): Exclude<GatewayPaymentStatus, 'not_found' | 'failed'> | undefined {
  switch (status) {
    case 'WAIT_BUYER_PAY':
      return 'pending';
    case 'TRADE_SUCCESS':
    case 'TRADE_FINISHED':
      return 'succeeded';
    case 'TRADE_CLOSED':
      return 'closed';
    default:
      return undefined;
  }
}

/**
 * How an openapi answer is to be read. `ok`: code 10000. `business`: a definite refusal
 * (40004 with a sub_code, or a request the gateway rejected as invalid: nothing was done).
 * `not_exist`: ACQ.TRADE_NOT_EXIST. `unknown`: the gateway could not say (20000, SYSTEM_ERROR,
 * 10003 still processing, or a code we do not know) — the outcome must be resolved by query.
 */
export type AlipayOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'not_exist'; readonly subCode: string }
  | { readonly kind: 'business'; readonly subCode: string }
  | { readonly kind: 'invalid_request'; readonly subCode: string }
  | { readonly kind: 'unknown'; readonly subCode: string };

/** Sub-codes that say "the system failed", whatever the code: never a definite refusal. */
const UNKNOWN_SUB_CODES = new Set([
  'ACQ.SYSTEM_ERROR',
  'SYSTEM_ERROR',
  'aop.ACQ.SYSTEM_ERROR',
  'isp.unknow-error',
  'isp.unknown-error',
]);

export function classifyCode(code: string | undefined, subCode: string | undefined): AlipayOutcome {
  const sub = subCode ?? '';
  if (UNKNOWN_SUB_CODES.has(sub)) return { kind: 'unknown', subCode: sub };
  switch (code) {
    case '10000':
      return { kind: 'ok' };
    case '40004':
      if (sub === 'ACQ.TRADE_NOT_EXIST') return { kind: 'not_exist', subCode: sub };
      return sub === '' ? { kind: 'unknown', subCode: 'MISSING_SUB_CODE' } : { kind: 'business', subCode: sub };
    // 40001 missing arguments, 40002 invalid arguments (incl. signature, app_id), 40003
    // insufficient authorisation, 40006 insufficient permissions: refused before any effect.
    case '40001':
    case '40002':
    case '40003':
    case '40006':
      return { kind: 'invalid_request', subCode: sub === '' ? `ALIPAY_${code}` : sub };
    default:
      // 20000 service unavailable, 10003 waiting for the user, anything new.
      return { kind: 'unknown', subCode: sub === '' ? `ALIPAY_${code ?? 'NO_CODE'}` : sub };
  }
}

/** ms since epoch → "yyyy-MM-dd HH:mm:ss" in Beijing time, the openapi `timestamp` format. */
export function beijingTimestamp(ms: number): string {
  return new Date(ms + BEIJING_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

/** "yyyy-MM-dd HH:mm:ss" in Beijing time → ms since epoch, or undefined if it is not one. */
export function parseBeijingTimestamp(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(utc);
  // Date.UTC rolls 2024-02-30 over into March: refuse instead of accepting a different instant.
  if (
    back.getUTCFullYear() !== y ||
    back.getUTCMonth() !== mo - 1 ||
    back.getUTCDate() !== d ||
    h > 23 ||
    mi > 59 ||
    s > 59
  )
    return undefined;
  return utc - BEIJING_OFFSET_MS;
}

/** `alipay.trade.query` → `alipay_trade_query_response`, the node that carries the answer. */
export function responseKey(method: string): string {
  return `${method.replaceAll('.', '_')}_response`;
}

/**
 * When Alipay says the payer paid (query `send_pay_date`, notification `gmt_payment`, Beijing
 * time), as ms, for dating the capture on a statement's day; undefined when absent or unreadable.
 */
export function paidAtOf(status: string, text: string | undefined): { readonly paidAt?: number } {
  if (status !== 'succeeded' || text === undefined) return {};
  const at = parseBeijingTimestamp(text);
  return at === undefined ? {} : { paidAt: at };
}
