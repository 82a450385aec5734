import { describe, expect, it } from 'vitest';
import {
  auditChainContent,
  auditChainContentCanonical,
  auditShard,
  chainKey,
  compareChains,
  DEFAULT_AUDIT_SHARDS,
  GENESIS_HASH,
  MAX_AUDIT_SHARDS,
} from './audit-chain.js';

describe('auditShard', () => {
  it('is FNV-1a (32-bit) of TYPE:ID modulo the shard count, as a verifier elsewhere recomputes it', () => {
    // Vectors computed independently (Python: FNV-1a over the bytes of these ASCII keys).
    expect(auditShard('order', 'ord_1', 64)).toBe(0x5b1b9ae6 % 64);
    expect(auditShard('recharge', 'rc_42', 64)).toBe(32);
    expect(auditShard('api_key', 'key_7', 4096)).toBe(3132);
  });

  it('spreads resources evenly over the chains', () => {
    const counts = new Array<number>(DEFAULT_AUDIT_SHARDS).fill(0);
    for (let i = 0; i < 64_000; i++) {
      const s = auditShard('order', `ord_${i.toString(36)}`, DEFAULT_AUDIT_SHARDS);
      counts[s] = (counts[s] ?? 0) + 1;
    }
    // 1,000 expected per shard: none empty, none more than a quarter off.
    expect(Math.min(...counts)).toBeGreaterThan(750);
    expect(Math.max(...counts)).toBeLessThan(1250);
  });

  it('tells types apart, has one chain for one shard, and refuses a count no writer may use', () => {
    expect(auditShard('order', 'x1', 4096)).not.toBe(auditShard('refund', 'x1', 4096));
    expect(auditShard('order', 'anything', 1)).toBe(0);
    for (const bad of [0, -1, 1.5, MAX_AUDIT_SHARDS + 1, Number.NaN]) {
      expect(() => auditShard('order', 'o', bad)).toThrow(RangeError);
    }
  });
});

describe('chains', () => {
  it('are ordered by tenant (byte order) then shard: the one order heads are locked in', () => {
    const chains = [
      { tenantId: 'b', shard: 1 },
      { tenantId: 'a', shard: 10 },
      { tenantId: 'a', shard: 2 },
      { tenantId: 'B', shard: 0 },
    ];
    expect([...chains].sort(compareChains)).toEqual([
      { tenantId: 'B', shard: 0 },
      { tenantId: 'a', shard: 2 },
      { tenantId: 'a', shard: 10 },
      { tenantId: 'b', shard: 1 },
    ]);
    expect(chainKey({ tenantId: 'a', shard: 12 })).not.toBe(chainKey({ tenantId: 'a1', shard: 2 }));
  });
});

describe('auditChainContent', () => {
  const fields = {
    tenantId: 't1',
    shards: 64,
    shard: 38,
    seq: 1,
    prevHash: GENESIS_HASH,
    at: 1_700_000_000_000,
    actor: 'user:alice',
    action: 'order.created',
    resourceType: 'order',
    resourceId: 'ord_1',
    beforeJson: null,
    afterJson: '{"status":"PENDING"}',
    requestId: 'req_1',
  };

  it('is canonical JSON of the stored columns, keys sorted, JSON columns as their text', () => {
    expect(auditChainContent(fields)).toBe(
      '{"action":"order.created","actor":"user:alice","after_json":"{\\"status\\":\\"PENDING\\"}","at":1700000000000,' +
        '"before_json":null,"prev_hash":"' +
        GENESIS_HASH +
        '","request_id":"req_1","resource_id":"ord_1","resource_type":"order","seq":1,"shard":38,"shards":64,' +
        '"tenant_id":"t1","v":1}',
    );
  });

  it('is byte for byte the generic canonical JSON of the same fields', () => {
    const odd = { ...fields, actor: 'user:"quoted"\n\u2028', requestId: null, beforeJson: '{"a":"é"}', seq: 2 ** 40 };
    for (const f of [fields, odd]) expect(auditChainContent(f)).toBe(auditChainContentCanonical(f));
  });

  it('changes with every field a tamperer could touch, the chain position included', () => {
    const base = auditChainContent(fields);
    const changed = [
      { shard: 37 },
      { shards: 32 },
      { seq: 2 },
      { prevHash: 'f'.repeat(64) },
      { at: fields.at + 1 },
      { actor: 'admin:mallory' },
      { afterJson: '{"status":"PAID"}' },
      { requestId: null },
      { tenantId: 't2' },
    ];
    for (const c of changed) expect(auditChainContent({ ...fields, ...c }), JSON.stringify(c)).not.toBe(base);
  });
});
