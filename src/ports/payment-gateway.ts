import type { Money } from '../domain/money.js';

/**
 * A payment gateway: Alipay, WeChat Pay v3, the built-in simulator… Methods return definite
 * outcomes; a timeout or transport failure THROWS, and the caller treats the outcome as unknown
 * and resolves it with `query` — never by creating the payment again under a new key.
 */
export interface PaymentGateway {
  readonly name: string;
  /**
   * Create (and where the method allows, capture) a payment. `outTradeNo` is our idempotency
   * key: a gateway that sees the same outTradeNo twice must not charge twice.
   */
  create(request: CreatePaymentRequest): Promise<GatewayPaymentResult>;
  /** The gateway's view of a payment by our outTradeNo. */
  query(outTradeNo: string): Promise<GatewayPaymentResult>;
  /** Refund part or all of a paid payment; `outRefundNo` is the refund's idempotency key. */
  refund(request: RefundRequest): Promise<GatewayRefundResult>;
  /** Close an unpaid payment so that it can no longer be paid. */
  close(outTradeNo: string): Promise<GatewayPaymentResult>;
}

export interface CreatePaymentRequest {
  readonly outTradeNo: string;
  readonly amount: Money;
  readonly subject: string;
  /** e.g. "wallet", "alipay_qr", "wechat_native" */
  readonly method: string;
  /** Who pays (the user id); the simulator charges their account. */
  readonly payer: string;
}

export type GatewayPaymentStatus = 'succeeded' | 'pending' | 'failed' | 'closed' | 'not_found';

export interface GatewayPaymentResult {
  readonly status: GatewayPaymentStatus;
  readonly outTradeNo: string;
  readonly gatewayTradeNo?: string;
  /** Amount the gateway recorded, for mismatch checks. */
  readonly amount?: Money;
  /** The gateway's code for a decline or failure, e.g. "INSUFFICIENT_FUNDS". */
  readonly failureCode?: string;
}

export interface RefundRequest {
  readonly outTradeNo: string;
  readonly outRefundNo: string;
  readonly amount: Money;
  readonly reason: string;
}

export interface GatewayRefundResult {
  readonly status: 'succeeded' | 'pending' | 'failed';
  readonly outRefundNo: string;
  readonly failureCode?: string;
}

/** Thrown when the outcome of a call is unknown (timeout, connection reset, 5xx). */
export class GatewayUnknownOutcomeError extends Error {
  override readonly name = 'GatewayUnknownOutcomeError';
}
