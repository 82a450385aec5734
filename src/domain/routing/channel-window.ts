/**
 * A channel's recent record: a sliding window of call outcomes, bounded both in time and in
 * count, so a channel that degrades loses its good history within `windowMs` (or sooner, once
 * `maxSamples` newer calls have pushed the old ones out).
 */

export type CallOutcome = 'success' | 'failure' | 'timeout';

export interface CallSample {
  /** When the call ended (ms since epoch, injected clock). */
  readonly at: number;
  readonly latencyMs: number;
  readonly outcome: CallOutcome;
}

export interface WindowSettings {
  readonly windowMs: number;
  readonly maxSamples: number;
}

export const DEFAULT_WINDOW_SETTINGS: WindowSettings = { windowMs: 60_000, maxSamples: 200 };

export interface WindowStats {
  readonly samples: number;
  readonly successes: number;
  readonly failures: number;
  readonly timeouts: number;
  /** successes / samples; null with no samples. */
  readonly successRate: number | null;
  /** Mean latency of the window's calls (a timeout counts for the time it cost); null with no samples. */
  readonly meanLatencyMs: number | null;
  readonly p50LatencyMs: number | null;
  readonly p99LatencyMs: number | null;
}

/** Drop samples older than the window. Samples are kept oldest first. */
export function pruneWindow(
  samples: readonly CallSample[],
  now: number,
  settings: WindowSettings,
): readonly CallSample[] {
  const from = now - settings.windowMs;
  let i = 0;
  while (i < samples.length && (samples[i]?.at ?? 0) <= from) i += 1;
  const start = Math.max(i, samples.length - settings.maxSamples);
  return start === 0 ? samples : samples.slice(start);
}

export function recordSample(
  samples: readonly CallSample[],
  sample: CallSample,
  settings: WindowSettings,
): readonly CallSample[] {
  return pruneWindow([...samples, sample], sample.at, settings);
}

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx] ?? null;
}

/** Counts, rates and latencies of a window; `quantiles` false skips the sort (routing needs only means). */
export function windowStats(samples: readonly CallSample[], quantiles = true): WindowStats {
  let successes = 0;
  let failures = 0;
  let timeouts = 0;
  let total = 0;
  for (const s of samples) {
    if (s.outcome === 'success') successes += 1;
    else if (s.outcome === 'failure') failures += 1;
    else timeouts += 1;
    total += s.latencyMs;
  }
  const n = samples.length;
  const sorted = quantiles ? samples.map((s) => s.latencyMs).sort((a, b) => a - b) : [];
  return {
    samples: n,
    successes,
    failures,
    timeouts,
    successRate: n === 0 ? null : successes / n,
    meanLatencyMs: n === 0 ? null : total / n,
    p50LatencyMs: quantile(sorted, 0.5),
    p99LatencyMs: quantile(sorted, 0.99),
  };
}
