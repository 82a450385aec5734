import { createCipheriv, createSign, createVerify, type KeyObject, randomBytes } from 'node:crypto';

/**
 * The platform side of WeChat Pay v3 cryptography, written independently of the connector (the
 * simulator may not import adapters, and two independent implementations that agree are what
 * makes the interop tests mean something).
 */

const SCHEME = 'WECHATPAY2-SHA256-RSA2048';

export interface ParsedAuthorization {
  readonly mchid: string;
  readonly nonce: string;
  readonly signature: string;
  readonly timestamp: string;
  readonly serialNo: string;
}

/**
 * Parse `WECHATPAY2-SHA256-RSA2048 k="v",k="v",…` in any parameter order (implementations
 * differ). Undefined when the scheme is wrong, a parameter is missing or repeated.
 */
export function parseAuthorization(header: string | undefined): ParsedAuthorization | undefined {
  if (header === undefined || !header.startsWith(`${SCHEME} `)) return undefined;
  const params = new Map<string, string>();
  const re = /\s*([a-z_]+)="([^"]*)"\s*(?:,|$)/gy;
  const rest = header.slice(SCHEME.length + 1);
  let consumed = 0;
  for (let m = re.exec(rest); m !== null; m = re.exec(rest)) {
    const [, k, v] = m;
    if (k === undefined || v === undefined || params.has(k)) return undefined;
    params.set(k, v);
    consumed = re.lastIndex;
    if (consumed >= rest.length) break;
  }
  if (consumed !== rest.length) return undefined;
  const mchid = params.get('mchid');
  const nonce = params.get('nonce_str');
  const signature = params.get('signature');
  const timestamp = params.get('timestamp');
  const serialNo = params.get('serial_no');
  if (
    mchid === undefined ||
    nonce === undefined ||
    signature === undefined ||
    timestamp === undefined ||
    serialNo === undefined
  )
    return undefined;
  return { mchid, nonce, signature, timestamp, serialNo };
}

/** Does the merchant's signature cover exactly this method, path+query and body? */
export function merchantSignatureValid(
  auth: ParsedAuthorization,
  method: string,
  url: string,
  body: string,
  merchantKey: KeyObject,
): boolean {
  const message = [method, url, auth.timestamp, auth.nonce, body, ''].join('\n');
  try {
    return createVerify('sha256WithRSAEncryption')
      .update(message, 'utf8')
      .verify(merchantKey, auth.signature, 'base64');
  } catch {
    return false;
  }
}

/** The Wechatpay-* headers that sign a response or callback body with the platform key. */
export function platformSignatureHeaders(
  body: string,
  platformKey: KeyObject,
  serial: string,
  timestampSec: number,
  nonce: string,
): Record<string, string> {
  const signature = createSign('sha256WithRSAEncryption')
    .update([String(timestampSec), nonce, body, ''].join('\n'), 'utf8')
    .sign(platformKey)
    .toString('base64');
  return {
    'wechatpay-timestamp': String(timestampSec),
    'wechatpay-nonce': nonce,
    'wechatpay-signature': signature,
    'wechatpay-serial': serial,
    'wechatpay-signature-type': SCHEME,
  };
}

/** A fresh 32-character nonce (the platform's own shape). */
export function simNonce(): string {
  return randomBytes(16).toString('hex').toUpperCase();
}

/** AEAD_AES_256_GCM: the resource of a callback, readable only with the merchant's API v3 key. */
export function sealResource(
  plaintext: string,
  apiV3Key: Buffer,
  originalType: 'transaction' | 'refund',
  associatedData: string,
  nonce: string = randomBytes(6).toString('hex'),
): {
  algorithm: 'AEAD_AES_256_GCM';
  ciphertext: string;
  nonce: string;
  associated_data: string;
  original_type: string;
} {
  const cipher = createCipheriv('aes-256-gcm', apiV3Key, Buffer.from(nonce));
  cipher.setAAD(Buffer.from(associatedData));
  const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return {
    algorithm: 'AEAD_AES_256_GCM',
    ciphertext: sealed.toString('base64'),
    nonce,
    associated_data: associatedData,
    original_type: originalType,
  };
}
