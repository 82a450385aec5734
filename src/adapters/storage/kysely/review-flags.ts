import type { Kysely } from 'kysely';
import type { ReviewFlag } from '../../../ports/records.js';
import type { FlagFilter, ReviewFlags } from '../../../ports/repositories.js';
import type { CamelCaseDatabase, NewRow, Row } from '../schema.js';
import { num, numOrNull } from './columns.js';

/** A flag as read: times normalised, detail parsed. */
function toFlag(r: Row<'reviewFlags'>): ReviewFlag {
  return {
    id: r.id,
    tenantId: r.tenantId,
    resourceType: r.resourceType,
    resourceId: r.resourceId,
    code: r.code,
    detail: JSON.parse(r.detailJson) as Record<string, unknown>,
    createdAt: num(r.createdAt),
    resolvedAt: numOrNull(r.resolvedAt),
    resolvedBy: r.resolvedBy,
    resolutionNote: r.resolutionNote,
  };
}

/** A flag as written: every column in table order. */
function flagRow(f: ReviewFlag): NewRow<'reviewFlags'> {
  return {
    id: f.id,
    tenantId: f.tenantId,
    resourceType: f.resourceType,
    resourceId: f.resourceId,
    code: f.code,
    detailJson: JSON.stringify(f.detail),
    createdAt: f.createdAt,
    resolvedAt: f.resolvedAt,
    resolvedBy: f.resolvedBy ?? null,
    resolutionNote: f.resolutionNote ?? null,
  };
}

export class KyselyReviewFlags implements ReviewFlags {
  constructor(private readonly db: Kysely<CamelCaseDatabase>) {}

  async raise(f: ReviewFlag): Promise<void> {
    await this.db.insertInto('reviewFlags').values(flagRow(f)).execute();
  }

  async raiseOnce(f: ReviewFlag): Promise<boolean> {
    const res = await this.db
      .insertInto('reviewFlags')
      .values(flagRow(f))
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async resolve(tenantId: string, id: string, at: number, by?: string, note?: string): Promise<boolean> {
    const res = await this.db
      .updateTable('reviewFlags')
      .set({ resolvedAt: at, resolvedBy: by ?? null, resolutionNote: note ?? null })
      .where('tenantId', '=', tenantId)
      .where('id', '=', id)
      .where('resolvedAt', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async get(tenantId: string, id: string): Promise<ReviewFlag | undefined> {
    const r = await this.db
      .selectFrom('reviewFlags')
      .selectAll()
      .where('tenantId', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return r === undefined ? undefined : toFlag(r);
  }

  async list(tenantId: string, options: FlagFilter & { readonly limit: number }): Promise<ReviewFlag[]> {
    let q = this.db.selectFrom('reviewFlags').selectAll().where('tenantId', '=', tenantId);
    if (options.open === true) q = q.where('resolvedAt', 'is', null);
    if (options.open === false) q = q.where('resolvedAt', 'is not', null);
    if (options.code !== undefined) q = q.where('code', '=', options.code);
    if (options.resourceType !== undefined) q = q.where('resourceType', '=', options.resourceType);
    if (options.resourceId !== undefined) q = q.where('resourceId', '=', options.resourceId);
    if (options.since !== undefined) q = q.where('createdAt', '>=', options.since);
    const rows = await q.orderBy('createdAt', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
    return rows.map(toFlag);
  }

  async countOpen(): Promise<number> {
    const row = await this.db
      .selectFrom('reviewFlags')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('resolvedAt', 'is', null)
      .executeTakeFirst();
    return row === undefined ? 0 : num(row.n);
  }
}
