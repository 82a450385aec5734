import type { KeyObject } from 'node:crypto';
import type { GatewayNotification, NotificationVerdict, RawNotification } from '../../../ports/payment-gateway.js';
import { mapTradeStatus, paidAtOf, parseBeijingTimestamp, yuanToMoney } from './alipay-mapping.js';
import { contentString, rsa2Verify } from './alipay-signing.js';

const MAX_BODY = 64 * 1024;

const refuse = (
  code: 'SIGNATURE_INVALID' | 'MALFORMED_NOTIFICATION' | 'RECIPIENT_MISMATCH',
  message: string,
): NotificationVerdict => ({ ok: false, code, message });

/**
 * Verify and map an Alipay asynchronous notification (a form-encoded POST). The signature
 * covers every field except `sign` and `sign_type`, sorted, values form-decoded (the Java SDK's
 * rsaCheckV1, what Alipay documents for notifications). Like the official SDKs we accept a
 * signature that also covered `sign_type` (rsaCheckV2): both are Alipay's key over the same
 * business fields. Only then is anything read; a genuine notification for another app_id is
 * refused too — the caller checks out_trade_no and the amount against its own order.
 */
export function verifyAlipayNotification(
  input: RawNotification,
  appId: string,
  alipayPublicKey: KeyObject,
): NotificationVerdict {
  const type = input.headers['content-type'];
  if (type !== undefined && !type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    return refuse('MALFORMED_NOTIFICATION', 'an Alipay notification is application/x-www-form-urlencoded');
  }
  if (input.body.length === 0 || input.body.length > MAX_BODY)
    return refuse('MALFORMED_NOTIFICATION', 'the notification body is empty or too large');
  const params: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(input.body)) {
    // A repeated field would let the signed value and the value we act on differ.
    if (Object.hasOwn(params, k)) return refuse('MALFORMED_NOTIFICATION', `field ${k} appears twice`);
    params[k] = v;
  }
  const sign = params.sign;
  if (sign === undefined || sign === '') return refuse('MALFORMED_NOTIFICATION', 'the notification has no sign');
  if (params.sign_type !== undefined && params.sign_type !== 'RSA2')
    return refuse('SIGNATURE_INVALID', 'only sign_type RSA2 is accepted');
  const genuine =
    rsa2Verify(contentString(params, ['sign', 'sign_type']), sign, alipayPublicKey) ||
    rsa2Verify(contentString(params, ['sign']), sign, alipayPublicKey);
  if (!genuine)
    return refuse('SIGNATURE_INVALID', 'the notification signature does not verify with the Alipay public key');
  if (params.app_id !== appId) return refuse('RECIPIENT_MISMATCH', 'the notification is for another app_id');

  const notifyId = params.notify_id;
  const outTradeNo = params.out_trade_no;
  const status = mapTradeStatus(params.trade_status);
  if (
    notifyId === undefined ||
    notifyId === '' ||
    outTradeNo === undefined ||
    outTradeNo === '' ||
    status === undefined
  ) {
    return refuse('MALFORMED_NOTIFICATION', 'notify_id, out_trade_no and a known trade_status are required');
  }
  const timestamp = params.notify_time === undefined ? undefined : parseBeijingTimestamp(params.notify_time);
  if (timestamp === undefined)
    return refuse('MALFORMED_NOTIFICATION', 'notify_time must be "yyyy-MM-dd HH:mm:ss" (Beijing time)');
  const tradeNo = params.trade_no;
  const common = {
    eventId: notifyId,
    outTradeNo,
    timestamp,
    ...(tradeNo === undefined || tradeNo === '' ? {} : { gatewayTradeNo: tradeNo }),
  };

  const outBizNo = params.out_biz_no;
  if (outBizNo !== undefined && outBizNo !== '') {
    // A refund is reported as a trade_status_sync carrying out_biz_no (our out_request_no).
    // Its refund_fee is the trade's cumulative refunded total, not this refund's amount, so no
    // amount is claimed for the refund itself: the caller holds it in its refund record.
    const n: GatewayNotification = { kind: 'refund', ...common, outRefundNo: outBizNo, status: 'succeeded' };
    return { ok: true, notification: n };
  }
  const amount = yuanToMoney(params.total_amount);
  if (amount === undefined) return refuse('MALFORMED_NOTIFICATION', 'total_amount must be a yuan amount like "88.88"');
  const n: GatewayNotification = {
    kind: 'payment',
    ...common,
    status,
    amount,
    ...paidAtOf(status, params.gmt_payment),
  };
  return { ok: true, notification: n };
}
