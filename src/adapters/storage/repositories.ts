import { type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SqlBool, sql } from 'kysely';
import type { Currency } from '../../domain/money.js';
import type { OrderOptions } from '../../domain/menu.js';
import type { OrderStatus } from '../../domain/order.js';
import type { PaymentStatus } from '../../domain/payment.js';
import type {
  AuditEntry,
  AuditRecord,
  IdempotencyRecord,
  IdempotencyState,
  JobRecord,
  JobStatus,
  OrderRecord,
  PaymentRecord,
} from '../../ports/records.js';
import type {
  AuditLog,
  IdempotencyStore,
  JobRepository,
  NewJob,
  OrderFilter,
  OrderRepository,
  PaymentRepository,
  Repositories,
} from '../../ports/repositories.js';
import { num, numOrNull } from './columns.js';
import { paymentSideRepositories } from './payment-repositories.js';
import { KyselyAgentSessions } from './agent-session-repository.js';
import { rechargeSideRepositories } from './recharge-repositories.js';
import type { AuditLogTable, Database, JobsTable, OrdersTable, PaymentsTable } from './schema.js';

export type Engine = 'sqlite' | 'postgres';

export function toOrder(r: Selectable<OrdersTable>): OrderRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    userId: r.user_id,
    status: r.status as OrderStatus,
    drink: r.drink,
    size: r.size,
    quantity: num(r.quantity),
    options: JSON.parse(r.options_json) as OrderOptions,
    description: r.description,
    unitAmount: num(r.unit_amount),
    amount: num(r.amount),
    currency: r.currency as Currency,
    paymentId: r.payment_id,
    statusReason: r.status_reason,
    createdBy: r.created_by,
    updatedBy: r.updated_by,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    version: num(r.version),
  };
}

export function fromOrder(o: OrderRecord): Selectable<OrdersTable> {
  return {
    id: o.id,
    tenant_id: o.tenantId,
    user_id: o.userId,
    status: o.status,
    drink: o.drink,
    size: o.size,
    quantity: o.quantity,
    options_json: JSON.stringify(o.options),
    description: o.description,
    unit_amount: o.unitAmount,
    amount: o.amount,
    currency: o.currency,
    payment_id: o.paymentId,
    status_reason: o.statusReason,
    created_by: o.createdBy,
    updated_by: o.updatedBy,
    created_at: o.createdAt,
    updated_at: o.updatedAt,
    version: o.version,
  };
}

export function toPayment(r: Selectable<PaymentsTable>): PaymentRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    orderId: r.order_id,
    status: r.status as PaymentStatus,
    amount: num(r.amount),
    refundedAmount: num(r.refunded_amount),
    currency: r.currency as Currency,
    gateway: r.gateway,
    method: r.method,
    attempt: num(r.attempt),
    outTradeNo: r.out_trade_no,
    gatewayTradeNo: r.gateway_trade_no,
    failureCode: r.failure_code,
    createdBy: r.created_by,
    updatedBy: r.updated_by,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    version: num(r.version),
  };
}

export function fromPayment(p: PaymentRecord): Selectable<PaymentsTable> {
  return {
    id: p.id,
    tenant_id: p.tenantId,
    order_id: p.orderId,
    status: p.status,
    amount: p.amount,
    refunded_amount: p.refundedAmount,
    currency: p.currency,
    gateway: p.gateway,
    method: p.method,
    attempt: p.attempt,
    out_trade_no: p.outTradeNo,
    gateway_trade_no: p.gatewayTradeNo,
    failure_code: p.failureCode,
    created_by: p.createdBy,
    updated_by: p.updatedBy,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    version: p.version,
  };
}

export function toJob(r: Selectable<JobsTable>): JobRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    kind: r.kind,
    resourceId: r.resource_id,
    payload: JSON.parse(r.payload_json) as Record<string, unknown>,
    priority: num(r.priority),
    runAt: num(r.run_at),
    attempts: num(r.attempts),
    maxAttempts: num(r.max_attempts),
    status: r.status as JobStatus,
    leaseOwner: r.lease_owner,
    leaseUntil: numOrNull(r.lease_until),
    lastError: r.last_error,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

