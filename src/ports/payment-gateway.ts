import type { StatementFile } from '../domain/statements/statement-line.js';
import type { Money } from '../domain/money.js';

/**
 * A payment gateway: Alipay, WeChat Pay v3, the built-in simulator… One method per flow.
 * Methods return definite outcomes; a timeout or transport failure THROWS
 * {@link GatewayUnknownOutcomeError}, and the caller treats the outcome as unknown and resolves
 * it with `query` — never by creating the payment again under a new key. A definite refusal
 * (4xx with a business code) is a returned `failed` result, not an exception.
 */
export interface PaymentGateway {
  /** The configured name (a key of the `gateways` config), e.g. "alipay", "simulator". */
  readonly name: string;
  /** Payment methods this gateway can take, e.g. ["alipay_qr"], ["wechat_native"], ["wallet", …]. */
  readonly methods: readonly string[];
  /**
   * Create a payment (precreate / native / wallet charge, as the method implies). `outTradeNo`
   * is our idempotency key: a gateway that sees the same outTradeNo twice must not charge twice.
   * A QR/native create answers `pending` with `payUrl` (the QR code content) until the payer pays.
   */
  create(request: CreatePaymentRequest): Promise<GatewayPaymentResult>;
  /** The gateway's view of a payment by our outTradeNo (`not_found` if it never saw it). */
  query(outTradeNo: string): Promise<GatewayPaymentResult>;
  /** Refund part or all of a paid payment; `outRefundNo` is the refund's idempotency key. */
  refund(request: RefundRequest): Promise<GatewayRefundResult>;
  /** The gateway's view of a refund by our outRefundNo. */
  queryRefund(outTradeNo: string, outRefundNo: string): Promise<GatewayRefundResult>;
  /** Close an unpaid payment so that it can no longer be paid; answers the payment's state after. */
  close(outTradeNo: string): Promise<GatewayPaymentResult>;
  /**
   * Verify and parse an asynchronous notification (callback) exactly as received. Never throws
   * on bad input: a forged, malformed or undecryptable notification is a refusal with a code.
   * Freshness (timestamp window) and replay (nonce) are checked by the caller from the
   * verified `timestamp` and `nonce`.
   */
  verifyNotification(input: RawNotification): Promise<NotificationVerdict>;
  /** The HTTP answer the gateway expects for a notification we accepted (or refused). */
  acknowledge(accepted: boolean): NotificationAck;
  /**
   * The gateway's statement (对账单) of one business day (`YYYY-MM-DD`, Asia/Shanghai), fetched
   * the way its API gives it (download-URL query, then the download). Absent where a gateway
   * has none; throws when it is not ready or cannot be had.
   */
  statement?(date: string): Promise<StatementFile>;
  /** How the gateway is doing (breaker state, calls), where a resilience wrapper tracks it. */
  health?(): GatewayHealth;
}

/** What routing and operators see of a gateway. */
export interface GatewayHealth {
  readonly name: string;
  readonly breaker: 'closed' | 'open' | 'half-open' | 'isolated';
  /** False while the breaker is open: routing sends new payments elsewhere. */
  readonly available: boolean;
  readonly inFlight: number;
  readonly calls: number;
  readonly failures: number;
}

export interface CreatePaymentRequest {
  readonly outTradeNo: string;
  readonly amount: Money;
  readonly subject: string;
  /** e.g. "wallet", "alipay_qr", "wechat_native" */
  readonly method: string;
  /** Who pays (the user id); the simulator charges their account. */
  readonly payer: string;
  /** Where the gateway should send its asynchronous notification, when it sends one. */
  readonly notifyUrl?: string;
}

/** `pending` = created, waiting for the payer (WAIT_BUYER_PAY / NOTPAY / USERPAYING). */
export type GatewayPaymentStatus = 'succeeded' | 'pending' | 'failed' | 'closed' | 'not_found';

