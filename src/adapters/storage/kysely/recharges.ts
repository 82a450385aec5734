import type { Kysely, Selectable } from 'kysely';
import type { Currency } from '../../../domain/money.js';
import type { OperatorId } from '../../../domain/recharge/number-segments.js';
import type { RechargeAttempt, RechargeState, RechargeStatus } from '../../../domain/recharge/recharge.js';
import type {
  BatchResultRow,
  BatchRowRecord,
  BatchRowStatus,
  RechargeBatchRecord,
  RechargeBatchStatus,
  RechargeRecord,
} from '../../../ports/records.js';
import type { RechargeRepository } from '../../../ports/repositories.js';
import type { Database, RechargeBatchRowsTable, RechargesTable } from '../schema.js';
import { num } from './columns.js';

const keyBody = (id: string): string => id.replace(/[^A-Za-z0-9]/g, '');

function toRecharge(r: Selectable<RechargesTable>): RechargeRecord {
  const common = {
    id: r.id,
    maxAttempts: num(r.max_attempts),
    attempts: JSON.parse(r.attempts_json) as RechargeAttempt[],
  };
  const status = r.status as RechargeStatus;
  const state: RechargeState =
    status === 'FAILED' ? { ...common, status, reason: r.reason ?? 'UNKNOWN' } : { ...common, status };
  return {
    id: r.id,
    tenantId: r.tenant_id,
    userId: r.user_id,
    phone: r.phone,
    operator: r.operator as OperatorId,
    amount: num(r.amount),
    currency: r.currency as Currency,
    state,
    batchId: r.batch_id,
    ...(r.top_up_id === null ? {} : { topUpId: r.top_up_id }),
    createdBy: r.created_by,
    updatedBy: r.updated_by,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    version: num(r.version),
  };
}

const stateColumns = (
  s: RechargeState,
): { status: string; attempts_json: string; max_attempts: number; reason: string | null } => ({
  status: s.status,
  attempts_json: JSON.stringify(s.attempts),
  max_attempts: s.maxAttempts,
  reason: s.status === 'FAILED' ? s.reason : null,
});

