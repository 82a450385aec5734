import type { SimTrade } from '../simulated-gateway.js';

/** What the simulated platform knows about the merchant it serves. */
export interface WechatpayMerchantIdentity {
  readonly mchid: string;
  readonly appid: string;
}

/** The order book's trade status as a WeChat `trade_state` (any refund turns SUCCESS into REFUND). */
export function tradeStateOf(t: SimTrade): 'SUCCESS' | 'REFUND' | 'NOTPAY' | 'CLOSED' | 'PAYERROR' {
  switch (t.status) {
    case 'succeeded':
      return t.refunded > 0 ? 'REFUND' : 'SUCCESS';
    case 'pending':
      return 'NOTPAY';
    case 'closed':
      return 'CLOSED';
    case 'failed':
      return 'PAYERROR';
    default: {
      const never: never = t.status;
      throw new Error(`unknown trade status ${String(never)}`);
    }
  }
}

const STATE_DESC = {
  SUCCESS: '支付成功',
  REFUND: '转入退款',
  NOTPAY: '未支付',
  CLOSED: '已关闭',
  PAYERROR: '支付失败',
} as const;

/** The platform's fixed success time for the simulation (RFC 3339 in +08:00, as WeChat writes it). */
export function rfc3339Shanghai(ms: number): string {
  return `${new Date(ms + 8 * 3_600_000).toISOString().slice(0, 19)}+08:00`;
}

/** A transaction as the order query and the TRANSACTION.* callback resource describe it. */
export function transactionJson(t: SimTrade, who: WechatpayMerchantIdentity, nowMs: number): Record<string, unknown> {
  const state = tradeStateOf(t);
  const paid = state === 'SUCCESS' || state === 'REFUND';
  return {
    appid: who.appid,
    mchid: who.mchid,
    out_trade_no: t.outTradeNo,
    ...(paid
      ? {
          transaction_id: t.tradeNo,
          bank_type: 'OTHERS',
          success_time: rfc3339Shanghai(nowMs),
          payer: { openid: `o_${t.payer}` },
        }
      : {}),
    trade_type: 'NATIVE',
    trade_state: state,
    trade_state_desc: STATE_DESC[state],
    attach: '',
    amount: {
      total: t.amount.amount,
      ...(paid ? { payer_total: t.amount.amount } : {}),
      currency: t.amount.currency,
      payer_currency: t.amount.currency,
    },
  };
}

/** A refund as the refund APIs answer it. */
export function refundJson(
  t: SimTrade,
  outRefundNo: string,
  refundNo: string,
  amount: number,
  status: 'SUCCESS' | 'PROCESSING',
  nowMs: number,
): Record<string, unknown> {
  return {
    refund_id: refundNo,
    out_refund_no: outRefundNo,
    transaction_id: t.tradeNo,
    out_trade_no: t.outTradeNo,
    channel: 'ORIGINAL',
    user_received_account: '支付用户零钱',
    ...(status === 'SUCCESS' ? { success_time: rfc3339Shanghai(nowMs) } : {}),
    create_time: rfc3339Shanghai(nowMs),
    status,
    funds_account: 'AVAILABLE',
    amount: {
      total: t.amount.amount,
      refund: amount,
      payer_total: t.amount.amount,
      payer_refund: amount,
      settlement_refund: amount,
      settlement_total: t.amount.amount,
      discount_refund: 0,
      currency: t.amount.currency,
      refund_fee: 0,
    },
    promotion_detail: [],
  };
}
