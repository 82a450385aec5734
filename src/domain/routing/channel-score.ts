import { assertNever } from '../result.js';
import type { WindowStats } from './channel-window.js';

/**
 * Smart routing's score (MISSION.md part 5): score = w_latency·L + w_success·S + w_load·B, each
 * term in [0, 1], with the documents' weights 0.4 / 0.4 / 0.2 by default.
 * - L: the fastest candidate's mean latency over this one's (1 for the fastest).
 * - S: success rate, smoothed toward `prior` with `priorWeight` pseudo-calls, so a channel
 *   with two lucky calls does not outrank one with two hundred good ones, and a new channel
 *   gets traffic to learn from.
 * - B: free capacity, 1 − in-flight / capacity.
 * A channel is picked at random with probability ∝ score^sharpness. With sharpness 1 this is
 * the documents' plain weighted random; usable channels' scores sit close together (0.7–1), so
 * the default sharpens the preference while every channel still gets some traffic to measure.
 */
export const ROUTING_STRATEGIES = ['smart', 'round_robin', 'random'] as const;
export type RoutingStrategy = (typeof ROUTING_STRATEGIES)[number];

export interface ScoreWeights {
  readonly latency: number;
  readonly success: number;
  readonly load: number;
}

export interface ScoreSettings {
  readonly weights: ScoreWeights;
  readonly sharpness: number;
  readonly prior: { readonly successRate: number; readonly weight: number };
}

export const DEFAULT_SCORE_SETTINGS: ScoreSettings = {
  weights: { latency: 0.4, success: 0.4, load: 0.2 },
  sharpness: 16,
  prior: { successRate: 1, weight: 3 },
};

export interface Candidate {
  readonly channel: string;
  readonly stats: WindowStats;
  readonly inFlight: number;
  readonly capacity: number;
}

export interface ChannelScore {
  readonly channel: string;
  readonly score: number;
  readonly latency: number;
  readonly success: number;
  readonly load: number;
}

export function scoreCandidates(candidates: readonly Candidate[], settings: ScoreSettings): ChannelScore[] {
  let fastest = Number.POSITIVE_INFINITY;
  for (const c of candidates) if (c.stats.meanLatencyMs !== null) fastest = Math.min(fastest, c.stats.meanLatencyMs);
  const { weights, prior } = settings;
  const total = weights.latency + weights.success + weights.load;
  return candidates.map((c) => {
    const mean = c.stats.meanLatencyMs;
    // No measurement yet: assume as fast as the best, so the channel gets tried.
    const latency = mean === null || !Number.isFinite(fastest) ? 1 : Math.max(1, fastest) / Math.max(1, mean);
    const success = (c.stats.successes + prior.successRate * prior.weight) / (c.stats.samples + prior.weight);
    const load = c.capacity <= 0 ? 0 : Math.max(0, 1 - c.inFlight / c.capacity);
    const score =
      total <= 0 ? 0 : (weights.latency * latency + weights.success * success + weights.load * load) / total;
    return { channel: c.channel, score, latency, success, load };
  });
}

/**
 * Choose among candidates (non-empty, in a stable order). `random` is one draw in [0, 1);
 * `turn` is this operator's round-robin counter. Returns the index of the chosen candidate.
 */
export function pickCandidate(
  strategy: RoutingStrategy,
  candidates: readonly Candidate[],
  settings: ScoreSettings,
  random: number,
  turn: number,
): number {
  const n = candidates.length;
  if (n <= 1) return 0;
  switch (strategy) {
    case 'round_robin':
      return ((turn % n) + n) % n;
    case 'random':
      return Math.min(n - 1, Math.floor(random * n));
    case 'smart': {
      const weights = scoreCandidates(candidates, settings).map((s) =>
        Math.pow(Math.max(0, s.score), settings.sharpness),
      );
      const sum = weights.reduce((a, b) => a + b, 0);
      if (sum <= 0) return Math.min(n - 1, Math.floor(random * n));
      let target = random * sum;
      for (let i = 0; i < n; i += 1) {
        target -= weights[i] ?? 0;
        if (target < 0) return i;
      }
      return n - 1;
    }
    default:
      return assertNever(strategy);
  }
}
