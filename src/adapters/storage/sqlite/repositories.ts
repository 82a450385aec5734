import type SqliteDatabase from 'better-sqlite3';
import type { Kysely, Selectable } from 'kysely';
import type { AuditEntry, JobRecord, OrderRecord, PaymentRecord } from '../../../ports/records.js';
import type { NewJob, Repositories } from '../../../ports/repositories.js';
import { auditRow, KyselyAuditLog } from '../kysely/audit-log.js';
import { createRepositories } from '../kysely/create-repositories.js';
import { jobRow, KyselyJobs, toJob } from '../kysely/jobs.js';
import { fromOrder, KyselyOrders, toOrder } from '../kysely/orders.js';
import { fromPayment, KyselyPayments, toPayment } from '../kysely/payments.js';
import type { Database, JobsTable, OrdersTable, PaymentsTable } from '../schema.js';

/**
 * The statements every order runs several times, prepared once per connection and executed
 * synchronously through better-sqlite3. Everything else stays on the Kysely repositories these
 * classes extend; the storage contract suite holds both to the same behaviour.
 */
export class Statements {
  private readonly cache = new Map<string, SqliteDatabase.Statement>();
  constructor(private readonly raw: SqliteDatabase.Database) {}

  get(text: string): SqliteDatabase.Statement {
    let s = this.cache.get(text);
    if (s === undefined) {
      s = this.raw.prepare(text);
      this.cache.set(text, s);
    }
    return s;
  }

  /** `insert into t (a, b) values (@a, @b)` for the keys of a row object, prepared once per column set. */
  insert(table: string, row: Readonly<Record<string, unknown>>): void {
    const cols = Object.keys(row);
    this.get(
      `insert into "${table}" (${cols.map((c) => `"${c}"`).join(', ')}) values (${cols.map((c) => `@${c}`).join(', ')})`,
    ).run(row);
  }
}

const ORDER_UPDATE =
  'update "orders" set "status" = @status, "status_reason" = @status_reason, "updated_by" = @updated_by, "updated_at" = @updated_at, "version" = @version where "tenant_id" = @tenant_id and "id" = @id and "version" = @expected';
const PAYMENT_UPDATE =
  'update "payments" set "status" = @status, "refunded_amount" = @refunded_amount, "gateway" = @gateway, "method" = @method, "attempt" = @attempt, "out_trade_no" = @out_trade_no, "gateway_trade_no" = @gateway_trade_no, "failure_code" = @failure_code, "updated_by" = @updated_by, "updated_at" = @updated_at, "version" = @version where "tenant_id" = @tenant_id and "id" = @id and "version" = @expected';

class SqliteOrders extends KyselyOrders {
  constructor(
    db: Kysely<Database>,
    private readonly st: Statements,
  ) {
    super(db);
  }

  override insert(order: OrderRecord): Promise<void> {
    this.st.insert('orders', fromOrder(order));
    return Promise.resolve();
  }

  override get(tenantId: string, id: string): Promise<OrderRecord | undefined> {
    const row = this.st.get('select * from "orders" where "tenant_id" = ? and "id" = ?').get(tenantId, id) as
      Selectable<OrdersTable> | undefined;
    return Promise.resolve(row === undefined ? undefined : toOrder(row));
  }

  override update(order: OrderRecord, expectedVersion: number): Promise<boolean> {
    const r = this.st.get(ORDER_UPDATE).run({
      status: order.status,
      status_reason: order.statusReason,
      updated_by: order.updatedBy,
      updated_at: order.updatedAt,
      version: order.version,
      tenant_id: order.tenantId,
      id: order.id,
      expected: expectedVersion,
    });
    return Promise.resolve(r.changes === 1);
  }

  override getWithPayment(
    tenantId: string,
    id: string,
  ): Promise<{ order: OrderRecord; payment: PaymentRecord } | undefined> {
    const order = this.st.get('select * from "orders" where "tenant_id" = ? and "id" = ?').get(tenantId, id) as
      Selectable<OrdersTable> | undefined;
    if (order === undefined) return Promise.resolve(undefined);
    const payment = this.st
      .get('select * from "payments" where "tenant_id" = ? and "id" = ?')
      .get(tenantId, order.payment_id) as Selectable<PaymentsTable> | undefined;
    return Promise.resolve(payment === undefined ? undefined : { order: toOrder(order), payment: toPayment(payment) });
  }
}

