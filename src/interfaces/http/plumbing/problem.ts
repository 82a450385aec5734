import type { FastifyReply } from 'fastify';
import type { ErrorCode } from '../../../domain/result.js';

/** Codes only the HTTP transport gives (the request itself, before any use case runs). */
export type TransportErrorCode =
  | 'MALFORMED_JSON'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'URI_TOO_LONG'
  | 'HEADERS_TOO_LARGE'
  | 'REQUEST_TIMEOUT'
  | 'MALFORMED_REQUEST'
  | 'JSON_TOO_DEEP'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'SOURCE_BLOCKED'
  | 'INTERNAL'
  | 'NOT_READY'
  /** An event stream asked for without `Accept: text/event-stream`. */
  | 'NOT_ACCEPTABLE';

/**
 * HTTP status for each stable error code. The one place where codes meet HTTP; typed by the
 * code unions, so a new code cannot ship without its status (the compiler refuses the map).
 */
const STATUS_BY_CODE: Readonly<Record<ErrorCode | TransportErrorCode, number>> = {
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  INVALID_AMOUNT: 400,
  INVALID_CURRENCY: 400,
  INVALID_PAYMENT_METHOD: 400,
  AMOUNT_TOO_LARGE: 400,
  UNKNOWN_DRINK: 400,
  UNKNOWN_SIZE: 400,
  UNKNOWN_OPTION: 400,
  INVALID_QUANTITY: 400,
  IDEMPOTENCY_KEY_INVALID: 400,
  PAYMENT_DECLINED: 402,
  POLICY_AMOUNT_CAP_EXCEEDED: 403,
  DAILY_LIMIT_EXCEEDED: 403,
  ORDER_NOT_FOUND: 404,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  ILLEGAL_TRANSITION: 409,
  CONCURRENT_MODIFICATION: 409,
  IDEMPOTENCY_IN_FLIGHT: 409,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  HEADERS_TOO_LARGE: 431,
  REQUEST_TIMEOUT: 408,
  MALFORMED_REQUEST: 400,
  JSON_TOO_DEEP: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_CONFLICT: 422,
  AMOUNT_MISMATCH: 422,
  RATE_LIMITED: 429,
  REFUND_NOT_ALLOWED: 409,
  REFUND_EXCEEDS_PAYMENT: 422,
  REFUND_NOT_FOUND: 404,
  REFUND_DECLINED: 422,
  REFUND_NOT_FAILED: 409,
  FLAG_NOT_FOUND: 404,
  FLAG_ALREADY_RESOLVED: 409,
  FLAG_ACTION_NOT_OFFERED: 409,
  CALLBACK_SIGNATURE_INVALID: 401,
  CALLBACK_MALFORMED: 400,
  CALLBACK_STALE: 401,
  CALLBACK_REPLAYED: 409,
  CALLBACK_UNKNOWN_PAYMENT: 404,
  CALLBACK_AMOUNT_MISMATCH: 422,
  GATEWAY_NOT_CONFIGURED: 404,
  GATEWAY_UNAVAILABLE: 503,
  TRADE_NOT_FOUND: 404,
  TRADE_NOT_PENDING: 409,
  // The gateway could not be asked (or would not close): nothing changed here; try again.
  TRADE_NOT_CLOSED: 503,
  INVALID_PHONE: 400,
  UNKNOWN_ACTION: 400,
  INPUT_TOO_LONG: 400,
  INVALID_CHARACTERS: 400,
  INTENT_NOT_UNDERSTOOD: 422,
  INTENT_AMBIGUOUS: 422,
  CONFIRMATION_NOT_FOUND: 404,
  CONFIRMATION_MISMATCH: 409,
  NO_LAST_ORDER: 404,
  ACTION_UNAVAILABLE: 501,
  LLM_INVALID_OUTPUT: 502,
  LLM_UNAVAILABLE: 502,
  LLM_RATE_LIMITED: 503,
  LLM_TIMEOUT: 504,
  PHONE_INVALID_FORMAT: 400,
  PHONE_INVALID_LENGTH: 400,
  PHONE_NOT_MOBILE: 400,
  PHONE_UNKNOWN_SEGMENT: 400,
  PHONE_NOT_RECHARGEABLE: 400,
  FACE_VALUE_NOT_OFFERED: 400,
  NO_CHANNEL_AVAILABLE: 503,
  CALLBACK_INVALID: 400,
  RECHARGE_CHANNEL_NOT_CONFIGURED: 404,
  CALLBACK_UNKNOWN_RECHARGE: 404,
  CALLBACK_UNCONFIRMED: 503,
  INSUFFICIENT_BALANCE: 402,
  TOP_UP_NOT_FOUND: 404,
  RECHARGE_NOT_FOUND: 404,
  RECHARGE_FAILED: 422,
  BATCH_NOT_FOUND: 404,
  BATCH_TOO_LARGE: 413,
  DUPLICATE_NUMBER: 400,
  CONTENT_DIGEST_MISMATCH: 400,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  REFRESH_TOKEN_REUSED: 401,
  FORBIDDEN: 403,
  KEY_NOT_FOUND: 404,
  PRINCIPAL_EXISTS: 409,
  PRINCIPAL_NOT_FOUND: 404,
  SELF_CHANGE_REFUSED: 409,
  LAST_ADMIN: 409,
  // Too many failures (bad credentials, forged callbacks, mandate violations) from one source.
  SOURCE_BLOCKED: 403,
  BLOCK_NOT_FOUND: 404,
  SOURCE_ALREADY_BLOCKED: 409,
  BLOCK_OWN_SOURCE: 409,
  BLOCKING_DISABLED: 409,
  MANDATE_NOT_FOUND: 404,
  // Outside a mandate: the action is held for the person (these name why); as errors, conflicts.
  MANDATE_REVOKED: 409,
  MANDATE_EXPIRED: 409,
  MANDATE_ACTION_NOT_COVERED: 409,
  MANDATE_PAYEE_NOT_COVERED: 409,
  MANDATE_CURRENCY_NOT_COVERED: 409,
  MANDATE_AMOUNT_EXCEEDED: 409,
  MANDATE_BUDGET_EXHAUSTED: 409,
  MANDATE_SIGNATURE_INVALID: 409,
  WEBHOOK_NOT_FOUND: 404,
  WEBHOOK_DELIVERY_NOT_FOUND: 404,
  WEBHOOK_URL_INVALID: 400,
  WEBHOOK_EVENTS_INVALID: 400,
  // Redelivery to an endpoint that is disabled: enable it first (PATCH enabled: true).
  WEBHOOK_DISABLED: 409,
  RECONCILIATION_NOT_FOUND: 404,
  RECONCILIATION_SOURCE_UNKNOWN: 404,
  // The channel did not give its statement (not ready yet, unreachable): try later or pass the file.
  STATEMENT_UNAVAILABLE: 502,
  STATEMENT_INVALID: 422,
  REPAIR_NOT_FOUND: 404,
  // The reloaded file does not validate: nothing was replaced, the running configuration stays.
  CONFIG_INVALID: 422,
  // The process was started without a configuration source it can read again.
  RELOAD_UNAVAILABLE: 409,
  // A recheck waits for T+2.
  REPAIR_NOT_DUE: 409,
  // A journal that does not balance is a bug, never the caller's fault.
  LEDGER_UNBALANCED: 500,
  INTERNAL: 500,
  NOT_READY: 503,
  NOT_ACCEPTABLE: 406,
};

/** The content type of every problem document. */
export const PROBLEM_JSON = { 'content-type': 'application/problem+json; charset=utf-8' };

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
  503: 'Service Unavailable',
};

export function statusForCode(code: string): number {
  return (STATUS_BY_CODE as Readonly<Record<string, number>>)[code] ?? 400;
}

/** An RFC 9457 problem document with our stable `code` and the `request_id`. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly request_id: string;
  readonly instance?: string;
  readonly [extension: string]: unknown;
}

export function problem(
  code: string,
  detail: string,
  requestId: string,
  extensions: Readonly<Record<string, unknown>> = {},
  status = statusForCode(code),
): Problem {
  return {
    type: `https://open-autoglm.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    code,
    detail,
    request_id: requestId,
    ...extensions,
  };
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type('application/problem+json; charset=utf-8').send(p);
}

/**
 * A problem thrown from a hook (the rate limiter refuses by throwing): the error handler sends it
 * as it is, with the headers already set on the reply.
 */
export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
    this.name = 'ProblemError';
  }
}
