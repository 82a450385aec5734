import type { Journal } from '../domain/ledger/journal.js';
import type { OrderStatus } from '../domain/order.js';
import type { RechargeStatus } from '../domain/recharge/recharge.js';
import type { TopUpStatus } from '../domain/wallet.js';
import type { AgentSessionRepository } from './agent-sessions.js';
import type { IdentityRepository } from './identity.js';
import type { HeldActionRepository } from './held-actions.js';
import type { MandateRepository } from './mandates.js';
import type { ReconciliationRepository } from './reconciliations.js';
import type { SourceBlockRepository } from './source-blocks.js';
import type { WebhookRepository } from './webhooks.js';
import type { AuditChainKey } from '../domain/audit-chain.js';
import type {
  AuditChainHead,
  AuditEntry,
  AuditRecord,
  ChainedAuditRow,
  IdempotencyRecord,
  JobRecord,
  JobStatus,
  LedgerBalance,
  OrderRecord,
  PaymentRecord,
  BatchResultRow,
  BatchRowRecord,
  DataKeyRecord,
  RechargeBatchRecord,
  RechargeBatchStatus,
  RechargeRecord,
  RefundRecord,
  ReviewFlag,
  TopUpRecord,
  WalletRecord,
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
  /** An order together with its payment (one round trip); undefined if either is missing. */
  getWithPayment(tenantId: string, id: string): Promise<{ order: OrderRecord; payment: PaymentRecord } | undefined>;
  /**
   * An order and its payment if it has one (one round trip): what a read of the order shows. Only
   * damaged data leaves an order without its payment; the order is then shown without it.
   */
  getWithPaymentIfAny(
    tenantId: string,
    id: string,
  ): Promise<{ order: OrderRecord; payment: PaymentRecord | undefined } | undefined>;
  /**
   * Write the new state if the stored version still equals `expectedVersion`; returns false when
   * someone else changed the order first (the caller re-reads and re-decides). Where writes travel
   * in batches (PostgreSQL) it may answer true and the unit of work fail with StaleVersionError
   * instead (ports/write-outcomes.ts); so does every version-checked update of payments, refunds,
   * top-ups and recharges.
   */
  update(order: OrderRecord, expectedVersion: number): Promise<boolean>;
  /** Newest first. */
  list(filter: OrderFilter): Promise<OrderRecord[]>;
  /**
   * Orders of any tenant in one of `statuses` whose last change is older than `updatedBefore`
   * (and newer than `updatedAfter`, when given), oldest change first: what the repair rules look at.
   */
  findStale(
    statuses: readonly OrderStatus[],
    updatedBefore: number,
    updatedAfter: number | undefined,
    limit: number,
  ): Promise<OrderRecord[]>;
  /** Sum of order amounts for a user since an instant, over orders that hold or may hold money. */
  sumCommittedSince(tenantId: string, userId: string, since: number, currency: string): Promise<number>;
}

export interface PaymentRepository {
  insert(payment: PaymentRecord): Promise<void>;
  get(tenantId: string, id: string): Promise<PaymentRecord | undefined>;
  update(payment: PaymentRecord, expectedVersion: number): Promise<boolean>;
  /** A tenant's payments in id order after `afterId` (null: from the first), for whole-book checks. */
  listAfter(tenantId: string, afterId: string | null, limit: number): Promise<PaymentRecord[]>;
  /** The payment we sent under this out_trade_no (unique across tenants), for callbacks. */
  getByOutTradeNo(outTradeNo: string): Promise<PaymentRecord | undefined>;
  /** Payments of any tenant through `gateway` created in [from, to), in id order after `afterId` (reconciliation). */
  listByGateway(
    gateway: string,
    from: number,
    to: number,
    afterId: string | null,
    limit: number,
  ): Promise<PaymentRecord[]>;
}

