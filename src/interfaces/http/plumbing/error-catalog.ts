import type { StableCode } from './openapi/route-doc.js';

/** What a stable error code means for the caller, and what they can do about it. */
export interface ErrorCodeDoc {
  /** When the service answers with it. */
  readonly meaning: string;
  /** What the caller (or the operator) does next. */
  readonly action: string;
}

const RETRY_LATER = 'try again later, with the same Idempotency-Key for a money action';
const FIX_REQUEST = 'fix the request (the problem names the field) and send it again';
const CHECK_ID = 'check the id: it may belong to another tenant or person, or never have existed';

/**
 * Every stable error code with its meaning and what to do, typed by the code unions so a new code
 * cannot ship without its entry (the compiler refuses the map). The error-code reference
 * (docs/reference/error-codes.md, `npm run docs:gen`) is generated from this table and the HTTP
 * statuses in problem.ts; the OpenAPI document names each code's meaning in its examples.
 */
export const ERROR_CATALOG: Readonly<Record<StableCode, ErrorCodeDoc>> = {
  VALIDATION_FAILED: {
    meaning:
      'wrong types, missing or unknown fields, a query parameter or body the endpoint does not declare, a ' +
      '`cursor` that is not a `next_cursor` we gave out, a `user_id` that cannot be one (`errors` lists ' +
      'each field)',
    action: FIX_REQUEST,
  },
  MALFORMED_JSON: { meaning: 'the body is not JSON (or tries `__proto__`)', action: 'send a valid JSON body' },
  JSON_TOO_DEEP: {
    meaning: 'the JSON body nests deeper than 32 levels (counted before it is parsed)',
    action: 'flatten the body',
  },
  MALFORMED_REQUEST: {
    meaning: 'a request Node cannot parse (a control character in a header)',
    action: 'fix the client: headers are printable ASCII',
  },
  REQUEST_TIMEOUT: {
    meaning: 'the request was not received within `server.request_timeout_ms`',
    action: 'send it again, with the same Idempotency-Key',
  },
  HEADERS_TOO_LARGE: {
    meaning: 'the request head is over 16 KiB (answered as problem+json like every other error)',
    action: 'send fewer or shorter headers (cookies, tokens)',
  },
  METHOD_NOT_ALLOWED: {
    meaning: 'the path exists, the method does not (`Allow` and `allow` name the ones that do)',
    action: 'use one of the methods in `allow`',
  },
  NOT_FOUND: { meaning: 'no route at this path', action: 'check the path against the HTTP API reference' },
  CONFIG_INVALID: {
    meaning: 'a reload found the configuration file or environment invalid; the running configuration stays',
    action: 'fix what the details name and reload again (POST /api/v1/admin/reload or SIGHUP)',
  },
  RELOAD_UNAVAILABLE: {
    meaning: 'this process has no configuration source to read again (it was started without one)',
    action: 'restart it with the new configuration instead',
  },
  NOT_ACCEPTABLE: {
    meaning:
      'the route answers only in a media type the request’s Accept refuses (the live order feed is text/event-stream)',
    action: 'send `Accept: text/event-stream` (an EventSource does)',
  },
  PAYLOAD_TOO_LARGE: {
    meaning: 'the body is over `server.body_limit_bytes`',
    action: 'send a smaller body (or raise the limit)',
  },
  URI_TOO_LONG: {
    meaning: "the URL is over 8,192 characters (or a path segment over Fastify's limit)",
    action: 'shorten the URL',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    meaning: 'a body that is not `application/json`',
    action: 'send `content-type: application/json`',
  },
  INVALID_AMOUNT: {
    meaning: 'an amount that is not a positive integer number of fen',
    action: 'send integer fen (¥12.50 is 1250)',
  },
  AMOUNT_TOO_LARGE: {
    meaning: 'an amount over 10,000,000,000 fen (`MAX_AMOUNT_MINOR`)',
    action: 'send a smaller amount',
  },
  INVALID_CURRENCY: { meaning: 'a currency other than CNY, HKD, USD, EUR or JPY', action: 'send one of them' },
  INVALID_PAYMENT_METHOD: {
    meaning: 'a payment method no configured gateway takes',
    action: 'use one of `details.allowed`',
  },
  UNKNOWN_DRINK: {
    meaning: 'not on the menu (`details.allowed` says what is)',
    action: 'pick a drink from `GET /api/v1/menu`',
  },
  UNKNOWN_SIZE: {
    meaning: 'no such size of that drink (`details.allowed` says what is)',
    action: 'pick a size from `GET /api/v1/menu`',
  },
  UNKNOWN_OPTION: {
    meaning: 'an option the menu does not offer (`details.allowed` says what is)',
    action: 'pick an option from `GET /api/v1/menu`',
  },
  INVALID_QUANTITY: { meaning: 'a quantity that is not a whole number from 1 up', action: FIX_REQUEST },
  IDEMPOTENCY_KEY_INVALID: {
    meaning: '`Idempotency-Key` longer than 255 characters or not printable ASCII',
    action: 'send a shorter, printable key (a UUID is fine)',
  },
  IDEMPOTENCY_CONFLICT: {
    meaning: 'the Idempotency-Key was used before with a different request',
    action: 'use a fresh key for a new request; resend the original body to get the original answer',
  },
  IDEMPOTENCY_IN_FLIGHT: {
    meaning:
      'a request with this Idempotency-Key is still running (or crashed and holds it for `idempotency.lock_seconds`)',
    action: 'wait for `Retry-After` and send it again with the same key',
  },
  ILLEGAL_TRANSITION: {
    meaning: 'the move is not allowed from the current state (e.g. confirming a cancelled order)',
    action: 'read the resource again and act on its current state',
  },
  CONCURRENT_MODIFICATION: {
    meaning: 'another request changed the same record at the same time',
    action: 'read it again and retry',
  },
  AMOUNT_MISMATCH: {
    meaning: 'the amount given does not match what was priced or held',
    action: 'send the amount the service quoted',
  },
  PAYMENT_DECLINED: {
    meaning: 'the gateway declined the payment; the order is `FAILED`',
    action: 'place a new order, perhaps with another payment method',
  },
  POLICY_AMOUNT_CAP_EXCEEDED: {
    meaning: "the owner's policy refuses an order or recharge above `max_order_amount` (checked again at confirm)",
    action: 'a smaller amount, or the owner raises the cap',
  },
  DAILY_LIMIT_EXCEEDED: {
    meaning:
      "the owner's policy refuses what would take the person's spending today (Asia/Shanghai) over " +
      '`daily_limit_per_user`',
    action: 'wait for tomorrow, or the owner raises the limit',
  },
  ORDER_NOT_FOUND: { meaning: 'no such order that the caller may see', action: CHECK_ID },
  LEDGER_UNBALANCED: {
    meaning: 'a journal that does not balance: a bug, never the caller’s fault; nothing was written',
    action: 'report it with the `request_id`',
  },
  REFUND_NOT_ALLOWED: {
    meaning: 'the order cannot be refunded in its state (not paid, or already refunded)',
    action: 'read the order and its refunds',
  },
  REFUND_EXCEEDS_PAYMENT: {
    meaning: 'the refund would give back more than what is left of the payment',
    action: 'ask for at most the remaining amount',
  },
  REFUND_NOT_FOUND: { meaning: 'no such refund', action: CHECK_ID },
  REFUND_DECLINED: {
    meaning: 'the gateway refused the refund; a review flag is raised',
    action: 'resolve the flag (retry the refund or record it settled outside)',
  },
  REFUND_NOT_FAILED: {
    meaning: 'retrying or settling a refund that has not failed',
    action: 'only a `FAILED` refund can be sent again or settled outside',
  },
  FLAG_NOT_FOUND: { meaning: 'no such review flag', action: CHECK_ID },
  FLAG_ALREADY_RESOLVED: { meaning: 'the review flag was resolved already', action: 'nothing: read the flag' },
  FLAG_ACTION_NOT_OFFERED: {
    meaning: 'the review flag does not offer that resolution',
    action: 'use one of the actions the flag lists',
  },
  CALLBACK_SIGNATURE_INVALID: {
    meaning: "a gateway's or channel's callback whose signature does not verify (forged, or the wrong key)",
    action: 'check the callback secret / public key configured for that gateway',
  },
  CALLBACK_MALFORMED: { meaning: 'a payment callback that cannot be parsed', action: 'the gateway sends it again' },
  CALLBACK_STALE: {
    meaning: 'a callback signed further than `callbacks.window_seconds` from now',
    action: "check the clocks (NTP) of both sides; the gateway's next retry is accepted",
  },
  CALLBACK_REPLAYED: {
    meaning: 'the same callback event again (de-duplicated; nothing changes)',
    action: 'nothing: it was applied the first time',
  },
  CALLBACK_UNKNOWN_PAYMENT: {
    meaning: 'the callback names a payment we never created',
    action: 'check that the callback URL belongs to this installation',
  },
  CALLBACK_AMOUNT_MISMATCH: {
    meaning: 'the callback reports another amount than the payment’s: refused, a review flag is raised',
    action: 'look at the flag; never settle it by hand without the gateway’s statement',
  },
  GATEWAY_NOT_CONFIGURED: {
    meaning: 'no gateway takes the payment (no such name, or no route fits its method and amount)',
    action: 'check `gateways`, `payment_gateway` and `payment_routing`',
  },
  GATEWAY_UNAVAILABLE: {
    meaning: 'every gateway that could take the payment is out of service (its breaker is open)',
    action: RETRY_LATER,
  },
  TRADE_NOT_FOUND: { meaning: "the embedded simulator's pay page: no such trade", action: CHECK_ID },
  TRADE_NOT_PENDING: {
    meaning: "the embedded simulator's pay page: the trade was paid, closed or declined already (`trade_status`)",
    action: 'nothing to pay: read the order',
  },
  TRADE_NOT_CLOSED: {
    meaning:
      'a cancel (or a switch of method) for a payment whose QR waits: its gateway could not be asked to ' +
      'close the trade, or did not confirm the close; the order is as it was (a request the gateway was asked ' +
      'about stays recorded, and the order is ended as asked once the trade is closed)',
    action: 'try again',
  },
  PHONE_INVALID_FORMAT: {
    meaning: 'the phone number is empty, or has something other than digits, spaces, dashes and a leading +86 or 0086',
    action: 'send 11 digits',
  },
  PHONE_INVALID_LENGTH: {
    meaning: 'the phone number is not 11 digits (nor 13 for an IoT number)',
    action: 'send 11 digits',
  },
  PHONE_NOT_MOBILE: { meaning: 'the number is not a mainland mobile number', action: 'send a 1xx mobile number' },
  PHONE_UNKNOWN_SEGMENT: {
    meaning: 'no operator is known for the number’s segment',
    action: 'check the number, or add the segment in `recharge.segments`',
  },
  PHONE_NOT_RECHARGEABLE: {
    meaning: 'the segment cannot be recharged here (IoT, data-only, virtual operators not configured)',
    action: 'use another number',
  },
  FACE_VALUE_NOT_OFFERED: {
    meaning: 'the operator is not offered that face value (`details.allowed`)',
    action: 'pick one of `details.allowed`',
  },
  NO_CHANNEL_AVAILABLE: {
    meaning: "every recharge channel for the number's operator was tried or is cooling down",
    action: RETRY_LATER,
  },
  CALLBACK_INVALID: { meaning: "a recharge channel's callback is malformed", action: 'the channel sends it again' },
  RECHARGE_CHANNEL_NOT_CONFIGURED: {
    meaning: 'no recharge channel by that name',
    action: 'check `recharge.channels`',
  },
  CALLBACK_UNKNOWN_RECHARGE: {
    meaning: 'the callback names an order id we never sent through that channel',
    action: 'check that the callback URL belongs to this installation',
  },
  CALLBACK_UNCONFIRMED: {
    meaning: "the result is not signed (Juhe's `sta`) and the channel's query does not know it yet",
    action: 'nothing: the channel sends it again',
  },
  INVALID_PHONE: {
    meaning: 'words to intent: not an 11-digit mainland mobile number',
    action: 'say the number again, 11 digits',
  },
  UNKNOWN_ACTION: { meaning: 'words to intent: no such action', action: 'use one of the actions listed' },
  INTENT_NOT_UNDERSTOOD: {
    meaning: 'the words name no action the service knows',
    action: 'rephrase ("一杯中杯拿铁", "给13800138000充50元")',
  },
  INTENT_AMBIGUOUS: { meaning: 'the words name two actions', action: 'one request at a time' },
  INPUT_TOO_LONG: { meaning: 'words to intent over 500 characters', action: 'say it shorter' },
  INVALID_CHARACTERS: {
    meaning:
      'a control character (NUL, C0/C1 but tab and line breaks), a bidi control, another invisible format ' +
      'character or an unpaired surrogate in a string of the request (`details.character`, and `field`)',
    action: 'remove it: what is shown would not be what runs',
  },
  ACTION_UNAVAILABLE: {
    meaning: 'words to intent: an action nothing in this deployment carries out',
    action: 'use an action the deployment offers',
  },
  NO_LAST_ORDER: {
    meaning: 'words to intent: "that order" with none in the session',
    action: 'name the order, or place one first',
  },
  CONFIRMATION_NOT_FOUND: {
    meaning: 'no such held action of yours, or it was already decided (a confirm that lost the race), or it lapsed',
    action: 'list `GET /api/v1/confirmations` and read the action again',
  },
  CONFIRMATION_MISMATCH: {
    meaning: "the confirm's (or reject's) `digest` does not name the held action",
    action: 'confirm with the `digest` the held action shows',
  },
  LLM_TIMEOUT: { meaning: 'the model did not answer within `llm.timeout_ms`', action: RETRY_LATER },
  LLM_RATE_LIMITED: { meaning: 'the model provider rate-limited us (`Retry-After`)', action: 'wait `Retry-After`' },
  LLM_UNAVAILABLE: {
    meaning: 'the model could not be reached',
    action: 'try again, or run with `llm.mode: grammar-only`',
  },
  LLM_INVALID_OUTPUT: {
    meaning: "the model's answer failed validation twice",
    action: 'rephrase, or use the grammar (`llm.mode`)',
  },
  INSUFFICIENT_BALANCE: {
    meaning: 'the wallet does not cover the recharge; nothing was reserved',
    action: 'top up the wallet; the same Idempotency-Key may be used again afterwards',
  },
  TOP_UP_NOT_FOUND: { meaning: 'no such wallet top-up', action: CHECK_ID },
  RECHARGE_NOT_FOUND: { meaning: 'no such recharge', action: CHECK_ID },
  RECHARGE_FAILED: {
    meaning: 'every channel tried refused (or the failure was about the number); the reservation went back',
    action: 'check the number; try again later',
  },
  BATCH_NOT_FOUND: { meaning: 'no such batch', action: CHECK_ID },
  BATCH_TOO_LARGE: {
    meaning: 'a batch file over `recharge.batch.max_rows` rows; nothing charged',
    action: 'split the file',
  },
  DUPLICATE_NUMBER: {
    meaning: 'a batch row (in the result file, not an HTTP answer): the number is already on an earlier line',
    action: 'nothing: the earlier line is recharged',
  },
  CONTENT_DIGEST_MISMATCH: {
    meaning: 'the batch file is not the bytes its `Content-Digest` names; nothing charged',
    action: 'upload the file again',
  },
  UNAUTHENTICATED: {
    meaning: 'no credential, or one that is unknown, expired or revoked (with `WWW-Authenticate: Bearer`)',
    action: 'send `Authorization: Bearer <key or token>`; refresh an expired access token',
  },
  INVALID_CREDENTIALS: {
    meaning: 'login: the user name or the password is wrong (one answer for both, taking as long)',
    action: 'check both',
  },
  REFRESH_TOKEN_REUSED: {
    meaning: 'a refresh token used a second time: every token of that login is revoked',
    action: 'log in again; look for a leaked token',
  },
  FORBIDDEN: {
    meaning:
      "the caller's role may not do this (an agent confirming a held action, granting a mandate), a cookie " +
      'request without `X-CSRF-Token`, or `X-Act-For` from a role that may not act for others',
    action: 'use a credential of a role that may (see the permission in the HTTP API reference)',
  },
  KEY_NOT_FOUND: { meaning: "no API key by that id in the caller's tenant", action: CHECK_ID },
  PRINCIPAL_EXISTS: {
    meaning: 'the name is taken in the tenant by someone of another role (or by an agent)',
    action: 'choose another name',
  },
  PRINCIPAL_NOT_FOUND: {
    meaning: "no person (or, granting a mandate, no agent acting for you) by that id in the caller's tenant",
    action: CHECK_ID,
  },
  SELF_CHANGE_REFUSED: {
    meaning: 'an admin asked to change their own role or to disable themself',
    action: 'ask another admin to make the change',
  },
  LAST_ADMIN: {
    meaning: 'the change would leave the tenant without an active admin (nobody could manage people or keys)',
    action: 'make another person admin first (`PATCH /api/v1/admin/users/:id {"role": "admin"}`), then change this one',
  },
  SOURCE_BLOCKED: {
    meaning:
      'too many failures (bad credentials, forged callbacks, mandate violations) came from this address or credential',
    action: 'wait `Retry-After`, or an operator lifts the block (`DELETE /api/v1/admin/blocks/:id`)',
  },
  BLOCK_NOT_FOUND: { meaning: 'no block by that id is in force', action: 'list `GET /api/v1/admin/blocks`' },
  SOURCE_ALREADY_BLOCKED: {
    meaning: 'the source is blocked already (by hand or for its failures)',
    action: 'see its block in `GET /api/v1/admin/blocks`; lift it first to block it for another time',
  },
  BLOCK_OWN_SOURCE: {
    meaning: 'the source to block is the address or credential this very request comes from',
    action: 'block it from elsewhere, or with another credential, if that is really meant',
  },
  BLOCKING_DISABLED: {
    meaning: '`security.block.enabled` is false: no block would be enforced',
    action: 'enable it in the configuration (a restart), then block',
  },
  RATE_LIMITED: {
    meaning: "the credential's or the address's request budget for this window is spent",
    action: 'wait `Retry-After` (`RateLimit-*` headers say when it is back)',
  },
  MANDATE_NOT_FOUND: { meaning: 'no mandate by that id that the caller may see', action: CHECK_ID },
  MANDATE_REVOKED: {
    meaning: "the agent's mandate was revoked: the action is held for the person",
    action: 'the person confirms it, or grants a new mandate',
  },
  MANDATE_EXPIRED: {
    meaning: "the agent's mandate expired: the action is held for the person",
    action: 'the person confirms it, or grants a new mandate',
  },
  MANDATE_ACTION_NOT_COVERED: {
    meaning: 'no mandate of the agent covers this action: it is held for the person',
    action: 'the person confirms it, or grants a mandate that covers it',
  },
  MANDATE_PAYEE_NOT_COVERED: {
    meaning: 'no mandate covers this payee: the action is held for the person',
    action: 'the person confirms it, or grants a mandate that covers it',
  },
  MANDATE_CURRENCY_NOT_COVERED: {
    meaning: 'no mandate covers this currency: the action is held for the person',
    action: 'the person confirms it',
  },
  MANDATE_AMOUNT_EXCEEDED: {
    meaning: "the amount is over the mandate's per-action cap: the action is held for the person",
    action: 'the person confirms it',
  },
  MANDATE_BUDGET_EXHAUSTED: {
    meaning: "the mandate's budget for this period is spent: the action is held for the person",
    action: 'the person confirms it, or waits for the next period',
  },
  MANDATE_SIGNATURE_INVALID: {
    meaning: "the stored mandate's signature does not verify: the action is held for the person",
    action: 'revoke the mandate and grant it again; look for tampering',
  },
  WEBHOOK_NOT_FOUND: { meaning: "no webhook endpoint by that id in the caller's tenant", action: CHECK_ID },
  WEBHOOK_DELIVERY_NOT_FOUND: { meaning: 'no such delivery of that webhook endpoint', action: CHECK_ID },
  WEBHOOK_URL_INVALID: {
    meaning:
      'the endpoint URL is not absolute http(s), carries `user:password@` or a `#fragment`, is over 2048 ' +
      'characters, or (unless `webhooks.allow_private_addresses`) names a loopback, private, link-local or ' +
      'metadata address',
    action: 'give a public https URL',
  },
  WEBHOOK_EVENTS_INVALID: {
    meaning:
      'an `events` entry is not `*`, `family.*` or `family.name` of a known family (`order`, `payment`, ' +
      '`refund`, `recharge`, `batch`, `review_flag`, `channel`)',
    action: 'fix the event names',
  },
  WEBHOOK_DISABLED: {
    meaning: 'redelivery to a disabled endpoint',
    action: 'enable it first (`PATCH … {"enabled": true}`)',
  },
  RECONCILIATION_NOT_FOUND: { meaning: 'no such reconciliation', action: CHECK_ID },
  RECONCILIATION_SOURCE_UNKNOWN: {
    meaning: 'no gateway or recharge channel has that name (`details.sources` lists them)',
    action: 'use one of `details.sources`',
  },
  STATEMENT_UNAVAILABLE: {
    meaning: 'the source gave no statement for that day (not ready, unreachable, or it has none)',
    action: 'try later, or pass the statement file',
  },
  STATEMENT_INVALID: {
    meaning: 'the statement is not in the layout named, or a line breaks it (the message names the line)',
    action: 'check the file and its `--format`',
  },
  REPAIR_NOT_FOUND: { meaning: 'no such repair', action: CHECK_ID },
  REPAIR_NOT_DUE: {
    meaning: 'a recheck waits until T+2 (`details.not_before`)',
    action: 'apply it after `details.not_before`',
  },
  INTERNAL: { meaning: 'a bug: logged with the request id', action: 'report it with the `request_id`' },
  NOT_READY: {
    meaning: 'reserved for a service that is not ready to answer; no route gives it today',
    action: 'retry on another instance or in a moment',
  },
};