export interface GatewayPaymentResult {
  readonly status: GatewayPaymentStatus;
  readonly outTradeNo: string;
  readonly gatewayTradeNo?: string;
  /** Amount the gateway recorded, for mismatch checks. */
  readonly amount?: Money;
  /** The gateway's code for a decline or failure, e.g. "INSUFFICIENT_FUNDS". */
  readonly failureCode?: string;
  /** What the payer scans or opens to pay (Alipay qr_code, WeChat code_url). */
  readonly payUrl?: string;
  /**
   * When the gateway captured it (ms), where it says (Alipay send_pay_date, WeChat Pay
   * success_time): the time its statement dates the payment by.
   */
  readonly paidAt?: number;
}

export interface RefundRequest {
  readonly outTradeNo: string;
  readonly outRefundNo: string;
  readonly amount: Money;
  /** The whole payment's amount (WeChat requires it with every refund). */
  readonly total?: Money;
  readonly reason: string;
  readonly notifyUrl?: string;
}

export type GatewayRefundStatus = 'succeeded' | 'pending' | 'failed' | 'not_found';

export interface GatewayRefundResult {
  readonly status: GatewayRefundStatus;
  readonly outRefundNo: string;
  readonly gatewayRefundNo?: string;
  readonly amount?: Money;
  readonly failureCode?: string;
  /** When the gateway made the refund (ms), where it says (Alipay gmt_refund_pay, WeChat Pay success_time). */
  readonly refundedAt?: number;
}

/** A notification as it arrived: header names lower-case, the body as the exact received text. */
export interface RawNotification {
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string;
}

/** A verified notification, mapped to our terms. */
export type GatewayNotification =
  | {
      readonly kind: 'payment';
      /** The gateway's id of this notification (notify_id, event id): the de-duplication key. */
      readonly eventId: string;
      readonly outTradeNo: string;
      readonly gatewayTradeNo?: string;
      readonly status: Exclude<GatewayPaymentStatus, 'not_found'>;
      readonly amount?: Money;
      readonly failureCode?: string;
      /** When the gateway captured it (ms), where the notification says (Alipay gmt_payment, WeChat success_time). */
      readonly paidAt?: number;
      /** When the gateway signed/sent it (ms since epoch), for the freshness window. */
      readonly timestamp?: number;
      /** A single-use value from the signature envelope, for replay refusal. */
      readonly nonce?: string;
    }
  | {
      readonly kind: 'refund';
      readonly eventId: string;
      readonly outTradeNo: string;
      readonly outRefundNo: string;
      readonly gatewayRefundNo?: string;
      readonly status: Exclude<GatewayRefundStatus, 'not_found'>;
      readonly amount?: Money;
      readonly failureCode?: string;
      /** When the gateway made the refund (ms), where the notification says. */
      readonly refundedAt?: number;
      readonly timestamp?: number;
      readonly nonce?: string;
    };

/**
 * Why a notification was refused, with a stable code. `RECIPIENT_MISMATCH`: genuinely signed, but
 * addressed to another merchant or app (app_id / mchid / appid is not ours).
 */
export type NotificationRefusalCode =
  'SIGNATURE_INVALID' | 'MALFORMED_NOTIFICATION' | 'DECRYPTION_FAILED' | 'UNKNOWN_CERTIFICATE' | 'RECIPIENT_MISMATCH';

export type NotificationVerdict =
  | { readonly ok: true; readonly notification: GatewayNotification }
  | { readonly ok: false; readonly code: NotificationRefusalCode; readonly message: string };

export interface NotificationAck {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** Thrown when the outcome of a call is unknown (timeout, connection reset, 5xx). */
export class GatewayUnknownOutcomeError extends Error {
  override readonly name = 'GatewayUnknownOutcomeError';
}

/**
 * Thrown when the gateway asks us to slow down (HTTP 429, or a rate-limit header at zero):
 * nothing was done, and the call may be repeated after `retryAfterMs`.
 */
export class GatewayRateLimitedError extends Error {
  override readonly name = 'GatewayRateLimitedError';
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}

/** Thrown when a gateway is taken out of service (its circuit breaker is open): nothing was sent. */
export class GatewayUnavailableError extends Error {
  override readonly name = 'GatewayUnavailableError';
}
