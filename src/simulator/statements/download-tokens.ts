import { randomBytes } from 'node:crypto';

/**
 * Bill downloads the faces hand out: a one-off token behind a download URL, good for a while
 * (Alipay: 30 s; WeChat Pay: 5 min), as the real download URLs are.
 */
export class DownloadTokens {
  private readonly files = new Map<string, { readonly bytes: Uint8Array; readonly expiresAt: number }>();

  constructor(private readonly now: () => number) {}

  /** A token for `bytes`, valid `ttlMs` from now. */
  issue(bytes: Uint8Array, ttlMs: number): string {
    const at = this.now();
    for (const [token, f] of this.files) if (f.expiresAt <= at) this.files.delete(token);
    const token = randomBytes(16).toString('hex');
    this.files.set(token, { bytes, expiresAt: at + ttlMs });
    return token;
  }

  /** The file behind a token still valid; undefined when unknown or expired. */
  take(token: string): Uint8Array | undefined {
    const f = this.files.get(token);
    return f === undefined || f.expiresAt <= this.now() ? undefined : f.bytes;
  }
}

/** Whether a bill can be had for `date`: not for a day that has not begun (Asia/Shanghai). */
export function billDayStarted(date: string, now: number): boolean {
  return Date.parse(`${date}T00:00:00+08:00`) <= now;
}
