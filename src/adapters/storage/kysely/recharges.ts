import { type Kysely, sql } from 'kysely';
import { maskText } from '../../../domain/mask.js';
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
import type { FieldCipher } from '../../../ports/field-cipher.js';
import type { RechargeFilter, RechargeRepository } from '../../../ports/repositories.js';
import type { CamelCaseDatabase, NewRow, Row } from '../schema.js';
import { filterOnly, num, numOrNull } from './columns.js';
import { loadKeys, phoneIndex, SEALED } from './sealed.js';
import { BATCHABLE } from './batchable.js';

const keyBody = (id: string): string => id.replace(/[^A-Za-z0-9]/g, '');

/**
 * A recharge as read: the number opened (its data key loaded first: `loadKeys`), the domain state
 * rebuilt from its columns, the paying top-up only when there is one.
 */
function toRecharge(r: Row<'recharges'>, cipher: FieldCipher): RechargeRecord {
  const common = {
    id: r.id,
    maxAttempts: num(r.maxAttempts),
    attempts: JSON.parse(r.attemptsJson) as RechargeAttempt[],
  };
  const status = r.status as RechargeStatus;
  const state: RechargeState =
    status === 'FAILED' ? { ...common, status, reason: r.reason ?? 'UNKNOWN' } : { ...common, status };
  return {
    id: r.id,
    tenantId: r.tenantId,
    userId: r.userId,
    phone: cipher.open(r.phone, SEALED.rechargePhone),
    operator: r.operator as OperatorId,
    amount: num(r.amount),
    currency: r.currency as Currency,
    state,
    batchId: r.batchId,
    ...(r.topUpId === null ? {} : { topUpId: r.topUpId }),
    createdBy: r.createdBy,
    updatedBy: r.updatedBy,
    createdAt: num(r.createdAt),
    updatedAt: num(r.updatedAt),
    version: num(r.version),
  };
}

/** A recharge as written: every column in the order it was always written, the number sealed and indexed. */
function rechargeRow(r: RechargeRecord, cipher: FieldCipher): NewRow<'recharges'> {
  return {
    id: r.id,
    tenantId: r.tenantId,
    userId: r.userId,
    phone: cipher.seal(r.phone, SEALED.rechargePhone),
    phoneIndex: phoneIndex(cipher, r.phone),
    operator: r.operator,
    amount: r.amount,
    currency: r.currency,
    ...stateColumns(r.state),
    batchId: r.batchId,
    topUpId: r.topUpId ?? null,
    keyBody: keyBody(r.id),
    createdBy: r.createdBy,
    updatedBy: r.updatedBy,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    version: r.version,
  };
}

/** The columns that hold a recharge's domain state. */
const stateColumns = (
  s: RechargeState,
): { status: string; attemptsJson: string; maxAttempts: number; reason: string | null } => ({
  status: s.status,
  attemptsJson: JSON.stringify(s.attempts),
  maxAttempts: s.maxAttempts,
  reason: s.status === 'FAILED' ? s.reason : null,
});

/**
 * Recharges and batches. Phone numbers are sealed on the way in and opened on the way out
 * (`cipher`, given by the composition root): the application only ever sees plaintext, the
 * database only ciphertext and keyed blind indexes.
 */
export class KyselyRecharges implements RechargeRepository {
  constructor(
    private readonly db: Kysely<CamelCaseDatabase>,
    private readonly cipher: FieldCipher,
  ) {}

  /** Rows as records, once the data keys they name are in memory. */
  private async recharges(rows: readonly Row<'recharges'>[]): Promise<RechargeRecord[]> {
    await loadKeys(
      this.cipher,
      this.db,
      rows.map((r) => r.phone),
    );
    return rows.map((r) => toRecharge(r, this.cipher));
  }

  private async batchRows<R extends Row<'rechargeBatchRows'>>(rows: readonly R[]): Promise<readonly R[]> {
    await loadKeys(
      this.cipher,
      this.db,
      rows.map((r) => r.phone),
    );
    return rows;
  }

