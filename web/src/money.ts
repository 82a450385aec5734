/**
 * Yuan typed by a person, as integer fen, by reading the digits (never `Number(x) * 100`, which
 * turns "0.29" into 28.999…). At most two decimals: "1.005" is refused, not rounded, because a
 * refund of a different amount than the one typed is worse than asking again.
 */
export type YuanParse =
  | { readonly ok: true; readonly fen: number }
  | { readonly ok: false; readonly reason: 'empty' | 'format' | 'decimals' | 'zero' | 'too_large' };

/** The largest amount the service accepts at all (its MAX_AMOUNT_MINOR: 100 million yuan). */
export const MAX_FEN = 10_000_000_000;

export function parseYuan(text: string): YuanParse {
  // Full-width digits and the decimal point a Chinese keyboard gives, and a leading ¥ or trailing 元.
  const s = text
    .trim()
    .replace(/[０-９]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0))
    .replace(/[．。]/g, '.')
    .replace(/^[¥￥]\s*/, '')
    .replace(/\s*元$/, '');
  if (s === '') return { ok: false, reason: 'empty' };
  const m = /^(\d{1,11})?(?:\.(\d*))?$/.exec(s);
  if (m === null || (m[1] === undefined && (m[2] ?? '') === '')) return { ok: false, reason: 'format' };
  const whole = m[1] ?? '0';
  const frac = m[2] ?? '';
  if (frac.length > 2) return { ok: false, reason: 'decimals' };
  const fen = Number(whole) * 100 + Number(frac.padEnd(2, '0'));
  if (fen === 0) return { ok: false, reason: 'zero' };
  if (fen > MAX_FEN) return { ok: false, reason: 'too_large' };
  return { ok: true, fen };
}

/** Fen as the plain number a person would type back ("35.5" → "35.50"), for prefilling a field. */
export function fenToYuanText(fen: number): string {
  return `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
}

/**
 * A random idempotency key. crypto.getRandomValues, not randomUUID: the latter exists only in a
 * secure context, and the console may be opened over plain HTTP on a LAN address.
 */
export function randomKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}
