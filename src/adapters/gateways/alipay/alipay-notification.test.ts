import { createSign, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RawNotification } from '../../../ports/payment-gateway.js';
import { verifyAlipayNotification } from './alipay-notification.js';

const APP = '2021000000000001';
const alipay = generateKeyPairSync('rsa', { modulusLength: 2048 });
const forger = generateKeyPairSync('rsa', { modulusLength: 2048 });

const BASE: Record<string, string> = {
  notify_time: '2026-11-24 15:30:00',
  notify_type: 'trade_status_sync',
  notify_id: 'ac05099524730693a8b330c5ecf72da9786',
  app_id: APP,
  charset: 'utf-8',
  version: '1.0',
  sign_type: 'RSA2',
  trade_no: '2026112422001400000000000042',
  out_trade_no: 'ord_42',
  trade_status: 'TRADE_SUCCESS',
  total_amount: '32.50',
  subject: '拿铁 中杯 + 50% 糖',
  fund_bill_list: '[{"amount":"32.50","fundChannel":"ALIPAYACCOUNT"}]',
};

/** Sign a notification the documented way (sorted, minus sign and sign_type), written out by hand here. */
function notify(fields: Record<string, string>, key = alipay.privateKey, coverSignType = false): RawNotification {
  const signed = Object.keys(fields)
    .filter((k) => k !== 'sign' && (coverSignType || k !== 'sign_type') && fields[k] !== '')
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join('&');
  const sign = createSign('RSA-SHA256').update(signed).sign(key, 'base64');
  return {
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: new URLSearchParams({ ...fields, sign }).toString(),
  };
}

const verify = (raw: RawNotification): ReturnType<typeof verifyAlipayNotification> =>
  verifyAlipayNotification(raw, APP, alipay.publicKey);

describe('Alipay notification verification', () => {
  it('maps a genuine payment notification: notify_id, Beijing notify_time, our out_trade_no, amount in fen', () => {
    expect(verify(notify(BASE))).toEqual({
      ok: true,
      notification: {
        kind: 'payment',
        eventId: BASE.notify_id,
        outTradeNo: 'ord_42',
        gatewayTradeNo: BASE.trade_no,
        status: 'succeeded',
        amount: { amount: 3250, currency: 'CNY' },
        timestamp: Date.UTC(2026, 10, 24, 7, 30, 0),
      },
    });
  });

  it('takes gmt_payment (Beijing time) as when the payer paid; an unreadable one is left out', () => {
    const v = verify(notify({ ...BASE, gmt_payment: '2026-11-24 23:59:58' }));
    expect(v.ok && v.notification.kind === 'payment' && v.notification.paidAt).toBe(Date.UTC(2026, 10, 24, 15, 59, 58));
    const bad = verify(notify({ ...BASE, gmt_payment: '2026-11-24T23:59:58' }));
    expect(bad.ok && bad.notification.kind === 'payment' && 'paidAt' in bad.notification).toBe(false);
  });

  it.each([
    ['WAIT_BUYER_PAY', 'pending'],
    ['TRADE_FINISHED', 'succeeded'],
    ['TRADE_CLOSED', 'closed'],
  ])('maps trade_status %s to %s', (tradeStatus, status) => {
    const v = verify(notify({ ...BASE, trade_status: tradeStatus }));
    expect(v.ok && v.notification.status).toBe(status);
  });

  it('reads a refund notification (out_biz_no) as a refund of our out_request_no', () => {
    const v = verify(
      notify({
        ...BASE,
        out_biz_no: 'ord_42r1',
        refund_fee: '10.00',
        gmt_refund: '2026-11-24 15:31:00.123',
        trade_status: 'TRADE_SUCCESS',
      }),
    );
    expect(v).toMatchObject({
      ok: true,
      notification: { kind: 'refund', outTradeNo: 'ord_42', outRefundNo: 'ord_42r1', status: 'succeeded' },
    });
  });

  it('accepts a signature that also covered sign_type, as the official SDKs do (rsaCheckV2)', () => {
    expect(verify(notify(BASE, alipay.privateKey, true)).ok).toBe(true);
  });

  it.each([
    ['forged: signed with another key', () => notify(BASE, forger.privateKey), 'SIGNATURE_INVALID'],
    [
      'tampered amount after signing',
      () => ({ ...notify(BASE), body: notify(BASE).body.replace('total_amount=32.50', 'total_amount=0.01') }),
      'SIGNATURE_INVALID',
    ],
    [
      'tampered out_trade_no after signing',
      () => ({ ...notify(BASE), body: notify(BASE).body.replace('out_trade_no=ord_42', 'out_trade_no=ord_43') }),
      'SIGNATURE_INVALID',
    ],
    [
      'a field added after signing',
      () => ({ ...notify(BASE), body: `${notify(BASE).body}&refund_fee=1.00` }),
      'SIGNATURE_INVALID',
    ],
    ['legacy RSA (SHA1) sign_type', () => notify({ ...BASE, sign_type: 'RSA' }), 'SIGNATURE_INVALID'],
    ['genuine, but for another app_id', () => notify({ ...BASE, app_id: '2021000000000999' }), 'RECIPIENT_MISMATCH'],
    [
      'a repeated field',
      () => ({ ...notify(BASE), body: `${notify(BASE).body}&total_amount=0.01` }),
      'MALFORMED_NOTIFICATION',
    ],
    ['no sign at all', () => ({ headers: {}, body: new URLSearchParams(BASE).toString() }), 'MALFORMED_NOTIFICATION'],
    [
      'JSON instead of a form',
      () => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(BASE) }),
      'MALFORMED_NOTIFICATION',
    ],
    ['signed, but the amount is not yuan', () => notify({ ...BASE, total_amount: '32.505' }), 'MALFORMED_NOTIFICATION'],
    [
      'signed, but an unknown trade_status',
      () => notify({ ...BASE, trade_status: 'TRADE_PAID' }),
      'MALFORMED_NOTIFICATION',
    ],
    ['signed, but no notify_time', () => notify({ ...BASE, notify_time: '' }), 'MALFORMED_NOTIFICATION'],
    ['signed, but no notify_id', () => notify({ ...BASE, notify_id: '' }), 'MALFORMED_NOTIFICATION'],
  ])('refuses %s', (_label, make, code) => {
    const v = verify(make());
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.code).toBe(code);
  });

  it('never throws on garbage', () => {
    for (const body of [
      '',
      '%',
      '%%%=%%%',
      'sign=%E0%A4%A',
      'a'.repeat(70_000),
      '\u0000\uffff',
      'sign=' + 'A'.repeat(344),
    ]) {
      expect(verify({ headers: {}, body }).ok).toBe(false);
    }
  });
});