export class KyselyRecharges implements RechargeRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(r: RechargeRecord): Promise<void> {
    await this.db
      .insertInto('recharges')
      .values({
        id: r.id,
        tenant_id: r.tenantId,
        user_id: r.userId,
        phone: r.phone,
        operator: r.operator,
        amount: r.amount,
        currency: r.currency,
        ...stateColumns(r.state),
        batch_id: r.batchId,
        top_up_id: r.topUpId ?? null,
        key_body: keyBody(r.id),
        created_by: r.createdBy,
        updated_by: r.updatedBy,
        created_at: r.createdAt,
        updated_at: r.updatedAt,
        version: r.version,
      })
      .execute();
  }

  async listAfter(tenantId: string, afterId: string | null, limit: number): Promise<ReturnType<typeof toRecharge>[]> {
    let q = this.db.selectFrom('recharges').selectAll().where('tenant_id', '=', tenantId);
    if (afterId !== null) q = q.where('id', '>', afterId);
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.map(toRecharge);
  }

  async get(tenantId: string, id: string): Promise<RechargeRecord | undefined> {
    const r = await this.db
      .selectFrom('recharges')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return r === undefined ? undefined : toRecharge(r);
  }

  async update(r: RechargeRecord, expectedVersion: number): Promise<boolean> {
    const res = await this.db
      .updateTable('recharges')
      .set({ ...stateColumns(r.state), updated_by: r.updatedBy, updated_at: r.updatedAt, version: r.version })
      .where('tenant_id', '=', r.tenantId)
      .where('id', '=', r.id)
      .where('version', '=', expectedVersion)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async getByAttemptKey(key: string): Promise<RechargeRecord | undefined> {
    const m = /^([A-Za-z0-9]+)A[1-9]$/.exec(key);
    if (m?.[1] === undefined) return undefined;
    const rows = await this.db.selectFrom('recharges').selectAll().where('key_body', '=', m[1]).limit(2).execute();
    const found = rows.length === 1 && rows[0] !== undefined ? toRecharge(rows[0]) : undefined;
    // Only the recharge that really issued this order id (ids differing in punctuation only never match).
    return found?.state.attempts.some((a) => a.key === key) === true ? found : undefined;
  }

  async findStale(
    statuses: readonly RechargeStatus[],
    updatedBefore: number,
    updatedAfter: number | undefined,
    limit: number,
  ): Promise<RechargeRecord[]> {
    if (statuses.length === 0) return [];
    let q = this.db
      .selectFrom('recharges')
      .selectAll()
      .where('status', 'in', [...statuses])
      .where('updated_at', '<', updatedBefore);
    if (updatedAfter !== undefined) q = q.where('updated_at', '>', updatedAfter);
    const rows = await q.orderBy('updated_at').limit(limit).execute();
    return rows.map(toRecharge);
  }

  async countByBatch(tenantId: string, batchId: string): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('recharges')
      .select(['status', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('batch_id', '=', batchId)
      .where('tenant_id', '=', tenantId)
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, num(r.n)]));
  }

  async insertBatch(b: RechargeBatchRecord): Promise<void> {
    await this.db
      .insertInto('recharge_batches')
      .values({
        id: b.id,
        tenant_id: b.tenantId,
        user_id: b.userId,
        status: b.status,
        format: b.format,
        rows: b.rows,
        valid_rows: b.validRows,
        rejected_rows: b.rejectedRows,
        rejected_json: JSON.stringify(b.rejected),
        created_by: b.createdBy,
        created_at: b.createdAt,
        updated_at: b.updatedAt,
      })
      .execute();
  }

  async getBatch(tenantId: string, id: string): Promise<RechargeBatchRecord | undefined> {
    const r = await this.db
      .selectFrom('recharge_batches')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (r === undefined) return undefined;
    const legacy = JSON.parse(r.rejected_json) as RechargeBatchRecord['rejected'];
    return {
      id: r.id,
      tenantId: r.tenant_id,
      userId: r.user_id,
      status: r.status as RechargeBatchStatus,
      format: r.format === 'ndjson' ? 'ndjson' : 'csv',
      rows: num(r.rows),
      validRows: num(r.valid_rows),
      rejectedRows: Math.max(num(r.rejected_rows), legacy.length),
      rejected: legacy,
      createdBy: r.created_by,
      createdAt: num(r.created_at),
      updatedAt: num(r.updated_at),
    };
  }

  async updateBatch(
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
  ): Promise<boolean> {
    const res = await this.db
      .updateTable('recharge_batches')
      .set({
        status: patch.status,
        rows: patch.rows,
        valid_rows: patch.validRows,
        rejected_rows: patch.rejectedRows,
        updated_at: patch.updatedAt,
      })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('status', '=', from)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async insertBatchRows(rows: readonly BatchRowRecord[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db
      .insertInto('recharge_batch_rows')
      .values(
        rows.map((r) => ({
          batch_id: r.batchId,
          line: r.line,
          phone: r.phone,
          operator: r.operator,
          amount: r.amount,
          status: r.status,
          code: r.code,
          message: r.message,
          recharge_id: r.rechargeId,
        })),
      )
      .execute();
  }

  async firstLinesOf(batchId: string, phones: readonly string[]): Promise<Map<string, number>> {
    if (phones.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('recharge_batch_rows')
      .select(['phone', (eb) => eb.fn.min<number | string>('line').as('line')])
      .where('batch_id', '=', batchId)
      .where('phone', 'in', [...phones])
      .where('status', '!=', 'rejected')
      .groupBy('phone')
      .execute();
    return new Map(rows.map((r) => [r.phone, num(r.line)]));
  }

  async pendingBatchRows(batchId: string, limit: number): Promise<BatchRowRecord[]> {
    const rows = await this.db
      .selectFrom('recharge_batch_rows')
      .selectAll()
      .where('batch_id', '=', batchId)
      .where('status', '=', 'pending')
      .orderBy('line')
      .limit(limit)
      .execute();
    return rows.map(toBatchRow);
  }

  async settleBatchRow(
    batchId: string,
    line: number,
    outcome:
      | { readonly status: 'accepted'; readonly rechargeId: string }
      | { readonly status: 'rejected'; readonly code: string; readonly message: string },
  ): Promise<boolean> {
    const res = await this.db
      .updateTable('recharge_batch_rows')
      .set(
        outcome.status === 'accepted'
          ? { status: 'accepted', recharge_id: outcome.rechargeId }
          : { status: 'rejected', code: outcome.code, message: outcome.message },
      )
      .where('batch_id', '=', batchId)
      .where('line', '=', line)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async countBatchRows(batchId: string): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('recharge_batch_rows')
      .select(['status', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('batch_id', '=', batchId)
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, num(r.n)]));
  }

  async rejectedBatchRows(batchId: string, afterLine: number, limit: number): Promise<BatchRowRecord[]> {
    const rows = await this.db
      .selectFrom('recharge_batch_rows')
      .selectAll()
      .where('batch_id', '=', batchId)
      .where('status', '=', 'rejected')
      .where('line', '>', afterLine)
      .orderBy('line')
      .limit(limit)
      .execute();
    return rows.map(toBatchRow);
  }

  async batchResults(batchId: string, afterLine: number, limit: number): Promise<BatchResultRow[]> {
    const rows = await this.db
      .selectFrom('recharge_batch_rows as b')
      .leftJoin('recharges as r', 'r.id', 'b.recharge_id')
      .selectAll('b')
      .select(['r.status as r_status', 'r.attempts_json as r_attempts', 'r.reason as r_reason'])
      .where('b.batch_id', '=', batchId)
      .where('b.line', '>', afterLine)
      .orderBy('b.line')
      .limit(limit)
      .execute();
    return rows.map((r) => {
      const attempts = r.r_attempts === null ? [] : (JSON.parse(r.r_attempts) as RechargeAttempt[]);
      return {
        ...toBatchRow(r),
        recharge:
          r.r_status === null
            ? null
            : { status: r.r_status, channel: attempts.at(-1)?.channel ?? null, reason: r.r_reason },
      };
    });
  }

  async deleteBatchRows(batchId: string): Promise<void> {
    await this.db.deleteFrom('recharge_batch_rows').where('batch_id', '=', batchId).execute();
  }
}

function toBatchRow(r: Selectable<RechargeBatchRowsTable>): BatchRowRecord {
  return {
    batchId: r.batch_id,
    line: num(r.line),
    phone: r.phone,
    operator: r.operator,
    amount: r.amount === null ? null : num(r.amount),
    status: r.status as BatchRowStatus,
    code: r.code,
    message: r.message,
    rechargeId: r.recharge_id,
  };
}
