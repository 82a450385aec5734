import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import {
  auditChainContent,
  auditShard,
  chainKey,
  DEFAULT_AUDIT_SHARDS,
  GENESIS_HASH,
} from '../../../domain/audit-chain.js';
import { onPostgres } from './on-postgres.js';

/**
 * Migration 0015_audit_chain: the audit log becomes hash chains, several per tenant (shards).
 * - `audit_log` gains `shards` (how many chains its tenant had when the row was written),
 *   `shard` (its chain: auditShard(resource_type, resource_id, shards)), `seq` (its place in that
 *   chain, UNIQUE per (tenant, shard)), `prev_hash` and `hash` (SHA-256 of the row's canonical
 *   content, which includes prev_hash).
 * - `audit_chain_heads`: each chain's last (seq, hash), the row a writer locks to link on.
 * - Every existing row is chained here over DEFAULT_AUDIT_SHARDS chains, per chain in id order
 *   (the order it was written in), so a database upgraded in place verifies from its first row.
 *   On PostgreSQL the log is locked against writers for the backfill and the new columns are then
 *   NOT NULL, so an instance still on the old code fails its write loudly instead of adding an
 *   unchained row.
 * Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const pg = onPostgres(db);
  await db.schema.alterTable('audit_log').addColumn('shards', 'integer').execute();
  await db.schema.alterTable('audit_log').addColumn('shard', 'integer').execute();
  await db.schema.alterTable('audit_log').addColumn('seq', 'bigint').execute();
  await db.schema.alterTable('audit_log').addColumn('prev_hash', 'text').execute();
  await db.schema.alterTable('audit_log').addColumn('hash', 'text').execute();
  await db.schema
    .createTable('audit_chain_heads')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('shard', 'integer', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('audit_chain_heads_pk', ['tenant_id', 'shard'])
    .execute();
  // PostgreSQL runs a migration inside one transaction already; SQLite's migrator does not, and
  // one transaction makes the backfill one fsync instead of one per page.
  if (pg) await chainExistingRows(db, true);
  else await db.transaction().execute((trx) => chainExistingRows(trx, false));
  await db.schema
    .createIndex('audit_chain_seq')
    .on('audit_log')
    .columns(['tenant_id', 'shard', 'seq'])
    .unique()
    .execute();
  if (pg) {
    for (const c of ['shards', 'shard', 'seq', 'prev_hash', 'hash'])
      await db.schema
        .alterTable('audit_log')
        .alterColumn(c, (ac) => ac.setNotNull())
        .execute();
  }
}

interface OldRow {
  id: number | string;
  tenant_id: string;
  at: number | string;
  actor: string;
  action: string;
  resource_type: string;
  resource_id: string;
  before_json: string | null;
  after_json: string | null;
  request_id: string | null;
}

const PAGE = 500;

async function chainExistingRows(db: Kysely<unknown>, pg: boolean): Promise<void> {
  if (pg) await sql`lock table audit_log in exclusive mode`.execute(db);
  const shards = DEFAULT_AUDIT_SHARDS;
  const heads = new Map<string, { tenantId: string; shard: number; seq: number; hash: string; at: number }>();
  for (let after = 0; ;) {
    const rows = (
      await sql<OldRow>`select id, tenant_id, at, actor, action, resource_type, resource_id, before_json,
        after_json, request_id from audit_log where id > ${after} order by id limit ${PAGE}`.execute(db)
    ).rows;
    if (rows.length === 0) break;
    const links = rows.map((r) => {
      const shard = auditShard(r.resource_type, r.resource_id, shards);
      const key = chainKey({ tenantId: r.tenant_id, shard });
      const head = heads.get(key) ?? { tenantId: r.tenant_id, shard, seq: 0, hash: GENESIS_HASH, at: 0 };
      const fields = {
        tenantId: r.tenant_id,
        shards,
        shard,
        seq: head.seq + 1,
        prevHash: head.hash,
        at: Number(r.at),
        actor: r.actor,
        action: r.action,
        resourceType: r.resource_type,
        resourceId: r.resource_id,
        beforeJson: r.before_json,
        afterJson: r.after_json,
        requestId: r.request_id,
      };
      const hash = createHash('sha256').update(auditChainContent(fields)).digest('hex');
      heads.set(key, { ...head, seq: fields.seq, hash, at: Math.max(head.at, fields.at) });
      return sql`(${Number(r.id)}, ${shard}, ${fields.seq}, ${fields.prevHash}, ${hash})`;
    });
    await sql`with v (id, shard, seq, prev_hash, hash) as (values ${sql.join(links)})
      update audit_log set shards = ${shards}, shard = cast(v.shard as integer), seq = cast(v.seq as bigint),
      prev_hash = v.prev_hash, hash = v.hash
      from v where audit_log.id = cast(v.id as bigint)`.execute(db);
    after = Number(rows[rows.length - 1]?.id);
  }
  for (const h of heads.values())
    await sql`insert into audit_chain_heads (tenant_id, shard, seq, hash, updated_at)
      values (${h.tenantId}, ${h.shard}, ${h.seq}, ${h.hash}, ${h.at})`.execute(db);
}
