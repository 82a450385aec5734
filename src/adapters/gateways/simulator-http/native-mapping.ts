import { z } from 'zod';
import { type Currency, isCurrency, type Money } from '../../../domain/money.js';
import {
  type GatewayPaymentResult,
  type GatewayRefundResult,
  GatewayUnknownOutcomeError,
} from '../../../ports/payment-gateway.js';
import type { MerchantOrderResult } from '../../../ports/merchant.js';
import type { NativeAnswer } from './native-client.js';

/**
 * The native protocol's wire shapes and their mapping to our terms. Its amounts are already
 * integer minor units with an ISO currency, so the mapping is one-to-one; anything the
 * protocol does not define is refused rather than guessed at.
 */
const currency = z.custom<Currency>((v) => isCurrency(v));
const amountFields = { amount: z.number().int().nonnegative().optional(), currency: currency.optional() };

const paymentAnswer = z.object({
  status: z.enum(['succeeded', 'pending', 'failed', 'closed']),
  out_trade_no: z.string(),
  trade_no: z.string().optional(),
  ...amountFields,
  failure_code: z.string().optional(),
  pay_url: z.string().optional(),
});

const refundAnswer = z.object({
  status: z.enum(['succeeded', 'pending', 'failed']),
  out_refund_no: z.string(),
  refund_no: z.string().optional(),
  ...amountFields,
  failure_code: z.string().optional(),
});

const merchantAnswer = z.object({
  status: z.enum(['accepted', 'rejected']),
  merchant_order_id: z.string().optional(),
  reason: z.string().optional(),
});

/**
 * Thrown when a signed answer does not have the shape the protocol promises: we cannot tell
 * what the other side did, so the outcome is unknown.
 */
export class NativeProtocolError extends GatewayUnknownOutcomeError {}

function parse<T>(schema: z.ZodType<T>, a: NativeAnswer, what: string): T {
  const p = schema.safeParse(a.json);
  if (!p.success)
    throw new NativeProtocolError(
      `simulator-http: malformed ${what} answer (${a.status}): ` +
        `${p.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
    );
  return p.data;
}

const moneyOf = (amount: number | undefined, cur: Currency | undefined): Money | undefined =>
  amount === undefined || cur === undefined ? undefined : { amount, currency: cur };

export const errorCode = (a: NativeAnswer): string | undefined =>
  typeof a.json.code === 'string' ? a.json.code : undefined;

export function toPaymentResult(a: NativeAnswer, outTradeNo: string): GatewayPaymentResult {
  const p = parse(paymentAnswer, a, 'payment');
  if (p.out_trade_no !== outTradeNo)
    throw new NativeProtocolError(`simulator-http: answer for ${p.out_trade_no}, asked about ${outTradeNo}`);
  const amount = moneyOf(p.amount, p.currency);
  return {
    status: p.status,
    outTradeNo,
    ...(p.trade_no === undefined ? {} : { gatewayTradeNo: p.trade_no }),
    ...(amount === undefined ? {} : { amount }),
    ...(p.failure_code === undefined ? {} : { failureCode: p.failure_code }),
    ...(p.pay_url === undefined ? {} : { payUrl: p.pay_url }),
  };
}

export function toRefundResult(a: NativeAnswer, outRefundNo: string): GatewayRefundResult {
  const r = parse(refundAnswer, a, 'refund');
  if (r.out_refund_no !== outRefundNo)
    throw new NativeProtocolError(`simulator-http: answer for refund ${r.out_refund_no}, asked about ${outRefundNo}`);
  const amount = moneyOf(r.amount, r.currency);
  return {
    status: r.status,
    outRefundNo,
    ...(r.refund_no === undefined ? {} : { gatewayRefundNo: r.refund_no }),
    ...(amount === undefined ? {} : { amount }),
    ...(r.failure_code === undefined ? {} : { failureCode: r.failure_code }),
  };
}

export function toMerchantResult(a: NativeAnswer): MerchantOrderResult {
  const m = parse(merchantAnswer, a, 'merchant order');
  return {
    status: m.status,
    ...(m.merchant_order_id === undefined ? {} : { merchantOrderId: m.merchant_order_id }),
    ...(m.reason === undefined ? {} : { reason: m.reason }),
  };
}

/** The notification body the simulator signs (its own protocol), mapped by the verifier. */
export const notificationBody = z.object({
  id: z.string().min(1),
  type: z.enum(['payment', 'refund']),
  out_trade_no: z.string().min(1),
  trade_no: z.string().optional(),
  out_refund_no: z.string().min(1).optional(),
  refund_no: z.string().optional(),
  status: z.enum(['succeeded', 'pending', 'failed', 'closed']),
  amount: z.number().int().nonnegative(),
  currency,
  failure_code: z.string().optional(),
});
