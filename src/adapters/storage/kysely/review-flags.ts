import type { Kysely, Selectable } from 'kysely';
import type { ReviewFlag } from '../../../ports/records.js';
import type { ReviewFlags } from '../../../ports/repositories.js';
import type { Database, ReviewFlagsTable } from '../schema.js';
import { num } from './columns.js';

function toFlag(r: Selectable<ReviewFlagsTable>): ReviewFlag {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    code: r.code,
    detail: JSON.parse(r.detail_json) as Record<string, unknown>,
    createdAt: num(r.created_at),
    resolvedAt: r.resolved_at === null ? null : num(r.resolved_at),
  };
}

const flagRow = (f: ReviewFlag) => ({
  id: f.id,
  tenant_id: f.tenantId,
  resource_type: f.resourceType,
  resource_id: f.resourceId,
  code: f.code,
  detail_json: JSON.stringify(f.detail),
  created_at: f.createdAt,
  resolved_at: f.resolvedAt,
});

export class KyselyReviewFlags implements ReviewFlags {
  constructor(private readonly db: Kysely<Database>) {}

  async raise(f: ReviewFlag): Promise<void> {
    await this.db.insertInto('review_flags').values(flagRow(f)).execute();
  }

  async raiseOnce(f: ReviewFlag): Promise<boolean> {
    const res = await this.db
      .insertInto('review_flags')
      .values(flagRow(f))
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async resolve(tenantId: string, id: string, at: number): Promise<boolean> {
    const res = await this.db
      .updateTable('review_flags')
      .set({ resolved_at: at })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('resolved_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async list(tenantId: string, options: { readonly open?: boolean; readonly limit: number }): Promise<ReviewFlag[]> {
    let q = this.db.selectFrom('review_flags').selectAll().where('tenant_id', '=', tenantId);
    if (options.open === true) q = q.where('resolved_at', 'is', null);
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
    return rows.map(toFlag);
  }
}
