import type { OrderStatus } from '../domain/order.js';
import type { AgentSessionRepository } from './agent-sessions.js';
import type {
  AuditEntry,
  AuditRecord,
  IdempotencyRecord,
  JobRecord,
  OrderRecord,
  PaymentRecord,
} from './records.js';

export interface OrderFilter {
  readonly tenantId: string;
  readonly userId?: string;
  readonly status?: readonly OrderStatus[];
  /** Only orders created at or after this instant (ms). */
  readonly createdFrom?: number;
  readonly createdTo?: number;
  /** Opaque position returned by the previous page: orders with a smaller id come next. */
  readonly beforeId?: string;
  readonly limit: number;
}

/** Orders. Every method runs inside the unit of work that produced the repository. */
export interface OrderRepository {
  insert(order: OrderRecord): Promise<void>;
  get(tenantId: string, id: string): Promise<OrderRecord | undefined>;
  /** An order together with its payment (one round trip). */
  getWithPayment(tenantId: string, id: string): Promise<{ order: OrderRecord; payment: PaymentRecord } | undefined>;
  /**
   * Write the new state if the stored version still equals `expectedVersion`; returns false when
   * someone else changed the order first (the caller re-reads and re-decides).
   */
  update(order: OrderRecord, expectedVersion: number): Promise<boolean>;
  /** Newest first. */
  list(filter: OrderFilter): Promise<OrderRecord[]>;
  /** Sum of order amounts for a user since an instant, over orders that hold or may hold money. */
  sumCommittedSince(tenantId: string, userId: string, since: number, currency: string): Promise<number>;
}

export interface PaymentRepository {
  insert(payment: PaymentRecord): Promise<void>;
  get(tenantId: string, id: string): Promise<PaymentRecord | undefined>;
  update(payment: PaymentRecord, expectedVersion: number): Promise<boolean>;
}

export interface NewJob {
  readonly tenantId: string;
  readonly kind: string;
  readonly resourceId: string;
  readonly payload?: Readonly<Record<string, unknown>>;
  readonly priority?: number;
  readonly runAt: number;
  readonly maxAttempts?: number;
  /** Claim it for this worker right away (the request path runs it at once; a crash lets the lease expire). */
  readonly leaseTo?: { readonly owner: string; readonly until: number };
}

/** The job table: durable work with priority, run-at, attempts and leases. */
export interface JobRepository {
  enqueue(job: NewJob & { readonly id: string; readonly now: number }): Promise<JobRecord>;
  /**
   * Lease up to `limit` due jobs (run_at ≤ now, queued, or running with an expired lease) to
   * `owner` until `leaseUntil`, highest priority first, then oldest run-at. Each claim bumps attempts.
   */
  claimDue(owner: string, now: number, leaseUntil: number, limit: number): Promise<JobRecord[]>;
  /** Lease one specific job if it is available; undefined if someone else holds it or it is finished. */
  claimById(id: string, owner: string, now: number, leaseUntil: number): Promise<JobRecord | undefined>;
  /** Mark finished; only the lease owner can. Returns false if the lease was lost. */
  complete(id: string, owner: string, now: number): Promise<boolean>;
  /**
   * Turn a finished step into the next one in place — new kind and priority, attempts back to 1,
   * still leased to `owner` — instead of completing it and inserting another row. Only the
   * lease owner can; undefined if the lease was lost.
   */
  advance(
    id: string,
    owner: string,
    now: number,
    next: { readonly kind: string; readonly priority: number; readonly leaseUntil: number },
  ): Promise<JobRecord | undefined>;
  /** Give the job back for a later retry (or fail it for good when attempts are spent). */
  release(id: string, owner: string, now: number, retryAt: number, error: string): Promise<boolean>;
  fail(id: string, owner: string, now: number, error: string): Promise<boolean>;
  get(id: string): Promise<JobRecord | undefined>;
  /** Earliest run-at among queued jobs (for the worker's sleep), or undefined. */
  nextRunAt(): Promise<number | undefined>;
  countByStatus(): Promise<Record<string, number>>;
}

/** Append-only audit trail: who, when, action, resource, before/after. */
export interface AuditLog {
  append(entry: AuditEntry): Promise<void>;
  /** Several entries in one statement, in order. */
  appendMany(entries: readonly AuditEntry[]): Promise<void>;
  list(tenantId: string, resourceType: string, resourceId: string): Promise<AuditRecord[]>;
}

/** Stored idempotency keys (ACP/Stripe semantics), scoped to caller and endpoint. */
export interface IdempotencyStore {
  get(tenantId: string, scope: string, key: string): Promise<IdempotencyRecord | undefined>;
  /** Insert a new in-flight record; returns false if the key already exists (someone raced us). */
  tryInsert(record: IdempotencyRecord): Promise<boolean>;
  /** Re-take an in-flight record whose lock expired (its first owner crashed). */
  relock(tenantId: string, scope: string, key: string, now: number, lockedUntil: number): Promise<boolean>;
  complete(
    tenantId: string,
    scope: string,
    key: string,
    response: { status: number; body: string; headers: Readonly<Record<string, string>> },
  ): Promise<void>;
  /** Record the resource created under this key, inside the transaction that created it. */
  setRecoveryPoint(tenantId: string, scope: string, key: string, resourceId: string): Promise<void>;
  /** Forget a key (validation failures and 5xx are not stored). */
  remove(tenantId: string, scope: string, key: string): Promise<void>;
  /** Drop keys past their expiry; returns how many. */
  purgeExpired(now: number): Promise<number>;
}

/** The repositories bound to one database transaction. */
export interface Repositories {
  readonly orders: OrderRepository;
  readonly payments: PaymentRepository;
  readonly jobs: JobRepository;
  readonly audit: AuditLog;
  readonly idempotency: IdempotencyStore;
  /** Agent conversations (issue 3). */
  readonly sessions: AgentSessionRepository;
}

/**
 * Runs `work` in ONE database transaction (SQLite: BEGIN IMMEDIATE). Everything written through
 * the given repositories commits together or not at all. Never call the outside world inside.
 */
export interface UnitOfWork {
  run<T>(work: (repos: Repositories) => Promise<T>): Promise<T>;
  /** Repositories outside any explicit transaction, for reads. */
  readonly read: Repositories;
}
