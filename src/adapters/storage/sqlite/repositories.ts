import type SqliteDatabase from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { FieldCipher } from '../../../ports/field-cipher.js';
import type { ApiKeyRecord, PrincipalRecord } from '../../../ports/identity.js';
import type { AuditEntry, JobRecord, OrderRecord, PaymentRecord } from '../../../ports/records.js';
import type { NewJob, Repositories } from '../../../ports/repositories.js';
import { chainKey, DEFAULT_AUDIT_SHARDS } from '../../../domain/audit-chain.js';
import {
  type AuditRowToWrite,
  type ChainPosition,
  chainsOf,
  KyselyAuditLog,
  linkAuditRows,
} from '../kysely/audit-log.js';
import { createRepositories } from '../kysely/create-repositories.js';
import { KyselyIdentity, keyWithPrincipal, type KeyWithPrincipalRow } from '../kysely/identity.js';
import { advanced, jobRow, KyselyJobs, toJob } from '../kysely/jobs.js';
import { KyselyOrders, orderChange, orderRow, toOrder } from '../kysely/orders.js';
import { KyselyPayments, paymentChange, paymentRow, toPayment } from '../kysely/payments.js';
import { columnName, propertyName } from '../kysely/with-camel-case.js';
import type { CamelCaseDatabase, Row } from '../schema.js';

/**
 * `"id", "tenant_id" as "tenantId", …`: every column of `table` as the table has it, named as
 * CamelCasePlugin names it, so a `select` or `returning` of it yields the very rows the Kysely
 * repositories read. Taken from the table itself (preparing does not run it), never kept by hand.
 */
function allColumns(raw: SqliteDatabase.Database, table: string, qualified = false): string {
  return raw
    .prepare(`select * from "${table}"`)
    .columns()
    .map(({ name }) =>
      qualified
        ? `"${table}"."${name}" as "${propertyName(name)}"`
        : propertyName(name) === name
          ? `"${name}"`
          : `"${name}" as "${propertyName(name)}"`,
    )
    .join(', ');
}

/** Statements run on one connection so far (Kysely's and the prepared ones alike). */
export interface StatementCount {
  statements: number;
}

/**
 * The statements every order runs several times, prepared once per connection and executed
 * synchronously through better-sqlite3. Everything else stays on the Kysely repositories these
 * classes extend; the storage contract suite holds both to the same behaviour.
 *
 * The SQL names the real (snake_case) columns; rows go in and come out with the camelCase
 * properties the Kysely repositories use, mapped by CamelCasePlugin's own rule, so each table has
 * one row mapper for both paths.
 */
export class Statements {
  private readonly cache = new Map<string, SqliteDatabase.Statement>();
  private readonly inserts = new Map<string, SqliteDatabase.Statement>();
  /** Hot-path SQL built once per connection (a constant text is also a cheap cache key). */
  readonly sql: Readonly<Record<'orderById' | 'paymentById' | 'jobById' | 'jobAdvance' | 'keyWithPrincipal', string>>;

  /**
   * @param counted where each statement handed out is counted (every `get` is followed by one run):
   *   the writer connection's count, which the unit of work reads around each logical transaction
   */
  constructor(
    private readonly raw: SqliteDatabase.Database,
    private readonly counted: StatementCount = { statements: 0 },
  ) {
    const jobs = allColumns(raw, 'jobs');
    this.sql = {
      orderById: `select ${allColumns(raw, 'orders')} from "orders" where "tenant_id" = ? and "id" = ?`,
      paymentById: `select ${allColumns(raw, 'payments')} from "payments" where "tenant_id" = ? and "id" = ?`,
      jobById: `select ${jobs} from "jobs" where "id" = ?`,
      // Every request with an API key (authentication): KyselyIdentity.getKeyWithPrincipal's query.
      keyWithPrincipal:
        `select ${allColumns(raw, 'api_keys', true)}, "principals"."id" as "pId", "principals"."kind" as "pKind", ` +
        '"principals"."role" as "pRole", "principals"."acts_for" as "pActsFor", ' +
        '"principals"."display_name" as "pDisplayName", "principals"."password_hash" as "pPasswordHash", ' +
        '"principals"."created_at" as "pCreatedAt", "principals"."disabled_at" as "pDisabledAt" ' +
        'from "api_keys" left join "principals" on "principals"."tenant_id" = "api_keys"."tenant_id" ' +
        'and "principals"."id" = "api_keys"."principal_id" where "api_keys"."id" = ?',
      jobAdvance:
        'update "jobs" set "kind" = @kind, "priority" = @priority, "attempts" = 1, "run_at" = @now, ' +
        '"lease_until" = @leaseUntil, "last_error" = null, "updated_at" = @now ' +
        `where "id" = @id and "status" = 'running' and "lease_owner" = @owner`,
    };
  }

