import { describe, expect, it } from 'vitest';
import { type CallOutcome, windowStats } from './channel-window.js';
import {
  type BreakerState,
  breakerAdmission,
  breakerOnResult,
  breakerProbeSent,
  breakerView,
  CLOSED,
  DEFAULT_BREAKER_SETTINGS,
} from './circuit-breaker.js';

const S = DEFAULT_BREAKER_SETTINGS;
const noStats = windowStats([]);
const stats = (ok: number, bad: number) =>
  windowStats([
    ...Array.from({ length: ok }, () => ({ at: 0, latencyMs: 1, outcome: 'success' as const })),
    ...Array.from({ length: bad }, () => ({ at: 0, latencyMs: 1, outcome: 'failure' as const })),
  ]);

describe('circuit breaker', () => {
  it('defaults: 5 in a row, 50 % of ≥ 10, 10 minutes', () => {
    expect(S).toEqual({ consecutiveFailures: 5, failureRate: 0.5, minSamples: 10, cooldownMs: 600_000 });
  });

  const table: Array<[string, BreakerState, CallOutcome, boolean, ReturnType<typeof stats>, BreakerState['state']]> = [
    ['closed, success', CLOSED, 'success', false, noStats, 'closed'],
    ['closed, 4th failure in a row', { state: 'closed', consecutiveFailures: 3 }, 'failure', false, noStats, 'closed'],
    ['closed, 5th failure in a row', { state: 'closed', consecutiveFailures: 4 }, 'failure', false, noStats, 'open'],
    ['closed, 5th timeout in a row', { state: 'closed', consecutiveFailures: 4 }, 'timeout', false, noStats, 'open'],
    ['closed, window 50 % failed', CLOSED, 'failure', false, stats(5, 5), 'open'],
    ['closed, window 40 % failed', CLOSED, 'failure', false, stats(6, 4), 'closed'],
    ['closed, window too small', CLOSED, 'failure', false, stats(1, 8), 'closed'],
    ['open, late success', { state: 'open', openedAt: 0, reason: 'x' }, 'success', false, noStats, 'open'],
    ['half-open, probe succeeds', { state: 'half_open', probeInFlight: true }, 'success', true, noStats, 'closed'],
    ['half-open, probe fails', { state: 'half_open', probeInFlight: true }, 'failure', true, noStats, 'open'],
    ['half-open, probe times out', { state: 'half_open', probeInFlight: true }, 'timeout', true, noStats, 'open'],
    [
      'half-open, a straggler succeeds',
      { state: 'half_open', probeInFlight: true },
      'success',
      false,
      noStats,
      'half_open',
    ],
  ];
  it.each(table)('%s → %s', (_name, from, outcome, probe, st, expected) => {
    expect(breakerOnResult(from, outcome, probe, st, 1000, S).state).toBe(expected);
  });

  it('a success resets the run of failures', () => {
    const b = breakerOnResult({ state: 'closed', consecutiveFailures: 4 }, 'success', false, noStats, 0, S);
    expect(b).toEqual(CLOSED);
  });

  it('admits all when closed, none while cooling down, one probe after', () => {
    const open: BreakerState = { state: 'open', openedAt: 1000, reason: 'x' };
    expect(breakerAdmission(CLOSED, 0, S)).toBe('allow');
    expect(breakerAdmission(open, 1000 + S.cooldownMs - 1, S)).toBe('deny');
    expect(breakerAdmission(open, 1000 + S.cooldownMs, S)).toBe('probe');
    expect(breakerView(open, 1000 + S.cooldownMs, S).state).toBe('half_open');
    expect(breakerView(open, 1000, S).state).toBe('open');
    expect(breakerAdmission(breakerProbeSent(), 1000 + S.cooldownMs, S)).toBe('deny');
    expect(breakerAdmission({ state: 'half_open', probeInFlight: false }, 0, S)).toBe('probe');
  });
});
