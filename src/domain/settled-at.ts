/**
 * When money moved, for dating it on a channel's statement (the statement's day is the day the
 * channel captured, refunded or topped up — not the day our record last changed).
 *
 * The channel's own time is believed when it reports one that could be true: not before the
 * record existed, and not after we heard of it (each beyond a few minutes of clock skew).
 * Otherwise — no time reported, or one from a drifting or wrong clock — it is when we recorded
 * the movement, which is at most the delay of our learning it after the fact; reconciliation's
 * ±1-day cut-off window covers an item that delay carries over midnight.
 */
export const SETTLED_AT_SKEW_MS = 5 * 60_000;

export function settledAt(
  reported: number | undefined,
  record: { readonly createdAt: number },
  recordedAt: number,
): number {
  if (reported === undefined || !Number.isSafeInteger(reported)) return recordedAt;
  if (reported > recordedAt + SETTLED_AT_SKEW_MS) return recordedAt;
  if (reported < record.createdAt - SETTLED_AT_SKEW_MS) return recordedAt;
  return reported;
}
