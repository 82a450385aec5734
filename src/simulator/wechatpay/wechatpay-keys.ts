import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Everything both sides of a simulated WeChat Pay merchant account need. */
export interface WechatpayKeySet {
  readonly mchid: string;
  readonly appid: string;
  readonly merchantSerialNo: string;
  readonly merchantPrivateKey: KeyObject;
  readonly merchantPublicKey: KeyObject;
  readonly platformSerial: string;
  readonly platformPrivateKey: KeyObject;
  readonly platformPublicKey: KeyObject;
  /** The API v3 key: 32 ASCII characters, as the merchant platform issues it. */
  readonly apiV3Key: Buffer;
}

/**
 * Fresh keys for a simulated merchant account (generated at run time; no key is ever committed).
 * The platform serial takes the `PUB_KEY_ID_…` form of WeChat Pay public-key mode.
 */
export function generateWechatpayKeys(ids: { mchid?: string; appid?: string } = {}): WechatpayKeySet {
  const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const platform = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    mchid: ids.mchid ?? '1900000109',
    appid: ids.appid ?? 'wxd678efh567hg6787',
    merchantSerialNo: randomBytes(20).toString('hex').toUpperCase(),
    merchantPrivateKey: merchant.privateKey,
    merchantPublicKey: merchant.publicKey,
    platformSerial: `PUB_KEY_ID_0119000010920${randomBytes(8).toString('hex').toUpperCase()}`,
    platformPrivateKey: platform.privateKey,
    platformPublicKey: platform.publicKey,
    apiV3Key: Buffer.from(randomBytes(16).toString('hex'), 'ascii'),
  };
}

const FILES = {
  merchantKey: 'apiclient_key.pem',
  platformKey: 'platform_private_key.pem',
  platformPublic: 'pub_key.pem',
  ids: 'wechatpay.json',
} as const;

/**
 * The standalone simulator's WeChat Pay account, kept in `dir` so that a restarted simulator
 * (with a journaled order book) still accepts the service it was configured for: loaded when
 * present, generated and written (private keys 0600) when not.
 */
export function loadOrCreateWechatpayKeys(dir: string): WechatpayKeySet {
  const idsPath = join(dir, FILES.ids);
  if (existsSync(idsPath)) {
    const ids = JSON.parse(readFileSync(idsPath, 'utf8')) as {
      mchid: string;
      appid: string;
      merchant_serial_no: string;
      platform_serial: string;
      apiv3_key: string;
    };
    const merchantPrivateKey = createPrivateKey(readFileSync(join(dir, FILES.merchantKey), 'utf8'));
    const platformPrivateKey = createPrivateKey(readFileSync(join(dir, FILES.platformKey), 'utf8'));
    return {
      mchid: ids.mchid,
      appid: ids.appid,
      merchantSerialNo: ids.merchant_serial_no,
      merchantPrivateKey,
      merchantPublicKey: createPublicKey(merchantPrivateKey),
      platformSerial: ids.platform_serial,
      platformPrivateKey,
      platformPublicKey: createPublicKey(platformPrivateKey),
      apiV3Key: Buffer.from(ids.apiv3_key, 'ascii'),
    };
  }
  const keys = generateWechatpayKeys();
  mkdirSync(dir, { recursive: true });
  const secret = { mode: 0o600 };
  writeFileSync(join(dir, FILES.merchantKey), keys.merchantPrivateKey.export({ type: 'pkcs8', format: 'pem' }), secret);
  writeFileSync(join(dir, FILES.platformKey), keys.platformPrivateKey.export({ type: 'pkcs8', format: 'pem' }), secret);
  writeFileSync(join(dir, FILES.platformPublic), keys.platformPublicKey.export({ type: 'spki', format: 'pem' }));
  const ids = {
    mchid: keys.mchid,
    appid: keys.appid,
    merchant_serial_no: keys.merchantSerialNo,
    platform_serial: keys.platformSerial,
    apiv3_key: keys.apiV3Key.toString('ascii'),
  };
  writeFileSync(idsPath, `${JSON.stringify(ids, null, 2)}\n`, secret);
  return keys;
}

/**
 * The `gateways` entry a service needs to pay through a simulator holding these keys (the files
 * written by {@link loadOrCreateWechatpayKeys} in `dir`), e.g. to print at simulator start.
 */
export function wechatpayGatewayEntry(
  keys: WechatpayKeySet,
  dir: string,
  baseUrl: string,
  notifyUrl: string,
): Record<string, string> {
  return {
    type: 'wechatpay',
    mchid: keys.mchid,
    appid: keys.appid,
    serial_no: keys.merchantSerialNo,
    private_key: join(dir, FILES.merchantKey),
    apiv3_key: keys.apiV3Key.toString('ascii'),
    platform_public_key: join(dir, FILES.platformPublic),
    platform_serial: keys.platformSerial,
    base_url: baseUrl,
    notify_url: notifyUrl,
  };
}