export function jobRow(job: NewJob & { readonly id: string; readonly now: number }): Selectable<JobsTable> {
  return {
    id: job.id,
    tenant_id: job.tenantId,
    kind: job.kind,
    resource_id: job.resourceId,
    payload_json: JSON.stringify(job.payload ?? {}),
    priority: job.priority ?? 0,
    run_at: job.runAt,
    attempts: job.leaseTo === undefined ? 0 : 1,
    max_attempts: job.maxAttempts ?? 8,
    status: job.leaseTo === undefined ? 'queued' : 'running',
    lease_owner: job.leaseTo?.owner ?? null,
    lease_until: job.leaseTo?.until ?? null,
    last_error: null,
    created_by: 'system',
    created_at: job.now,
    updated_at: job.now,
  };
}

export function auditRow(e: AuditEntry): Omit<Selectable<AuditLogTable>, 'id'> {
  return {
    tenant_id: e.tenantId,
    at: e.at,
    actor: e.actor,
    action: e.action,
    resource_type: e.resourceType,
    resource_id: e.resourceId,
    before_json: e.before === null || e.before === undefined ? null : JSON.stringify(e.before),
    after_json: e.after === null || e.after === undefined ? null : JSON.stringify(e.after),
    request_id: e.requestId,
  };
}

export function toAudit(r: Selectable<AuditLogTable>): AuditRecord {
  return {
    id: num(r.id),
    tenantId: r.tenant_id,
    at: num(r.at),
    actor: r.actor,
    action: r.action,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    before: r.before_json === null ? null : JSON.parse(r.before_json),
    after: r.after_json === null ? null : JSON.parse(r.after_json),
    requestId: r.request_id,
  };
}

export class KyselyOrders implements OrderRepository {
  constructor(protected readonly db: Kysely<Database>) {}

  async insert(order: OrderRecord): Promise<void> {
    await this.db.insertInto('orders').values(fromOrder(order)).execute();
  }

  async get(tenantId: string, id: string): Promise<OrderRecord | undefined> {
    const row = await this.db
      .selectFrom('orders')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : toOrder(row);
  }

  async update(order: OrderRecord, expectedVersion: number): Promise<boolean> {
    // Only what can change after creation: fewer columns, fewer index updates.
    const res = await this.db
      .updateTable('orders')
      .set({
        status: order.status,
        status_reason: order.statusReason,
        updated_by: order.updatedBy,
        updated_at: order.updatedAt,
        version: order.version,
      })
      .where('tenant_id', '=', order.tenantId)
      .where('id', '=', order.id)
      .where('version', '=', expectedVersion)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async getWithPayment(
    tenantId: string,
    id: string,
  ): Promise<{ order: OrderRecord; payment: PaymentRecord } | undefined> {
    const order = await this.get(tenantId, id);
    if (order === undefined) return undefined;
    const row = await this.db
      .selectFrom('payments')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', order.paymentId)
      .executeTakeFirst();
    return row === undefined ? undefined : { order, payment: toPayment(row) };
  }

  async list(filter: OrderFilter): Promise<OrderRecord[]> {
    let q = this.db.selectFrom('orders').selectAll().where('tenant_id', '=', filter.tenantId);
    if (filter.userId !== undefined) q = q.where('user_id', '=', filter.userId);
    if (filter.status !== undefined && filter.status.length > 0) q = q.where('status', 'in', [...filter.status]);
    if (filter.createdFrom !== undefined) q = q.where('created_at', '>=', filter.createdFrom);
    if (filter.createdTo !== undefined) q = q.where('created_at', '<', filter.createdTo);
    if (filter.beforeId !== undefined) q = q.where('id', '<', filter.beforeId);
    const rows = await q.orderBy('id', 'desc').limit(filter.limit).execute();
    return rows.map(toOrder);
  }

  async findStale(
    statuses: readonly OrderStatus[],
    updatedBefore: number,
    updatedAfter: number | undefined,
    limit: number,
  ): Promise<OrderRecord[]> {
    if (statuses.length === 0) return [];
    let q = this.db
      .selectFrom('orders')
      .selectAll()
      .where('status', 'in', [...statuses])
      .where('updated_at', '<', updatedBefore);
    if (updatedAfter !== undefined) q = q.where('updated_at', '>', updatedAfter);
    const rows = await q.orderBy('updated_at').limit(limit).execute();
    return rows.map(toOrder);
  }

  async sumCommittedSince(tenantId: string, userId: string, since: number, currency: string): Promise<number> {
    const row = await this.db
      .selectFrom('orders')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number | string>('amount'), sql<number>`0`).as('total'))
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .where('currency', '=', currency)
      .where('created_at', '>=', since)
      // Money that is held, moving or may still move counts against the limit.
      .where('status', 'not in', ['CANCELLED', 'FAILED', 'REFUNDED'])
      .executeTakeFirstOrThrow();
    return num(row.total);
  }
}