  async sumCommittedSince(tenantId: string, userId: string, since: number, currency: string): Promise<number> {
    const row = await this.db
      .selectFrom('recharges')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number | string>('amount'), sql<number>`0`).as('total'))
      .where('tenantId', '=', tenantId)
      .where('userId', '=', userId)
      .where('currency', '=', currency)
      .where('createdAt', '>=', since)
      // A failed recharge gave the money back; everything else has spent it or may still.
      .where('status', '!=', 'FAILED')
      .executeTakeFirstOrThrow();
    return num(row.total);
  }

  async insert(r: RechargeRecord): Promise<void> {
    await this.db.insertInto('recharges').values(rechargeRow(r, this.cipher)).modifyEnd(BATCHABLE.insert).execute();
  }

  async list(filter: RechargeFilter): Promise<RechargeRecord[]> {
    let q = this.db.selectFrom('recharges').selectAll().where('tenantId', '=', filter.tenantId);
    if (filter.userId !== undefined) q = q.where('userId', '=', filter.userId);
    if (filter.status !== undefined && filter.status.length > 0) q = q.where('status', 'in', [...filter.status]);
    if (filter.phone !== undefined) q = q.where('phoneIndex', '=', phoneIndex(this.cipher, filter.phone));
    if (filter.batchId !== undefined) q = q.where('batchId', '=', filter.batchId);
    if (filter.beforeId !== undefined) q = q.where('id', '<', filter.beforeId);
    return this.recharges(await q.orderBy('id', 'desc').limit(filter.limit).execute());
  }

  async listAfter(tenantId: string, afterId: string | null, limit: number): Promise<RechargeRecord[]> {
    let q = this.db.selectFrom('recharges').selectAll().where('tenantId', '=', tenantId);
    if (afterId !== null) q = q.where('id', '>', afterId);
    const rows = await q.orderBy('id').limit(limit).execute();
    return this.recharges(rows);
  }

  async listCreated(from: number, to: number, afterId: string | null, limit: number): Promise<RechargeRecord[]> {
    let q = this.db.selectFrom('recharges').selectAll().where('createdAt', '>=', from).where('createdAt', '<', to);
    if (afterId !== null) q = q.where('id', '>', afterId);
    return this.recharges(await q.orderBy('id').limit(limit).execute());
  }

  async get(tenantId: string, id: string): Promise<RechargeRecord | undefined> {
    const r = await this.db
      .selectFrom('recharges')
      .selectAll()
      .where('id', '=', id)
      .where(filterOnly('tenantId'), '=', tenantId)
      .executeTakeFirst();
    return r === undefined ? undefined : (await this.recharges([r]))[0];
  }

  async update(r: RechargeRecord, expectedVersion: number): Promise<boolean> {
    const res = await this.db
      .updateTable('recharges')
      .set({ ...stateColumns(r.state), updatedBy: r.updatedBy, updatedAt: r.updatedAt, version: r.version })
      .where('id', '=', r.id)
      .where(filterOnly('tenantId'), '=', r.tenantId)
      .where('version', '=', expectedVersion)
      .modifyEnd(BATCHABLE.version)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async getByAttemptKey(key: string): Promise<RechargeRecord | undefined> {
    const m = /^([A-Za-z0-9]+)A[1-9]$/.exec(key);
    if (m?.[1] === undefined) return undefined;
    const rows = await this.db.selectFrom('recharges').selectAll().where('keyBody', '=', m[1]).limit(2).execute();
    const found = rows.length === 1 ? (await this.recharges(rows))[0] : undefined;
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
      .where('updatedAt', '<', updatedBefore);
    if (updatedAfter !== undefined) q = q.where('updatedAt', '>', updatedAfter);
    const rows = await q.orderBy('updatedAt').limit(limit).execute();
    return this.recharges(rows);
  }

  async countByBatch(tenantId: string, batchId: string): Promise<Record<string, number>> {
    // The counts the database keeps as recharges move (migration 0033): a few rows per status,
    // whatever the batch's size, instead of counting its recharges on every look.
    const rows = await this.db
      .selectFrom('rechargeBatchCounts')
      .select(['status', (eb) => eb.fn.sum<number | string>('n').as('n')])
      .where('batchId', '=', batchId)
      .where((eb) =>
        eb.exists(
          eb.selectFrom('rechargeBatches').select('id').where('id', '=', batchId).where('tenantId', '=', tenantId),
        ),
      )
      .groupBy('status')
      .execute();
    const counts: Record<string, number> = {};
    for (const r of rows) if (num(r.n) !== 0) counts[r.status] = num(r.n);
    return counts;
  }

  async insertBatch(b: RechargeBatchRecord): Promise<void> {
    await this.db
      .insertInto('rechargeBatches')
      .values({
        id: b.id,
        tenantId: b.tenantId,
        userId: b.userId,
        status: b.status,
        format: b.format,
        rows: b.rows,
        validRows: b.validRows,
        rejectedRows: b.rejectedRows,
        pendingRows: b.pendingRows,
        rejectedJson: JSON.stringify(b.rejected),
        createdBy: b.createdBy,
        createdAt: b.createdAt,
        updatedAt: b.updatedAt,
      })
      .execute();
  }

  async getBatch(tenantId: string, id: string): Promise<RechargeBatchRecord | undefined> {
    const r = await this.db
      .selectFrom('rechargeBatches')
      .selectAll()
      .where('id', '=', id)
      .where(filterOnly('tenantId'), '=', tenantId)
      .executeTakeFirst();
    return r === undefined ? undefined : toBatch(r);
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
      .updateTable('rechargeBatches')
      .set({
        status: patch.status,
        rows: patch.rows,
        validRows: patch.validRows,
        rejectedRows: patch.rejectedRows,
        updatedAt: patch.updatedAt,
      })
      .where('id', '=', id)
      .where(filterOnly('tenantId'), '=', tenantId)
      .where('status', '=', from)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async insertBatchRows(rows: readonly BatchRowRecord[]): Promise<void> {
    const first = rows[0];
    if (first === undefined) return;
    const pending = rows.filter((r) => r.status === 'pending').length;
    if (rows.some((r) => r.batchId !== first.batchId)) throw new Error('insertBatchRows: rows of one batch at a time');
    if (pending > 0) await this.addPendingRows(first.batchId, pending);
    await this.db
      .insertInto('rechargeBatchRows')
      .values(
        rows.map((r) => ({
          batchId: r.batchId,
          line: r.line,
          phone: this.cipher.seal(r.phone, SEALED.batchRowPhone),
          phoneIndex: phoneIndex(this.cipher, r.phone),
          operator: r.operator,
          amount: r.amount,
          status: r.status,
          code: r.code,
          // Free text (a channel's refusal may name the number): kept with numbers masked.
          message: r.message === null ? null : maskText(r.message),
          rechargeId: r.rechargeId,
        })),
      )
      .execute();
  }

  async firstLinesOf(batchId: string, phones: readonly string[]): Promise<Map<string, number>> {
    if (phones.length === 0) return new Map();
    // Looked up by blind index: the stored numbers are sealed under fresh IVs and never compare equal.
    const byIndex = new Map(phones.map((p) => [phoneIndex(this.cipher, p), p]));
    const rows = await this.db
      .selectFrom('rechargeBatchRows')
      .select(['phoneIndex', (eb) => eb.fn.min<number | string>('line').as('line')])
      .where('batchId', '=', batchId)
      .where('phoneIndex', 'in', [...byIndex.keys()])
      .where('status', '!=', 'rejected')
      .groupBy('phoneIndex')
      .execute();
    const lines = new Map<string, number>();
    for (const r of rows) {
      const phone = r.phoneIndex === null ? undefined : byIndex.get(r.phoneIndex);
      if (phone !== undefined) lines.set(phone, num(r.line));
    }
    return lines;
  }

  async pendingBatchRows(batchId: string, limit: number): Promise<BatchRowRecord[]> {
    const rows = await this.db
      .selectFrom('rechargeBatchRows')
      .selectAll()
      .where('batchId', '=', batchId)
      .where('status', '=', 'pending')
      .orderBy('line')
      .limit(limit)
      .execute();
    return (await this.batchRows(rows)).map((r) => toBatchRow(r, this.cipher));
  }

  async settleBatchRow(
    batchId: string,
    line: number,
    outcome:
      | { readonly status: 'accepted'; readonly rechargeId: string }
      | { readonly status: 'rejected'; readonly code: string; readonly message: string },
  ): Promise<boolean> {
    const res = await this.db
      .updateTable('rechargeBatchRows')
      .set(
        outcome.status === 'accepted'
          ? { status: 'accepted', rechargeId: outcome.rechargeId }
          : { status: 'rejected', code: outcome.code, message: maskText(outcome.message) },
      )
      .where('batchId', '=', batchId)
      .where('line', '=', line)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async countBatchRows(batchId: string, statuses?: readonly string[]): Promise<Record<string, number>> {
    if (statuses?.length === 0) return {};
    let q = this.db
      .selectFrom('rechargeBatchRows')
      .select(['status', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('batchId', '=', batchId);
    if (statuses !== undefined) q = q.where('status', 'in', [...statuses]);
    const rows = await q.groupBy('status').execute();
    return Object.fromEntries(rows.map((r) => [r.status, num(r.n)]));
  }

  async rejectedBatchRows(batchId: string, afterLine: number, limit: number): Promise<BatchRowRecord[]> {
    const rows = await this.db
      .selectFrom('rechargeBatchRows')
      .selectAll()
      .where('batchId', '=', batchId)
      .where('status', '=', 'rejected')
      .where('line', '>', afterLine)
      .orderBy('line')
      .limit(limit)
      .execute();
    return (await this.batchRows(rows)).map((r) => toBatchRow(r, this.cipher));
  }

  async batchResults(batchId: string, afterLine: number, limit: number): Promise<BatchResultRow[]> {
    const rows = await this.db
      .selectFrom('rechargeBatchRows as b')
      .leftJoin('recharges as r', 'r.id', 'b.rechargeId')
      .selectAll('b')
      .select(['r.status as rStatus', 'r.attemptsJson as rAttempts', 'r.reason as rReason'])
      .where('b.batchId', '=', batchId)
      .where('b.line', '>', afterLine)
      .orderBy('b.line')
      .limit(limit)
      .execute();
    return (await this.batchRows(rows)).map((r) => {
      const attempts = r.rAttempts === null ? [] : (JSON.parse(r.rAttempts) as RechargeAttempt[]);
      return {
        ...toBatchRow(r, this.cipher),
        recharge:
          r.rStatus === null
            ? null
            : { status: r.rStatus, channel: attempts.at(-1)?.channel ?? null, reason: r.rReason },
      };
    });
  }

  async deleteBatchRows(batchId: string): Promise<void> {
    await this.db.deleteFrom('rechargeBatchRows').where('batchId', '=', batchId).execute();
    await this.db.updateTable('rechargeBatches').set({ pendingRows: 0 }).where('id', '=', batchId).execute();
  }

  async settledBatchRows(batchId: string, n: number): Promise<void> {
    if (n > 0) await this.addPendingRows(batchId, -n);
  }

  private async addPendingRows(batchId: string, delta: number): Promise<void> {
    await this.db
      .updateTable('rechargeBatches')
      // Typed as read (number | string, for pg's bigint strings); written as the number it is.
      .set((eb) => ({ pendingRows: eb('pendingRows', '+', delta).$castTo<number>() }))
      .where('id', '=', batchId)
      .execute();
  }
}

/** A batch as read: counts normalised; refusals kept whole by batches from before schema 0005. */
function toBatch(r: Row<'rechargeBatches'>): RechargeBatchRecord {
  const legacy = JSON.parse(r.rejectedJson) as RechargeBatchRecord['rejected'];
  return {
    id: r.id,
    tenantId: r.tenantId,
    userId: r.userId,
    status: r.status as RechargeBatchStatus,
    format: r.format === 'ndjson' ? 'ndjson' : 'csv',
    rows: num(r.rows),
    validRows: num(r.validRows),
    rejectedRows: Math.max(num(r.rejectedRows), legacy.length),
    pendingRows: num(r.pendingRows),
    rejected: legacy,
    createdBy: r.createdBy,
    createdAt: num(r.createdAt),
    updatedAt: num(r.updatedAt),
  };
}

/** A line of a batch as read: the number opened (its key loaded first), integers normalised. */
function toBatchRow(r: Row<'rechargeBatchRows'>, cipher: FieldCipher): BatchRowRecord {
  return {
    batchId: r.batchId,
    line: num(r.line),
    phone: cipher.open(r.phone, SEALED.batchRowPhone),
    operator: r.operator,
    amount: numOrNull(r.amount),
    status: r.status as BatchRowStatus,
    code: r.code,
    message: r.message,
    rechargeId: r.rechargeId,
  };
}
