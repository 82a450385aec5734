import type { KeyObject } from 'node:crypto';
import type { SimEvent } from '../simulated-gateway.js';
import { platformSignatureHeaders, sealResource, simNonce } from './wechatpay-sim-crypto.js';
import { rfc3339Shanghai, transactionJson, type WechatpayMerchantIdentity } from './wechatpay-views.js';

export interface WechatpayNotificationOptions extends WechatpayMerchantIdentity {
  readonly platformSerial: string;
  readonly platformPrivateKey: KeyObject;
  /** The merchant's API v3 key (32 bytes): the resource is sealed with it. */
  readonly apiV3Key: Buffer;
  /** Seconds since the epoch (injected by tests). */
  readonly nowSec?: () => number;
  /** Envelope nonce (Wechatpay-Nonce); random by default. */
  readonly nonce?: string;
}

/**
 * The callback WeChat Pay sends for an order-book event: a JSON envelope whose resource is
 * sealed with AEAD_AES_256_GCM under the API v3 key, signed over `timestamp\nnonce\nbody\n`
 * with the platform key. WeChat only calls back on success (TRANSACTION.SUCCESS) and on refund
 * outcomes, so an unpaid, failed or closed payment yields undefined: nothing is sent.
 */
export function wechatpayNotificationFor(
  e: SimEvent,
  opts: WechatpayNotificationOptions,
): { headers: Record<string, string>; body: string } | undefined {
  const nowSec = opts.nowSec?.() ?? Math.floor(Date.now() / 1000);
  const t = e.trade;
  let eventType: string;
  let summary: string;
  let id: string;
  let resource: ReturnType<typeof sealResource>;
  if (e.kind === 'payment') {
    if (t.status !== 'succeeded') return undefined;
    eventType = 'TRANSACTION.SUCCESS';
    summary = '支付成功';
    // One event per trade reaching success: a re-delivery carries the same id (the de-duplication key).
    id = `EV-${t.tradeNo}-SUCCESS`;
    const plain = { ...transactionJson(t, opts, nowSec * 1000), trade_state: 'SUCCESS', trade_state_desc: '支付成功' };
    resource = sealResource(JSON.stringify(plain), opts.apiV3Key, 'transaction', 'transaction');
  } else {
    eventType = 'REFUND.SUCCESS';
    summary = '退款成功';
    id = `EV-${e.refundNo}-SUCCESS`;
    const plain = {
      mchid: opts.mchid,
      out_trade_no: t.outTradeNo,
      transaction_id: t.tradeNo,
      out_refund_no: e.outRefundNo,
      refund_id: e.refundNo,
      refund_status: 'SUCCESS',
      success_time: rfc3339Shanghai(nowSec * 1000),
      user_received_account: '支付用户零钱',
      amount: { total: t.amount.amount, refund: e.amount, payer_total: t.amount.amount, payer_refund: e.amount },
    };
    resource = sealResource(JSON.stringify(plain), opts.apiV3Key, 'refund', 'refund');
  }
  const body = JSON.stringify({
    id,
    create_time: rfc3339Shanghai(nowSec * 1000),
    resource_type: 'encrypt-resource',
    event_type: eventType,
    summary,
    resource,
  });
  const headers = {
    'content-type': 'application/json',
    ...platformSignatureHeaders(body, opts.platformPrivateKey, opts.platformSerial, nowSec, opts.nonce ?? simNonce()),
  };
  return { headers, body };
}
