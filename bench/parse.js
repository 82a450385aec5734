// Benchmark: the embedded grammar (words → validated intent, no network) on one core. Reads the
// labelled corpus, parses it round after round for a fixed time, and prints parses per second
// and the p50/p99/max time of one parse.
//
//   npm run bench:parse                 (defaults: 1 s warm-up, 5 s measured)
//   BENCH_SECONDS=2 npm run bench:parse
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ActionCatalog } from '../dist/domain/intent/catalog.js';
import { Grammar } from '../dist/domain/intent/grammar.js';
import { parseWithGrammar } from '../dist/domain/intent/interpret.js';
import { DEFAULT_MENU } from '../dist/domain/menu.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const texts = readFileSync(new URL('../test/nlu/corpus.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l).text);

const catalog = new ActionCatalog();
const grammar = new Grammar(DEFAULT_MENU);
const ctx = { menu: DEFAULT_MENU };

function run(ms, sample) {
  const times = [];
  let n = 0;
  let kinds = { intent: 0, clarify: 0, error: 0 };
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (const t of texts) {
      const t0 = sample ? performance.now() : 0;
      const r = parseWithGrammar(grammar, catalog, ctx, t);
      if (sample) times.push(performance.now() - t0);
      kinds[r.kind]++;
      n++;
    }
  }
  return { n, times, kinds };
}

run(1000, false); // warm-up: let the JIT settle
// Throughput without per-parse timers, then latency with them (timers cost time too).
// CPU time as well as wall time: on a shared machine the wall clock also counts other processes.
const t0 = performance.now();
const c0 = process.cpuUsage();
const through = run(seconds * 1000, false);
const elapsed = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(c0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const lat = run(Math.max(1000, seconds * 200), true);
const sorted = lat.times.sort((a, b) => a - b);
const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const us = (ms) => `${(ms * 1000).toFixed(1)} µs`;

console.log(
  `grammar parse: ${texts.length} corpus utterances, ${through.n.toLocaleString('en')} parses in ` +
    `${elapsed.toFixed(1)} s on one core`,
);
console.log(
  `  ${Math.round(through.n / cpuSeconds).toLocaleString('en')} parses per CPU-second ` +
    `(target ≥ 50,000/s on one core); ` +
    `${Math.round(through.n / elapsed).toLocaleString('en')} parses per wall-clock second ` +
    `(${Math.round((cpuSeconds / elapsed) * 100)} % of a core was ours)`,
);
console.log(`  per parse: p50 ${us(pct(50))}, p99 ${us(pct(99))}, max ${us(sorted[sorted.length - 1])}`);
console.log(`  results: ${JSON.stringify(through.kinds)}`);
