import { createSign, createVerify, type KeyObject } from 'node:crypto';

/**
 * RSA2 as the Alipay openapi defines it: SHA256withRSA (PKCS#1 v1.5), base64. What is signed is
 * a "content string" built from parameters or, for responses, a substring of the raw body.
 */

/**
 * The content string of a parameter set: every parameter except the excluded ones (always
 * `sign`) whose value is not empty, keys sorted by code unit (ASCII), joined as `k=v&k=v`,
 * values as they are — not URL-encoded.
 */
export function contentString(
  params: Readonly<Record<string, string | undefined>>,
  exclude: readonly string[] = ['sign'],
): string {
  return Object.keys(params)
    .filter((k) => !exclude.includes(k) && params[k] !== undefined && params[k] !== '')
    .sort()
    .map((k) => `${k}=${params[k] ?? ''}`)
    .join('&');
}

export function rsa2Sign(content: string, privateKey: KeyObject): string {
  return createSign('RSA-SHA256').update(content, 'utf8').sign(privateKey, 'base64');
}

/** Never throws: a malformed signature is simply not a valid one. */
export function rsa2Verify(content: string, signature: string, publicKey: KeyObject): boolean {
  if (signature.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  try {
    return createVerify('RSA-SHA256').update(content, 'utf8').verify(publicKey, signature, 'base64');
  } catch {
    return false;
  }
}

/**
 * The exact text of a top-level member's value in a JSON object, as it appears in `raw`.
 * Alipay signs the `<method>_response` node as it wrote it; re-serialising a parsed object
 * can change escapes, spacing or number forms and break a genuine signature, so the
 * substring is cut out of the raw body by scanning the JSON, not by searching for text (a
 * search would be fooled by the key appearing inside a string value).
 */
export function rawMember(raw: string, key: string): string | undefined {
  let i = skipWs(raw, 0);
  if (raw[i] !== '{') return undefined;
  i = skipWs(raw, i + 1);
  if (raw[i] === '}') return undefined;
  for (;;) {
    if (raw[i] !== '"') return undefined;
    const keyEnd = endOfString(raw, i);
    if (keyEnd === undefined) return undefined;
    let name: unknown;
    try {
      name = JSON.parse(raw.slice(i, keyEnd));
    } catch {
      return undefined;
    }
    i = skipWs(raw, keyEnd);
    if (raw[i] !== ':') return undefined;
    const start = skipWs(raw, i + 1);
    const end = endOfValue(raw, start);
    if (end === undefined) return undefined;
    if (name === key) return raw.slice(start, end);
    i = skipWs(raw, end);
    if (raw[i] === ',') i = skipWs(raw, i + 1);
    else return undefined;
  }
}

function skipWs(s: string, i: number): number {
  while (i < s.length && (s[i] === ' ' || s[i] === '\n' || s[i] === '\r' || s[i] === '\t')) i += 1;
  return i;
}

/** Index just past the string starting at `i` (which is a quote). */
function endOfString(s: string, i: number): number | undefined {
  for (let j = i + 1; j < s.length; j += 1) {
    if (s[j] === '\\') j += 1;
    else if (s[j] === '"') return j + 1;
  }
  return undefined;
}

/** Index just past the JSON value starting at `i`. Brackets are balanced; strings are skipped whole. */
function endOfValue(s: string, i: number): number | undefined {
  const c = s[i];
  if (c === '"') return endOfString(s, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < s.length; j += 1) {
      const d = s[j];
      if (d === '"') {
        const e = endOfString(s, j);
        if (e === undefined) return undefined;
        j = e - 1;
      } else if (d === '{' || d === '[') depth += 1;
      else if (d === '}' || d === ']') {
        depth -= 1;
        if (depth === 0) return j + 1;
      }
    }
    return undefined;
  }
  let j = i;
  while (j < s.length && /[-+.\w]/.test(s[j] ?? '')) j += 1;
  return j > i ? j : undefined;
}
