import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { WechatpayGateway } from './wechatpay-gateway.js';

/** The `gateways.<name>` entry of type "wechatpay", as the configuration validated it. */
export interface WechatpaySettings {
  readonly mchid: string;
  readonly appid: string;
  readonly serial_no: string;
  readonly private_key: string;
  readonly apiv3_key: string;
  readonly platform_public_key: string;
  readonly platform_serial: string;
  readonly base_url: string;
  readonly timeout_ms: number;
  readonly notify_url: string;
}

/** PEM text as given, or the content of the file it names. Errors never quote key material. */
function pemOf(what: string, value: string, readFile: (path: string) => string): string {
  if (value.startsWith('-----BEGIN ')) return value;
  try {
    return readFile(value);
  } catch (e) {
    throw new Error(
      `wechatpay: cannot read the ${what} file ${value}: ` +
        `${e instanceof Error && 'code' in e ? String(e.code) : 'unreadable'}`,
      { cause: e },
    );
  }
}

/** The merchant API private key (PKCS#8 or PKCS#1 PEM). */
export function loadPrivateKey(
  value: string,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): KeyObject {
  const pem = pemOf('merchant private key', value, readFile);
  try {
    return createPrivateKey(pem);
  } catch {
    throw new Error('wechatpay: the merchant private key is not a PEM private key');
  }
}

/** A WeChat Pay public key (PEM) or a platform certificate (its public key is used). */
export function loadPublicKey(
  value: string,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): KeyObject {
  const pem = pemOf('platform public key', value, readFile);
  try {
    return pem.includes('-----BEGIN CERTIFICATE-----') ? new X509Certificate(pem).publicKey : createPublicKey(pem);
  } catch {
    throw new Error('wechatpay: the platform public key is neither a PEM public key nor a PEM certificate');
  }
}

/** Build the connector from its configuration entry (keys inline or from files). */
export function wechatpayGatewayFromSettings(
  name: string,
  s: WechatpaySettings,
  readFile?: (path: string) => string,
): WechatpayGateway {
  return new WechatpayGateway({
    name,
    mchid: s.mchid,
    appid: s.appid,
    merchantSerialNo: s.serial_no,
    merchantPrivateKey: loadPrivateKey(s.private_key, readFile),
    apiV3Key: Buffer.from(s.apiv3_key, 'utf8'),
    platformKeys: new Map([[s.platform_serial, loadPublicKey(s.platform_public_key, readFile)]]),
    notifyUrl: s.notify_url,
    baseUrl: s.base_url,
    timeoutMs: s.timeout_ms,
  });
}
