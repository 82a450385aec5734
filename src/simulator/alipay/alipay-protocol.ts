import { createPrivateKey, createPublicKey, createSign, createVerify, type KeyObject } from 'node:crypto';

/**
 * The simulated Alipay's side of the openapi v2 wire format, written independently of the
 * connector in src/adapters (the simulator may not import adapters): if both read the
 * protocol the same way by accident, the interop tests against alipay-sdk catch it.
 */

export type KeyInput = string | KeyObject;

export const asPrivateKey = (k: KeyInput): KeyObject => (typeof k === 'string' ? createPrivateKey(k) : k);
export const asPublicKey = (k: KeyInput): KeyObject => (typeof k === 'string' ? createPublicKey(k) : k);

/** Sorted `k=v` pairs of the non-empty fields, `skip` left out: what a request or notify signs. */
export function signingText(fields: ReadonlyMap<string, string>, skip: ReadonlySet<string>): string {
  const pairs: string[] = [];
  const names = [...fields.keys()].filter((n) => !skip.has(n) && fields.get(n) !== '');
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const n of names) pairs.push(n + '=' + String(fields.get(n)));
  return pairs.join('&');
}

export function sha256WithRsa(text: string, key: KeyObject): string {
  const signer = createSign('sha256');
  signer.write(Buffer.from(text, 'utf8'));
  signer.end();
  return signer.sign(key).toString('base64');
}

export function sha256WithRsaValid(text: string, signature: string, key: KeyObject): boolean {
  try {
    const verifier = createVerify('sha256');
    verifier.write(Buffer.from(text, 'utf8'));
    verifier.end();
    return verifier.verify(key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * A response the way the Alipay gateway writes one: the `<method>_response` node as compact
 * JSON with `/` escaped as `\/` (as Alipay's own serialiser does), then `sign` over exactly that
 * text. A client that re-serialises the node instead of verifying the raw text fails here.
 */
export function signedResponse(nodeKey: string, node: Readonly<Record<string, string>>, key: KeyObject): string {
  const text = JSON.stringify(node).replace(/\//g, '\\/');
  return `{"${nodeKey}":${text},"sign":"${sha256WithRsa(text, key)}"}`;
}

/** 3200 → "32.00" with integer arithmetic. */
export function yuanOf(fen: number): string {
  const cents = fen % 100;
  return `${(fen - cents) / 100}.${cents < 10 ? '0' : ''}${cents}`;
}

/**
 * "32.00" → 3200, as the gateway accepts amounts: 0.01 up to 100000000.00 yuan, at most two
 * decimals. Anything else is undefined (ACQ.INVALID_PARAMETER at the face).
 */
export function fenOf(yuan: string): number | undefined {
  if (!/^\d{1,9}(\.\d{1,2})?$/.test(yuan) || (yuan.length > 1 && yuan.startsWith('0') && yuan[1] !== '.'))
    return undefined;
  const [whole = '0', frac = ''] = yuan.split('.');
  const fen = parseInt(whole, 10) * 100 + parseInt((frac + '00').slice(0, 2), 10);
  return fen >= 1 && fen <= 10_000_000_000 ? fen : undefined;
}

/** Alipay's wall clock: Beijing time, "yyyy-MM-dd HH:mm:ss". */
export function alipayTime(ms: number): string {
  const d = new Date(ms + 28_800_000);
  const p = (n: number): string => (n < 10 ? `0${n}` : String(n));
  return (
    `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`
  );
}