class SqlitePayments extends KyselyPayments {
  constructor(
    db: Kysely<Database>,
    private readonly st: Statements,
  ) {
    super(db);
  }

  override insert(p: PaymentRecord): Promise<void> {
    this.st.insert('payments', fromPayment(p));
    return Promise.resolve();
  }

  override get(tenantId: string, id: string): Promise<PaymentRecord | undefined> {
    const row = this.st.get('select * from "payments" where "tenant_id" = ? and "id" = ?').get(tenantId, id) as
      Selectable<PaymentsTable> | undefined;
    return Promise.resolve(row === undefined ? undefined : toPayment(row));
  }

  override update(p: PaymentRecord, expectedVersion: number): Promise<boolean> {
    const { created_at, created_by, order_id, amount, currency, ...set } = fromPayment(p);
    void created_at;
    void created_by;
    void order_id;
    void amount;
    void currency;
    return Promise.resolve(this.st.get(PAYMENT_UPDATE).run({ ...set, expected: expectedVersion }).changes === 1);
  }
}

class SqliteJobs extends KyselyJobs {
  constructor(
    db: Kysely<Database>,
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
    const row = this.st.get('select * from "jobs" where "id" = ?').get(id) as Selectable<JobsTable> | undefined;
    return Promise.resolve(row === undefined ? undefined : toJob(row));
  }

  override advance(
    id: string,
    owner: string,
    now: number,
    next: { readonly kind: string; readonly priority: number; readonly leaseUntil: number },
  ): Promise<JobRecord | undefined> {
    const row = this.st
      .get(JOB_ADVANCE)
      .get({ kind: next.kind, priority: next.priority, now, lease_until: next.leaseUntil, id, owner }) as
      Selectable<JobsTable> | undefined;
    return Promise.resolve(row === undefined ? undefined : toJob(row));
  }

  override complete(id: string, owner: string, now: number): Promise<boolean> {
    const r = this.st
      .get(
        'update "jobs" set "status" = \'done\', "lease_owner" = null, "lease_until" = null, "updated_at" = ? where "id" = ? and "status" = \'running\' and "lease_owner" = ?',
      )
      .run(now, id, owner);
    return Promise.resolve(r.changes === 1);
  }
}

const AUDIT_COLUMNS = [
  'tenant_id',
  'at',
  'actor',
  'action',
  'resource_type',
  'resource_id',
  'before_json',
  'after_json',
  'request_id',
] as const;
const AUDIT_COLUMN_LIST = AUDIT_COLUMNS.map((c) => `"${c}"`).join(', ');
const AUDIT_PLACEHOLDERS = `(${AUDIT_COLUMNS.map(() => '?').join(', ')})`;

const JOB_ADVANCE =
  'update "jobs" set "kind" = @kind, "priority" = @priority, "attempts" = 1, "run_at" = @now, "lease_until" = @lease_until, "last_error" = null, "updated_at" = @now where "id" = @id and "status" = \'running\' and "lease_owner" = @owner returning *';

class SqliteAuditLog extends KyselyAuditLog {
  constructor(
    db: Kysely<Database>,
    private readonly st: Statements,
  ) {
    super(db);
  }

  override appendMany(entries: readonly AuditEntry[]): Promise<void> {
    writeAuditRows(this.st, entries);
    return Promise.resolve();
  }
}

/** Audit rows as multi-row inserts of up to 64 rows (one prepared statement per chunk size). */
export function writeAuditRows(st: Statements, entries: readonly AuditEntry[]): void {
  for (let i = 0; i < entries.length; i += 64) {
    const rows = entries.slice(i, i + 64).map(auditRow);
    const values = rows.map(() => AUDIT_PLACEHOLDERS).join(', ');
    const params = rows.flatMap((r) => AUDIT_COLUMNS.map((c) => r[c]));
    st.get(`insert into "audit_log" (${AUDIT_COLUMN_LIST}) values ${values}`).run(params);
  }
}

/** Repositories for one SQLite connection: Kysely for everything, prepared statements for the hot path. */
export function createSqliteRepositories(db: Kysely<Database>, st: Statements): Repositories {
  return {
    ...createRepositories(db, 'sqlite'),
    orders: new SqliteOrders(db, st),
    payments: new SqlitePayments(db, st),
    jobs: new SqliteJobs(db, st),
    audit: new SqliteAuditLog(db, st),
  };
}
