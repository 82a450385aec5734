import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import {
  type AuditChainFields,
  type AuditChainKey,
  type AuditChainUnlinked,
  auditChainContent,
  auditChainContentParts,
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
import { batchableInsert } from './batchable.js';
import { num } from './columns.js';
import { type HotQuery, hotQuery } from './hot-query.js';

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
    const f = unlinked(e, shards);
    const key = chainKey(f);
    const head = heads.get(key) ?? { seq: 0, hash: GENESIS_HASH };
    const fields = { ...f, seq: head.seq + 1, prevHash: head.hash };
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

/** The values of the one statement that writes audit rows linked (linkedInsert), column by column. */
interface LinkedColumns {
  tenants: string[];
  shardCounts: number[];
  shards: number[];
  ats: number[];
  actors: string[];
  actions: string[];
  types: string[];
  ids: string[];
  befores: (string | null)[];
  afters: (string | null)[];
  requests: (string | null)[];
  heads: string[];
  middles: string[];
  tails: string[];
  chainTenants: string[];
  chainShards: number[];
}

function linkedColumns(entries: readonly AuditEntry[], shards: number): LinkedColumns {
  const cols: LinkedColumns = {
    tenants: [],
    shardCounts: [],
    shards: [],
    ats: [],
    actors: [],
    actions: [],
    types: [],
    ids: [],
    befores: [],
    afters: [],
    requests: [],
    heads: [],
    middles: [],
    tails: [],
    chainTenants: [],
    chainShards: [],
  };
  for (const e of entries) {
    const f = unlinked(e, shards);
    const [head, middle, tail] = auditChainContentParts(f);
    cols.tenants.push(f.tenantId);
    cols.shardCounts.push(f.shards);
    cols.shards.push(f.shard);
    cols.ats.push(f.at);
    cols.actors.push(f.actor);
    cols.actions.push(f.action);
    cols.types.push(f.resourceType);
    cols.ids.push(f.resourceId);
    cols.befores.push(f.beforeJson);
    cols.afters.push(f.afterJson);
    cols.requests.push(f.requestId);
    cols.heads.push(head);
    cols.middles.push(middle);
    cols.tails.push(tail);
  }
  for (const c of chainsOf(entries, shards)) {
    cols.chainTenants.push(c.tenantId);
    cols.chainShards.push(c.shard);
  }
  return cols;
}

/** linkedInsert's SQL for `rows` rows, with `c` (values, or the placeholders of a hot query) in it. */
function linkedInsertSql(rows: number, c: LinkedColumns) {
  return sql`insert into audit_log (tenant_id, shards, shard, seq, prev_hash, hash, at, actor, action,
    resource_type, resource_id, before_json, after_json, request_id)
    select o_tenant_id, o_shards, o_shard, o_seq, o_prev_hash, o_hash, o_at, o_actor, o_action,
      o_resource_type, o_resource_id, o_before_json, o_after_json, o_request_id
    from autoglm_audit_link(${c.tenants}::text[], ${c.shardCounts}::integer[], ${c.shards}::integer[],
      ${c.ats}::bigint[], ${c.actors}::text[], ${c.actions}::text[], ${c.types}::text[], ${c.ids}::text[],
      ${c.befores}::text[], ${c.afters}::text[], ${c.requests}::text[], ${c.heads}::text[],
      ${c.middles}::text[], ${c.tails}::text[], ${c.chainTenants}::text[],
      ${c.chainShards}::integer[])${batchableInsert('audit_log', rows)}`;
}

/**
 * The one PostgreSQL statement that writes `entries` linked into their chains: an INSERT … SELECT
 * from autoglm_audit_link (migration 0029), given each row's content split around its links
 * (auditChainContentParts) and the chains in lock order; marked as a batchable insert of its rows.
 */
export function linkedInsert(entries: readonly AuditEntry[], shards: number) {
  return linkedInsertSql(entries.length, linkedColumns(entries, shards));
}

/**
 * linkedInsert compiled once for each number of rows (its mark names it) up to this many: a
 * transaction appends a handful. Larger appends (tools, imports) are built each time.
 */
const HOT_LINKED_ROWS = 64;
const hotLinked: Array<HotQuery<CamelCaseDatabase, LinkedColumns, unknown> | undefined> = [];

/** Write `entries` linked into their chains (PostgreSQL), in one statement. */
async function insertLinked(db: Kysely<CamelCaseDatabase>, entries: readonly AuditEntry[], shards: number) {
  const n = entries.length;
  if (n > HOT_LINKED_ROWS) return linkedInsert(entries, shards).execute(db);
  let q = hotLinked[n];
  if (q === undefined) {
    q = hotQuery((_: Kysely<CamelCaseDatabase>, c: LinkedColumns) => linkedInsertSql(n, c));
    hotLinked[n] = q;
  }
  return q.execute(db, linkedColumns(entries, shards));
}

/** An entry's chained fields but for its links: its chain of `shards`, and its JSON as stored. */
function unlinked(e: AuditEntry, shards: number): AuditChainUnlinked {
  return {
    tenantId: e.tenantId,
    shards,
    shard: auditShard(e.resourceType, e.resourceId, shards),
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
   * PostgreSQL's path (SQLite has its own, synchronous one): ONE insert, whose rows the server
   * links into their chains as it writes them (autoglm_audit_link, migration 0029). It locks the
   * heads of the chains this transaction appends to in lock order (tenant, shard), so two
   * transactions never wait for each other's heads in a cycle, and moves them on. The statement
   * is marked batchable: it travels in the transaction's batch of writes at COMMIT, so a head is
   * held from that one statement to the COMMIT that follows it; and only writers whose resources
   * fall in the same shard of the same tenant wait for it. Elsewhere (tools and tests on SQLite)
   * the rows are linked here against the heads as read.
   */
  async appendMany(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    if (this.engine === 'postgres') {
      await insertLinked(this.db, entries, this.shards);
      return;
    }
    const chains = chainsOf(entries, this.shards);
    const heads = new Map<string, ChainPosition>();
    for (const c of chains) {
      const h = await this.chainHead(c);
      if (h !== undefined) heads.set(chainKey(c), { seq: h.seq, hash: h.hash });
    }
    const rows = linkAuditRows(entries, heads, this.shards);
    await this.db.insertInto('auditLog').values(rows).execute();
    const at = entries.reduce((m, e) => Math.max(m, e.at), 0);
    for (const c of chains) {
      const h = heads.get(chainKey(c)) ?? { seq: 0, hash: GENESIS_HASH };
      await this.db
        .insertInto('auditChainHeads')
        .values({ tenantId: c.tenantId, shard: c.shard, seq: h.seq, hash: h.hash, updatedAt: at })
        .onConflict((oc) => oc.columns(['tenantId', 'shard']).doUpdateSet({ seq: h.seq, hash: h.hash, updatedAt: at }))
        .execute();
    }
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
