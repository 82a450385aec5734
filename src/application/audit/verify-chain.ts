import { createHash } from 'node:crypto';
import { type AuditChainKey, auditChainContent, auditShard, chainKey, GENESIS_HASH } from '../../domain/audit-chain.js';
import type { AuditCheckpoint } from '../../ports/audit-checkpoints.js';
import type { ChainedAuditRow } from '../../ports/records.js';
import type { ReadRepositories } from '../../ports/repositories.js';

/** What was done to the chain, as far as the first broken row shows. */
export type ChainProblemKind = 'edited' | 'deleted' | 'inserted' | 'reordered' | 'rewritten';

/** The first thing wrong with a chain: which row, and what it looks like was done to it. */
export interface ChainProblem {
  readonly kind: ChainProblemKind;
  readonly tenantId: string;
  /** The chain (null: a row outside every chain). */
  readonly shard: number | null;
  /** The row named (its database id), when there is one (a deleted row has none). */
  readonly id: number | null;
  /** Its place in the chain (for a deletion: the first missing place). */
  readonly seq: number;
  readonly message: string;
}

/** One chain as walked: how many rows held, its head, and the first problem. */
export interface ChainWalk {
  readonly shard: number;
  readonly rows: number;
  readonly head: { readonly seq: number; readonly hash: string };
  readonly problem?: ChainProblem;
}

/** One tenant's chains as walked: rows and chains that held, and the first problem. */
export interface TenantChainReport {
  readonly tenantId: string;
  readonly rows: number;
  readonly chains: readonly ChainWalk[];
  readonly problem?: ChainProblem;
}

/** The result of a walk: ok when every chain (and every checkpoint given) holds. */
export interface ChainReport {
  readonly ok: boolean;
  readonly tenants: readonly TenantChainReport[];
  /** The (tenant, seq, hash) pairs of the checkpoints that were checked against the chain. */
  readonly checkpointsChecked: number;
  /** The first problem found (tenants in byte order), if any. */
  readonly problem?: ChainProblem;
}

const PAGE = 1000;

const hashOf = (r: ChainedAuditRow): string => createHash('sha256').update(auditChainContent(r)).digest('hex');

const at = (r: ChainedAuditRow): string =>
  `row id ${r.id} (seq ${r.seq}, ${r.action} on ${r.resourceType}:${r.resourceId})`;

/**
 * Walk one chain (tenant, shard) from seq 1: each row must be the next seq, link to the hash of
 * the row before it, hash to its own stored hash and sit in the chain its resource maps to (by
 * the shard count it carries); the last must be the chain's head. Stops at the first broken row
 * and says what was done, as far as the rows show: an edited row no longer hashes to its hash
 * (or, re-hashed, is no longer what the next row links to); a gap in seq is a deletion; a row
 * linked past its predecessor's predecessor was inserted; a row whose link points elsewhere in
 * the chain was moved.
 */
