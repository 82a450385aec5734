import type { AuditChainFields } from '../domain/audit-chain.js';
import type { Currency } from '../domain/money.js';
import type { OrderOptions } from '../domain/menu.js';
import type { OrderStatus } from '../domain/order.js';
import type { PaymentStatus } from '../domain/payment.js';
import type { RefundStatus } from '../domain/refund.js';
import type { OperatorId } from '../domain/recharge/number-segments.js';
import type { RechargeState } from '../domain/recharge/recharge.js';
import type { TopUpStatus } from '../domain/wallet.js';

/** Who made a change: `user:<id>`, `system:worker`, `system:expiry`, `api:<key id>` … */
export type Actor = string;

/** An order as stored. Amounts are integer minor units. */
export interface OrderRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly status: OrderStatus;
  readonly drink: string;
  readonly size: string;
  readonly quantity: number;
  readonly options: OrderOptions;
  readonly description: string;
  readonly unitAmount: number;
  readonly amount: number;
  readonly currency: Currency;
  readonly paymentId: string;
  /** Why the order waits, failed or was cancelled, in words for people. */
  readonly statusReason: string | null;
  readonly createdBy: Actor;
  readonly updatedBy: Actor;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Optimistic-concurrency version; every update bumps it. */
  readonly version: number;
}

/** A payment as stored. `outTradeNo` is the idempotency key sent to the gateway for the current attempt. */
export interface PaymentRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly orderId: string;
  readonly status: PaymentStatus;
  readonly amount: number;
  readonly refundedAmount: number;
  readonly currency: Currency;
  readonly gateway: string;
  readonly method: string;
  readonly attempt: number;
  readonly outTradeNo: string | null;
  readonly gatewayTradeNo: string | null;
  readonly failureCode: string | null;
  /** While the payment waits for the payer: what they scan (QR content), null otherwise. */
  readonly qrCode: string | null;
  /** A page the payer can open to pay (http/https), when the gateway gives one. */
  readonly payUrl: string | null;
  /** Until when the payer can pay (ms since epoch); after it the trade is closed. */
  readonly payExpiresAt: number | null;
  /**
   * When the money moved (ms): the capture, at the time the gateway reported when it gave a
   * believable one, else when we recorded it. Absent until captured (and on rows from before 0025).
   * Reconciliation dates the payment on a statement's day by it.
   */
  readonly settledAt?: number;
  /**
   * Why we set out to close the trade that waits for its payer (0022): the person's cancel, or
   * their switch to another method, recorded before the close. Whoever then commits the closed
   * trade (the request itself, the pay job, a callback, the repair rules, reconciliation) ends it
   * as that request would, so the outcome never depends on which of them commits first. Absent
   * when nothing was decided; dropped when a switch opens the next trade.
   */
  readonly closing?: PaymentClosing;
  readonly createdBy: Actor;
  readonly updatedBy: Actor;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly version: number;
}

/** A decided close of a payment's waiting trade, and how the order goes on once it is closed. */
export type PaymentClosing =
  /** The person cancelled the order; `note` is the cancel's reason, for the order. */
  | { readonly reason: 'ORDER_CANCELLED'; readonly note: string }
  /** The person confirmed it again with another method: the payment goes on with it, through `gateway`. */
  | { readonly reason: 'METHOD_CHANGED'; readonly method: string; readonly gateway: string };

export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

export interface JobRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly kind: string;
  /** The business resource the job works on (e.g. an order id). */
  readonly resourceId: string;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly priority: number;
  readonly runAt: number;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly status: JobStatus;
  readonly leaseOwner: string | null;
  readonly leaseUntil: number | null;
  readonly lastError: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** The W3C `traceparent` of the work that enqueued the job (0020); null outside any trace. */
  readonly traceparent: string | null;
}

