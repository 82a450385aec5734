import { createHash } from 'node:crypto';
import type { SimEvent } from '../simulated-gateway.js';
import { alipayTradeStatus } from './alipay-face.js';
import { asPrivateKey, alipayTime, type KeyInput, sha256WithRsa, signingText, yuanOf } from './alipay-protocol.js';

export interface AlipayNotifyOptions {
  readonly appId: string;
  /** The simulated Alipay's private key (the one its responses are signed with). */
  readonly alipayPrivateKey: KeyInput;
  readonly sellerId?: string;
  /** When the notification is sent (notify_time); defaults to the wall clock. */
  readonly now?: () => number;
}

/**
 * The asynchronous notification the simulated Alipay posts for an order-book event: a
 * form-encoded `trade_status_sync` signed over its sorted fields minus `sign` and `sign_type`.
 * A refund is a trade_status_sync carrying `out_biz_no` and the cumulative `refund_fee`. The
 * notify_id is derived from the event, so every delivery of one event (retries, duplicates)
 * carries the same id, as Alipay's re-sends do.
 */
export function alipayNotificationFor(
  e: SimEvent,
  opts: AlipayNotifyOptions,
): { headers: Record<string, string>; body: string } {
  const t = e.trade;
  const sentAt = (opts.now ?? Date.now)();
  const eventKey =
    e.kind === 'payment'
      ? `${opts.appId}|${t.tradeNo}|${t.status}`
      : `${opts.appId}|${t.tradeNo}|refund|${e.outRefundNo}`;
  const total = yuanOf(t.amount.amount);
  const fields = new Map<string, string>([
    ['notify_time', alipayTime(sentAt)],
    ['notify_type', 'trade_status_sync'],
    ['notify_id', createHash('sha256').update(eventKey).digest('hex').slice(0, 34)],
    ['app_id', opts.appId],
    ['charset', 'utf-8'],
    ['version', '1.0'],
    ['sign_type', 'RSA2'],
    ['trade_no', t.tradeNo],
    ['out_trade_no', t.outTradeNo],
    ['seller_id', opts.sellerId ?? '2088000000000001'],
    ['buyer_id', '2088000000000002'],
    ['trade_status', alipayTradeStatus(t)],
    ['total_amount', total],
    ['subject', t.subject],
    ['gmt_create', alipayTime(sentAt)],
  ]);
  if (t.status === 'succeeded') {
    fields.set('receipt_amount', total);
    fields.set('buyer_pay_amount', total);
    fields.set('invoice_amount', total);
    fields.set('point_amount', '0.00');
    fields.set('gmt_payment', alipayTime(sentAt));
    fields.set('fund_bill_list', JSON.stringify([{ amount: total, fundChannel: 'ALIPAYACCOUNT' }]));
  }
  if (e.kind === 'refund') {
    fields.set('out_biz_no', e.outRefundNo);
    fields.set('refund_fee', yuanOf(t.refunded));
    fields.set('gmt_refund', alipayTime(sentAt));
  }
  fields.set(
    'sign',
    sha256WithRsa(signingText(fields, new Set(['sign', 'sign_type'])), asPrivateKey(opts.alipayPrivateKey)),
  );
  return {
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: new URLSearchParams([...fields]).toString(),
  };
}
