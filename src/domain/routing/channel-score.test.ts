import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CallSample, DEFAULT_WINDOW_SETTINGS, pruneWindow, recordSample, windowStats } from './channel-window.js';
import { type Candidate, DEFAULT_SCORE_SETTINGS, pickCandidate, scoreCandidates } from './channel-score.js';

function candidate(
  channel: string,
  latencyMs: number,
  ok: number,
  bad: number,
  inFlight = 0,
  capacity = 10,
): Candidate {
  const samples: CallSample[] = [
    ...Array.from({ length: ok }, () => ({ at: 0, latencyMs, outcome: 'success' as const })),
    ...Array.from({ length: bad }, () => ({ at: 0, latencyMs, outcome: 'failure' as const })),
  ];
  return { channel, stats: windowStats(samples), inFlight, capacity };
}

describe('sliding window', () => {
  it('forgets calls older than the window and beyond the sample cap', () => {
    const settings = { windowMs: 1000, maxSamples: 3 };
    let w: readonly CallSample[] = [];
    for (const at of [0, 100, 200, 300]) w = recordSample(w, { at, latencyMs: at, outcome: 'success' }, settings);
    expect(w.map((s) => s.at)).toEqual([100, 200, 300]);
    expect(pruneWindow(w, 1150, settings).map((s) => s.at)).toEqual([200, 300]);
    expect(pruneWindow(w, 5000, settings)).toEqual([]);
  });

  it('stats: rates, mean and quantiles', () => {
    const w: CallSample[] = [
      { at: 0, latencyMs: 100, outcome: 'success' },
      { at: 0, latencyMs: 300, outcome: 'failure' },
      { at: 0, latencyMs: 5000, outcome: 'timeout' },
      { at: 0, latencyMs: 200, outcome: 'success' },
    ];
    expect(windowStats(w)).toEqual({
      samples: 4,
      successes: 2,
      failures: 1,
      timeouts: 1,
      successRate: 0.5,
      meanLatencyMs: 1400,
      p50LatencyMs: 200,
      p99LatencyMs: 5000,
    });
    expect(windowStats([]).successRate).toBeNull();
    expect(DEFAULT_WINDOW_SETTINGS).toEqual({ windowMs: 60_000, maxSamples: 200 });
  });
});

describe('channel scores', () => {
  it('uses the documents’ weights 0.4 / 0.4 / 0.2 by default', () => {
    expect(DEFAULT_SCORE_SETTINGS.weights).toEqual({ latency: 0.4, success: 0.4, load: 0.2 });
    const [fast, slow] = scoreCandidates(
      [candidate('fast', 100, 97, 0, 0), candidate('slow', 200, 97, 0, 5)],
      DEFAULT_SCORE_SETTINGS,
    );
    expect(fast).toMatchObject({ latency: 1, success: 1, load: 1, score: 1 });
    expect(slow).toMatchObject({ latency: 0.5, load: 0.5 });
    expect(slow?.score).toBeCloseTo(0.4 * 0.5 + 0.4 * 1 + 0.2 * 0.5);
  });

  it('smooths success toward the prior: two lucky calls do not beat two hundred good ones', () => {
    const [lucky, proven] = scoreCandidates([candidate('lucky', 100, 2, 0), candidate('proven', 100, 199, 1)], {
      ...DEFAULT_SCORE_SETTINGS,
      prior: { successRate: 0.9, weight: 10 },
    });
    expect(lucky!.success).toBeLessThan(proven!.success);
  });

  it('an unmeasured channel is assumed as good as the best, so it gets tried', () => {
    const [fresh] = scoreCandidates(
      [candidate('fresh', 0, 0, 0), candidate('known', 150, 50, 0)],
      DEFAULT_SCORE_SETTINGS,
    );
    expect(fresh).toMatchObject({ latency: 1, success: 1 });
  });

  it('round-robin cycles, random is uniform, smart favours the better channel', () => {
    const cs = [candidate('a', 100, 100, 0), candidate('b', 400, 80, 20), candidate('c', 800, 70, 30)];
    expect([0, 1, 2, 3, 4].map((t) => pickCandidate('round_robin', cs, DEFAULT_SCORE_SETTINGS, 0.5, t))).toEqual([
      0, 1, 2, 0, 1,
    ]);
    expect([0, 0.34, 0.67, 0.999].map((r) => pickCandidate('random', cs, DEFAULT_SCORE_SETTINGS, r, 0))).toEqual([
      0, 1, 2, 2,
    ]);
    const picks = [0, 0, 0];
    for (let i = 0; i < 1000; i += 1)
      picks[pickCandidate('smart', cs, DEFAULT_SCORE_SETTINGS, (i + 0.5) / 1000, 0)]! += 1;
    expect(picks[0]).toBeGreaterThan(950);
    expect(picks[1]! + picks[2]!).toBeGreaterThan(0);
    // Sharpness 1 is the documents' plain proportional weighting.
    const plain = [0, 0, 0];
    for (let i = 0; i < 1000; i += 1)
      plain[pickCandidate('smart', cs, { ...DEFAULT_SCORE_SETTINGS, sharpness: 1 }, (i + 0.5) / 1000, 0)]! += 1;
    expect(plain[0]).toBeLessThan(500);
    expect(plain[0]).toBeGreaterThan(plain[2]!);
  });

  it('always returns a valid index', () => {
    const arbCandidate = fc.record({
      latency: fc.integer({ min: 0, max: 10_000 }),
      ok: fc.integer({ min: 0, max: 50 }),
      bad: fc.integer({ min: 0, max: 50 }),
      inFlight: fc.integer({ min: 0, max: 20 }),
      capacity: fc.integer({ min: 0, max: 20 }),
    });
    fc.assert(
      fc.property(
        fc.array(arbCandidate, { minLength: 1, maxLength: 6 }),
        fc.constantFrom('smart', 'round_robin', 'random' as const),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.nat(),
        (raw, strategy, random, turn) => {
          const cs = raw.map((c, i) => candidate(`c${i}`, c.latency, c.ok, c.bad, c.inFlight, c.capacity));
          const idx = pickCandidate(strategy, cs, DEFAULT_SCORE_SETTINGS, random, turn);
          expect(idx).toBeGreaterThanOrEqual(0);
          expect(idx).toBeLessThan(cs.length);
          for (const s of scoreCandidates(cs, DEFAULT_SCORE_SETTINGS)) {
            expect(s.score).toBeGreaterThanOrEqual(0);
            expect(s.score).toBeLessThanOrEqual(1);
          }
        },
      ),
    );
  });
});
