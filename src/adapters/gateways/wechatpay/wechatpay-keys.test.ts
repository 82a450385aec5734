import { execFileSync } from 'node:child_process';
import { createPublicKey, createSign, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPrivateKey, loadPublicKey, wechatpayGatewayFromSettings } from './wechatpay-keys.js';

const dir = mkdtempSync(join(tmpdir(), 'autoglm-wxkeys-'));
const pair = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
writeFileSync(join(dir, 'apiclient_key.pem'), pair.privateKey);
writeFileSync(join(dir, 'pub_key.pem'), pair.publicKey);

const signed = (pemKey: string): string => createSign('RSA-SHA256').update('x').sign(pemKey, 'base64');

describe('WeChat Pay keys from configuration', () => {
  it('loads PEM text or a file path, PKCS#1 or PKCS#8, and a public key that matches', () => {
    const fromText = loadPrivateKey(pair.privateKey);
    const fromFile = loadPrivateKey(join(dir, 'apiclient_key.pem'));
    expect(fromFile.export({ type: 'pkcs8', format: 'pem' })).toBe(fromText.export({ type: 'pkcs8', format: 'pem' }));
    const pub = loadPublicKey(join(dir, 'pub_key.pem'));
    expect(pub.asymmetricKeyType).toBe('rsa');
    expect(signed(pair.privateKey)).toBe(createSign('RSA-SHA256').update('x').sign(fromFile, 'base64'));
  });

  it('takes the public key out of a platform certificate', () => {
    const key = join(dir, 'cert_key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-subj',
        '/CN=Tenpay.com Root CA',
        '-days',
        '1',
      ],
      { stdio: 'ignore' },
    );
    const fromCert = loadPublicKey(readFileSync(cert, 'utf8'));
    // The certificate's key is the public half of the key it was made with.
    const expected = loadPrivateKey(key);
    expect(fromCert.export({ type: 'spki', format: 'pem' })).toBe(
      createPublicKey(expected).export({ type: 'spki', format: 'pem' }),
    );
  });

  it('explains a missing file or a wrong key without quoting key material', () => {
    expect(() => loadPrivateKey(join(dir, 'nope.pem'))).toThrow(
      /cannot read the merchant private key file .*nope\.pem: ENOENT/,
    );
    expect(() => loadPrivateKey('-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----')).toThrow(
      /^wechatpay: the merchant private key is not a PEM private key$/,
    );
    expect(() => loadPublicKey(pair.privateKey.replace('PRIVATE', 'GARBLED'))).toThrow(
      /^wechatpay: the platform public key is neither/,
    );
  });

  it('builds the connector from an entry, refusing an API v3 key of the wrong length', () => {
    const s = {
      mchid: '1900000109',
      appid: 'wxd678efh567hg6787',
      serial_no: 'ABCDEF',
      private_key: join(dir, 'apiclient_key.pem'),
      apiv3_key: '0123456789abcdef0123456789abcdef',
      platform_public_key: join(dir, 'pub_key.pem'),
      platform_serial: 'PUB_KEY_ID_1',
      base_url: 'https://api.mch.weixin.qq.com',
      timeout_ms: 3000,
      notify_url: 'https://shop.example/cb',
    };
    const gw = wechatpayGatewayFromSettings('wx', s);
    expect(gw.name).toBe('wx');
    expect(gw.methods).toEqual(['wechat_native']);
    expect(() => wechatpayGatewayFromSettings('wx', { ...s, apiv3_key: 'short' })).toThrow(/32 bytes/);
  });
});