/** Refunds, each with its own idempotency key toward the gateway. */
export interface RefundRepository {
  insert(refund: RefundRecord): Promise<void>;
  get(tenantId: string, id: string): Promise<RefundRecord | undefined>;
  getByOutRefundNo(outRefundNo: string): Promise<RefundRecord | undefined>;
  listByPayment(tenantId: string, paymentId: string): Promise<RefundRecord[]>;
  /** A tenant's refunds in id order after `afterId` (null: from the first). */
  listAfter(tenantId: string, afterId: string | null, limit: number): Promise<RefundRecord[]>;
  /** Version-checked write, like orders and payments. */
  update(refund: RefundRecord, expectedVersion: number): Promise<boolean>;
  /** Refunds of any tenant of payments through `gateway`, created in [from, to), in id order after `afterId`. */
  listByGateway(
    gateway: string,
    from: number,
    to: number,
    afterId: string | null,
    limit: number,
  ): Promise<RefundRecord[]>;
}

/** What `LedgerRepository.totalsAppendedAfter` read: journals' totals and where to read on from. */
export interface AppendedTotals {
  readonly totals: ReadonlyArray<{ readonly journalId: string; readonly sum: number }>;
  readonly next: number;
  readonly done: boolean;
}

/** The double-entry ledger: journals are appended, never changed. */
export interface LedgerRepository {
  /** Append balanced journals (checked by the domain before they get here). */
  append(journals: readonly Journal[]): Promise<void>;
  /** Every account's balance for a tenant, per currency. */
  balances(tenantId: string): Promise<LedgerBalance[]>;
  /** Journals whose postings do not sum to zero (there must never be any). */
  unbalancedJournals(tenantId?: string): Promise<Array<{ journalId: string; sum: number }>>;
  /**
   * Of the journals with postings appended after position `after` (0: the start), reading at most
   * `rows` postings, those whose new postings do not sum to zero, each with its whole total; and
   * the position reached (`done` when it read fewer: nothing more was there). Postings are never
   * changed or deleted (migration 0035_append_only), so a journal whose new postings sum to zero keeps the
   * total it had, and reading on from the position reached misses nothing.
   * Undefined where the engine has no order of appending to go by (PostgreSQL assigns no
   * position in commit order): the caller sums every journal (`unbalancedJournals`) instead.
   */
  totalsAppendedAfter(after: number, rows: number): Promise<AppendedTotals | undefined>;
  /** The ids of the journals recorded for each of these resources (the completeness check). */
  journalIdsByResource(tenantId: string, resourceIds: readonly string[]): Promise<Map<string, string[]>>;
  /** Journals recorded for a resource (a payment, a refund), oldest first. */
  journalsFor(tenantId: string, resourceId: string): Promise<Journal[]>;
}

/** De-duplication and replay refusal for gateway callbacks. */
export interface CallbackInbox {
  /** Record that this event was applied; false if it was already (a duplicate delivery). */
  recordEvent(e: {
    gateway: string;
    eventId: string;
    tenantId: string;
    resourceId: string | null;
    outcome: string;
    at: number;
  }): Promise<boolean>;
  /** Whether this event was applied before (read-only). */
  seenEvent(gateway: string, eventId: string): Promise<boolean>;
  /** Use a nonce once; false if it was used before and has not expired (a replay). */
  useNonce(gateway: string, nonce: string, expiresAt: number): Promise<boolean>;
  /** Forget up to `limit` nonces past their expiry; returns how many. */
  purgeNonces(now: number, limit?: number): Promise<number>;
}

/** Findings a person should review. */
export interface ReviewFlags {
  raise(flag: ReviewFlag): Promise<void>;
  /** Raise a flag whose id is deterministic unless one with that id exists; false if it did (raise once). */
  raiseOnce(flag: ReviewFlag): Promise<boolean>;
  /** Mark an open flag resolved (by whom, with what note); false if there is none open with that id. */
  resolve(tenantId: string, id: string, at: number, by?: string, note?: string): Promise<boolean>;
  get(tenantId: string, id: string): Promise<ReviewFlag | undefined>;
  /** A tenant's flags, newest first, narrowed by the filters given. */
  list(tenantId: string, options: FlagFilter & { readonly limit: number }): Promise<ReviewFlag[]>;
  /** Flags not resolved yet, across every tenant (the operations metric). */
  countOpen(): Promise<number>;
}

