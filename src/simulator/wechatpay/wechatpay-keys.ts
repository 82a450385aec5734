import { generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';

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
