import type { Kysely } from 'kysely';
import type { HeldActionRecord, HeldActionRepository, HeldShown, HeldStatus } from '../../../ports/held-actions.js';
import type { CamelCaseDatabase, NewRow, Row } from '../schema.js';
import { num, numOrNull } from './columns.js';

function toHeld(r: Row<'heldActions'>): HeldActionRecord {
  return {
    id: r.id,
    tenantId: r.tenantId,
    userId: r.userId,
    action: r.action,
    params: JSON.parse(r.paramsJson) as Record<string, unknown>,
    shown: JSON.parse(r.shownJson) as HeldShown,
    digest: r.digest,
    reason: r.reason,
    status: r.status as HeldStatus,
    requestedBy: r.requestedBy,
    decidedBy: r.decidedBy,
    resultId: r.resultId,
    createdAt: num(r.createdAt),
    expiresAt: num(r.expiresAt),
    decidedAt: numOrNull(r.decidedAt),
  };
}

function heldRow(h: HeldActionRecord): NewRow<'heldActions'> {
  return {
    id: h.id,
    tenantId: h.tenantId,
    userId: h.userId,
    action: h.action,
    paramsJson: JSON.stringify(h.params),
    shownJson: JSON.stringify(h.shown),
    digest: h.digest,
    reason: h.reason,
    status: h.status,
    requestedBy: h.requestedBy,
    decidedBy: h.decidedBy,
    resultId: h.resultId,
    createdAt: h.createdAt,
    expiresAt: h.expiresAt,
    decidedAt: h.decidedAt,
  };
}

export class KyselyHeldActions implements HeldActionRepository {
  constructor(private readonly db: Kysely<CamelCaseDatabase>) {}

  async insert(h: HeldActionRecord): Promise<void> {
    await this.db.insertInto('heldActions').values(heldRow(h)).execute();
  }

  async get(tenantId: string, id: string): Promise<HeldActionRecord | undefined> {
    const row = await this.db
      .selectFrom('heldActions')
      .selectAll()
      .where('tenantId', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : toHeld(row);
  }

  async listForPerson(
    tenantId: string,
    userId: string,
    opts: { all: boolean; limit: number },
  ): Promise<HeldActionRecord[]> {
    let q = this.db.selectFrom('heldActions').selectAll().where('tenantId', '=', tenantId).where('userId', '=', userId);
    if (!opts.all) q = q.where('status', '=', 'AWAITING');
    const rows = await q.orderBy('createdAt', 'desc').orderBy('id', 'desc').limit(opts.limit).execute();
    return rows.map(toHeld);
  }

  async decide(
    tenantId: string,
    id: string,
    d: { digest: string; to: 'CONFIRMED' | 'REJECTED'; by: string; now: number; resultId: string | null },
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('heldActions')
      .set({ status: d.to, decidedBy: d.by, decidedAt: d.now, resultId: d.resultId })
      .where('tenantId', '=', tenantId)
      .where('id', '=', id)
      .where('status', '=', 'AWAITING')
      .where('digest', '=', d.digest)
      .where('expiresAt', '>', d.now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