/** Which flags to list: open or resolved (absent: both), of one code, about one resource, raised since. */
export interface FlagFilter {
  /** true: open only; false: resolved only; absent: both. */
  readonly open?: boolean;
  readonly code?: string;
  readonly resourceType?: string;
  readonly resourceId?: string;
  /** Raised at or after this instant (ms). */
  readonly since?: number;
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
  /** Enqueue unless a job with this id exists (deterministic ids make work unique across instances). */
  enqueueIfAbsent(job: NewJob & { readonly id: string; readonly now: number }): Promise<boolean>;
  /**
   * Lease up to `limit` due jobs (run_at ≤ now, queued, or running with an expired lease) to
   * `owner` until `leaseUntil`, highest priority first, then oldest run-at. Each claim bumps attempts.
   * A job `owner` itself holds is never claimed again, expired or not: this process is still
   * running it (a restarted process has a new owner id).
   */
  claimDue(owner: string, now: number, leaseUntil: number, limit: number): Promise<JobRecord[]>;
  /**
   * Extend the lease of a job `owner` still holds (the runner does this while the job runs);
   * false when the lease is lost (expired and taken over, or the job finished).
   */
  renew(id: string, owner: string, now: number, leaseUntil: number): Promise<boolean>;
  /** Lease one specific job if it is available; undefined if someone else holds it or it is finished. */
  claimById(id: string, owner: string, now: number, leaseUntil: number): Promise<JobRecord | undefined>;
  /**
   * Mark finished; only the lease owner can. Returns false if the lease was lost (or, where writes
   * travel in batches, the unit of work fails with LeaseLostError).
   */
  complete(id: string, owner: string, now: number): Promise<boolean>;
  /**
   * Turn a finished step into the next one in place — new kind and priority, attempts back to 1,
   * still leased to `owner` — instead of completing it and inserting another row. Only the
   * lease owner can. Returns the job as it now is (made from `job`, the row its owner holds), or
   * undefined if the lease was lost (or, where writes travel in batches, the unit of work fails
   * with LeaseLostError).
   */
  advance(
    job: JobRecord,
    owner: string,
    now: number,
    next: { readonly kind: string; readonly priority: number; readonly leaseUntil: number },
  ): Promise<JobRecord | undefined>;
  /** Give the job back for a later retry (or fail it for good when attempts are spent). */
  release(id: string, owner: string, now: number, retryAt: number, error: string): Promise<boolean>;
  fail(id: string, owner: string, now: number, error: string): Promise<boolean>;
  get(id: string): Promise<JobRecord | undefined>;
  /** Whether a job of this kind for this resource is still queued or running (not done, not failed). */
  hasLive(kind: string, resourceId: string): Promise<boolean>;
  /**
   * Bring a queued job of this kind for this resource forward to run now (it waited for a later
   * run-at, e.g. the next query of a payment whose payer has not paid yet); false when there is none
   * waiting (it runs, has finished, or is due already).
   */
  wake(kind: string, resourceId: string, now: number): Promise<boolean>;
  /** Earliest run-at among queued jobs (for the worker's sleep), or undefined. */
  nextRunAt(): Promise<number | undefined>;
  /**
   * Jobs per status; only `statuses` when given (the metrics ask for the unfinished ones, which
   * the status-led index answers without reading the ever-growing `done` rows).
   */
  countByStatus(statuses?: readonly JobStatus[]): Promise<Record<string, number>>;
  /** Delete up to `limit` jobs in `status` (finished ones) last changed before `before`; returns how many. */
  purgeFinished(status: 'done' | 'failed', before: number, limit: number): Promise<number>;
}

