import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The simulator's native protocol authentication, as a merchant API does it: every request
 * carries `Authorization: SIM-HMAC-SHA256 timestamp="…",nonce="…",signature="…"`, the signature
 * being base64 HMAC-SHA256 with the shared secret over `METHOD\npath?query\ntimestamp\nnonce\nbody\n`
 * (the WeChat Pay v3 message shape). Answers carry `x-sim-timestamp` and `x-sim-signature` over
 * `status\ntimestamp\nrequest nonce\nbody\n`, which binds each answer to the request it answers.
 */
export const AUTH_SCHEME = 'SIM-HMAC-SHA256';

export type AuthRefusal = 'AUTH_MISSING' | 'SIGNATURE_INVALID' | 'TIMESTAMP_OUT_OF_WINDOW' | 'NONCE_REUSED';

export interface AuthHeader {
  readonly timestamp: string;
  readonly nonce: string;
  readonly signature: string;
}

export function parseAuthorization(value: string | undefined): AuthHeader | undefined {
  if (value === undefined || !value.startsWith(`${AUTH_SCHEME} `)) return undefined;
  const fields: Record<string, string> = {};
  for (const m of value.slice(AUTH_SCHEME.length + 1).matchAll(/([a-z_]+)="([^"]*)"/g)) {
    if (m[1] !== undefined && m[2] !== undefined) fields[m[1]] = m[2];
  }
  const { timestamp, nonce, signature } = fields;
  if (timestamp === undefined || nonce === undefined || signature === undefined) return undefined;
  if (!/^\d{1,12}$/.test(timestamp) || !/^[A-Za-z0-9_-]{8,64}$/.test(nonce)) return undefined;
  return { timestamp, nonce, signature };
}

const hmac = (secret: string, text: string): Buffer => createHmac('sha256', secret).update(text).digest();

function sameMac(expected: Buffer, givenB64: string): boolean {
  const given = Buffer.from(givenB64, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Checks signatures, the freshness window and single use of nonces for one shared secret. */
export class NativeAuthenticator {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly secret: string,
    private readonly now: () => number,
    private readonly windowMs = 300_000,
  ) {}

  verify(
    method: string,
    url: string,
    body: string,
    authorization: string | undefined,
  ): { ok: true; nonce: string } | { ok: false; code: AuthRefusal; nonce: string } {
    const a = parseAuthorization(authorization);
    if (a === undefined) return { ok: false, code: 'AUTH_MISSING', nonce: '' };
    if (!sameMac(hmac(this.secret, `${method}\n${url}\n${a.timestamp}\n${a.nonce}\n${body}\n`), a.signature)) {
      return { ok: false, code: 'SIGNATURE_INVALID', nonce: a.nonce };
    }
    const now = this.now();
    if (Math.abs(now - Number(a.timestamp) * 1000) > this.windowMs)
      return { ok: false, code: 'TIMESTAMP_OUT_OF_WINDOW', nonce: a.nonce };
    if ((this.seen.get(a.nonce) ?? 0) > now) return { ok: false, code: 'NONCE_REUSED', nonce: a.nonce };
    this.remember(a.nonce, now);
    return { ok: true, nonce: a.nonce };
  }

  private remember(nonce: string, now: number): void {
    // A nonce need only be remembered while its timestamp could still pass the window.
    if (this.seen.size >= 100_000) for (const [n, until] of this.seen) if (until <= now) this.seen.delete(n);
    this.seen.set(nonce, now + 2 * this.windowMs);
  }

  /** Headers that sign an answer for the request that carried `requestNonce`. */
  signAnswer(status: number, body: string, requestNonce: string): Record<string, string> {
    const ts = String(Math.floor(this.now() / 1000));
    return {
      'x-sim-timestamp': ts,
      'x-sim-signature': hmac(this.secret, `${status}\n${ts}\n${requestNonce}\n${body}\n`).toString('base64'),
    };
  }
}
