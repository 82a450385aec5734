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
          },
    created_at: new Date(order.createdAt).toISOString(),
    updated_at: new Date(order.updatedAt).toISOString(),
  };
}
