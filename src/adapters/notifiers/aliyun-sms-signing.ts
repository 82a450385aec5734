import { createHmac } from 'node:crypto';

/**
 * Alibaba Cloud's RPC signature (SignatureVersion 1.0, HMAC-SHA1), as its "签名机制" page
 * gives it: sort every parameter but `Signature` by name; percent-encode names and values as
 * UTF-8 with only A–Z a–z 0–9 - _ . ~ left as they are (a space is %20, never +; * is %2A);
 * join as name=value with &; StringToSign = METHOD & percentEncode("/") &
 * percentEncode(that string); Signature = base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign)).
 */
export function percentEncode(value: string): string {
  // encodeURIComponent leaves ! ' ( ) * unencoded, which the rule above encodes.
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The canonicalized query string of `params` (Signature excluded). */
export function canonicalQuery(params: Readonly<Record<string, string>>): string {
  return Object.keys(params)
    .filter((k) => k !== 'Signature')
    .sort()
    .map((k) => `${percentEncode(k)}=${percentEncode(params[k] ?? '')}`)
    .join('&');
}

/** The StringToSign of a request with these parameters sent with `method`. */
export function stringToSign(method: 'GET' | 'POST', params: Readonly<Record<string, string>>): string {
  return `${method}&${percentEncode('/')}&${percentEncode(canonicalQuery(params))}`;
}

/** The signature of a request with these parameters sent with `method`. */
export function rpcSignature(method: 'GET' | 'POST', params: Readonly<Record<string, string>>, secret: string): string {
  return createHmac('sha1', `${secret}&`).update(stringToSign(method, params), 'utf8').digest('base64');
}

/** The form body of a signed request: the canonical string plus its Signature. */
export function signedForm(params: Readonly<Record<string, string>>, secret: string): string {
  return `${canonicalQuery(params)}&Signature=${percentEncode(rpcSignature('POST', params, secret))}`;
}
