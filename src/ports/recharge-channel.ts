import type { Money } from '../domain/money.js';
import type { OperatorId } from '../domain/recharge/number-segments.js';
import type { Result } from '../domain/result.js';
import type { StatementFile } from '../domain/statements/statement-line.js';

/**
 * A recharge channel: an aggregator (Juhe…), a carrier's own interface, or the simulator. Every
 * method returns a definite answer or THROWS `RechargeUnknownOutcomeError` when the outcome is
 * unknown (timeout, connection reset, 5xx): the caller then resolves it with `query` on the same
 * channel — never by sending the recharge to another channel.
 */
export interface RechargeChannel {
  /** Unique name, used by routing and in health reports. */
  readonly name: string;
  /**
   * Ask for a top-up. `orderId` is our idempotency key toward the channel: a second submit with
   * the same orderId must never top the phone up twice (it answers with the first order's state).
   */
  submit(request: RechargeSubmitRequest): Promise<RechargeChannelResult>;
  /** The channel's view of one of our orders (`not_found` if it never received it). */
  query(request: RechargeQueryRequest): Promise<RechargeChannelResult>;
  /** Whether the channel would take this number and amount now (Juhe `telcheck`). */
  check(request: RechargeCheckRequest): Promise<RechargeCheckResult>;
  /** Our prepaid balance at the channel (Juhe `yue`), to stop routing to a channel we cannot pay. */
  balance(): Promise<Money>;
  /**
   * Verify and read an asynchronous result notification. Forged or malformed input is an
   * expected outcome (`CALLBACK_SIGNATURE_INVALID`, `CALLBACK_INVALID`), not an exception.
   */
  parseCallback(request: RechargeCallbackRequest): Result<RechargeCallback>;
  /** The channel's list of our orders of one business day (`YYYY-MM-DD`, Asia/Shanghai), where it has one. */
  statement?(date: string): Promise<StatementFile>;
}

export interface RechargeSubmitRequest {
  /** 8–32 letters and digits; one per attempt (see domain `attemptKey`). */
  readonly orderId: string;
  /** National digits, normalised (domain `detectOperator`). */
  readonly phone: string;
  /** A face value in CNY fen; the adapter converts to the channel's unit. */
  readonly amount: Money;
  /** Picks the per-operator timeout, retries and encoding. */
  readonly operator: OperatorId;
}

export interface RechargeQueryRequest {
  readonly orderId: string;
  readonly operator: OperatorId;
}

export interface RechargeCheckRequest {
  readonly phone: string;
  readonly amount: Money;
  readonly operator: OperatorId;
}

export type RechargeCheckResult =
  { readonly rechargeable: true } | { readonly rechargeable: false; readonly code: string; readonly message: string };

export type RechargeChannelStatus = 'processing' | 'succeeded' | 'failed' | 'not_found';

export interface RechargeChannelResult {
  readonly status: RechargeChannelStatus;
  readonly orderId: string;
  /** The channel's own order number, when it has one. */
  readonly channelOrderId?: string;
  /** Why it failed, in the channel's words (e.g. "JUHE_208517", "CHANNEL_BUSY"). */
  readonly failureCode?: string;
  /** The channel's own words about a failure, for people (logs, support). */
  readonly failureMessage?: string;
  /**
   * A failure about the number itself (suspended, wrong operator): no other channel will do
   * better, so there is no failover. Channel-side failures (busy, maintenance) are not final.
   */
  readonly final?: boolean;
  /** What the channel charged us, when it says. */
  readonly cost?: Money;
}

/** A callback as the HTTP layer received it: decoded parameters (query or form) and the raw body. */
export interface RechargeCallbackRequest {
  readonly params: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly rawBody?: string;
}

export interface RechargeCallback {
  readonly orderId: string;
  readonly channelOrderId: string;
  readonly status: 'succeeded' | 'failed';
  readonly failureMessage?: string;
  /**
   * The signature does not cover the result itself (Juhe signs md5(key + sporder_id + orderid),
   * not `sta`): the receiver confirms the result with `query` before acting on it.
   */
  readonly confirmByQuery?: boolean;
  /** What to answer the channel so it stops re-sending. */
  readonly reply: { readonly status: number; readonly contentType: string; readonly body: string };
}

/** Thrown when the outcome of a call is unknown (timeout, connection reset, 5xx). */
export class RechargeUnknownOutcomeError extends Error {
  override readonly name = 'RechargeUnknownOutcomeError';
}
