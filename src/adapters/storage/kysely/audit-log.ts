import { createHash } from 'node:crypto';
import { type ExpressionBuilder, type Kysely, type QueryCreator, sql } from 'kysely';
import {
  type AuditChainFields,
  type AuditChainKey,
  auditChainContent,
  auditShard,
  chainKey,
  compareChains,
  DEFAULT_AUDIT_SHARDS,
  GENESIS_HASH,
} from '../../../domain/audit-chain.js';
import type { AuditChainHead, AuditEntry, AuditRecord, ChainedAuditRow } from '../../../ports/records.js';
import type { AuditLog } from '../../../ports/repositories.js';
import type { CamelCaseDatabase, NewRow, Row } from '../schema.js';
import type { Engine } from '../storage.js';
import { num } from './columns.js';

/** SHA-256 (hex) of a row's chained fields: what its `hash` column must hold. */
export function auditRowHash(f: AuditChainFields): string {
  return createHash('sha256').update(auditChainContent(f)).digest('hex');
}

/** An audit entry as written, every column in table order; the database numbers it. */
export type AuditRowToWrite = Omit<NewRow<'auditLog'>, 'id'>;

/** Where a chain stands: the last seq and hash (seq 0 and GENESIS_HASH before any row). */
export interface ChainPosition {
  seq: number;
  hash: string;
}

/** A chain a transaction appends to, and how many rows it appends. */
export interface ChainAppend extends AuditChainKey {
  readonly n: number;
}

/**
 * The chains `entries` go to (their tenant and their resource's shard of `shards`), each with its
 * count, in lock order (tenant, then shard): heads are always locked in this one order.
 */
export function chainsOf(entries: readonly AuditEntry[], shards: number): ChainAppend[] {
  const counts = new Map<string, { tenantId: string; shard: number; n: number }>();
  for (const e of entries) {
    const c = { tenantId: e.tenantId, shard: auditShard(e.resourceType, e.resourceId, shards) };
    const k = chainKey(c);
    const had = counts.get(k);
    if (had === undefined) counts.set(k, { ...c, n: 1 });
    else had.n += 1;
  }
  return [...counts.values()].sort(compareChains);
}

/**
 * The rows for `entries`, each linked to the one before it in its chain (tenant, shard): shard,
 * seq, prev_hash and hash filled in from `heads` (by chainKey; a chain missing from it starts at
 * GENESIS_HASH), which is moved on to the new heads. Rows keep the entries' order, so ids still
 * follow the order of events.
 */
export function linkAuditRows(
  entries: readonly AuditEntry[],
  heads: Map<string, ChainPosition>,
  shards: number,
): AuditRowToWrite[] {
  return entries.map((e) => {
    const shard = auditShard(e.resourceType, e.resourceId, shards);
    const key = chainKey({ tenantId: e.tenantId, shard });
    const head = heads.get(key) ?? { seq: 0, hash: GENESIS_HASH };
    const fields = {
      tenantId: e.tenantId,
      shards,
      shard,
      seq: head.seq + 1,
      prevHash: head.hash,
      at: e.at,
      actor: e.actor,
      action: e.action,
      resourceType: e.resourceType,
      resourceId: e.resourceId,
      beforeJson: e.before === null || e.before === undefined ? null : JSON.stringify(e.before),
      afterJson: e.after === null || e.after === undefined ? null : JSON.stringify(e.after),
      requestId: e.requestId,
    };
    const hash = auditRowHash(fields);
    heads.set(key, { seq: fields.seq, hash });
    return { ...fields, hash };
  });
}