  get(text: string): SqliteDatabase.Statement {
    this.counted.statements++;
    let s = this.cache.get(text);
    if (s === undefined) {
      s = this.raw.prepare(text);
      this.cache.set(text, s);
    }
    return s;
  }

  /**
   * `insert into t ("tenant_id", …) values (@tenantId, …)`, prepared on the first row of `table`.
   * One statement per table: a table's rows all come from its one mapper, which must give every
   * column (`NewRow`), and parameters are bound by name.
   */
  insert(table: string, row: Readonly<Record<string, unknown>>): void {
    this.counted.statements++;
    let s = this.inserts.get(table);
    if (s === undefined) {
      const props = Object.keys(row);
      s = this.raw.prepare(
        `insert into "${table}" (${props.map((p) => `"${columnName(p)}"`).join(', ')}) ` +
          `values (${props.map((p) => `@${p}`).join(', ')})`,
      );
      this.inserts.set(table, s);
    }
    s.run(row);
  }
}

const ORDER_UPDATE =
  'update "orders" set "status" = @status, "status_reason" = @statusReason, "updated_by" = @updatedBy, ' +
  '"updated_at" = @updatedAt, "version" = @version ' +
  'where "tenant_id" = @tenantId and "id" = @id and "version" = @expected';
const PAYMENT_UPDATE =
  'update "payments" set "status" = @status, "refunded_amount" = @refundedAmount, "gateway" = @gateway, ' +
  '"method" = @method, "attempt" = @attempt, "out_trade_no" = @outTradeNo, "gateway_trade_no" = @gatewayTradeNo, ' +
  '"failure_code" = @failureCode, "qr_code" = @qrCode, "pay_url" = @payUrl, ' +
  '"pay_expires_at" = @payExpiresAt, "settled_at" = @settledAt, "close_reason" = @closeReason, ' +
  '"close_note" = @closeNote, "close_method" = @closeMethod, "close_gateway" = @closeGateway, ' +
  '"updated_by" = @updatedBy, "updated_at" = @updatedAt, "version" = @version ' +
  'where "tenant_id" = @tenantId and "id" = @id and "version" = @expected';

class SqliteOrders extends KyselyOrders {
  constructor(
    db: Kysely<CamelCaseDatabase>,
    private readonly st: Statements,
  ) {
    super(db);
  }

  override insert(order: OrderRecord): Promise<void> {
    this.st.insert('orders', orderRow(order));
    return Promise.resolve();
  }

  override get(tenantId: string, id: string): Promise<OrderRecord | undefined> {
    const row = this.row(tenantId, id);
    return Promise.resolve(row === undefined ? undefined : toOrder(row));
  }

  override update(order: OrderRecord, expectedVersion: number): Promise<boolean> {
    const r = this.st.get(ORDER_UPDATE).run(orderChange(order, expectedVersion));
    return Promise.resolve(r.changes === 1);
  }