/** Append-only audit trail: who, when, action, resource, before/after. */
export interface AuditLog {
  append(entry: AuditEntry): Promise<void>;
  /** Several entries in one statement, in order. */
  appendMany(entries: readonly AuditEntry[]): Promise<void>;
  list(tenantId: string, resourceType: string, resourceId: string): Promise<AuditRecord[]>;
  /**
   * One resource's rows in the order they were written, `limit` at a time after row id `afterId`
   * (0 for the first page): keyset paging on the audit index.
   */
  trail(
    tenantId: string,
    resourceType: string,
    resourceId: string,
    afterId: number,
    limit: number,
  ): Promise<AuditRecord[]>;
  /**
   * Every chain (tenant, shard) that has rows or a head, tenants in byte order then shards
   * (one tenant's only, when given).
   */
  chains(tenantId?: string): Promise<AuditChainKey[]>;
  /** Every chain's head (one tenant's, when given), in the same order as `chains`. */
  chainHeads(tenantId?: string): Promise<AuditChainHead[]>;
  /** The chain's head (undefined before its first row). */
  chainHead(chain: AuditChainKey): Promise<AuditChainHead | undefined>;
  /** The chain's rows with `seq` > `afterSeq`, by seq, exactly as stored. */
  chainPage(chain: AuditChainKey, afterSeq: number, limit: number): Promise<ChainedAuditRow[]>;
  /** Up to `limit` of the tenant's rows that carry no seq or shard (written around the chain), by id. */
  unchained(tenantId: string, limit: number): Promise<ChainedAuditRow[]>;
  /** The chain's row at `seq`, if any. */
  atSeq(chain: AuditChainKey, seq: number): Promise<ChainedAuditRow | undefined>;
  /** The chain's rows whose stored hash is `hash` (a diagnosis, when a link points elsewhere). */
  withHash(chain: AuditChainKey, hash: string): Promise<ChainedAuditRow[]>;
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
  /** Forget this key if it expired before `now`; false if it is still live (or gone). */
  removeExpired(tenantId: string, scope: string, key: string, now: number): Promise<boolean>;
  /** Drop up to `limit` keys past their expiry; returns how many. */
  purgeExpired(now: number, limit?: number): Promise<number>;
}

/** Users' prepaid balances. Every change is one conditional statement: never read-then-write. */
export interface WalletRepository {
  get(tenantId: string, userId: string): Promise<WalletRecord | undefined>;
  /** Add to a balance, creating the wallet at zero first if needed. */
  credit(tenantId: string, userId: string, currency: string, amount: number, now: number): Promise<void>;
  /**
   * Take `amount` off the balance only if at least that much is there (one conditional UPDATE);
   * false when it is not, so two concurrent reservations can never overdraw.
   */
  reserve(tenantId: string, userId: string, currency: string, amount: number, now: number): Promise<boolean>;
}

export interface TopUpRepository {
  insert(topUp: TopUpRecord): Promise<void>;
  get(tenantId: string, id: string): Promise<TopUpRecord | undefined>;
  /** A tenant's top-ups in id order after `afterId` (null: from the first). */
  listAfter(tenantId: string, afterId: string | null, limit: number): Promise<TopUpRecord[]>;
  /** Version-checked write (batched on PostgreSQL like an order's: false, or StaleVersionError). */
  update(topUp: TopUpRecord, expectedVersion: number): Promise<boolean>;
  /** The top-up (of any tenant) paid under this out_trade_no. */
  getByOutTradeNo(outTradeNo: string): Promise<TopUpRecord | undefined>;
  /** Top-ups of any tenant through `gateway` created in [from, to), in id order after `afterId`. */
  listByGateway(
    gateway: string,
    from: number,
    to: number,
    afterId: string | null,
    limit: number,
  ): Promise<TopUpRecord[]>;
  /**
   * Top-ups (and recharges' own payments) of any tenant in one of `statuses` whose last change is
   * older than `updatedBefore` (and newer than `updatedAfter`, when given), oldest change first:
   * what the unpaid expiry looks at.
   */
  findStale(
    statuses: readonly TopUpStatus[],
    updatedBefore: number,
    updatedAfter: number | undefined,
    limit: number,
  ): Promise<TopUpRecord[]>;
}

/** Which recharges to list, newest first (the console's list). */
export interface RechargeFilter {
  readonly tenantId: string;
  readonly userId?: string;
  readonly status?: readonly RechargeStatus[];
  /** One number (any spelling that normalises to it), matched on its blind index. */
  readonly phone?: string;
  readonly batchId?: string;
  /** Opaque position returned by the previous page: recharges with a smaller id come next. */
  readonly beforeId?: string;
  readonly limit: number;
}

