import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redactForLog } from '../adapters/logging/redact.js';
import { loadConfig } from './load-config.js';

const dir = mkdtempSync(join(tmpdir(), 'autoglm-wechatpay-'));
const pem = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const APIV3 = 'Sup3rS3cretApiV3Key0123456789abc';

const entry = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'wechatpay',
  mchid: '1900000109',
  appid: 'wxd678efh567hg6787',
  serial_no: '3775B6A45ACD588826D15E583A95F5DD00000000',
  private_key: pem.privateKey,
  apiv3_key: APIV3,
  platform_public_key: join(dir, 'pub_key.pem'),
  platform_serial: 'PUB_KEY_ID_0114232134912410000000000000',
  notify_url: 'https://shop.example/api/v1/callbacks/wechatpay',
  ...over,
});

function load(g: Record<string, unknown>): ReturnType<typeof loadConfig> {
  const p = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(p, JSON.stringify({ payment_gateway: 'wx', gateways: { wx: g } }));
  return loadConfig({ file: p, env: {} });
}

describe('configuration: gateways of type wechatpay', () => {
  it('accepts a complete entry and fills base_url and timeout_ms', () => {
    const r = load(entry());
    expect(r.ok ? '' : r.error.issues.join('\n')).toBe('');
    if (!r.ok) return;
    expect(r.value.gateways.wx).toMatchObject({
      type: 'wechatpay',
      base_url: 'https://api.mch.weixin.qq.com',
      timeout_ms: 10_000,
    });
  });

  it.each([
    ['an API v3 key that is not 32 bytes', { apiv3_key: 'short-but-secret-value' }, /apiv3_key.*32 bytes/],
    ['an unknown key (strict)', { api_key_v2: 'x' }, /api_key_v2/],
    ['a missing notify_url', { notify_url: undefined }, /notify_url/],
    ['a base URL that is not http(s)', { base_url: 'ftp://api.mch.weixin.qq.com' }, /base_url/],
    ['an empty private key', { private_key: '  ' }, /private_key/],
  ])('refuses %s, naming the path', (_what, over, expected) => {
    const r = load(entry(over));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.error.issues.join('\n');
    expect(text).toMatch(expected);
    // A refusal never repeats a secret.
    expect(text).not.toContain('short-but-secret-value');
    expect(text).not.toContain('PRIVATE KEY');
  });

  it('never logs the private key or the API v3 key', () => {
    const r = load(entry());
    if (!r.ok) throw new Error(r.error.message);
    const logged = JSON.stringify(redactForLog(r.value.gateways));
    expect(logged).not.toContain(APIV3);
    expect(logged).not.toContain('PRIVATE KEY');
    expect(logged).toContain('1900000109');
  });
});
