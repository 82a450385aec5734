import { describe, expect, it } from 'vitest';
import { CipherError } from '../../ports/field-cipher.js';
import { EnvelopeCipher, isSealed, keyIdOf } from './envelope-cipher.js';

const MASTER = Buffer.alloc(32, 1);
const PHONE = '13800138000';
const COLUMN = 'recharges.phone';

/** A cipher sealing with a fresh data key; returns the cipher and that key as stored. */
function withKey(master = MASTER): { cipher: EnvelopeCipher; key: { id: string; wrapped: string } } {
  const cipher = new EnvelopeCipher(master);
  const key = cipher.createKey();
  cipher.addKey(key.id, key.wrapped);
  cipher.useKey(key.id);
  return { cipher, key };
}

/** `stored` with one character of its payload changed. */
function flip(stored: string, at: number): string {
  const i = stored.length - at;
  const c = stored[i] === 'A' ? 'B' : 'A';
  return stored.slice(0, i) + c + stored.slice(i + 1);
}

const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof CipherError) return e.code;
    throw e;
  }
  return 'opened';
};

describe('EnvelopeCipher', () => {
  it('seals a value as v1:<key id>:…, never the same twice, and opens it back', () => {
    const { cipher, key } = withKey();
    const a = cipher.seal(PHONE, COLUMN);
    const b = cipher.seal(PHONE, COLUMN);
    expect(a).toMatch(new RegExp(`^v1:${key.id}:[A-Za-z0-9_-]+$`));
    expect(a).not.toBe(b);
    expect(a).not.toContain(PHONE);
    expect(keyIdOf(a)).toBe(key.id);
    expect(cipher.open(a, COLUMN)).toBe(PHONE);
    expect(cipher.open(b, COLUMN)).toBe(PHONE);
    expect(cipher.isCurrent(a)).toBe(true);
    expect(cipher.open(cipher.seal('', COLUMN), COLUMN)).toBe('');
    const words = '给13800138000充值100 ☕';
    expect(cipher.open(cipher.seal(words, 'agent_sessions.context_json'), 'agent_sessions.context_json')).toBe(words);
  });

  it('refuses a tampered value: any changed byte of the IV, the ciphertext or the tag', () => {
    const { cipher } = withKey();
    const sealed = cipher.seal(PHONE, COLUMN);
    const payloadLength = sealed.length - sealed.lastIndexOf(':') - 1;
    for (let at = 1; at <= payloadLength; at += 3)
      expect(refusal(() => cipher.open(flip(sealed, at), COLUMN))).toBe('CIPHER_TAMPERED');
    expect(refusal(() => cipher.open(sealed.slice(0, -4), COLUMN))).toBe('CIPHER_TAMPERED');
    expect(refusal(() => cipher.open(`${sealed.slice(0, sealed.lastIndexOf(':') + 1)}AAAA`, COLUMN))).toBe(
      'CIPHER_TAMPERED',
    );
  });

  it('refuses a value moved to another column (the column is authenticated)', () => {
    const { cipher } = withKey();
    const sealed = cipher.seal(PHONE, 'recharges.phone');
    expect(refusal(() => cipher.open(sealed, 'recharge_batch_rows.phone'))).toBe('CIPHER_TAMPERED');
  });

  it('routes each value to the key it names: old values open after a new key is chosen', () => {
    const { cipher, key: first } = withKey();
    const old = cipher.seal(PHONE, COLUMN);
    const second = cipher.createKey();
    expect(second.id).not.toBe(first.id);
    cipher.addKey(second.id, second.wrapped);
    cipher.useKey(second.id);
    const fresh = cipher.seal('13900139000', COLUMN);
    expect(keyIdOf(fresh)).toBe(second.id);
    expect(cipher.isCurrent(old)).toBe(false);
    expect(cipher.isCurrent(fresh)).toBe(true);
    expect(cipher.open(old, COLUMN)).toBe(PHONE);
    expect(cipher.open(fresh, COLUMN)).toBe('13900139000');
    // The same key id with another key's bytes does not open: a key is its id and its bytes.
    const forged = `v1:${first.id}:${fresh.slice(fresh.lastIndexOf(':') + 1)}`;
    expect(refusal(() => cipher.open(forged, COLUMN))).toBe('CIPHER_TAMPERED');
  });

  it('names the keys it lacks, loads them from their wrapped form, and refuses to guess', () => {
    const { cipher: writer, key } = withKey();
    const sealed = writer.seal(PHONE, COLUMN);
    const reader = new EnvelopeCipher(MASTER);
    expect(reader.missingKeys([sealed, null, PHONE, sealed])).toEqual([key.id]);
    expect(refusal(() => reader.open(sealed, COLUMN))).toBe('CIPHER_UNKNOWN_KEY');
    reader.addKey(key.id, key.wrapped);
    expect(reader.missingKeys([sealed])).toEqual([]);
    expect(reader.open(sealed, COLUMN)).toBe(PHONE);
    expect(refusal(() => reader.seal(PHONE, COLUMN))).toBe('CIPHER_UNKNOWN_KEY');
  });

  it('reads unversioned values as the plaintext written before encryption', () => {
    const { cipher } = withKey();
    expect(isSealed(PHONE)).toBe(false);
    expect(cipher.open(PHONE, COLUMN)).toBe(PHONE);
    expect(cipher.open('{"pending":null,"turns":[]}', 'agent_sessions.context_json')).toBe(
      '{"pending":null,"turns":[]}',
    );
    expect(cipher.isCurrent(PHONE)).toBe(false);
    expect(cipher.missingKeys([PHONE])).toEqual([]);
  });

  it('refuses a data key wrapped under another master key, or moved to another id', () => {
    const { key } = withKey(Buffer.alloc(32, 2));
    expect(refusal(() => new EnvelopeCipher(MASTER).addKey(key.id, key.wrapped))).toBe('CIPHER_WRONG_MASTER_KEY');
    const other = new EnvelopeCipher(Buffer.alloc(32, 2));
    expect(refusal(() => other.addKey('0badc0de', key.wrapped))).toBe('CIPHER_WRONG_MASTER_KEY');
    expect(() => new EnvelopeCipher(Buffer.alloc(16))).toThrow(/32 bytes/);
  });

  it('blind indexes: equal for equal values and purposes, keyed by the master key, short', () => {
    const a = new EnvelopeCipher(MASTER);
    const b = new EnvelopeCipher(MASTER);
    const c = new EnvelopeCipher(Buffer.alloc(32, 2));
    expect(a.blindIndex(PHONE, 'phone')).toBe(b.blindIndex(PHONE, 'phone'));
    expect(a.blindIndex(PHONE, 'phone')).not.toBe(a.blindIndex('13800138001', 'phone'));
    expect(a.blindIndex(PHONE, 'phone')).not.toBe(a.blindIndex(PHONE, 'agent_sessions.context'));
    expect(a.blindIndex(PHONE, 'phone')).not.toBe(c.blindIndex(PHONE, 'phone'));
    expect(a.blindIndex(PHONE, 'phone')).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('errors name keys and columns, never plaintext or key material', () => {
    const { cipher, key } = withKey();
    const sealed = cipher.seal(PHONE, COLUMN);
    try {
      cipher.open(flip(sealed, 2), 'recharges.phone');
      expect.unreachable();
    } catch (e) {
      const message = (e as Error).message;
      expect(message).toContain(key.id);
      expect(message).not.toContain(PHONE);
      expect(message).not.toContain(key.wrapped.slice(3, 20));
    }
  });
});
