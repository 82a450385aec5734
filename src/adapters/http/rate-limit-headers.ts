/**
 * Reading the headers with which a server asks us to slow down. `Retry-After` is either a
 * number of seconds or an HTTP date (RFC 9110 §10.2.3); `X-RateLimit-Reset` is seen both as
 * seconds until the window resets (the IETF RateLimit draft) and as a Unix time in seconds
 * (GitHub and others), told apart by size.
 */

/** Values above this many seconds cannot be a delay: they are a Unix time. */
const UNIX_TIME_THRESHOLD_S = 1_000_000_000;

/** Milliseconds to wait according to `Retry-After`, or undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // An HTTP date must name a day: bare numbers with signs or fractions are not dates.
  if (!/[A-Za-z]/.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Milliseconds until the rate-limit window resets according to `X-RateLimit-Reset`. */
export function parseRateLimitReset(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined || !/^\d+(\.\d+)?$/.test(value.trim())) return undefined;
  const n = Number(value.trim());
  return n >= UNIX_TIME_THRESHOLD_S ? Math.max(0, n * 1000 - nowMs) : Math.ceil(n * 1000);
}

/** `X-RateLimit-Remaining` as a count, or undefined. */
export function parseRemaining(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}