export async function verifyChain(audit: ReadRepositories['audit'], chain: AuditChainKey): Promise<ChainWalk> {
  const { tenantId, shard } = chain;
  let expected = 1;
  let prev = GENESIS_HASH;
  let beforePrev: string | undefined;
  let prevRow: ChainedAuditRow | undefined;
  let rows = 0;
  const report = (problem: Omit<ChainProblem, 'tenantId' | 'shard'>): ChainWalk => ({
    shard,
    rows,
    head: { seq: expected - 1, hash: prev },
    problem: { ...problem, tenantId, shard },
  });
  // The walk may run beside writers: rows committed before it began must all be there (the head
  // read first), rows committed during it may or may not be seen (the head read last bounds them).
  const headBefore = await audit.chainHead(chain);
  for (let after = 0; ;) {
    const page = await audit.chainPage(chain, after, PAGE);
    for (const row of page) {
      if (row.seq > expected) {
        return report({
          kind: 'deleted',
          id: null,
          seq: expected,
          message:
            `seq ${expected}${row.seq - 1 > expected ? `–${row.seq - 1}` : ''} missing before ${at(row)}: ` +
            `${row.seq - expected === 1 ? 'a row was' : 'rows were'} deleted`,
        });
      }
      if (row.seq < expected) {
        return report({ kind: 'inserted', id: row.id, seq: row.seq, message: `${at(row)} repeats a seq: inserted` });
      }
      const intact = hashOf(row) === row.hash;
      if (row.prevHash !== prev) {
        if (prevRow !== undefined && row.prevHash === beforePrev) {
          return report({
            kind: 'inserted',
            id: prevRow.id,
            seq: prevRow.seq,
            message: `${at(prevRow)} was inserted: the row after it links to the row before it`,
          });
        }
        const elsewhere = (await audit.withHash(chain, row.prevHash)).find((r) => r.seq !== expected - 1);
        if (elsewhere !== undefined) {
          return report({
            kind: 'reordered',
            id: row.id,
            seq: row.seq,
            message: `${at(row)} was moved: it was written after seq ${elsewhere.seq} (row id ${elsewhere.id})`,
          });
        }
        if (!intact && hashOf({ ...row, seq: row.seq + 1 }) === row.hash) {
          return report({
            kind: 'deleted',
            id: null,
            seq: row.seq,
            message: `seq ${row.seq} was deleted and the rows after it renumbered (${at(row)} was seq ${row.seq + 1})`,
          });
        }
        if (prevRow !== undefined && intact) {
          return report({
            kind: 'edited',
            id: prevRow.id,
            seq: prevRow.seq,
            message: `${at(prevRow)} was edited and re-hashed: the next row links to what it was`,
          });
        }
        return report({
          kind: 'edited',
          id: row.id,
          seq: row.seq,
          message: `${at(row)} was edited: its link is wrong`,
        });
      }
      if (!intact) {
        return report({
          kind: 'edited',
          id: row.id,
          seq: row.seq,
          message: `${at(row)} was edited: its content no longer hashes to its hash`,
        });
      }
      if (!inItsShard(row)) {
        return report({
          kind: 'inserted',
          id: row.id,
          seq: row.seq,
          message: `${at(row)} does not belong in shard ${shard} (its resource maps elsewhere): inserted`,
        });
      }
      beforePrev = prev;
      prev = row.hash;
      prevRow = row;
      expected += 1;
      rows += 1;
    }
    if (page.length < PAGE) break;
    after = expected - 1;
  }
  const head = await audit.chainHead(chain);
  const last = expected - 1;
  if (headBefore !== undefined && headBefore.seq > last) {
    return report({
      kind: 'deleted',
      id: null,
      seq: last + 1,
      message: `the chain ends at seq ${last} but its head was seq ${headBefore.seq}: the last rows were deleted`,
    });
  }
  if (head !== undefined && head.seq < last) {
    const extra = await audit.atSeq(chain, head.seq + 1);
    return report({
      kind: 'inserted',
      id: extra?.id ?? null,
      seq: head.seq + 1,
      message:
        `${extra === undefined ? `seq ${head.seq + 1}` : at(extra)} ` +
        `lies past the chain's head (seq ${head.seq}): inserted`,
    });
  }
  if (head !== undefined && head.seq === last && head.hash !== prev && prevRow !== undefined) {
    return report({
      kind: 'edited',
      id: prevRow.id,
      seq: prevRow.seq,
      message: `${at(prevRow)} was edited and re-hashed: the chain's head holds what it was`,
    });
  }
  return { shard, rows, head: { seq: last, hash: prev } };
}

const inItsShard = (r: ChainedAuditRow): boolean => {
  try {
    return auditShard(r.resourceType, r.resourceId, r.shards) === r.shard;
  } catch {
    return false; // a shard count no writer could have used
  }
};

/**
 * Walk every chain of one tenant (shard by shard), then look for rows outside every chain. The
 * first problem found is the tenant's.
 */
export async function verifyTenantChains(
  audit: ReadRepositories['audit'],
  tenantId: string,
): Promise<TenantChainReport> {
  const walks: ChainWalk[] = [];
  let rows = 0;
  for (const chain of await audit.chains(tenantId)) {
    const walk = await verifyChain(audit, chain);
    walks.push(walk);
    rows += walk.rows;
    if (walk.problem !== undefined) return { tenantId, rows, chains: walks, problem: walk.problem };
  }
  const [stray] = await audit.unchained(tenantId, 1);
  if (stray !== undefined) {
    const problem: ChainProblem = {
      kind: 'inserted',
      tenantId,
      shard: null,
      id: stray.id,
      seq: 0,
      message: `row id ${stray.id} has no place in any chain: inserted`,
    };
    return { tenantId, rows, chains: walks, problem };
  }
  return { tenantId, rows, chains: walks };
}

/**
 * Each checkpointed (tenant, seq, hash) must still be in the chain as it was: a chain rewritten
 * from its first row on (every hash recomputed) passes the walk, but not this.
 */
export async function checkCheckpoints(
  audit: ReadRepositories['audit'],
  checkpoints: readonly AuditCheckpoint[],
  tenantId: string | undefined,
): Promise<{ readonly checked: number; readonly problem?: ChainProblem }> {
  const seen = new Set<string>();
  let checked = 0;
  for (const cp of checkpoints) {
    for (const h of cp.heads) {
      if (h.seq === 0 || (tenantId !== undefined && h.tenantId !== tenantId)) continue;
      const key = `${chainKey(h)}\u0000${h.seq}\u0000${h.hash}`;
      if (seen.has(key)) continue;
      seen.add(key);
      checked += 1;
      const row = await audit.atSeq(h, h.seq);
      if (row?.hash !== h.hash) {
        return {
          checked,
          problem: {
            kind: 'rewritten',
            tenantId: h.tenantId,
            shard: h.shard,
            id: row?.id ?? null,
            seq: h.seq,
            message:
              `the checkpoint of ${new Date(cp.at).toISOString()} ` +
              `pinned seq ${h.seq} to hash ${h.hash.slice(0, 16)}…, ` +
              (row === undefined
                ? 'and the chain no longer has that row'
                : `but row id ${row.id} now hashes to ${row.hash.slice(0, 16)}…`) +
              ': the chain was rewritten',
          },
        };
      }
    }
  }
  return { checked };
}
