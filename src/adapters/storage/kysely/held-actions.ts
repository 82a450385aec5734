import type { Kysely } from 'kysely';
import type { HeldActionRecord, HeldActionRepository, HeldShown, HeldStatus } from '../../../ports/held-actions.js';
import type { FieldCipher } from '../../../ports/field-cipher.js';
import type { CamelCaseDatabase, NewRow, Row } from '../schema.js';
import { filterOnly, num, numOrNull } from './columns.js';
import { loadKeys, SEALED } from './sealed.js';

function toHeld(r: Row<'heldActions'>, cipher: FieldCipher): HeldActionRecord {
  return {
    id: r.id,
    tenantId: r.tenantId,
    userId: r.userId,
    action: r.action,
    params: JSON.parse(cipher.open(r.paramsJson, SEALED.heldParams)) as Record<string, unknown>,
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

/** A held action as written: its parameters (a phone number, say) sealed. */
function heldRow(h: HeldActionRecord, cipher: FieldCipher): NewRow<'heldActions'> {
  return {
    id: h.id,
    tenantId: h.tenantId,
    userId: h.userId,
    action: h.action,
    paramsJson: cipher.seal(JSON.stringify(h.params), SEALED.heldParams),
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
  constructor(
    private readonly db: Kysely<CamelCaseDatabase>,
    private readonly cipher: FieldCipher,
  ) {}

  private async read(rows: Row<'heldActions'>[]): Promise<HeldActionRecord[]> {
    await loadKeys(
      this.cipher,
      this.db,
      rows.map((r) => r.paramsJson),
    );
    return rows.map((r) => toHeld(r, this.cipher));
  }

  async insert(h: HeldActionRecord): Promise<void> {
    await this.db.insertInto('heldActions').values(heldRow(h, this.cipher)).execute();
  }

  async get(tenantId: string, id: string): Promise<HeldActionRecord | undefined> {
    const row = await this.db
      .selectFrom('heldActions')
      .selectAll()
      .where('id', '=', id)
      .where(filterOnly('tenantId'), '=', tenantId)
      .executeTakeFirst();
    return row === undefined ? undefined : (await this.read([row]))[0];
  }

  async listForPerson(
    tenantId: string,
    userId: string,
    opts: { all: boolean; limit: number },
  ): Promise<HeldActionRecord[]> {
    let q = this.db.selectFrom('heldActions').selectAll().where('tenantId', '=', tenantId).where('userId', '=', userId);
    if (!opts.all) q = q.where('status', '=', 'AWAITING');
    const rows = await q.orderBy('createdAt', 'desc').orderBy('id', 'desc').limit(opts.limit).execute();
    return this.read(rows);
  }

  async decide(
    tenantId: string,
    id: string,
    d: { digest: string; to: 'CONFIRMED' | 'REJECTED'; by: string; now: number; resultId: string | null },
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('heldActions')
      .set({ status: d.to, decidedBy: d.by, decidedAt: d.now, resultId: d.resultId })
      .where('id', '=', id)
      .where(filterOnly('tenantId'), '=', tenantId)
      .where('status', '=', 'AWAITING')
      .where('digest', '=', d.digest)
      .where('expiresAt', '>', d.now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
