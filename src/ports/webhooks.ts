import type { AuditRecord } from './records.js';

/** A tenant's webhook endpoint. The secret is sealed at rest; only the storage adapter sees it sealed. */
export interface WebhookSubscriptionRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly url: string;
  /** Event filter entries: exact types, `family.*`, or `*`. */
  readonly events: readonly string[];
  readonly description: string | null;
  /** `whsec_<base64>` (Standard Webhooks): the HMAC key is the decoded bytes. */
  readonly secret: string;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Set when disabled (by a person, or after a delivery gave up); null while enabled. */
  readonly disabledAt: number | null;
  readonly disabledReason: string | null;
}

/**
 * waiting (an earlier event of its lane is still being delivered) → pending (a job delivers it) →
 * succeeded | failed (gave up after the retry period, or the endpoint was disabled).
 */
export type WebhookDeliveryStatus = 'waiting' | 'pending' | 'succeeded' | 'failed';

/** One event addressed to one endpoint. */
export interface WebhookDeliveryRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly subscriptionId: string;
  /** The `webhook-id`: the same on every attempt and redelivery. */
  readonly eventId: string;
  readonly eventType: string;
  /** Deliveries of one lane to one endpoint go one at a time, in (seq, id) order. */
  readonly lane: string;
  readonly seq: number;
  /** The exact body sent. */
  readonly payload: string;
  readonly status: WebhookDeliveryStatus;
  readonly attempts: number;
  /** Start of the retry period (the first attempt, or the last manual redelivery). */
  readonly firstAttemptAt: number | null;
  readonly nextAttemptAt: number | null;
  readonly lastStatusCode: number | null;
  readonly lastError: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** One HTTP attempt of a delivery, for the delivery log. */
export interface WebhookAttemptRecord {
  readonly deliveryId: string;
  readonly tenantId: string;
  readonly n: number;
  readonly at: number;
  /** null: no answer (timeout, refused connection). */
  readonly statusCode: number | null;
  readonly latencyMs: number;
  readonly error: string | null;
}

/** Subscriptions, deliveries, their attempts, and the dispatcher's position in the audit log. */
export interface WebhookRepository {
  insertSubscription(s: WebhookSubscriptionRecord): Promise<void>;
  getSubscription(tenantId: string, id: string): Promise<WebhookSubscriptionRecord | undefined>;
  listSubscriptions(tenantId: string): Promise<WebhookSubscriptionRecord[]>;
  /** Enabled subscriptions of these tenants (all tenants when `tenantIds` is undefined). */
  enabledSubscriptions(tenantIds?: readonly string[]): Promise<WebhookSubscriptionRecord[]>;
  /** Whether any subscription is enabled (the dispatcher's cheap "is there anyone to tell?"). */
  anyEnabled(): Promise<boolean>;
  updateSubscription(s: WebhookSubscriptionRecord): Promise<boolean>;
  /** Disable an enabled subscription; false when it was already disabled (or is gone). */
  disableSubscription(tenantId: string, id: string, at: number, reason: string): Promise<boolean>;
  deleteSubscription(tenantId: string, id: string): Promise<boolean>;

  /** Insert unless this event was already addressed to this endpoint (insert first); false: it was. */
  insertDelivery(d: WebhookDeliveryRecord): Promise<boolean>;
  getDelivery(tenantId: string, id: string): Promise<WebhookDeliveryRecord | undefined>;
  /** A subscription's deliveries, newest first, before `beforeId` when given. */
  listDeliveries(
    tenantId: string,
    subscriptionId: string,
    limit: number,
    beforeId?: string,
  ): Promise<WebhookDeliveryRecord[]>;
  /**
   * Hold the lane (one endpoint, one resource) until the transaction ends, so "is an earlier event
   * still on its way?" and "start the next waiting one" never interleave: without it, a delivery
   * that ends while a new event of its lane is addressed could leave that event waiting for ever.
   */
  lockLane(subscriptionId: string, lane: string): Promise<void>;
  /** Whether the lane has a delivery to this endpoint still waiting or pending. */
  laneBusy(subscriptionId: string, lane: string): Promise<boolean>;
  /**
   * Whether an event of one of this batch's recharges, committed no later than `seq`, is still
   * waiting or pending to this endpoint: `batch.completed` (its own lane) is sent only after them.
   */
  batchRowsBusy(subscriptionId: string, batchId: string, seq: number): Promise<boolean>;
  /**
   * How many of this batch's recharges have an ending (`recharge.succeeded` / `recharge.failed`)
   * in the audit log at or before `auditId`: the batch completed at that row only when it is all
   * of them (another may have ended, committed, after it, and its row not yet be dispatched).
   */
  batchRechargesEndedBy(tenantId: string, batchId: string, auditId: number): Promise<number>;
  /** The lane's earliest waiting delivery when none of it is pending (the next to start), else undefined. */
  nextInLane(subscriptionId: string, lane: string): Promise<WebhookDeliveryRecord | undefined>;
  /** Write a delivery's new state if it is still in `from`; false otherwise. */
  updateDelivery(d: WebhookDeliveryRecord, from: WebhookDeliveryStatus): Promise<boolean>;
  insertAttempt(a: WebhookAttemptRecord): Promise<void>;
  /** A delivery's attempts, oldest first. */
  attempts(deliveryId: string): Promise<WebhookAttemptRecord[]>;

  /** The dispatcher's position: the id of the last audit row it handled. */
  cursor(): Promise<number>;
  /** Move the position from `from` to `to`; false when another instance moved it first. */
  moveCursor(from: number, to: number, at: number): Promise<boolean>;
  /** Audit rows after `afterId`, in id order, at most `limit`. */
  auditAfter(afterId: number, limit: number): Promise<AuditRecord[]>;
  /**
   * The same rows' keys only (`AuditKey`: no before/after, actor, time): what a dispatcher
   * round needs to move past rows that no endpoint will receive.
   */
  auditKeysAfter(afterId: number, limit: number): Promise<AuditKey[]>;
  /**
   * The highest audit id below which no row can still appear: every transaction that took an id
   * at or below it has committed or rolled back. SQLite (one writer, ids given at commit) knows at
   * once; PostgreSQL waits for the transactions inserting audit rows now to end.
   */
  settledAuditId(): Promise<number>;
}

/** An audit row's id and what it is about, without its content. */
export type AuditKey = Pick<AuditRecord, 'id' | 'tenantId' | 'resourceType' | 'resourceId' | 'action'>;

/** What one HTTP attempt of a delivery saw. */
export interface WebhookAttemptResult {
  /** null when no answer came (timeout, refused, reset). */
  readonly statusCode: number | null;
  readonly latencyMs: number;
  readonly error: string | null;
}

/** Signed POSTs to endpoints (Standard Webhooks), and new signing secrets. */
export interface WebhookTransport {
  /** A new secret, `whsec_` + base64 of 32 random bytes. */
  newSecret(): string;
  /**
   * POST `body` to `url`, signed with `secret` under `webhook-id` `eventId` and `webhook-timestamp`
   * `at` (ms, sent in seconds). Never follows redirects; never throws for what the endpoint does.
   */
  send(request: {
    readonly url: string;
    readonly eventId: string;
    readonly at: number;
    readonly body: string;
    readonly secret: string;
  }): Promise<WebhookAttemptResult>;
}
