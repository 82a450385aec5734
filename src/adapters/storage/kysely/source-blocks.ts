import type { Kysely } from 'kysely';
import { type FailureCounts, isBlockKind, NO_FAILURES } from '../../../domain/abuse.js';
import type { SourceBlock, SourceBlockRepository } from '../../../ports/source-blocks.js';
import type { CamelCaseDatabase, NewRow, Row } from '../schema.js';
import { num, numOrNull } from './columns.js';

/** A block as read: times normalised, reasons parsed. */
function toBlock(r: Row<'sourceBlocks'>): SourceBlock {
  if (!isBlockKind(r.kind)) throw new Error(`source block ${r.id} has an unknown kind ${r.kind}`);
  return {
    id: r.id,
    source: r.source,
    kind: r.kind,
    reasons: { ...NO_FAILURES, ...(JSON.parse(r.reasonsJson) as Partial<FailureCounts>) },
    createdAt: num(r.createdAt),
    until: num(r.blockedUntil),
    liftedAt: numOrNull(r.liftedAt),
    liftedBy: r.liftedBy,
  };
}

/** A new block as written: every column in table order. */
function blockRow(b: Omit<SourceBlock, 'liftedAt' | 'liftedBy'>): NewRow<'sourceBlocks'> {
  return {
    source: b.source,
    id: b.id,
    kind: b.kind,
    reasonsJson: JSON.stringify(b.reasons),
    createdAt: b.createdAt,
    blockedUntil: b.until,
    liftedAt: null,
    liftedBy: null,
  };
}

export class KyselySourceBlocks implements SourceBlockRepository {
  constructor(private readonly db: Kysely<CamelCaseDatabase>) {}

  async block(b: Omit<SourceBlock, 'liftedAt' | 'liftedBy'>): Promise<SourceBlock | undefined> {
    // Insert first; a source's old row is taken over only if its block is over (lifted or
    // expired). On PostgreSQL a concurrent second upsert waits for the first and then finds the
    // row's block in force, so of two instances blocking one source exactly one makes the block.
    const row = await this.db
      .insertInto('sourceBlocks')
      .values(blockRow(b))
      .onConflict((oc) =>
        oc
          .column('source')
          .doUpdateSet((eb) => ({
            id: eb.ref('excluded.id'),
            kind: eb.ref('excluded.kind'),
            reasonsJson: eb.ref('excluded.reasonsJson'),
            createdAt: eb.ref('excluded.createdAt'),
            blockedUntil: eb.ref('excluded.blockedUntil'),
            liftedAt: null,
            liftedBy: null,
          }))
          .where((eb) =>
            eb.or([eb('sourceBlocks.liftedAt', 'is not', null), eb('sourceBlocks.blockedUntil', '<=', b.createdAt)]),
          ),
      )
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : toBlock(row);
  }

  async active(now: number): Promise<SourceBlock[]> {
    const rows = await this.db
      .selectFrom('sourceBlocks')
      .selectAll()
      .where('blockedUntil', '>', now)
      .where('liftedAt', 'is', null)
      .orderBy('createdAt', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return rows.map(toBlock);
  }

  async get(id: string): Promise<SourceBlock | undefined> {
    const row = await this.db.selectFrom('sourceBlocks').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toBlock(row);
  }

  async lift(id: string, by: string, now: number): Promise<SourceBlock | undefined> {
    const row = await this.db
      .updateTable('sourceBlocks')
      .set({ liftedAt: now, liftedBy: by })
      .where('id', '=', id)
      .where('liftedAt', 'is', null)
      .where('blockedUntil', '>', now)
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : toBlock(row);
  }
}
