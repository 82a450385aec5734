import { describeOrderStatus } from '../../domain/order.js';
import type { OrderRecord, PaymentRecord } from '../../ports/records.js';

/** The public shape of an order, as every transport shows it. Amounts in minor units. */
export interface OrderView {
  readonly id: string;
  readonly status: string;
  readonly status_text: string;
  readonly status_reason: string | null;
  readonly user_id: string;
  readonly drink: string;
  readonly size: string;
  readonly quantity: number;
  readonly options: Readonly<Record<string, unknown>>;
  readonly description: string;
  readonly unit_amount: number;
  readonly amount: number;
  readonly currency: string;
  readonly payment: {
    readonly id: string;
    readonly status: string;
    readonly gateway: string;
    readonly method: string;
    readonly out_trade_no: string | null;
    readonly gateway_trade_no: string | null;
    readonly failure_code: string | null;
    /** While the payment waits for the payer: what they scan (QR content); null otherwise. */
    readonly qr_code: string | null;
    /** While it waits: a page the payer can open to pay (http/https), when the gateway gives one. */
    readonly pay_url: string | null;
    /** Until when the payer can pay; after it the trade is closed. */
    readonly expires_at: string | null;
  } | null;
  readonly created_at: string;
  readonly updated_at: string;
}

export function toOrderView(order: OrderRecord, payment: PaymentRecord | undefined): OrderView {
  return {
    id: order.id,
    status: order.status,
    status_text: describeOrderStatus(order.status),
    status_reason: order.statusReason,
    user_id: order.userId,
    drink: order.drink,
    size: order.size,
    quantity: order.quantity,
    options: order.options,
    description: order.description,
    unit_amount: order.unitAmount,
    amount: order.amount,
    currency: order.currency,
    payment:
      payment === undefined
        ? null
        : {
            id: payment.id,
            status: payment.status,
            gateway: payment.gateway,
            method: payment.method,
            out_trade_no: payment.outTradeNo,
            gateway_trade_no: payment.gatewayTradeNo,
            failure_code: payment.failureCode,
            ...payerAction(order, payment),
          },
    created_at: new Date(order.createdAt).toISOString(),
    updated_at: new Date(order.updatedAt).toISOString(),
  };
}

/** What the payer needs, shown only while the trade can still be paid. */
function payerAction(
  order: OrderRecord,
  payment: PaymentRecord,
): { qr_code: string | null; pay_url: string | null; expires_at: string | null } {
  const waiting = order.status === 'PAYMENT_PROCESSING' && payment.status === 'PENDING' && payment.qrCode !== null;
  return waiting
    ? {
        qr_code: payment.qrCode,
        pay_url: payment.payUrl,
        expires_at: payment.payExpiresAt === null ? null : new Date(payment.payExpiresAt).toISOString(),
      }
    : { qr_code: null, pay_url: null, expires_at: null };
}