export interface RechargeRepository {
  insert(recharge: RechargeRecord): Promise<void>;
  /** A tenant's recharges matching `filter`, newest (largest id) first. */
  list(filter: RechargeFilter): Promise<RechargeRecord[]>;
  /** What a person's recharges since `since` commit (every one not FAILED), for the daily limit. */
  sumCommittedSince(tenantId: string, userId: string, since: number, currency: string): Promise<number>;
  get(tenantId: string, id: string): Promise<RechargeRecord | undefined>;
  /** A tenant's recharges in id order after `afterId` (null: from the first). */
  listAfter(tenantId: string, afterId: string | null, limit: number): Promise<RechargeRecord[]>;
  /** Version-checked write (batched on PostgreSQL like an order's: false, or StaleVersionError). */
  update(recharge: RechargeRecord, expectedVersion: number): Promise<boolean>;
  /**
   * The recharge (of any tenant) that sent this channel order id as one of its attempts
   * (`attemptKey`), for callbacks; undefined when none did.
   */
  getByAttemptKey(key: string): Promise<RechargeRecord | undefined>;
  /** Recharges of any tenant created in [from, to), in id order after `afterId`: a day to reconcile. */
  listCreated(from: number, to: number, afterId: string | null, limit: number): Promise<RechargeRecord[]>;
  /**
   * Recharges of any tenant in one of `statuses` whose last change is older than `updatedBefore`
   * (and newer than `updatedAfter`, when given), oldest change first: what the repair rules look at.
   */
  findStale(
    statuses: readonly RechargeStatus[],
    updatedBefore: number,
    updatedAfter: number | undefined,
    limit: number,
  ): Promise<RechargeRecord[]>;
  /** How many of a batch's recharges are in each status. */
  countByBatch(tenantId: string, batchId: string): Promise<Record<string, number>>;
  insertBatch(batch: RechargeBatchRecord): Promise<void>;
  getBatch(tenantId: string, id: string): Promise<RechargeBatchRecord | undefined>;
  /** Move a batch on from `from`; false if it is no longer there (someone else moved it). */
  updateBatch(
    tenantId: string,
    id: string,
    from: RechargeBatchStatus,
    patch: {
      readonly status: RechargeBatchStatus;
      readonly rows: number;
      readonly validRows: number;
      readonly rejectedRows: number;
      readonly updatedAt: number;
    },
  ): Promise<boolean>;
  /** Write rows of one batch; its `pendingRows` grows by those `pending`. */
  insertBatchRows(rows: readonly BatchRowRecord[]): Promise<void>;
  /** `n` of the batch's pending rows were settled (in this transaction): its `pendingRows` drops by `n`. */
  settledBatchRows(batchId: string, n: number): Promise<void>;
  /** For each of these numbers already in the batch, its first line. */
  firstLinesOf(batchId: string, phones: readonly string[]): Promise<Map<string, number>>;
  /** The next rows still to turn into recharges, in line order. */
  pendingBatchRows(batchId: string, limit: number): Promise<BatchRowRecord[]>;
  /** Settle a pending row; false if it was not pending any more. */
  settleBatchRow(
    batchId: string,
    line: number,
    outcome:
      | { readonly status: 'accepted'; readonly rechargeId: string }
      | { readonly status: 'rejected'; readonly code: string; readonly message: string },
  ): Promise<boolean>;
  /**
   * How many of a batch's rows are in each row status; only `statuses` when given (a running
   * batch's view asks for the pending and refused ones, which the status-led index counts without
   * reading the accepted rows, the bulk of a large batch).
   */
  countBatchRows(batchId: string, statuses?: readonly string[]): Promise<Record<string, number>>;
  /** Refused rows in line order, after `afterLine`. */
  rejectedBatchRows(batchId: string, afterLine: number, limit: number): Promise<BatchRowRecord[]>;
  /** Rows with their recharges, in line order, after `afterLine`. */
  batchResults(batchId: string, afterLine: number, limit: number): Promise<BatchResultRow[]>;
  deleteBatchRows(batchId: string): Promise<void>;
}

