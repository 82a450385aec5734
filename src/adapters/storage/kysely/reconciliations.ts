import type { Kysely } from 'kysely';
import type { Category, ReconciliationReport, RepairAction } from '../../../domain/statements/reconcile.js';
import type { StatementFormat } from '../../../domain/statements/statement-line.js';
import type {
  ReconciliationRecord,
  ReconciliationRepository,
  RepairRecord,
  RepairStatus,
} from '../../../ports/reconciliations.js';
import type { CamelCaseDatabase, NewRow, Row } from '../schema.js';
import { num, numOrNull } from './columns.js';

function toRun(r: Row<'reconciliations'>): ReconciliationRecord {
  return {
    id: r.id,
    tenantId: r.tenantId,
    source: r.source,
    businessDate: r.businessDate,
    format: r.format as StatementFormat,
    fileName: r.fileName,
    status: r.status as ReconciliationRecord['status'],
    error: r.error,
    report: r.reportJson === null ? null : (JSON.parse(r.reportJson) as ReconciliationReport),
    createdBy: r.createdBy,
    createdAt: num(r.createdAt),
  };
}

function toRepair(r: Row<'reconciliationRepairs'>): RepairRecord {
  return {
    id: r.id,
    tenantId: r.tenantId,
    reconciliationId: r.reconciliationId,
    source: r.source,
    businessDate: r.businessDate,
    itemKey: r.itemKey,
    category: r.category as Category,
    action: r.action as RepairAction,
    why: r.why,
    notBefore: numOrNull(r.notBefore),
    item: JSON.parse(r.itemJson) as Record<string, unknown>,
    status: r.status as RepairStatus,
    result: r.result,
    decidedBy: r.decidedBy,
    decidedAt: numOrNull(r.decidedAt),
    createdAt: num(r.createdAt),
    version: num(r.version),
  };
}

function repairRow(r: RepairRecord): NewRow<'reconciliationRepairs'> {
  return {
    id: r.id,
    tenantId: r.tenantId,
    reconciliationId: r.reconciliationId,
    source: r.source,
    businessDate: r.businessDate,
    itemKey: r.itemKey,
    category: r.category,
    action: r.action,
    why: r.why,
    notBefore: r.notBefore,
    itemJson: JSON.stringify(r.item),
    status: r.status,
    result: r.result,
    decidedBy: r.decidedBy,
    decidedAt: r.decidedAt,
    createdAt: r.createdAt,
    version: r.version,
  };
}

export class KyselyReconciliations implements ReconciliationRepository {
  constructor(private readonly db: Kysely<CamelCaseDatabase>) {}

  async insert(run: ReconciliationRecord): Promise<void> {
    await this.db
      .insertInto('reconciliations')
      .values({
        id: run.id,
        tenantId: run.tenantId,
        source: run.source,
        businessDate: run.businessDate,
        format: run.format,
        fileName: run.fileName,
        status: run.status,
        error: run.error,
        reportJson: run.report === null ? null : JSON.stringify(run.report),
        createdBy: run.createdBy,
        createdAt: run.createdAt,
      })
      .execute();
  }

  async get(id: string): Promise<ReconciliationRecord | undefined> {
    const r = await this.db.selectFrom('reconciliations').selectAll().where('id', '=', id).executeTakeFirst();
    return r === undefined ? undefined : toRun(r);
  }

  async list(filter: {
    readonly source?: string;
    readonly businessDate?: string;
    readonly beforeId?: string;
    readonly limit: number;
  }): Promise<ReconciliationRecord[]> {
    let q = this.db.selectFrom('reconciliations').selectAll();
    if (filter.source !== undefined) q = q.where('source', '=', filter.source);
    if (filter.businessDate !== undefined) q = q.where('businessDate', '=', filter.businessDate);
    if (filter.beforeId !== undefined) q = q.where('id', '<', filter.beforeId);
    return (await q.orderBy('id', 'desc').limit(filter.limit).execute()).map(toRun);
  }

  async propose(repair: RepairRecord): Promise<RepairRecord> {
    await this.db
      .insertInto('reconciliationRepairs')
      .values(repairRow(repair))
      .onConflict((oc) => oc.columns(['source', 'itemKey', 'action']).doNothing())
      .execute();
    const stored = await this.db
      .selectFrom('reconciliationRepairs')
      .selectAll()
      .where('source', '=', repair.source)
      .where('itemKey', '=', repair.itemKey)
      .where('action', '=', repair.action)
      .executeTakeFirstOrThrow();
    return toRepair(stored);
  }

  async getRepair(id: string): Promise<RepairRecord | undefined> {
    const r = await this.db.selectFrom('reconciliationRepairs').selectAll().where('id', '=', id).executeTakeFirst();
    return r === undefined ? undefined : toRepair(r);
  }

  async repairsOf(source: string, businessDate: string): Promise<RepairRecord[]> {
    const rows = await this.db
      .selectFrom('reconciliationRepairs')
      .selectAll()
      .where('source', '=', source)
      .where('businessDate', '=', businessDate)
      .orderBy('itemKey')
      .orderBy('action')
      .execute();
    return rows.map(toRepair);
  }

  async updateRepair(repair: RepairRecord, expectedVersion: number): Promise<boolean> {
    const res = await this.db
      .updateTable('reconciliationRepairs')
      .set({
        status: repair.status,
        result: repair.result,
        decidedBy: repair.decidedBy,
        decidedAt: repair.decidedAt,
        version: repair.version,
      })
      .where('id', '=', repair.id)
      .where('version', '=', expectedVersion)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }
}
