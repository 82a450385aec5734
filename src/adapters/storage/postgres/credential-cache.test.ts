import { describe, expect, it } from 'vitest';
import { CredentialCache, type KeyWithPrincipal } from './credential-cache.js';

const found = (id: string, revokedAt: number | null = null): KeyWithPrincipal => ({
  key: {
    id,
    tenantId: 't',
    principalId: 'p',
    secretHash: 'h',
    createdBy: 'admin',
    createdAt: 1,
    expiresAt: null,
    revokedAt,
  },
  principal: {
    tenantId: 't',
    id: 'p',
    kind: 'person',
    role: 'user',
    actsFor: null,
    displayName: null,
    passwordHash: 'argon2id-hash',
    createdAt: 1,
    disabledAt: null,
  },
});

function listeningCache(maxAgeMs = 60_000, maxEntries = 100): { cache: CredentialCache; clock: { t: number } } {
  const clock = { t: 1_000 };
  const cache = new CredentialCache(maxAgeMs, () => clock.t, maxEntries);
  cache.listening(true);
  return { cache, clock };
}

describe('CredentialCache', () => {
  it('keeps what a read found while it hears of changes, without the password hash', () => {
    const { cache } = listeningCache();
    cache.put('k1', found('k1'), cache.mark());
    expect(cache.get('k1')?.key.id).toBe('k1');
    expect(cache.get('k1')?.principal?.passwordHash).toBeNull();
    expect(cache.get('k2')).toBeUndefined();
  });

  it('keeps nothing before it listens, and forgets everything when it stops', () => {
    const cache = new CredentialCache(60_000);
    cache.put('k1', found('k1'), cache.mark());
    expect(cache.get('k1')).toBeUndefined();
    cache.listening(true);
    cache.put('k1', found('k1'), cache.mark());
    expect(cache.size).toBe(1);
    cache.listening(false);
    expect(cache.get('k1')).toBeUndefined();
    // A read begun while listening, answered after the connection was lost: not kept.
    cache.listening(true);
    const mark = cache.mark();
    cache.listening(false);
    cache.put('k1', found('k1'), mark);
    expect(cache.size).toBe(0);
  });

  it('does not keep the answer of a read begun before a change was heard of', () => {
    const { cache } = listeningCache();
    const before = cache.mark();
    cache.invalidate(); // the key was revoked while the read was on its way: it may have the old row
    cache.put('k1', found('k1'), before);
    expect(cache.get('k1')).toBeUndefined();
    cache.put('k1', found('k1', 5), cache.mark());
    expect(cache.get('k1')?.key.revokedAt).toBe(5);
  });

  it('forgets every key at a change', () => {
    const { cache } = listeningCache();
    cache.put('k1', found('k1'), cache.mark());
    cache.put('k2', found('k2'), cache.mark());
    cache.invalidate();
    expect([cache.get('k1'), cache.get('k2'), cache.size]).toEqual([undefined, undefined, 0]);
  });

  it('answers for a key at most maxAgeMs, whatever it hears', () => {
    const { cache, clock } = listeningCache(60_000);
    cache.put('k1', found('k1'), cache.mark());
    clock.t += 59_999;
    expect(cache.get('k1')).toBeDefined();
    clock.t += 1;
    expect(cache.get('k1')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('holds at most maxEntries keys, the oldest stored going first', () => {
    const { cache } = listeningCache(60_000, 3);
    for (const id of ['a', 'b', 'c', 'd']) cache.put(id, found(id), cache.mark());
    expect(cache.size).toBe(3);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('d')).toBeDefined();
  });
});
