import type { OperatorId } from '../recharge/number-segments.js';
import type { CallOutcome } from './channel-window.js';

/**
 * A channel's recent history for the console's charts: fixed time buckets (10 s by default) of
 * what its calls did, kept for a few hours in a ring of fixed length, so memory is bounded
 * however long the service runs and however busy the channel is. Only the open bucket keeps
 * raw latencies (at most `maxLatencies`); a closed bucket keeps its quantiles. Pure: the caller
 * passes the time and the channel's state.
 */

export interface HistorySettings {
  readonly bucketMs: number;
  /** Closed buckets kept (the oldest is dropped for each new one). */
  readonly buckets: number;
  /** Latencies kept in the open bucket for its quantiles; later calls are counted only. */
  readonly maxLatencies: number;
}

/** 10-second buckets for 3 hours: 1 080 buckets of a few numbers per channel. */
export const DEFAULT_HISTORY_SETTINGS: HistorySettings = { bucketMs: 10_000, buckets: 1_080, maxLatencies: 1_000 };

export type BreakerName = 'closed' | 'open' | 'half_open';

/** The channel's state at a moment: what routing shows (breaker, load, score). */
export interface ChannelMoment {
  /**
   * The breaker at time `t`, as long as no call began or ended since this moment was taken (an
   * open breaker turns half-open when its cool-down is over): a quiet stretch's buckets show it
   * as it was then, not as the call that ends the stretch leaves it.
   */
  breakerAt(t: number): BreakerName;
  readonly inFlight: number;
  readonly capacity: number;
  /** Routing scores per operator now; asked only when a bucket closes (scoring looks at every peer). */
  scores(): Partial<Record<OperatorId, number>>;
}

/** One bucket of a channel's history. */
export interface HistoryBucket {
  /** The bucket's start (ms since epoch); it covers [start, start + bucketMs). */
  readonly start: number;
  /** Calls that ended in the bucket, by outcome. */
  readonly calls: number;
  readonly successes: number;
  readonly failures: number;
  readonly timeouts: number;
  /** successes / calls; null with no call. */
  readonly successRate: number | null;
  readonly p50LatencyMs: number | null;
  readonly p99LatencyMs: number | null;
  /** Calls routed to the channel in the bucket. */
  readonly routed: number;
  /** The most calls in flight at once in the bucket (its load), and its capacity. */
  readonly maxInFlight: number;
  readonly capacity: number;
  /** The breaker at the bucket's end (now for the open bucket) … */
  readonly breaker: BreakerName;
  /** … and whether it was open at any moment of the bucket. */
  readonly breakerOpened: boolean;
  /** Routing scores (0–1) per operator at the bucket's end. */
  readonly scores: Partial<Record<OperatorId, number>>;
}

interface OpenBucket {
  start: number;
  successes: number;
  failures: number;
  timeouts: number;
  latencies: number[];
  routed: number;
  maxInFlight: number;
  breakerOpened: boolean;
}

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? null;
}

const fresh = (start: number, m: ChannelMoment): OpenBucket => ({
  start,
  successes: 0,
  failures: 0,
  timeouts: 0,
  latencies: [],
  routed: 0,
  maxInFlight: m.inFlight,
  breakerOpened: m.breakerAt(start) === 'open',
});

/** `end`: the bucket's last moment (now, for the open one). */
function closeBucket(b: OpenBucket, m: ChannelMoment, end: number): HistoryBucket {
  const calls = b.successes + b.failures + b.timeouts;
  const sorted = [...b.latencies].sort((x, y) => x - y);
  return {
    start: b.start,
    calls,
    successes: b.successes,
    failures: b.failures,
    timeouts: b.timeouts,
    successRate: calls === 0 ? null : b.successes / calls,
    p50LatencyMs: quantile(sorted, 0.5),
    p99LatencyMs: quantile(sorted, 0.99),
    routed: b.routed,
    maxInFlight: Math.max(b.maxInFlight, m.inFlight),
    capacity: m.capacity,
    breaker: m.breakerAt(end),
    breakerOpened: b.breakerOpened || m.breakerAt(end) === 'open',
    scores: m.scores(),
  };
}

/** One channel's ring of buckets. */
export class ChannelHistory {
  private readonly ring: HistoryBucket[] = [];
  /** Where the next closed bucket goes once the ring is full (the oldest one's place). */
  private next = 0;
  private open: OpenBucket | undefined;

  constructor(private readonly settings: HistorySettings = DEFAULT_HISTORY_SETTINGS) {}

  private bucketOf(at: number): number {
    return at - (((at % this.settings.bucketMs) + this.settings.bucketMs) % this.settings.bucketMs);
  }

  private push(b: HistoryBucket): void {
    if (this.ring.length < this.settings.buckets) this.ring.push(b);
    else {
      this.ring[this.next] = b;
      this.next = (this.next + 1) % this.settings.buckets;
    }
  }

  /**
   * Bring the history up to `now`: close the open bucket if its time is over, and record the
   * quiet buckets since (no calls; the state as it was then), at most a ring's worth. `m` is the
   * state since the last call began or ended: roll before a call changes it.
   */
  roll(now: number, m: ChannelMoment): void {
    const current = this.bucketOf(now);
    if (this.open === undefined) {
      this.open = fresh(current, m);
      return;
    }
    if (this.open.start >= current) return;
    const ms = this.settings.bucketMs;
    this.push(closeBucket(this.open, m, this.open.start + ms - 1));
    const gap = Math.min(this.settings.buckets, (current - this.open.start) / ms - 1);
    for (let i = gap; i >= 1; i -= 1) {
      const start = current - i * ms;
      this.push(closeBucket(fresh(start, m), m, start + ms - 1));
    }
    this.open = fresh(current, m);
  }

  /** A call was routed to the channel; `m` is its state after. */
  routed(now: number, m: ChannelMoment): void {
    this.roll(now, m);
    const b = this.open!;
    b.routed += 1;
    b.maxInFlight = Math.max(b.maxInFlight, m.inFlight);
  }

  /** A call ended; `m` is the channel's state after (its breaker may just have opened). */
  ended(now: number, latencyMs: number, outcome: CallOutcome, m: ChannelMoment): void {
    this.roll(now, m);
    const b = this.open!;
    if (outcome === 'success') b.successes += 1;
    else if (outcome === 'failure') b.failures += 1;
    else b.timeouts += 1;
    if (b.latencies.length < this.settings.maxLatencies) b.latencies.push(latencyMs);
    if (m.breakerAt(now) === 'open') b.breakerOpened = true;
  }

  /** Closed buckets after `since` (ms since epoch), oldest first, then the open bucket as it stands at `now`. */
  buckets(now: number, m: ChannelMoment, since = Number.NEGATIVE_INFINITY): HistoryBucket[] {
    this.roll(now, m);
    const ordered = [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
    const out = ordered.filter((b) => b.start > since);
    if (this.open !== undefined && this.open.start > since) out.push(closeBucket(this.open, m, now));
    return out;
  }
}