export class KyselyPayments implements PaymentRepository {
  constructor(protected readonly db: Kysely<Database>) {}

  async insert(p: PaymentRecord): Promise<void> {
    await this.db.insertInto('payments').values(fromPayment(p)).execute();
  }

  async listAfter(tenantId: string, afterId: string | null, limit: number): Promise<ReturnType<typeof toPayment>[]> {
    let q = this.db.selectFrom('payments').selectAll().where('tenant_id', '=', tenantId);
    if (afterId !== null) q = q.where('id', '>', afterId);
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.map(toPayment);
  }

  async get(tenantId: string, id: string): Promise<PaymentRecord | undefined> {
    const row = await this.db
      .selectFrom('payments')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : toPayment(row);
  }

  async update(p: PaymentRecord, expectedVersion: number): Promise<boolean> {
    const res = await this.db
      .updateTable('payments')
      .set({
        status: p.status,
        refunded_amount: p.refundedAmount,
        gateway: p.gateway,
        method: p.method,
        attempt: p.attempt,
        out_trade_no: p.outTradeNo,
        gateway_trade_no: p.gatewayTradeNo,
        failure_code: p.failureCode,
        updated_by: p.updatedBy,
        updated_at: p.updatedAt,
        version: p.version,
      })
      .where('tenant_id', '=', p.tenantId)
      .where('id', '=', p.id)
      .where('version', '=', expectedVersion)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async getByOutTradeNo(outTradeNo: string): Promise<PaymentRecord | undefined> {
    const row = await this.db
      .selectFrom('payments')
      .selectAll()
      .where('out_trade_no', '=', outTradeNo)
      .executeTakeFirst();
    return row === undefined ? undefined : toPayment(row);
  }
}

export class KyselyJobs implements JobRepository {
  constructor(
    protected readonly db: Kysely<Database>,
    protected readonly engine: Engine,
  ) {}

  async enqueue(job: NewJob & { readonly id: string; readonly now: number }): Promise<JobRecord> {
    const row = jobRow(job);
    await this.db.insertInto('jobs').values(row).execute();
    return toJob(row);
  }

