import { assertNever } from '../result.js';
import type { CallOutcome, WindowStats } from './channel-window.js';

/**
 * A circuit breaker per channel, as a pure state machine on an injected clock:
 * CLOSED (traffic flows) ─ too many failures ─► OPEN (no traffic for `cooldownMs`, 10 min in the
 * documents) ─ cool-down over ─► HALF_OPEN (one probe call) ─ probe succeeds ─► CLOSED, fails ─► OPEN.
 *
 * Not cockatiel's breaker: routing has to look at every channel's breaker before choosing one,
 * run on simulated time in the benchmark, and show each breaker's state in the health snapshot;
 * cockatiel's wraps one call at a time on the real clock.
 */
export type BreakerState =
  | { readonly state: 'closed'; readonly consecutiveFailures: number }
  | { readonly state: 'open'; readonly openedAt: number; readonly reason: string }
  | { readonly state: 'half_open'; readonly probeInFlight: boolean };

export interface BreakerSettings {
  /** Open after this many failures or timeouts in a row. */
  readonly consecutiveFailures: number;
  /** …or when the window's failure share reaches this, with at least `minSamples` calls in it. */
  readonly failureRate: number;
  readonly minSamples: number;
  readonly cooldownMs: number;
}

export const DEFAULT_BREAKER_SETTINGS: BreakerSettings = {
  consecutiveFailures: 5,
  failureRate: 0.5,
  minSamples: 10,
  cooldownMs: 10 * 60_000,
};

export const CLOSED: BreakerState = { state: 'closed', consecutiveFailures: 0 };

/** What the breaker lets through now: everything, nothing, or one probe. */
export type BreakerAdmission = 'allow' | 'deny' | 'probe';

export function breakerAdmission(b: BreakerState, now: number, settings: BreakerSettings): BreakerAdmission {
  switch (b.state) {
    case 'closed':
      return 'allow';
    case 'open':
      return now - b.openedAt >= settings.cooldownMs ? 'probe' : 'deny';
    case 'half_open':
      return b.probeInFlight ? 'deny' : 'probe';
    default:
      return assertNever(b);
  }
}

/** The state as an operator should see it now: an open breaker whose cool-down ended is half-open. */
export function breakerView(b: BreakerState, now: number, settings: BreakerSettings): BreakerState {
  return b.state === 'open' && now - b.openedAt >= settings.cooldownMs
    ? { state: 'half_open', probeInFlight: false }
    : b;
}

/** A probe call was sent: no other call may go until it answers. */
export function breakerProbeSent(): BreakerState {
  return { state: 'half_open', probeInFlight: true };
}

/**
 * A call ended. `probe` says whether this call was the half-open probe; calls sent before the
 * breaker opened that answer late change nothing, so one slow straggler cannot close it.
 */
export function breakerOnResult(
  b: BreakerState,
  outcome: CallOutcome,
  probe: boolean,
  stats: WindowStats,
  now: number,
  settings: BreakerSettings,
): BreakerState {
  const failed = outcome !== 'success';
  switch (b.state) {
    case 'closed': {
      if (!failed) return b.consecutiveFailures === 0 ? b : CLOSED;
      const consecutive = b.consecutiveFailures + 1;
      if (consecutive >= settings.consecutiveFailures) {
        return { state: 'open', openedAt: now, reason: `${consecutive} failures in a row` };
      }
      const rate = stats.samples === 0 ? 0 : (stats.failures + stats.timeouts) / stats.samples;
      if (stats.samples >= settings.minSamples && rate >= settings.failureRate) {
        return {
          state: 'open',
          openedAt: now,
          reason: `${Math.round(rate * 100)}% of the last ${stats.samples} calls failed`,
        };
      }
      return { state: 'closed', consecutiveFailures: consecutive };
    }
    case 'open':
      return b;
    case 'half_open':
      if (!probe) return b;
      return failed ? { state: 'open', openedAt: now, reason: 'half-open probe failed' } : CLOSED;
    default:
      return assertNever(b);
  }
}
