/**
 * Expected outcomes are returned values, never exceptions (ARCHITECTURE.md, Conventions).
 * Every error carries a stable, documented `code` that transports map in one place.
 */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'INVALID_AMOUNT'
  | 'INVALID_CURRENCY'
  | 'INVALID_PAYMENT_METHOD'
  | 'AMOUNT_TOO_LARGE'
  | 'UNKNOWN_DRINK'
  | 'UNKNOWN_SIZE'
  | 'UNKNOWN_OPTION'
  | 'INVALID_QUANTITY'
  | 'ILLEGAL_TRANSITION'
  | 'POLICY_AMOUNT_CAP_EXCEEDED'
  | 'DAILY_LIMIT_EXCEEDED'
  | 'ORDER_NOT_FOUND'
  | 'IDEMPOTENCY_CONFLICT'
  | 'IDEMPOTENCY_IN_FLIGHT'
  | 'IDEMPOTENCY_KEY_INVALID'
  | 'CONCURRENT_MODIFICATION'
  | 'AMOUNT_MISMATCH'
  | 'PAYMENT_DECLINED'
  | 'LEDGER_UNBALANCED'
  | 'REFUND_NOT_ALLOWED'
  | 'REFUND_EXCEEDS_PAYMENT'
  | 'REFUND_NOT_FOUND'
  | 'REFUND_DECLINED'
  // Recovering what failed (issue 17): a refund sent again or settled outside, review flags resolved
  | 'REFUND_NOT_FAILED'
  | 'FLAG_NOT_FOUND'
  | 'FLAG_ALREADY_RESOLVED'
  | 'FLAG_ACTION_NOT_OFFERED'
  | 'CALLBACK_SIGNATURE_INVALID'
  | 'CALLBACK_MALFORMED'
  | 'CALLBACK_STALE'
  | 'CALLBACK_REPLAYED'
  | 'CALLBACK_UNKNOWN_PAYMENT'
  | 'CALLBACK_AMOUNT_MISMATCH'
  | 'GATEWAY_NOT_CONFIGURED'
  | 'GATEWAY_UNAVAILABLE'
  // A trade that waits for its payer (issue 17): its pay page, and closing it at its gateway.
  | 'TRADE_NOT_FOUND'
  | 'TRADE_NOT_PENDING'
  | 'TRADE_NOT_CLOSED'

  // Phone recharge (issue 5)
  | 'PHONE_INVALID_FORMAT'
  | 'PHONE_INVALID_LENGTH'
  | 'PHONE_NOT_MOBILE'
  | 'PHONE_UNKNOWN_SEGMENT'
  | 'PHONE_NOT_RECHARGEABLE'
  | 'FACE_VALUE_NOT_OFFERED'
  | 'NO_CHANNEL_AVAILABLE'
  | 'CALLBACK_INVALID'
  | 'RECHARGE_CHANNEL_NOT_CONFIGURED'
  | 'CALLBACK_UNKNOWN_RECHARGE'
  | 'CALLBACK_UNCONFIRMED'

  // Words to intent (issue 3)
  | 'INVALID_PHONE'
  | 'UNKNOWN_ACTION'
  | 'INTENT_NOT_UNDERSTOOD'
  | 'INTENT_AMBIGUOUS'
  | 'INPUT_TOO_LONG'
  /** Control, bidi-override or other invisible format characters: what is shown would not be what runs. */
  | 'INVALID_CHARACTERS'
  | 'ACTION_UNAVAILABLE'
  | 'NO_LAST_ORDER'
  | 'CONFIRMATION_NOT_FOUND'
  /** A confirmation that names (by digest) something other than what was held. */
  | 'CONFIRMATION_MISMATCH'
  | 'LLM_TIMEOUT'
  | 'LLM_RATE_LIMITED'
  | 'LLM_UNAVAILABLE'
  | 'LLM_INVALID_OUTPUT'

  // Wallet and recharge records (issue 5, phase 2)
  | 'INSUFFICIENT_BALANCE'
  | 'TOP_UP_NOT_FOUND'
  | 'RECHARGE_NOT_FOUND'
  | 'RECHARGE_FAILED'
  | 'BATCH_NOT_FOUND'
  | 'BATCH_TOO_LARGE'
  | 'DUPLICATE_NUMBER'
  | 'CONTENT_DIGEST_MISMATCH'

  // Identity (issue 12)
  | 'UNAUTHENTICATED'
  | 'INVALID_CREDENTIALS'
  | 'REFRESH_TOKEN_REUSED'
  | 'FORBIDDEN'
  | 'KEY_NOT_FOUND'
  | 'PRINCIPAL_EXISTS'
  | 'PRINCIPAL_NOT_FOUND'
  /** An admin changing their own role or access (another admin must). */
  | 'SELF_CHANGE_REFUSED'
  /** A change that would leave the tenant without an active admin. */
  | 'LAST_ADMIN'
  // Abuse (identity issue)
  | 'BLOCK_NOT_FOUND'
  /** A block by hand of a source that is blocked already. */
  | 'SOURCE_ALREADY_BLOCKED'
  /** A block by hand of the very address or credential the request comes from. */
  | 'BLOCK_OWN_SOURCE'
  /** A block by hand where `security.block.enabled` is false (nothing would be refused). */
  | 'BLOCKING_DISABLED'
  // Spending mandates (identity issue): why an agent's action fell outside its mandates
  | 'MANDATE_NOT_FOUND'
  | 'MANDATE_REVOKED'
  | 'MANDATE_EXPIRED'
  | 'MANDATE_ACTION_NOT_COVERED'
  | 'MANDATE_PAYEE_NOT_COVERED'
  | 'MANDATE_CURRENCY_NOT_COVERED'
  | 'MANDATE_AMOUNT_EXCEEDED'
  | 'MANDATE_BUDGET_EXHAUSTED'
  | 'MANDATE_SIGNATURE_INVALID'
  // Outbound webhooks (issue 13)
  | 'WEBHOOK_NOT_FOUND'
  | 'WEBHOOK_DELIVERY_NOT_FOUND'
  | 'WEBHOOK_URL_INVALID'
  | 'WEBHOOK_EVENTS_INVALID'
  | 'WEBHOOK_DISABLED'
  // Reconciliation against the channels' statements (issue 15)
  | 'RECONCILIATION_NOT_FOUND'
  | 'RECONCILIATION_SOURCE_UNKNOWN'
  | 'STATEMENT_UNAVAILABLE'
  | 'STATEMENT_INVALID'
  | 'REPAIR_NOT_FOUND'
  | 'REPAIR_NOT_DUE'
  // Reloading the configuration without a restart
  | 'CONFIG_INVALID'
  | 'RELOAD_UNAVAILABLE';

export interface DomainError {
  readonly code: ErrorCode;
  readonly message: string;
  /** Machine-readable specifics, e.g. the offending field or the allowed values. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export type Result<T, E = DomainError> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): { readonly ok: true; readonly value: T } => ({ ok: true, value });

export const err = (
  code: ErrorCode,
  message: string,
  details?: Readonly<Record<string, unknown>>,
): { readonly ok: false; readonly error: DomainError } => ({
  ok: false,
  error: details === undefined ? { code, message } : { code, message, details },
});

/** Compile-time exhaustiveness guard for `switch` over discriminated unions. */
export function assertNever(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
