import { describe, expect, it } from 'vitest';
import { runSeed, type SeedResult } from './simulation/run-seed.js';

/**
 * The deterministic simulation (docs/guide/simulation.md) in CI: seeds from a fixed start, each a
 * short day of chaos traffic against crashing instances, every invariant checked after it, for a
 * time budget (VOPR_BUDGET_S, default 150 s) or VOPR_SEEDS seeds (default 300), whichever comes
 * first, and never fewer than VOPR_MIN_SEEDS (default 25): on a machine shared by other work the
 * same budget covers fewer seeds, each of them still replayed exactly. A failing seed names itself
 * and its trace's tail; `npm run simulate -- --seed S --steps 8 --trace` replays it.
 */
const SEEDS = Number(process.env.VOPR_SEEDS ?? 300);
const MIN_SEEDS = Math.min(SEEDS, Number(process.env.VOPR_MIN_SEEDS ?? 25));
const BUDGET_MS = Number(process.env.VOPR_BUDGET_S ?? 150) * 1000;
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

  it(`keeps every invariant over up to ${SEEDS} seeds of chaos, crashes and repairs`, async () => {
    const failed: string[] = [];
    let crashes = 0;
    let ran = 0;
    const began = Date.now();
    for (let seed = FIRST; seed < FIRST + SEEDS; seed++) {
      if (ran >= MIN_SEEDS && Date.now() - began > BUDGET_MS) break;
      const r = await runSeed(seed, { steps: STEPS });
      ran += 1;
      crashes += r.stats.crashes ?? 0;
      if (!r.ok) failed.push(explain(r));
    }
    console.log(
      `simulation: ${ran} seeds (${FIRST}..${FIRST + ran - 1}) in ${((Date.now() - began) / 1000).toFixed(0)} s`,
    );
    expect(failed, failed.join('\n\n')).toEqual([]);
    // The chaos must have bitten: some instances died on the way.
    expect(crashes).toBeGreaterThan(ran / 5);
  }, 1_200_000);
});
