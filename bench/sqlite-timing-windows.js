// Per SQL statement, calls and µs per recharge answered in two stretches of rows of one
// bench:batch run, from bench/sqlite-timing.js's file and BENCH_PROGRESS's samples: what a late
// recharge's SQL costs next to an early one's.
//
//   node bench/sqlite-timing-windows.js sql.jsonl progress.json 20000 30000 90000 100000
import { readFileSync } from 'node:fs';

const [file, progressFile, ...bounds] = process.argv.slice(2);
if (bounds.length !== 4) {
  process.stderr.write('usage: node bench/sqlite-timing-windows.js SQL.jsonl PROGRESS.json A0 A1 B0 B1\n');
  process.exit(2);
}
const snapshots = readFileSync(file, 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line));
const progress = JSON.parse(readFileSync(progressFile, 'utf8'));

/** Rows answered at time `at` (µs), between the two progress samples around it. */
function rowsAt(at) {
  let prev = progress[0];
  for (const s of progress) {
    if (s.at >= at)
      return s.at === prev.at
        ? s.finished
        : prev.finished + ((s.finished - prev.finished) * (at - prev.at)) / (s.at - prev.at);
    prev = s;
  }
  return prev.finished;
}

function window(from, to) {
  const a = snapshots.find((s) => rowsAt(s.at) >= from) ?? snapshots.at(-1);
  const b = snapshots.find((s) => rowsAt(s.at) >= to) ?? snapshots.at(-1);
  const recharges = rowsAt(b.at) - rowsAt(a.at);
  const before = new Map(a.totals);
  const per = new Map();
  for (const [sql, [calls, ns]] of b.totals) {
    const [calls0, ns0] = before.get(sql) ?? [0, 0];
    if (calls > calls0) per.set(sql, { calls: (calls - calls0) / recharges, us: (ns - ns0) / 1000 / recharges });
  }
  return { recharges, seconds: (b.at - a.at) / 1e6, per };
}

const A = window(Number(bounds[0]), Number(bounds[1]));
const B = window(Number(bounds[2]), Number(bounds[3]));
const none = { calls: 0, us: 0 };
const rows = [...new Set([...A.per.keys(), ...B.per.keys()])].map((sql) => ({
  sql,
  a: A.per.get(sql) ?? none,
  b: B.per.get(sql) ?? none,
}));
rows.sort((x, y) => Math.max(y.a.us, y.b.us) - Math.max(x.a.us, x.b.us));
const sum = (w, k) => rows.reduce((t, r) => t + r[w][k], 0);
console.log(
  `A: ${A.recharges.toFixed(0)} recharges in ${A.seconds.toFixed(1)} s; ` +
    `B: ${B.recharges.toFixed(0)} in ${B.seconds.toFixed(1)} s`,
);
console.log(
  `SQL a recharge: A ${sum('a', 'us').toFixed(0)} µs in ${sum('a', 'calls').toFixed(2)} statements, ` +
    `B ${sum('b', 'us').toFixed(0)} µs in ${sum('b', 'calls').toFixed(2)}`,
);
console.log('calls A   µs A | calls B   µs B | µs a call in B  statement');
for (const r of rows.slice(0, Number(process.env.TOP ?? 30))) {
  const perCall = r.b.calls > 0 ? r.b.us / r.b.calls : 0;
  console.log(
    `${r.a.calls.toFixed(2).padStart(7)} ${r.a.us.toFixed(1).padStart(6)} | ` +
      `${r.b.calls.toFixed(2).padStart(7)} ${r.b.us.toFixed(1).padStart(6)} | ${perCall.toFixed(1).padStart(9)}  ` +
      r.sql.replace(/\s+/g, ' ').slice(0, 140),
  );
}
