import type { Money } from '../../../domain/money.js';
import type { RechargeChannelStatus } from '../../../ports/recharge-channel.js';

/**
 * Juhe's units and codes, and nothing else: the only place that knows Juhe counts face values
 * in whole yuan (`cardnum`) and money as decimal yuan strings (`ordercash`, `money`).
 * Protocol facts from PROTOCOLS.md ([3p]: independent clients agree; the official doc was not read).
 */

/** 10000 fen → "100". Juhe sells whole-yuan face values only; anything else is a bug upstream. */
export function fenToCardnum(amount: Money): string {
  if (
    amount.currency !== 'CNY' ||
    !Number.isSafeInteger(amount.amount) ||
    amount.amount <= 0 ||
    amount.amount % 100 !== 0
  ) {
    throw new RangeError(`juhe: ${amount.amount} ${amount.currency} is not a whole number of yuan`);
  }
  return String(amount.amount / 100);
}

/**
 * "12.5" / "12.50" / "12" yuan → 1250 fen, exactly (no float arithmetic on money). Undefined
 * for anything that is not a plain non-negative decimal with at most two places.
 */
export function yuanToFen(yuan: unknown): Money | undefined {
  const text = typeof yuan === 'number' ? String(yuan) : yuan;
  if (typeof text !== 'string') return undefined;
  const m = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (m === null) return undefined;
  const whole = Number(m[1]);
  const frac = Number((m[2] ?? '').padEnd(2, '0'));
  return { amount: whole * 100 + frac, currency: 'CNY' };
}

/** `game_state`: 0 = 充值中 (in progress), 1 = success, 9 = failed/撤销 (reversed). */
export function gameStateToStatus(state: unknown): RechargeChannelStatus | undefined {
  switch (String(state)) {
    case '0':
      return 'processing';
    case '1':
      return 'succeeded';
    case '9':
      return 'failed';
    default:
      return undefined;
  }
}

/** Callback `sta`: 1 = success, 9 = failed. */
export function staToStatus(sta: string | undefined): 'succeeded' | 'failed' | undefined {
  if (sta === '1') return 'succeeded';
  if (sta === '9') return 'failed';
  return undefined;
}

/**
 * Juhe's platform-wide error codes after which the outcome is not known: 10014 系统内部异常
 * (internal error). [3p] from Juhe's public common error list. Anything else non-zero on
 * `onlineorder` is a definite refusal (bad key, banned IP, rate limit 10011/10012, maintenance
 * 10020, or the product's own 2085xx codes), so routing may fail over.
 */
export const DEFAULT_UNKNOWN_ERROR_CODES: readonly number[] = [10014];

/**
 * Juhe's platform codes (10001 bad key … 10012 over quota, 10020 maintenance) turn a request
 * away before the product sees it: nothing was ordered, so no confirming query is needed.
 * 10014 (internal error) is the exception, listed above as unknown.
 */
export function isPlatformRejection(code: number, unknownCodes: ReadonlySet<number>): boolean {
  return code >= 10_000 && code < 11_000 && !unknownCodes.has(code);
}

/**
 * `ordersta` for an order Juhe never received. UNCONFIRMED: PROTOCOLS.md lists 208515/208517
 * without meanings; our simulator answers 208517, and deployments can set their own list.
 */
export const DEFAULT_NOT_FOUND_ERROR_CODES: readonly number[] = [208517];

/** Reply Juhe expects to a callback (UNCONFIRMED: clients answer "success" or "ok"). */
export const CALLBACK_REPLY = 'success';
