import type { Kysely } from 'kysely';
import type { AuditEntry, AuditRecord } from '../../../ports/records.js';
import type { AuditLog } from '../../../ports/repositories.js';
import type { CamelCaseDatabase, NewRow, Row } from '../schema.js';
import { num } from './columns.js';
import { BATCHABLE } from './batchable.js';

/** An audit entry as written, every column in table order; the database numbers it. */
export function auditRow(e: AuditEntry): Omit<NewRow<'auditLog'>, 'id'> {
  return {
    tenantId: e.tenantId,
    at: e.at,
    actor: e.actor,
    action: e.action,
    resourceType: e.resourceType,
    resourceId: e.resourceId,
    beforeJson: e.before === null || e.before === undefined ? null : JSON.stringify(e.before),
    afterJson: e.after === null || e.after === undefined ? null : JSON.stringify(e.after),
    requestId: e.requestId,
  };
}

/** An audit entry as read: id and time normalised, before and after parsed. */
export function toAudit(r: Row<'auditLog'>): AuditRecord {
  return {
    id: num(r.id),
    tenantId: r.tenantId,
    at: num(r.at),
    actor: r.actor,
    action: r.action,
    resourceType: r.resourceType,
    resourceId: r.resourceId,
    before: r.beforeJson === null ? null : JSON.parse(r.beforeJson),
    after: r.afterJson === null ? null : JSON.parse(r.afterJson),
    requestId: r.requestId,
  };
}

export class KyselyAuditLog implements AuditLog {
  constructor(protected readonly db: Kysely<CamelCaseDatabase>) {}

  async append(e: AuditEntry): Promise<void> {
    await this.appendMany([e]);
  }

  async appendMany(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.db.insertInto('auditLog').values(entries.map(auditRow)).modifyEnd(BATCHABLE.insert).execute();
  }

  async list(tenantId: string, resourceType: string, resourceId: string): Promise<AuditRecord[]> {
    const rows = await this.db
      .selectFrom('auditLog')
      .selectAll()
      .where('tenantId', '=', tenantId)
      .where('resourceType', '=', resourceType)
      .where('resourceId', '=', resourceId)
      .orderBy('id', 'asc')
      .execute();
    return rows.map(toAudit);
  }
}