  async enqueueIfAbsent(job: NewJob & { readonly id: string; readonly now: number }): Promise<boolean> {
    const res = await this.db
      .insertInto('jobs')
      .values(jobRow(job))
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async claimDue(owner: string, now: number, leaseUntil: number, limit: number): Promise<JobRecord[]> {
    // Two claims, each walking the `jobs_claim` index (status, priority desc, run_at) in order
    // and stopping at `limit`: jobs whose lease ran out (a crashed worker's; few), then due
    // queued ones. One OR-ed query would read and sort every queued row on each claim, which
    // grows with the queue (a 100,000-row batch).
    // A lease of our own is never taken again: this process is still running that job (renewing
    // it), and a restarted process has a new owner id.
    const expired = await this.claimWhere(owner, now, leaseUntil, limit, (eb) =>
      eb.and([eb('status', '=', 'running'), eb('lease_until', '<', now), eb('lease_owner', '<>', owner)]),
    );
    const queued =
      expired.length >= limit
        ? []
        : await this.claimWhere(owner, now, leaseUntil, limit - expired.length, (eb) =>
            eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', now)]),
          );
    return [...expired, ...queued].map(toJob).sort((a, b) => b.priority - a.priority || a.runAt - b.runAt);
  }

  private async claimWhere(
    owner: string,
    now: number,
    leaseUntil: number,
    limit: number,
    due: (eb: ExpressionBuilder<Database, 'jobs'>) => Expression<SqlBool>,
  ): Promise<Array<Selectable<JobsTable>>> {
    let candidates = this.db
      .selectFrom('jobs')
      .select('id')
      .where(due)
      .orderBy('priority', 'desc')
      .orderBy('run_at', 'asc')
      .limit(limit);
    if (this.engine === 'postgres') candidates = candidates.forUpdate().skipLocked();
    return this.db
      .updateTable('jobs')
      .set((eb) => ({
        status: 'running',
        lease_owner: owner,
        lease_until: leaseUntil,
        attempts: eb('attempts', '+', 1),
        updated_at: now,
      }))
      .where('id', 'in', candidates)
      .returningAll()
      .execute();
  }

  async claimById(id: string, owner: string, now: number, leaseUntil: number): Promise<JobRecord | undefined> {
    const row = await this.db
      .updateTable('jobs')
      .set((eb) => ({
        status: 'running',
        lease_owner: owner,
        lease_until: leaseUntil,
        attempts: eb('attempts', '+', 1),
        updated_at: now,
      }))
      .where('id', '=', id)
      .where((eb) =>
        eb.or([eb('status', '=', 'queued'), eb.and([eb('status', '=', 'running'), eb('lease_until', '<', now)])]),
      )
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : toJob(row);
  }

  async renew(id: string, owner: string, now: number, leaseUntil: number): Promise<boolean> {
    const res = await this.db
      .updateTable('jobs')
      .set({ lease_until: leaseUntil, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async purgeFinished(status: 'done' | 'failed', before: number, limit: number): Promise<number> {
    const victims = this.db
      .selectFrom('jobs')
      .select('id')
      .where('status', '=', status)
      .where('updated_at', '<', before)
      .limit(limit);
    const res = await this.db.deleteFrom('jobs').where('id', 'in', victims).executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  async complete(id: string, owner: string, now: number): Promise<boolean> {
    const res = await this.db
      .updateTable('jobs')
      .set({ status: 'done', lease_owner: null, lease_until: null, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async advance(
    id: string,
    owner: string,
    now: number,
    next: { readonly kind: string; readonly priority: number; readonly leaseUntil: number },
  ): Promise<JobRecord | undefined> {
    const row = await this.db
      .updateTable('jobs')
      .set({
        kind: next.kind,
        priority: next.priority,
        attempts: 1,
        run_at: now,
        lease_until: next.leaseUntil,
        last_error: null,
        updated_at: now,
      })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('lease_owner', '=', owner)
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : toJob(row);
  }

  async release(id: string, owner: string, now: number, retryAt: number, error: string): Promise<boolean> {
    const res = await this.db
      .updateTable('jobs')
      .set({
        status: 'queued',
        lease_owner: null,
        lease_until: null,
        run_at: retryAt,
        last_error: error.slice(0, 2000),
        updated_at: now,
      })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async fail(id: string, owner: string, now: number, error: string): Promise<boolean> {
    const res = await this.db
      .updateTable('jobs')
      .set({
        status: 'failed',
        lease_owner: null,
        lease_until: null,
        last_error: error.slice(0, 2000),
        updated_at: now,
      })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toJob(row);
  }

  async hasLive(kind: string, resourceId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('jobs')
      .select('id')
      .where('resource_id', '=', resourceId)
      .where('kind', '=', kind)
      .where('status', 'in', ['queued', 'running'])
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async nextRunAt(): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.min<number | string>('run_at').as('next'))
      .where('status', '=', 'queued')
      .executeTakeFirst();
    return row?.next === null || row?.next === undefined ? undefined : num(row.next);
  }

  async countByStatus(statuses?: readonly JobStatus[]): Promise<Record<string, number>> {
    if (statuses?.length === 0) return {};
    let q = this.db.selectFrom('jobs').select(['status', (eb) => eb.fn.countAll<number | string>().as('n')]);
    if (statuses !== undefined) q = q.where('status', 'in', [...statuses]);
    const rows = await q.groupBy('status').execute();
    return Object.fromEntries(rows.map((r) => [r.status, num(r.n)]));
  }
}

export class KyselyAudit implements AuditLog {
  constructor(protected readonly db: Kysely<Database>) {}

  async append(e: AuditEntry): Promise<void> {
    await this.appendMany([e]);
  }

  async appendMany(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.db.insertInto('audit_log').values(entries.map(auditRow)).execute();
  }

  async list(tenantId: string, resourceType: string, resourceId: string): Promise<AuditRecord[]> {
    const rows = await this.db
      .selectFrom('audit_log')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('resource_type', '=', resourceType)
      .where('resource_id', '=', resourceId)
      .orderBy('id', 'asc')
      .execute();
    return rows.map(toAudit);
  }
}

export class KyselyIdempotency implements IdempotencyStore {
  constructor(protected readonly db: Kysely<Database>) {}

  async get(tenantId: string, scope: string, key: string): Promise<IdempotencyRecord | undefined> {
    const r = await this.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('scope', '=', scope)
      .where('key', '=', key)
      .executeTakeFirst();
    if (r === undefined) return undefined;
    return {
      tenantId: r.tenant_id,
      scope: r.scope,
      key: r.key,
      fingerprint: r.fingerprint,
      state: r.state as IdempotencyState,
      responseStatus: numOrNull(r.response_status),
      responseBody: r.response_body,
      responseHeaders:
        r.response_headers_json === null ? null : (JSON.parse(r.response_headers_json) as Record<string, string>),
      recoveryPoint: r.recovery_point,
      lockedUntil: num(r.locked_until),
      createdAt: num(r.created_at),
      expiresAt: num(r.expires_at),
    };
  }

  async tryInsert(rec: IdempotencyRecord): Promise<boolean> {
    const res = await this.db
      .insertInto('idempotency_keys')
      .values({
        tenant_id: rec.tenantId,
        scope: rec.scope,
        key: rec.key,
        fingerprint: rec.fingerprint,
        state: rec.state,
        response_status: rec.responseStatus,
        response_body: rec.responseBody,
        response_headers_json: rec.responseHeaders === null ? null : JSON.stringify(rec.responseHeaders),
        recovery_point: rec.recoveryPoint,
        locked_until: rec.lockedUntil,
        created_at: rec.createdAt,
        expires_at: rec.expiresAt,
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'scope', 'key']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  async relock(tenantId: string, scope: string, key: string, now: number, lockedUntil: number): Promise<boolean> {
    const res = await this.db
      .updateTable('idempotency_keys')
      .set({ locked_until: lockedUntil })
      .where('tenant_id', '=', tenantId)
      .where('scope', '=', scope)
      .where('key', '=', key)
      .where('state', '=', 'in_flight')
      .where('locked_until', '<', now)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async complete(
    tenantId: string,
    scope: string,
    key: string,
    response: { status: number; body: string; headers: Readonly<Record<string, string>> },
  ): Promise<void> {
    await this.db
      .updateTable('idempotency_keys')
      .set({
        state: 'completed',
        response_status: response.status,
        response_body: response.body,
        response_headers_json: JSON.stringify(response.headers),
      })
      .where('tenant_id', '=', tenantId)
      .where('scope', '=', scope)
      .where('key', '=', key)
      .execute();
  }

  async setRecoveryPoint(tenantId: string, scope: string, key: string, resourceId: string): Promise<void> {
    await this.db
      .updateTable('idempotency_keys')
      .set({ recovery_point: resourceId })
      .where('tenant_id', '=', tenantId)
      .where('scope', '=', scope)
      .where('key', '=', key)
      .execute();
  }

  async remove(tenantId: string, scope: string, key: string): Promise<void> {
    await this.db
      .deleteFrom('idempotency_keys')
      .where('tenant_id', '=', tenantId)
      .where('scope', '=', scope)
      .where('key', '=', key)
      .execute();
  }

  async removeExpired(tenantId: string, scope: string, key: string, now: number): Promise<boolean> {
    const res = await this.db
      .deleteFrom('idempotency_keys')
      .where('tenant_id', '=', tenantId)
      .where('scope', '=', scope)
      .where('key', '=', key)
      .where('expires_at', '<', now)
      .executeTakeFirst();
    return Number(res.numDeletedRows) === 1;
  }

  async purgeExpired(now: number, limit = 10_000): Promise<number> {
    const victims = this.db
      .selectFrom('idempotency_keys')
      .select(['tenant_id', 'scope', 'key'])
      .where('expires_at', '<', now)
      .limit(limit);
    const res = await this.db
      .deleteFrom('idempotency_keys')
      .where((eb) => eb(eb.refTuple('tenant_id', 'scope', 'key'), 'in', victims.$asTuple('tenant_id', 'scope', 'key')))
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}

/** Repositories bound to one Kysely handle (a transaction's connection or the pool). */
export function createRepositories(db: Kysely<Database>, engine: Engine): Repositories {
  return {
    orders: new KyselyOrders(db),
    payments: new KyselyPayments(db),
    jobs: new KyselyJobs(db, engine),
    audit: new KyselyAudit(db),
    idempotency: new KyselyIdempotency(db),
    ...paymentSideRepositories(db),
    sessions: new KyselyAgentSessions(db),
    ...rechargeSideRepositories(db),
  };
}
