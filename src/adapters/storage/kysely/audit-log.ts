import type { Kysely, Selectable } from 'kysely';
import type { AuditEntry, AuditRecord } from '../../../ports/records.js';
import type { AuditLog } from '../../../ports/repositories.js';
import type { AuditLogTable, Database } from '../schema.js';
import { num } from './columns.js';

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

export class KyselyAuditLog implements AuditLog {
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