  override getWithPayment(
    tenantId: string,
    id: string,
  ): Promise<{ order: OrderRecord; payment: PaymentRecord } | undefined> {
    const order = this.row(tenantId, id);
    if (order === undefined) return Promise.resolve(undefined);
    const payment = this.st.get(this.st.sql.paymentById).get(tenantId, order.paymentId) as Row<'payments'> | undefined;
    return Promise.resolve(payment === undefined ? undefined : { order: toOrder(order), payment: toPayment(payment) });
  }

  override getWithPaymentIfAny(
    tenantId: string,
    id: string,
  ): Promise<{ order: OrderRecord; payment: PaymentRecord | undefined } | undefined> {
    const order = this.row(tenantId, id);
    if (order === undefined) return Promise.resolve(undefined);
    const payment = this.st.get(this.st.sql.paymentById).get(tenantId, order.paymentId) as Row<'payments'> | undefined;
    return Promise.resolve({ order: toOrder(order), payment: payment === undefined ? undefined : toPayment(payment) });
  }

  private row(tenantId: string, id: string): Row<'orders'> | undefined {
    return this.st.get(this.st.sql.orderById).get(tenantId, id) as Row<'orders'> | undefined;
  }
}

class SqlitePayments extends KyselyPayments {
  constructor(
    db: Kysely<CamelCaseDatabase>,
    private readonly st: Statements,
  ) {
    super(db);
  }

  override insert(p: PaymentRecord): Promise<void> {
    this.st.insert('payments', paymentRow(p));
    return Promise.resolve();
  }

  override get(tenantId: string, id: string): Promise<PaymentRecord | undefined> {
    const row = this.st.get(this.st.sql.paymentById).get(tenantId, id) as Row<'payments'> | undefined;
    return Promise.resolve(row === undefined ? undefined : toPayment(row));
  }

  override update(p: PaymentRecord, expectedVersion: number): Promise<boolean> {
    return Promise.resolve(this.st.get(PAYMENT_UPDATE).run(paymentChange(p, expectedVersion)).changes === 1);
  }
}

class SqliteJobs extends KyselyJobs {
  constructor(
    db: Kysely<CamelCaseDatabase>,
    private readonly st: Statements,
  ) {
    super(db, 'sqlite');
  }

  override enqueue(job: NewJob & { readonly id: string; readonly now: number }): Promise<JobRecord> {
    const row = jobRow(job);
    this.st.insert('jobs', row);
    return Promise.resolve(toJob(row));
  }

  override get(id: string): Promise<JobRecord | undefined> {
    const row = this.st.get(this.st.sql.jobById).get(id) as Row<'jobs'> | undefined;
    return Promise.resolve(row === undefined ? undefined : toJob(row));
  }

  override advance(
    job: JobRecord,
    owner: string,
    now: number,
    next: { readonly kind: string; readonly priority: number; readonly leaseUntil: number },
  ): Promise<JobRecord | undefined> {
    const r = this.st
      .get(this.st.sql.jobAdvance)
      .run({ kind: next.kind, priority: next.priority, now, leaseUntil: next.leaseUntil, id: job.id, owner });
    return Promise.resolve(r.changes === 1 ? advanced(job, owner, now, next) : undefined);
  }

  override complete(id: string, owner: string, now: number): Promise<boolean> {
    const r = this.st
      .get(
        'update "jobs" set "status" = \'done\', "lease_owner" = null, "lease_until" = null, "updated_at" = ? ' +
          'where "id" = ? and "status" = \'running\' and "lease_owner" = ?',
      )
      .run(now, id, owner);
    return Promise.resolve(r.changes === 1);
  }
}

/** The audit columns in table order, by property; the id is the rowid. */
const AUDIT_PROPERTIES = [
  'tenantId',
  'at',
  'actor',
  'action',
  'resourceType',
  'resourceId',
  'beforeJson',
  'afterJson',
  'requestId',
  'shards',
  'shard',
  'seq',
  'prevHash',
  'hash',
] as const satisfies ReadonlyArray<keyof AuditRowToWrite>;
const AUDIT_COLUMN_LIST = AUDIT_PROPERTIES.map((p) => `"${columnName(p)}"`).join(', ');
const AUDIT_PLACEHOLDERS = `(${AUDIT_PROPERTIES.map(() => '?').join(', ')})`;

