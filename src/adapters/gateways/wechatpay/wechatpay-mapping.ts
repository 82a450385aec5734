import { isCurrency, type Money } from '../../../domain/money.js';
import type { GatewayPaymentStatus, GatewayRefundStatus } from '../../../ports/payment-gateway.js';

/**
 * WeChat Pay's units and states in our terms. The only place where amounts cross the boundary:
 * WeChat Pay (domestic) counts integer fen of CNY, as we do, so the conversion is a checked copy.
 */

/** `amount` of an order or refund request; undefined for a currency domestic WeChat Pay does not take. */
export function toWechatAmount(money: Money): { readonly total: number; readonly currency: 'CNY' } | undefined {
  if (money.currency !== 'CNY' || !Number.isSafeInteger(money.amount) || money.amount <= 0) return undefined;
  return { total: money.amount, currency: 'CNY' };
}

/** Read an integer fen amount with its currency (absent currency = CNY, as refund payloads omit it). */
export function fromWechatAmount(fen: unknown, currency: unknown): Money | undefined {
  if (typeof fen !== 'number' || !Number.isSafeInteger(fen) || fen < 0) return undefined;
  const c = currency ?? 'CNY';
  if (!isCurrency(c)) return undefined;
  return { amount: fen, currency: c };
}

export const TRADE_STATES = ['SUCCESS', 'REFUND', 'NOTPAY', 'CLOSED', 'REVOKED', 'USERPAYING', 'PAYERROR'] as const;
export type TradeState = (typeof TRADE_STATES)[number];

export function isTradeState(v: unknown): v is TradeState {
  return typeof v === 'string' && (TRADE_STATES as readonly string[]).includes(v);
}

/**
 * `trade_state` → our payment status. REFUND ("转入退款") means the payment succeeded and some
 * of it has since been refunded: it stays `succeeded`, refunds are tracked by their own numbers.
 */
export function paymentStatusOf(state: TradeState): Exclude<GatewayPaymentStatus, 'not_found'> {
  switch (state) {
    case 'SUCCESS':
    case 'REFUND':
      return 'succeeded';
    case 'NOTPAY':
    case 'USERPAYING':
      return 'pending';
    case 'CLOSED':
    case 'REVOKED':
      return 'closed';
    case 'PAYERROR':
      return 'failed';
    default: {
      const never: never = state;
      throw new Error(`unmapped trade_state ${String(never)}`);
    }
  }
}

export const REFUND_STATUSES = ['SUCCESS', 'PROCESSING', 'ABNORMAL', 'CLOSED'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

export function isRefundStatus(v: unknown): v is RefundStatus {
  return typeof v === 'string' && (REFUND_STATUSES as readonly string[]).includes(v);
}

/**
 * Refund `status` → ours. ABNORMAL (the money could not reach the payer, e.g. a cancelled card)
 * is not final — the merchant repairs it through the abnormal-refund API — so it stays `pending`
 * with a failure code that asks for attention. CLOSED is final: the refund did not happen.
 */
export function refundStatusOf(status: RefundStatus): {
  readonly status: Exclude<GatewayRefundStatus, 'not_found'>;
  readonly failureCode?: string;
} {
  switch (status) {
    case 'SUCCESS':
      return { status: 'succeeded' };
    case 'PROCESSING':
      return { status: 'pending' };
    case 'ABNORMAL':
      return { status: 'pending', failureCode: 'REFUND_ABNORMAL' };
    case 'CLOSED':
      return { status: 'failed', failureCode: 'REFUND_CLOSED' };
    default: {
      const never: never = status;
      throw new Error(`unmapped refund status ${String(never)}`);
    }
  }
}

/** Callback `event_type` → what it is about. Unknown types are refused rather than guessed. */
export function eventKindOf(eventType: string): 'payment' | 'refund' | undefined {
  if (eventType.startsWith('TRANSACTION.')) return 'payment';
  if (eventType === 'REFUND.SUCCESS' || eventType === 'REFUND.ABNORMAL' || eventType === 'REFUND.CLOSED')
    return 'refund';
  return undefined;
}

/** WeChat's error codes that mean "no such order/refund" (HTTP 404). */
export const NOT_FOUND_CODES: ReadonlySet<string> = new Set([
  'ORDER_NOT_EXIST',
  'RESOURCE_NOT_EXISTS',
  'ORDERNOTEXIST',
]);

/**
 * Codes a create answers when the out_trade_no already names an order: the order exists, so its
 * state is found by a query, not by guessing from the error.
 */
export const ORDER_EXISTS_CODES: ReadonlySet<string> = new Set([
  'ORDERPAID',
  'ORDER_PAID',
  'ORDER_CLOSED',
  'ORDERCLOSED',
  'OUT_TRADE_NO_USED',
  'DUPLICATE_OUT_TRADE_NO',
]);

/**
 * When WeChat Pay says the payer paid or the refund was made (`success_time`, RFC 3339 with its
 * +08:00 offset), as ms, for dating it on a statement's day; nothing when absent or unreadable.
 */
export function successTimeOf(text: unknown): number | undefined {
  if (typeof text !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text))
    return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : at;
}
