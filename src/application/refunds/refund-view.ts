import type { RefundRecord } from '../../ports/records.js';

/** The public shape of a refund. Amounts in minor units. */
export interface RefundView {
  readonly id: string;
  readonly order_id: string;
  readonly payment_id: string;
  readonly status: string;
  readonly amount: number;
  readonly currency: string;
  readonly reason: string;
  readonly out_refund_no: string;
  readonly gateway_refund_no: string | null;
  readonly failure_code: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

export function toRefundView(r: RefundRecord): RefundView {
  return {
    id: r.id,
    order_id: r.orderId,
    payment_id: r.paymentId,
    status: r.status,
    amount: r.amount,
    currency: r.currency,
    reason: r.reason,
    out_refund_no: r.outRefundNo,
    gateway_refund_no: r.gatewayRefundNo,
    failure_code: r.failureCode,
    created_at: new Date(r.createdAt).toISOString(),
    updated_at: new Date(r.updatedAt).toISOString(),
  };
}