export interface AuditEntry {
  readonly tenantId: string;
  readonly at: number;
  readonly actor: Actor;
  /** e.g. `order.placed`, `order.confirmed`, `payment.succeeded` */
  readonly action: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly before: unknown;
  readonly after: unknown;
  readonly requestId: string | null;
}

export interface AuditRecord extends AuditEntry {
  readonly id: number;
  /** The row's chain within its tenant (see auditShard) and its place in that chain (1, 2, …). */
  readonly shard: number;
  readonly seq: number;
}

/** An audit row exactly as stored, for checking its tenant's hash chain (JSON left as text). */
export interface ChainedAuditRow extends AuditChainFields {
  readonly id: number;
  readonly hash: string;
}

/** A chain's (tenant, shard) last row: where the next writer links on. */
export interface AuditChainHead {
  readonly tenantId: string;
  readonly shard: number;
  readonly seq: number;
  readonly hash: string;
}

export type IdempotencyState = 'in_flight' | 'completed';

export interface IdempotencyRecord {
  readonly tenantId: string;
  /** The caller's identity and the endpoint, e.g. `user:alice POST /api/v1/order`. */
  readonly scope: string;
  readonly key: string;
  readonly fingerprint: string;
  readonly state: IdempotencyState;
  readonly responseStatus: number | null;
  readonly responseBody: string | null;
  readonly responseHeaders: Readonly<Record<string, string>> | null;
  /** Id of the resource the first request created (set in the same transaction). */
  readonly recoveryPoint: string | null;
  readonly lockedUntil: number;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** A refund as stored; `outRefundNo` is the idempotency key sent to the gateway. */
export interface RefundRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly orderId: string;
  readonly paymentId: string;
  readonly outRefundNo: string;
  readonly amount: number;
  readonly currency: Currency;
  readonly status: RefundStatus;
  readonly reason: string;
  readonly failureCode: string | null;
  readonly gatewayRefundNo: string | null;
  /** When the refund succeeded at the gateway (as it reported, else as we recorded it); absent until then. */
  readonly settledAt?: number;
  readonly createdBy: Actor;
  readonly updatedBy: Actor;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly version: number;
}

/** Something a person should look at (a late capture, an amount mismatch, a corrected status). */
export interface ReviewFlag {
  readonly id: string;
  readonly tenantId: string;
  readonly resourceType: string;
  readonly resourceId: string;
  /** Stable code, e.g. `LATE_CAPTURE`, `CALLBACK_AMOUNT_MISMATCH`, `STATUS_CORRECTED`. */
  readonly code: string;
  readonly detail: Readonly<Record<string, unknown>>;
  readonly createdAt: number;
  readonly resolvedAt: number | null;
  /** The actor who resolved it (an operator, or the system when the finding went away). */
  readonly resolvedBy?: string | null;
  /** Why it was resolved: the operator's note, or what the action taken did. */
  readonly resolutionNote?: string | null;
}

/** A ledger balance: the sum of an account's postings in one currency. */
export interface LedgerBalance {
  readonly account: string;
  readonly currency: Currency;
  readonly balance: number;
}

/** A user's prepaid balance (what recharges are paid from), in minor units. */
export interface WalletRecord {
  readonly tenantId: string;
  readonly userId: string;
  readonly currency: Currency;
  /** Available now: reserved recharges are already taken off. Never below zero. */
  readonly balance: number;
  readonly updatedAt: number;
}