class SqliteAuditLog extends KyselyAuditLog {
  constructor(
    db: Kysely<CamelCaseDatabase>,
    private readonly st: Statements,
    shards: number,
  ) {
    super(db, shards, 'sqlite');
  }

  override appendMany(entries: readonly AuditEntry[]): Promise<void> {
    writeAuditRows(this.st, entries, this.shards);
    return Promise.resolve();
  }
}

/**
 * Audit rows linked into their chains (tenant, shard), as multi-row inserts of up to 64 rows (one
 * prepared statement per chunk size), and the chain heads moved on. Called inside the write
 * transaction (BEGIN IMMEDIATE: SQLite has one writer, so the heads read here, by primary key,
 * are the last committed ones and nobody else links on them before this COMMIT). All of it is
 * synchronous prepared statements: no round trip, no turn of the event loop.
 */
export function writeAuditRows(st: Statements, entries: readonly AuditEntry[], shards: number): void {
  if (entries.length === 0) return;
  const heads = new Map<string, ChainPosition>();
  const readHead = st.get('select "seq", "hash" from "audit_chain_heads" where "tenant_id" = ? and "shard" = ?');
  const chains = chainsOf(entries, shards);
  for (const c of chains) {
    const h = readHead.get(c.tenantId, c.shard) as { seq: number; hash: string } | undefined;
    if (h !== undefined) heads.set(chainKey(c), h);
  }
  const linked = linkAuditRows(entries, heads, shards);
  for (let i = 0; i < linked.length; i += 64) {
    const rows = linked.slice(i, i + 64);
    const values = rows.map(() => AUDIT_PLACEHOLDERS).join(', ');
    const params = rows.flatMap((r) => AUDIT_PROPERTIES.map((p) => r[p]));
    st.get(`insert into "audit_log" (${AUDIT_COLUMN_LIST}) values ${values}`).run(params);
  }
  const at = entries.reduce((m, e) => Math.max(m, e.at), 0);
  const moveHead = st.get(
    'insert into "audit_chain_heads" ("tenant_id", "shard", "seq", "hash", "updated_at") values (?, ?, ?, ?, ?) ' +
      'on conflict ("tenant_id", "shard") do update set "seq" = excluded."seq", "hash" = excluded."hash", ' +
      '"updated_at" = excluded."updated_at"',
  );
  for (const c of chains) {
    const h = heads.get(chainKey(c));
    if (h !== undefined) moveHead.run(c.tenantId, c.shard, h.seq, h.hash, at);
  }
}

class SqliteIdentity extends KyselyIdentity {
  constructor(
    db: Kysely<CamelCaseDatabase>,
    private readonly st: Statements,
  ) {
    super(db);
  }

  override getKeyWithPrincipal(
    id: string,
  ): Promise<{ key: ApiKeyRecord; principal: PrincipalRecord | undefined } | undefined> {
    const row = this.st.get(this.st.sql.keyWithPrincipal).get(id) as KeyWithPrincipalRow | undefined;
    return Promise.resolve(row === undefined ? undefined : keyWithPrincipal(row));
  }
}

/** Repositories for one SQLite connection: Kysely for everything, prepared statements for the hot path. */
export function createSqliteRepositories(
  db: Kysely<CamelCaseDatabase>,
  st: Statements,
  cipher: FieldCipher,
  auditShards: number = DEFAULT_AUDIT_SHARDS,
): Repositories {
  return {
    ...createRepositories(db, 'sqlite', cipher),
    identity: new SqliteIdentity(db, st),
    orders: new SqliteOrders(db, st),
    payments: new SqlitePayments(db, st),
    jobs: new SqliteJobs(db, st),
    audit: new SqliteAuditLog(db, st, auditShards),
  };
}
