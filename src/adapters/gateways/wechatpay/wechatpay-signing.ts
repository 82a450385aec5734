import { createDecipheriv, createSign, createVerify, type KeyObject } from 'node:crypto';

/**
 * The cryptography of WeChat Pay API v3 as a merchant sees it: signing our requests, verifying
 * the platform's signatures (responses and callbacks), and opening AEAD_AES_256_GCM resources.
 * Pure functions over keys; the connector owns time, nonces and HTTP.
 */

export const AUTH_SCHEME = 'WECHATPAY2-SHA256-RSA2048';

/** The five-line request message: every line, the last included, ends in `\n`. */
export function requestMessage(
  method: string,
  pathAndQuery: string,
  timestampSec: number,
  nonce: string,
  body: string,
): string {
  return `${method.toUpperCase()}\n${pathAndQuery}\n${timestampSec}\n${nonce}\n${body}\n`;
}

/** The three-line message the platform signs on responses and callbacks. */
export function responseMessage(timestamp: string, nonce: string, body: string): string {
  return `${timestamp}\n${nonce}\n${body}\n`;
}

export interface MerchantCredentials {
  readonly mchid: string;
  /** Serial number of the merchant API certificate the private key belongs to. */
  readonly serialNo: string;
  readonly privateKey: KeyObject;
}

/** The `Authorization` header value for one request (SHA256withRSA, PKCS#1 v1.5, base64). */
export function authorization(
  merchant: MerchantCredentials,
  method: string,
  pathAndQuery: string,
  body: string,
  timestampSec: number,
  nonce: string,
): string {
  const signature = createSign('RSA-SHA256')
    .update(requestMessage(method, pathAndQuery, timestampSec, nonce, body))
    .sign(merchant.privateKey, 'base64');
  return (
    `${AUTH_SCHEME} mchid="${merchant.mchid}",nonce_str="${nonce}",signature="${signature}",` +
    `timestamp="${timestampSec}",serial_no="${merchant.serialNo}"`
  );
}

/** Why a platform signature was not accepted. */
export type SignatureRefusal =
  | { readonly code: 'MALFORMED'; readonly message: string }
  | { readonly code: 'UNKNOWN_CERTIFICATE'; readonly message: string }
  | { readonly code: 'SIGNATURE_INVALID'; readonly message: string };

export interface SignedEnvelope {
  readonly timestamp: string;
  readonly nonce: string;
  readonly serial: string;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Verify the Wechatpay-* headers over a body with the platform key the serial names. Header
 * names are looked up lower-case (as Node and fetch deliver them). An unknown serial is refused,
 * never "tried with every key": a key we were not given is not a key we trust.
 */
export function verifyPlatformSignature(
  header: (name: string) => string | null | undefined,
  body: string,
  platformKeys: ReadonlyMap<string, KeyObject>,
):
  | { readonly ok: true; readonly envelope: SignedEnvelope }
  | { readonly ok: false; readonly refusal: SignatureRefusal } {
  const timestamp = header('wechatpay-timestamp');
  const nonce = header('wechatpay-nonce');
  const signature = header('wechatpay-signature');
  const serial = header('wechatpay-serial');
  const type = header('wechatpay-signature-type');
  if (
    typeof timestamp !== 'string' ||
    !/^\d{1,12}$/.test(timestamp) ||
    typeof nonce !== 'string' ||
    nonce.length === 0 ||
    nonce.length > 64
  ) {
    return {
      ok: false,
      refusal: { code: 'MALFORMED', message: 'Wechatpay-Timestamp and Wechatpay-Nonce headers are required' },
    };
  }
  if (
    typeof signature !== 'string' ||
    signature.length === 0 ||
    typeof serial !== 'string' ||
    serial.length === 0 ||
    serial.length > 128
  ) {
    return {
      ok: false,
      refusal: { code: 'MALFORMED', message: 'Wechatpay-Signature and Wechatpay-Serial headers are required' },
    };
  }
  if (typeof type === 'string' && type !== AUTH_SCHEME) {
    return {
      ok: false,
      refusal: { code: 'SIGNATURE_INVALID', message: `unsupported Wechatpay-Signature-Type ${type.slice(0, 40)}` },
    };
  }
  const key = platformKeys.get(serial);
  if (key === undefined) {
    return {
      ok: false,
      refusal: { code: 'UNKNOWN_CERTIFICATE', message: `no platform key for Wechatpay-Serial ${serial.slice(0, 64)}` },
    };
  }
  // The platform probes merchants with deliberately bad signatures ("WECHATPAY/SIGNTEST/…"):
  // anything that is not plain base64 fails here, exactly as a wrong signature does.
  let valid = false;
  if (BASE64.test(signature)) {
    try {
      valid = createVerify('RSA-SHA256')
        .update(responseMessage(timestamp, nonce, body))
        .verify(key, signature, 'base64');
    } catch {
      valid = false;
    }
  }
  if (!valid)
    return {
      ok: false,
      refusal: { code: 'SIGNATURE_INVALID', message: 'the Wechatpay-Signature does not verify with the platform key' },
    };
  return { ok: true, envelope: { timestamp, nonce, serial } };
}

export interface EncryptedResource {
  readonly algorithm: string;
  readonly ciphertext: string;
  readonly nonce: string;
  readonly associated_data?: string;
}

const GCM_TAG_BYTES = 16;

/**
 * Open an AEAD_AES_256_GCM resource (RFC 5116): key = the API v3 key (32 bytes), IV = nonce,
 * AAD = associated_data (possibly empty); the base64 ciphertext ends in the 16-byte tag.
 * Returns undefined when it does not authenticate: a wrong key, tag, nonce or AAD all look alike.
 */
export function decryptResource(resource: EncryptedResource, apiV3Key: Buffer): string | undefined {
  if (resource.algorithm !== 'AEAD_AES_256_GCM' || apiV3Key.length !== 32 || !BASE64.test(resource.ciphertext))
    return undefined;
  const raw = Buffer.from(resource.ciphertext, 'base64');
  if (raw.length <= GCM_TAG_BYTES || resource.nonce.length === 0) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', apiV3Key, Buffer.from(resource.nonce, 'utf8'), {
      authTagLength: GCM_TAG_BYTES,
    });
    decipher.setAuthTag(raw.subarray(raw.length - GCM_TAG_BYTES));
    decipher.setAAD(Buffer.from(resource.associated_data ?? '', 'utf8'));
    return Buffer.concat([decipher.update(raw.subarray(0, raw.length - GCM_TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    return undefined;
  }
}
