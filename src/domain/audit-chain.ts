import { canonicalJson } from './canonical-json.js';

/** The `prev_hash` of a chain's first audit row: no row before it. */
export const GENESIS_HASH = '0'.repeat(64);

/** Version of the hashed content, part of it: a later change of the content is a new version. */
export const AUDIT_CHAIN_VERSION = 1;

/** How many chains each tenant's audit log is spread over, unless configured otherwise. */
export const DEFAULT_AUDIT_SHARDS = 64;

/**
 * The same on SQLite: one chain. Shards let concurrent writers append without waiting for one
 * head; SQLite has one writer, and 64 chains only made each commit write a leaf of the
 * (tenant, shard, seq) index per chain it touched (28 % of the WAL's pages an order, measured).
 */
export const SQLITE_AUDIT_SHARDS = 1;

/** The most chains a tenant may have (a verifier walks each; a checkpoint lists each head). */
export const MAX_AUDIT_SHARDS = 4096;

/**
 * The chain (0 … shards-1) a resource's audit rows go to: FNV-1a (32-bit) of `type:id`, modulo
 * `shards`. Every row of one resource lands in one chain, so its history is one ordered chain;
 * unrelated resources spread over the shards, so their writers rarely wait for the same head.
 * Written out here (not a library hash) because a verifier in any language must recompute it.
 */
export function auditShard(resourceType: string, resourceId: string, shards: number): number {
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_AUDIT_SHARDS) {
    throw new RangeError(`audit shards must be an integer from 1 to ${MAX_AUDIT_SHARDS}, not ${shards}`);
  }
  if (shards === 1) return 0;
  let h = 0x811c9dc5;
  const key = `${resourceType}:${resourceId}`;
  for (let i = 0; i < key.length; i++) {
    // FNV-1a over the UTF-16 code units (one step each; for ASCII ids, the bytes).
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shards;
}

/** Which chain a row belongs to: a tenant's shard. */
export interface AuditChainKey {
  readonly tenantId: string;
  readonly shard: number;
}

/** One string per chain, for maps (tenant ids never hold a NUL). */
export const chainKey = (c: AuditChainKey): string => `${c.tenantId}\u0000${c.shard}`;

/** Chains in the one order their heads are locked in: tenant (byte order), then shard. */
export function compareChains(a: AuditChainKey, b: AuditChainKey): number {
  if (a.tenantId !== b.tenantId) return a.tenantId < b.tenantId ? -1 : 1;
  return a.shard - b.shard;
}

/**
 * The stored columns of one audit row that its hash covers: everything but the database's own
 * row id (an attacker who renumbers ids changes no seq, and each chain is ordered by seq).
 */
export interface AuditChainFields {
  readonly tenantId: string;
  /** How many shards the tenant's log had when the row was written (kept: N may change later). */
  readonly shards: number;
  /** The row's chain within its tenant: auditShard(resourceType, resourceId, shards). */
  readonly shard: number;
  /** The row's place in its chain (tenant, shard): 1, 2, 3, … with no gaps. */
  readonly seq: number;
  /** The hash of the chain's row `seq - 1` (GENESIS_HASH for seq 1). */
  readonly prevHash: string;
  readonly at: number;
  readonly actor: string;
  readonly action: string;
  readonly resourceType: string;
  readonly resourceId: string;
  /** As stored (the JSON text), so a verifier hashes exactly the bytes the database holds. */
  readonly beforeJson: string | null;
  readonly afterJson: string | null;
  readonly requestId: string | null;
}

/**
 * What a row's SHA-256 is taken over: canonical JSON (sorted keys, no spaces) of its fields with
 * the database's column names, so anyone can recompute it from a plain `select *`. Written out in
 * that sorted order instead of through canonicalJson: the same bytes (a test holds them equal),
 * without sorting keys for every row on the write path (it was two thirds of a row's cost).
 */
export function auditChainContent(f: AuditChainFields): string {
  const [head, middle, tail] = auditChainContentParts(f);
  return head + JSON.stringify(f.prevHash) + middle + JSON.stringify(f.seq) + tail;
}

/** A row's chained fields but for its place in the chain: what is known before its head is read. */
export type AuditChainUnlinked = Omit<AuditChainFields, 'prevHash' | 'seq'>;

/**
 * The content around a row's two chain links, each as JSON: head + "prev_hash" + middle + seq +
 * tail is exactly auditChainContent. So the link can be made where the head is (PostgreSQL makes
 * it in the statement that locks the head, migration 0029) from strings made here, the one
 * definition; a hash is hex and seq an integer, so there they are written quoted and as digits.
 */
export function auditChainContentParts(f: AuditChainUnlinked): readonly [string, string, string] {
  const str = JSON.stringify;
  return [
    `{"action":${str(f.action)},"actor":${str(f.actor)},"after_json":${str(f.afterJson)},"at":${str(f.at)},` +
      `"before_json":${str(f.beforeJson)},"prev_hash":`,
    `,"request_id":${str(f.requestId)},"resource_id":${str(f.resourceId)},` +
      `"resource_type":${str(f.resourceType)},"seq":`,
    `,"shard":${str(f.shard)},"shards":${str(f.shards)},"tenant_id":${str(f.tenantId)},"v":${AUDIT_CHAIN_VERSION}}`,
  ];
}

/** The same content through the generic canonical JSON: the definition the fast path must match. */
export function auditChainContentCanonical(f: AuditChainFields): string {
  return canonicalJson({
    v: AUDIT_CHAIN_VERSION,
    tenant_id: f.tenantId,
    shards: f.shards,
    shard: f.shard,
    seq: f.seq,
    prev_hash: f.prevHash,
    at: f.at,
    actor: f.actor,
    action: f.action,
    resource_type: f.resourceType,
    resource_id: f.resourceId,
    before_json: f.beforeJson,
    after_json: f.afterJson,
    request_id: f.requestId,
  });
}
