import { describe, expect, it } from 'vitest';
import { runSeed, type SeedResult } from './simulation/run-seed.js';

/**
 * The deterministic simulation (docs/guide/simulation.md) in CI: a fixed range of seeds, each a
 * short day of chaos traffic against crashing instances, every invariant checked after it. A
 * failing seed names itself and its trace's tail; `npm run simulate -- --seed S --trace` replays it.
 * VOPR_SEEDS and VOPR_STEPS size the run (the defaults fit the 2-core CI machine in ~3 minutes).
 */
const SEEDS = Number(process.env.VOPR_SEEDS ?? 150);
const STEPS = Number(process.env.VOPR_STEPS ?? 8);
const FIRST = Number(process.env.VOPR_FROM ?? 1);

function explain(r: SeedResult): string {
  return [
    `seed ${r.seed} failed (replay: npm run simulate -- --seed ${r.seed} --steps ${STEPS} --trace):`,
    ...r.failures.map((f) => `  ${f}`),
    ...r.trace.slice(-25).map((l) => `    ${l}`),
  ].join('\n');
}

describe('the deterministic simulation', () => {
  it('replays a seed exactly: two runs of one seed give the same trace', async () => {
    const a = await runSeed(7, { steps: STEPS });
    const b = await runSeed(7, { steps: STEPS });
    expect(a.trace.length).toBeGreaterThan(20);
    expect(b.trace).toEqual(a.trace);
    expect(b.traceHash).toBe(a.traceHash);
  }, 120_000);

  it(`keeps every invariant over ${SEEDS} seeds of chaos, crashes and repairs`, async () => {
    const failed: string[] = [];
    let crashes = 0;
    for (let seed = FIRST; seed < FIRST + SEEDS; seed++) {
      const r = await runSeed(seed, { steps: STEPS });
      crashes += r.stats.crashes ?? 0;
      if (!r.ok) failed.push(explain(r));
    }
    expect(failed, failed.join('\n\n')).toEqual([]);
    // The chaos must have bitten: some instances died on the way.
    expect(crashes).toBeGreaterThan(SEEDS / 4);
  }, 600_000);
});
