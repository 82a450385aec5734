// Summarises a V8 CPU profile (.cpuprofile, e.g. from `BENCH_PROFILE=cpu.cpuprofile npm run
// bench:cpu`): self time by package (node_modules), by our own files (dist/) and Node's, and by
// function, as a share of the time the thread was not idle. Optionally also the inclusive time of
// the functions whose "name file:line" matches a pattern (a function counted once per sample
// however deep it recurses).
//
// The profiler samples wall time on the main thread: a sample taken while the thread was off its
// core (preempted by a busy neighbour) lands on whatever was running, and time spent blocked in a
// system call (writev to a socket, fsync) shows as that call. `perf record` counts CPU instead.
//
//   node bench/profile-summary.js cpu.cpuprofile
//   node bench/profile-summary.js cpu.cpuprofile --top 60 --inclusive 'write-batching|pg/lib/client'
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const file = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
if (file === undefined) {
  process.stderr.write('usage: node bench/profile-summary.js FILE.cpuprofile [--top N] [--inclusive REGEX]\n');
  process.exit(2);
}
const option = (name) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? undefined : args[i + 1];
};
const top = Number(option('top') ?? 30);
const inclusive = option('inclusive');

const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** Microseconds of self time per node id. */
const self = new Map();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

const IDLE = new Set(['(idle)', '(program)']);
const short = (url) => url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, 'dist/');
const name = (f) => `${f.functionName || '(anonymous)'} ${short(f.url)}:${f.lineNumber + 1}`;
/** A package under node_modules, one of our files, a Node module, or V8's own (GC, natives). */
function owner(url) {
  if (url === '') return '(V8 / native)';
  const m = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
  if (m !== null) return m[1];
  if (url.includes('/dist/')) return short(url);
  return url.startsWith('node:') ? url : short(url);
}

const byOwner = new Map();
const byFunction = new Map();
const add = (m, k, t) => m.set(k, (m.get(k) ?? 0) + t);
let busy = 0;
let idle = 0;
for (const [id, t] of self) {
  const f = nodes.get(id).callFrame;
  if (IDLE.has(f.functionName)) {
    idle += t;
    continue;
  }
  busy += t;
  add(byOwner, owner(f.url), t);
  add(byFunction, name(f), t);
}

const pct = (t) => `${((100 * t) / busy).toFixed(2).padStart(6)} %`;
function print(title, m, n) {
  process.stdout.write(`\n${title}\n`);
  for (const [k, t] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) process.stdout.write(`${pct(t)}  ${k}\n`);
}
process.stdout.write(
  `${file}: ${(busy / 1e6).toFixed(2)} s not idle, ${(idle / 1e6).toFixed(2)} s idle; shares of the time not idle\n`,
);
print('Self time by package or file', byOwner, top);
print('Self time by function', byFunction, top);

if (inclusive !== undefined) {
  const pattern = new RegExp(inclusive);
  const within = new Map();
  for (const [id, t] of self) {
    if (IDLE.has(nodes.get(id).callFrame.functionName)) continue;
    const seen = new Set();
    for (let x = id; x !== undefined; x = parent.get(x)) {
      const n = name(nodes.get(x).callFrame);
      if (pattern.test(n) && !seen.has(n)) {
        seen.add(n);
        add(within, n, t);
      }
    }
  }
  print(`Inclusive time of functions matching /${inclusive}/`, within, top);
}
