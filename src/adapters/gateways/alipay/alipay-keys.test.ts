import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAlipayKey } from './alipay-keys.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const dir = mkdtempSync(join(tmpdir(), 'alipay-keys-'));
const bare = (pem: string): string => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');

describe('Alipay keys as operators hold them', () => {
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const pkcs1 = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const spki = publicKey.export({ type: 'spki', format: 'pem' }).toString();

  it.each([
    ['PKCS#8 PEM', pkcs8],
    ['PKCS#1 PEM', pkcs1],
    ['bare base64 PKCS#8 (what the Alipay key tool prints)', bare(pkcs8)],
    ['bare base64 PKCS#1', bare(pkcs1)],
  ])('reads a private key given as %s', (_label, text) => {
    expect(loadAlipayKey(text, 'private').equals(privateKey)).toBe(true);
  });

  it('reads public keys as PEM, bare base64 and from files', () => {
    expect(loadAlipayKey(spki, 'public').equals(publicKey)).toBe(true);
    expect(loadAlipayKey(bare(spki), 'public').equals(publicKey)).toBe(true);
    const pemFile = join(dir, 'alipay-public.pem');
    writeFileSync(pemFile, spki);
    expect(loadAlipayKey(pemFile, 'public').equals(publicKey)).toBe(true);
    const bareFile = join(dir, 'app-private.txt');
    writeFileSync(bareFile, `${bare(pkcs8)}\n`);
    expect(loadAlipayKey(bareFile, 'private').equals(privateKey)).toBe(true);
  });

  it('explains a bad key without printing it', () => {
    expect(() => loadAlipayKey(join(dir, 'missing.pem'), 'private')).toThrow(/neither a PEM.*ENOENT/);
    const garbage = 'A'.repeat(300);
    expect(() => loadAlipayKey(garbage, 'private')).toThrow(/not a valid RSA private key/);
    const message = ((): string => {
      try {
        loadAlipayKey(pkcs8.replace('MII', 'XXX'), 'private');
        return 'accepted';
      } catch (e) {
        return String(e);
      }
    })();
    expect(message).toMatch(/not a valid RSA private key/);
    expect(message).not.toContain('XXX');
    expect(() => loadAlipayKey(spki, 'private')).toThrow(/private key/);
  });
});
