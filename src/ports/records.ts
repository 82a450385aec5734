import type { Currency } from '../domain/money.js';
import type { OrderOptions } from '../domain/menu.js';
import type { OrderStatus } from '../domain/order.js';
import type { PaymentStatus } from '../domain/payment.js';
import type { RefundStatus } from '../domain/refund.js';

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
  readonly createdBy: Actor;
  readonly updatedBy: Actor;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly version: number;
}

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
}

/** A ledger balance: the sum of an account's postings in one currency. */
export interface LedgerBalance {
  readonly account: string;
  readonly currency: Currency;
  readonly balance: number;
}