/** An audit entry as read: id and time normalised, before and after parsed. */
export function toAudit(r: Row<'auditLog'>): AuditRecord {
  return {
    id: num(r.id),
    shard: r.shard ?? 0,
    seq: r.seq === null ? 0 : num(r.seq),
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

/** A row as stored, for the chain check (a row written around the chain may lack seq and hashes). */
function toChained(r: Row<'auditLog'>): ChainedAuditRow {
  return {
    id: num(r.id),
    tenantId: r.tenantId,
    shards: r.shards ?? 0,
    shard: r.shard ?? -1,
    seq: r.seq === null ? 0 : num(r.seq),
    prevHash: r.prevHash ?? '',
    hash: r.hash ?? '',
    at: num(r.at),
    actor: r.actor,
    action: r.action,
    resourceType: r.resourceType,
    resourceId: r.resourceId,
    beforeJson: r.beforeJson,
    afterJson: r.afterJson,
    requestId: r.requestId,
  };
}

const byChain = <T extends AuditChainKey>(rows: T[]): T[] => rows.sort(compareChains);

export class KyselyAuditLog implements AuditLog {
  /**
   * @param shards how many chains each tenant's new rows are spread over (rows keep the number
   *   they were written with, so changing it later leaves older rows verifiable)
   * @param engine SQLite writes through its own path; this one serves it in tests and tools only
   */
  constructor(
    protected readonly db: Kysely<CamelCaseDatabase>,
    protected readonly shards: number = DEFAULT_AUDIT_SHARDS,
    private readonly engine: Engine = 'postgres',
  ) {}

  async append(e: AuditEntry): Promise<void> {
    await this.appendMany([e]);
  }

  /**
   * PostgreSQL's path (SQLite has its own, synchronous one), two statements. First, one upsert
   * moves every chain's head this transaction appends to on by its count and returns the hash to
   * link to: it locks those head rows, in VALUES order, which is lock order (tenant, shard), so
   * two transactions never wait for each other's heads in a cycle. Then one statement inserts the
   * linked rows and sets the heads' hashes. The locks end with the COMMIT. tx() appends audit rows
   * as the LAST writes of a transaction, so a head is held for this tail only; and only writers
   * whose resources fall in the same shard of the same tenant wait for it.
   */
  async appendMany(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const at = entries.reduce((m, e) => Math.max(m, e.at), 0);
    const chains = chainsOf(entries, this.shards);
    const moved = await this.db
      .insertInto('auditChainHeads')
      .values(
        chains.map((c) => ({ tenantId: c.tenantId, shard: c.shard, seq: c.n, hash: GENESIS_HASH, updatedAt: at })),
      )
      .onConflict((oc) =>
        oc.columns(['tenantId', 'shard']).doUpdateSet((eb) => ({
          seq: sql<number>`${eb.ref('auditChainHeads.seq')} + ${eb.ref('excluded.seq')}`,
          updatedAt: eb.ref('excluded.updatedAt'),
        })),
      )
      .returning(['tenantId', 'shard', 'seq', 'hash'])
      .execute();
    const heads = new Map<string, ChainPosition>();
    const counts = new Map(chains.map((c) => [chainKey(c), c.n]));
    for (const h of moved) {
      const k = chainKey(h);
      heads.set(k, { seq: num(h.seq) - (counts.get(k) ?? 0), hash: h.hash });
    }
    const rows = linkAuditRows(entries, heads, this.shards);
    const newHash = (c: AuditChainKey): string => heads.get(chainKey(c))?.hash ?? GENESIS_HASH;
    const isChain = (eb: ExpressionBuilder<CamelCaseDatabase, 'auditChainHeads'>, c: AuditChainKey) =>
      eb.and([eb('tenantId', '=', c.tenantId), eb('shard', '=', c.shard)]);
    // Rows and heads in one statement on PostgreSQL: one round trip less while the heads are locked.
    const insert = (w: QueryCreator<CamelCaseDatabase>) => w.insertInto('auditLog').values(rows).returning('id');
    if (this.engine !== 'postgres') await insert(this.db).execute();
    const writer = (
      this.engine === 'postgres' ? this.db.with('linked', insert) : this.db
    ) as QueryCreator<CamelCaseDatabase>;
    await writer
      .updateTable('auditChainHeads')
      .set((eb) => ({
        hash: chains
          .slice(1)
          .reduce(
            (cases, c) => cases.when(isChain(eb, c)).then(newHash(c)),
            eb
              .case()
              .when(isChain(eb, chains[0] as ChainAppend))
              .then(newHash(chains[0] as ChainAppend)),
          )
          .else(eb.ref('hash'))
          .end(),
      }))
      .where((eb) => eb.or(chains.map((c) => isChain(eb, c))))
      .execute();
  }

  /** Every column of the tenant's rows (the audit index leads with tenant_id). */
  private ofTenant(tenantId: string) {
    return this.db.selectFrom('auditLog').selectAll().where('tenantId', '=', tenantId);
  }

  /** Every column of one chain's rows (the chain index is (tenant_id, shard, seq)). */
  private ofChain(c: AuditChainKey) {
    return this.ofTenant(c.tenantId).where('shard', '=', c.shard);
  }

  async list(tenantId: string, resourceType: string, resourceId: string): Promise<AuditRecord[]> {
    const rows = await this.ofTenant(tenantId)
      .where('resourceType', '=', resourceType)
      .where('resourceId', '=', resourceId)
      .orderBy('id', 'asc')
      .execute();
    return rows.map(toAudit);
  }

  async trail(
    tenantId: string,
    resourceType: string,
    resourceId: string,
    afterId: number,
    limit: number,
  ): Promise<AuditRecord[]> {
    const rows = await this.ofTenant(tenantId)
      .where('resourceType', '=', resourceType)
      .where('resourceId', '=', resourceId)
      .where('id', '>', afterId)
      .orderBy('id', 'asc')
      .limit(limit)
      .execute();
    return rows.map(toAudit);
  }

  async chains(tenantId?: string): Promise<AuditChainKey[]> {
    const found = await this.db
      .selectFrom('auditLog')
      .select(['tenantId', 'shard'])
      .where('shard', 'is not', null)
      .$if(tenantId !== undefined, (q) => q.where('tenantId', '=', tenantId ?? ''))
      .union(
        this.db
          .selectFrom('auditChainHeads')
          .select(['tenantId', 'shard'])
          .$if(tenantId !== undefined, (q) => q.where('tenantId', '=', tenantId ?? '')),
      )
      .execute();
    return byChain(found.map((r) => ({ tenantId: r.tenantId, shard: r.shard ?? 0 })));
  }

  async chainHeads(tenantId?: string): Promise<AuditChainHead[]> {
    const rows = await this.db
      .selectFrom('auditChainHeads')
      .select(['tenantId', 'shard', 'seq', 'hash'])
      .$if(tenantId !== undefined, (q) => q.where('tenantId', '=', tenantId ?? ''))
      .execute();
    return byChain(rows.map((r) => ({ tenantId: r.tenantId, shard: r.shard, seq: num(r.seq), hash: r.hash })));
  }

  async chainHead(c: AuditChainKey): Promise<AuditChainHead | undefined> {
    const r = await this.db
      .selectFrom('auditChainHeads')
      .select(['seq', 'hash'])
      .where('tenantId', '=', c.tenantId)
      .where('shard', '=', c.shard)
      .executeTakeFirst();
    return r === undefined ? undefined : { tenantId: c.tenantId, shard: c.shard, seq: num(r.seq), hash: r.hash };
  }

  async chainPage(c: AuditChainKey, afterSeq: number, limit: number): Promise<ChainedAuditRow[]> {
    const rows = await this.ofChain(c).where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
    return rows.map(toChained);
  }

  async unchained(tenantId: string, limit: number): Promise<ChainedAuditRow[]> {
    const rows = await this.ofTenant(tenantId)
      .where((eb) => eb.or([eb('seq', 'is', null), eb('shard', 'is', null)]))
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toChained);
  }

  async atSeq(c: AuditChainKey, seq: number): Promise<ChainedAuditRow | undefined> {
    const r = await this.ofChain(c).where('seq', '=', seq).executeTakeFirst();
    return r === undefined ? undefined : toChained(r);
  }

  async withHash(c: AuditChainKey, hash: string): Promise<ChainedAuditRow[]> {
    const rows = await this.ofChain(c).where('hash', '=', hash).orderBy('id').execute();
    return rows.map(toChained);
  }
}
