import type { OrderRecord, PaymentRecord } from '../../src/ports/records.js';

/** Who and when, as every fixture record starts. */
export const STAMPED = {
  createdBy: 'user:u1',
  updatedBy: 'user:u1',
  createdAt: 1000,
  updatedAt: 1000,
  version: 1,
} as const;

/** An order of tenant t1 as the storage tests write it, with `over` changed. */
export function orderFixture(id: string, over: Partial<OrderRecord> = {}): OrderRecord {
  return {
    id,
    tenantId: 't1',
    userId: 'u1',
    status: 'AWAITING_PAYMENT',
    drink: 'latte',
    size: 'medium',
    quantity: 1,
    options: {},
    description: '1 × 中杯拿铁 medium latte',
    unitAmount: 3200,
    amount: 3200,
    currency: 'CNY',
    paymentId: `pay_${id}`,
    statusReason: null,
    ...STAMPED,
    ...over,
  };
}

/** A payment of tenant t1 for `orderId`, as the storage tests write it, with `over` changed. */
export function paymentFixture(id: string, orderId: string, over: Partial<PaymentRecord> = {}): PaymentRecord {
  return {
    id,
    tenantId: 't1',
    orderId,
    status: 'CREATED',
    amount: 3200,
    refundedAmount: 0,
    currency: 'CNY',
    gateway: 'simulator',
    method: 'wallet',
    attempt: 0,
    outTradeNo: null,
    gatewayTradeNo: null,
    failureCode: null,
    qrCode: null,
    payUrl: null,
    payExpiresAt: null,
    ...STAMPED,
    ...over,
  };
}
