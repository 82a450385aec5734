import { describe, expect, it } from 'vitest';
import { auditShard, chainKey, GENESIS_HASH } from '../../../domain/audit-chain.js';
import type { AuditEntry } from '../../../ports/records.js';
import { auditRowHash, type ChainPosition, chainsOf, linkAuditRows } from './audit-log.js';

const entry = (tenantId: string, resourceId: string, action = 'order.created'): AuditEntry => ({
  tenantId,
  at: 1_700_000_000_000,
  actor: 'user:alice',
  action,
  resourceType: 'order',
  resourceId,
  before: null,
  after: { n: 1 },
  requestId: null,
});

describe('linking audit rows into sharded chains', () => {
  // With 4 shards: ord_a and ord_b in different chains (checked below), ord_a twice in one.
  const shards = 4;
  const entries = [
    entry('t1', 'ord_a'),
    entry('t1', 'ord_b'),
    entry('t1', 'ord_a', 'order.paid'),
    entry('t0', 'ord_a'),
  ];
  const sa = auditShard('order', 'ord_a', shards);
  const sb = auditShard('order', 'ord_b', shards);

  it('counts the chains a transaction appends to, in lock order', () => {
    expect(sa).not.toBe(sb);
    const chains = chainsOf(entries, shards);
    expect(chains).toEqual(
      [
        { tenantId: 't0', shard: sa, n: 1 },
        { tenantId: 't1', shard: sa, n: 2 },
        { tenantId: 't1', shard: sb, n: 1 },
      ].sort((x, y) => (x.tenantId !== y.tenantId ? (x.tenantId < y.tenantId ? -1 : 1) : x.shard - y.shard)),
    );
  });

  it('links each row to the one before it in its own chain and moves the heads on', () => {
    const heads = new Map<string, ChainPosition>([
      [chainKey({ tenantId: 't1', shard: sa }), { seq: 7, hash: 'a'.repeat(64) }],
    ]);
    const rows = linkAuditRows(entries, heads, shards);
    expect(rows.map((r) => [r.tenantId, r.shard, r.seq])).toEqual([
      ['t1', sa, 8],
      ['t1', sb, 1],
      ['t1', sa, 9],
      ['t0', sa, 1],
    ]);
    expect(rows[0]?.prevHash).toBe('a'.repeat(64));
    expect(rows[1]?.prevHash).toBe(GENESIS_HASH);
    expect(rows[2]?.prevHash).toBe(rows[0]?.hash);
    expect(rows[3]?.prevHash).toBe(GENESIS_HASH);
    for (const r of rows) {
      expect(r.shards).toBe(shards);
      expect(r.hash).toBe(
        auditRowHash({ ...r, shards: r.shards ?? 0, shard: r.shard ?? 0, seq: Number(r.seq) } as never),
      );
    }
    expect(heads.get(chainKey({ tenantId: 't1', shard: sa }))).toEqual({ seq: 9, hash: rows[2]?.hash });
    expect(heads.get(chainKey({ tenantId: 't0', shard: sa }))).toEqual({ seq: 1, hash: rows[3]?.hash });
  });
});