/** Money paid through a gateway onto a wallet; `outTradeNo` is its idempotency key there. */
export interface TopUpRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly amount: number;
  readonly currency: Currency;
  readonly status: TopUpStatus;
  readonly gateway: string;
  readonly method: string;
  readonly outTradeNo: string;
  readonly gatewayTradeNo: string | null;
  readonly failureCode: string | null;
  readonly createdBy: Actor;
  readonly updatedBy: Actor;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly version: number;
  /** Set when this payment pays for one recharge directly (it never reaches the wallet). */
  readonly rechargeId?: string;
  /** The payment given back because its recharge failed. */
  readonly refundStatus?: TopUpRefundStatus;
  /** When it was captured (as the gateway reported, else as we recorded it); absent until then. */
  readonly settledAt?: number;
  /** When its give-back succeeded; absent until then. */
  readonly refundSettledAt?: number;
  /** While it waits for its payer: what they scan (QR content), as the gateway handed it out. */
  readonly qrCode?: string;
  /** While it waits: a page the payer can open (http/https), when the gateway gives one. */
  readonly payUrl?: string;
  /** Until when the payer can pay (ms); after it the unpaid expiry closes the trade. */
  readonly payExpiresAt?: number;
  /**
   * Why we set out to close its trade at the gateway (`UNPAID_TIMEOUT`), recorded before the
   * close: whoever commits the closed trade fails the top-up with it instead of `TRADE_CLOSED`.
   */
  readonly closeReason?: string;
}

export type TopUpRefundStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED';

/** A phone recharge as stored: the domain state (status, attempts) plus who, what and when. */
export interface RechargeRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly userId: string;
  /** Normalised national digits; logs mask it. */
  readonly phone: string;
  readonly operator: OperatorId;
  readonly amount: number;
  readonly currency: Currency;
  readonly state: RechargeState;
  /** The batch it came in, if any. */
  readonly batchId: string | null;
  /** Set when a payment of its own pays the recharge; absent: paid from the wallet. */
  readonly topUpId?: string;
  readonly createdBy: Actor;
  readonly updatedBy: Actor;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly version: number;
}

/**
 * receiving: rows arriving, nothing moves yet · accepted: its rows become recharges ·
 * abandoned: the upload broke off.
 */
/** `held`: received whole, waiting for the person's confirmation before any row runs. */
export type RechargeBatchStatus = 'receiving' | 'held' | 'accepted' | 'abandoned';

/** A batch of recharges: each accepted row is its own recharge with `batchId` set. */
export interface RechargeBatchRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly status: RechargeBatchStatus;
  readonly format: 'csv' | 'ndjson';
  /** Data rows received (header and blank lines not counted). */
  readonly rows: number;
  /** Rows that passed the checks on arrival. */
  readonly validRows: number;
  /** Rows refused on arrival. */
  readonly rejectedRows: number;
  /** Valid rows not yet turned into recharges (nor refused in their turn): counted as they are written and settled. */
  readonly pendingRows: number;
  /** Refusals of batches made before rows were kept one by one (schema 0004); empty since. */
  readonly rejected: ReadonlyArray<{ readonly line: number; readonly code: string; readonly message: string }>;
  readonly createdBy: Actor;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** pending: valid, not yet a recharge · accepted: a recharge exists · rejected: refused, with a code. */
export type BatchRowStatus = 'pending' | 'accepted' | 'rejected';

/** One line of a batch file. */
export interface BatchRowRecord {
  readonly batchId: string;
  readonly line: number;
  /** Normalised for a valid row; what was sent (at most 40 characters) for a refused one. */
  readonly phone: string;
  readonly operator: string | null;
  readonly amount: number | null;
  readonly status: BatchRowStatus;
  readonly code: string | null;
  readonly message: string | null;
  readonly rechargeId: string | null;
}

/** A line of a batch with where its recharge stands, for the result file. */
export interface BatchResultRow extends BatchRowRecord {
  readonly recharge: {
    readonly status: string;
    readonly channel: string | null;
    readonly reason: string | null;
  } | null;
}

/** active: new values are sealed with it · retiring: a rotation moves its values to the active key · retired. */
export type DataKeyStatus = 'active' | 'retiring' | 'retired';

/** A data key as the application sees it: never its material (wrapped or not), only its id and life. */
export interface DataKeyRecord {
  readonly id: string;
  readonly status: DataKeyStatus;
  readonly createdAt: number;
  readonly retiredAt: number | null;
}
