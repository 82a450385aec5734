import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Keys as operators hold them: a PEM (PKCS#1 or PKCS#8 private key, SPKI or PKCS#1 public key),
 * the bare base64 body the Alipay key tool and console hand out, or a path to a file with
 * either. The text of a key never appears in an error message.
 */
export function loadAlipayKey(source: string | KeyObject, kind: 'private' | 'public'): KeyObject {
  if (typeof source !== 'string') return source;
  const text = source.trim();
  if (text.startsWith('-----BEGIN')) return parse(text, kind);
  if (/^[A-Za-z0-9+/=\s]{200,}$/.test(text)) return parseBareBase64(text.replace(/\s+/g, ''), kind);
  let content: string;
  try {
    content = readFileSync(text, 'utf8');
  } catch (e) {
    throw new Error(
      `the Alipay ${kind} key is neither a PEM, a base64 key, ` +
        `nor a readable file (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`,
    );
  }
  const inner = content.trim();
  if (inner.startsWith('-----BEGIN')) return parse(inner, kind);
  return parseBareBase64(inner.replace(/\s+/g, ''), kind);
}

function parse(pem: string, kind: 'private' | 'public'): KeyObject {
  try {
    const key = kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem);
    if (key.asymmetricKeyType !== 'rsa') throw new Error('not RSA');
    return key;
  } catch {
    throw new Error(`the Alipay ${kind} key is not a valid RSA ${kind} key`);
  }
}

/** Alipay hands out PKCS#8 private and SPKI public keys as bare base64; PKCS#1 is tried second. */
function parseBareBase64(b64: string, kind: 'private' | 'public'): KeyObject {
  const der = Buffer.from(b64, 'base64');
  const attempts: Array<() => KeyObject> =
    kind === 'private'
      ? [
          () => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }),
          () => createPrivateKey({ key: der, format: 'der', type: 'pkcs1' }),
        ]
      : [
          () => createPublicKey({ key: der, format: 'der', type: 'spki' }),
          () => createPublicKey({ key: der, format: 'der', type: 'pkcs1' }),
        ];
  for (const attempt of attempts) {
    try {
      const key = attempt();
      if (key.asymmetricKeyType === 'rsa') return key;
    } catch {
      // try the next encoding
    }
  }
  throw new Error(`the Alipay ${kind} key is not a valid RSA ${kind} key`);
}