/**
 * The data keys that seal values at rest, and the sealed values themselves as a rotation sees
 * them: column by column, in batches small enough to be short transactions beside live traffic.
 * Key material stays inside the storage adapter; this port names keys by id only.
 */
export interface DataKeyRepository {
  /** Every data key, newest first. */
  list(): Promise<DataKeyRecord[]>;
  /**
   * Start a rotation, or find the one under way (a key still retiring: an interrupted rotation is
   * resumed, not begun again): a new active key, made and wrapped by the storage's cipher, and
   * the previously active key retiring. `resumed` says which.
   */
  beginRotation(now: number): Promise<{
    readonly active: DataKeyRecord;
    readonly retiring: readonly DataKeyRecord[];
    readonly resumed: boolean;
  }>;
  /** The sealed columns a rotation walks ("table.column"). */
  sealedColumns(): readonly string[];
  /**
   * Re-seal with `keyId` (the active key, which this process must seal with: see `refresh`) the
   * values of `column` after `cursor` (null: from the start) that are not sealed with it yet —
   * older keys and plaintext from before encryption alike — at most `limit` of them, each by
   * compare-and-set (a value changed meanwhile is left to the writer, who sealed it afresh).
   * `cursor` of the answer: where the next batch starts, null when the column is done.
   */
  reseal(
    column: string,
    keyId: string,
    cursor: string | null,
    limit: number,
  ): Promise<{ readonly resealed: number; readonly cursor: string | null }>;
  /** Per sealed column, how many values are not sealed with the active key. */
  countStale(keyId: string): Promise<Record<string, number>>;
  /** Retire these retiring keys (never used to seal again); how many were. */
  retire(ids: readonly string[], now: number): Promise<number>;
  /**
   * Seal new values with the active key from now on (this process; others do the same on their
   * own refresh). Returns its id.
   */
  refresh(): Promise<string>;
}

/** The repositories bound to one database transaction. */
export interface Repositories {
  readonly orders: OrderRepository;
  readonly payments: PaymentRepository;
  readonly jobs: JobRepository;
  readonly audit: AuditLog;
  readonly idempotency: IdempotencyStore;
  readonly refunds: RefundRepository;
  readonly ledger: LedgerRepository;
  readonly callbacks: CallbackInbox;
  readonly flags: ReviewFlags;
  /** Agent conversations (issue 3). */
  readonly sessions: AgentSessionRepository;
  readonly wallets: WalletRepository;
  readonly topUps: TopUpRepository;
  readonly recharges: RechargeRepository;
  readonly identity: IdentityRepository;
  /** Blocked sources (abuse). */
  readonly blocks: SourceBlockRepository;
  /** Money actions the policy held for the person's confirmation. */
  readonly held: HeldActionRepository;
  /** What people allowed their agents to do without asking. */
  readonly mandates: MandateRepository;
  /** Data keys and the re-sealing of values under a new one (0011). */
  readonly dataKeys: DataKeyRepository;
  /** Outbound webhooks: subscriptions, deliveries, their log, the dispatcher's cursor (0013). */
  readonly webhooks: WebhookRepository;
  /** Reconciliations against the channels' statements, and the repairs they proposed (0018). */
  readonly reconciliations: ReconciliationRepository;
}

/**
 * What may be read outside a transaction: each repository's queries and none of its writes, so
 * a write can only happen inside `UnitOfWork.run`, where it commits with everything it belongs to.
 */
export interface ReadRepositories {
  readonly orders: Pick<OrderRepository, 'get' | 'getWithPayment' | 'getWithPaymentIfAny' | 'list' | 'findStale'>;
  readonly payments: Pick<PaymentRepository, 'get' | 'getByOutTradeNo' | 'listAfter' | 'listByGateway'>;
  readonly jobs: Pick<JobRepository, 'get' | 'hasLive' | 'nextRunAt' | 'countByStatus'>;
  readonly audit: Pick<
    AuditLog,
    'list' | 'trail' | 'chains' | 'chainHeads' | 'chainHead' | 'chainPage' | 'unchained' | 'atSeq' | 'withHash'
  >;
  readonly idempotency: Pick<IdempotencyStore, 'get'>;
  readonly refunds: Pick<
    RefundRepository,
    'get' | 'getByOutRefundNo' | 'listByPayment' | 'listAfter' | 'listByGateway'
  >;
  readonly ledger: Pick<
    LedgerRepository,
    'balances' | 'unbalancedJournals' | 'totalsAppendedAfter' | 'journalsFor' | 'journalIdsByResource'
  >;
  readonly callbacks: Pick<CallbackInbox, 'seenEvent'>;
  readonly flags: Pick<ReviewFlags, 'list' | 'get' | 'countOpen'>;
  readonly sessions: Pick<AgentSessionRepository, 'get'>;
  readonly wallets: Pick<WalletRepository, 'get'>;
  readonly topUps: Pick<TopUpRepository, 'get' | 'listAfter' | 'getByOutTradeNo' | 'listByGateway' | 'findStale'>;
  readonly recharges: Pick<
    RechargeRepository,
    | 'get'
    | 'list'
    | 'listAfter'
    | 'getByAttemptKey'
    | 'listCreated'
    | 'findStale'
    | 'countByBatch'
    | 'getBatch'
    | 'firstLinesOf'
    | 'pendingBatchRows'
    | 'countBatchRows'
    | 'rejectedBatchRows'
    | 'batchResults'
  >;
  readonly identity: Pick<
    IdentityRepository,
    | 'getTenant'
    | 'getPrincipal'
    | 'getKey'
    | 'getKeyWithPrincipal'
    | 'listKeys'
    | 'listPeople'
    | 'getRefreshToken'
    | 'refreshFamilyRevoked'
  >;
  readonly blocks: Pick<SourceBlockRepository, 'active' | 'get'>;
  readonly held: Pick<HeldActionRepository, 'get' | 'listForPerson'>;
  readonly mandates: Pick<MandateRepository, 'get' | 'list'>;
  readonly dataKeys: Pick<DataKeyRepository, 'list' | 'countStale' | 'refresh' | 'sealedColumns'>;
  readonly webhooks: Pick<
    WebhookRepository,
    | 'getSubscription'
    | 'listSubscriptions'
    | 'enabledSubscriptions'
    | 'anyEnabled'
    | 'getDelivery'
    | 'listDeliveries'
    | 'attempts'
    | 'cursor'
    | 'auditAfter'
    | 'auditKeysAfter'
  >;
  readonly reconciliations: Pick<ReconciliationRepository, 'get' | 'list' | 'getRepair' | 'repairsOf'>;
}

/**
 * What a unit of work reports of itself to a caller that asks (tracing), filled in by the storage
 * adapter as it runs the work.
 */
export interface UnitOfWorkMeter {
  /**
   * Statements the unit of work sent to the database, every attempt's. On PostgreSQL each is a
   * round trip (BEGIN and COMMIT count; a batch of held writes is one). On SQLite, the statements
   * the work itself ran, not the savepoint around it nor the BEGIN, audit rows and COMMIT its group
   * commit shares with the other units of the batch.
   */
  statements: number;
}

/**
 * Runs `work` in ONE database transaction (SQLite: BEGIN IMMEDIATE). Everything written through
 * the given repositories commits together or not at all. Never call the outside world inside.
 */
export interface UnitOfWork {
  /** Runs `work` in one transaction; `meter`, when given, is told what it cost (see UnitOfWorkMeter). */
  run<T>(work: (repos: Repositories) => Promise<T>, meter?: UnitOfWorkMeter): Promise<T>;
  /**
   * Lease due jobs to `owner` as JobRepository.claimDue does, as a transaction of its own (the
   * worker's poll). Where the engine allows, one statement sent without BEGIN and COMMIT — one
   * round trip, atomic as every statement is — so an idle poll costs one round trip.
   */
  claimDue(owner: string, now: number, leaseUntil: number, limit: number): Promise<JobRecord[]>;
  /** Repositories outside any explicit transaction, for reads only. */
  readonly read: ReadRepositories;
}
