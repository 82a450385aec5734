// An --import hook that times every better-sqlite3 statement of the process by its SQL text
// (wall time, so a commit's wait for the disk and time off the CPU count) and every 2 s appends
// the running totals, with the CLOCK_MONOTONIC time in µs (a --cpu-prof profile's clock, and
// BENCH_PROGRESS's), as one JSON line to $SQLITE_TIMING_FILE. bench/sqlite-timing-windows.js
// compares two stretches of rows of a bench:batch run from it.
//
//   SQLITE_TIMING_FILE=/tmp/sql.jsonl BENCH_PROGRESS=/tmp/progress.json \
//   BENCH_NODE_ARGS="--import ./bench/sqlite-timing.js" BENCH_CHANNELS=remote \
//   BENCH_BATCH_SIZES=100000 npm run bench:batch
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');
const probe = new Database(':memory:');
const statement = Object.getPrototypeOf(probe.prepare('select 1'));
probe.close();

/** SQL text → [calls, ns]. */
const totals = new Map();
const add = (sql, ns) => {
  let t = totals.get(sql);
  if (t === undefined) totals.set(sql, (t = [0, 0]));
  t[0] += 1;
  t[1] += ns;
};
for (const method of ['run', 'get', 'all']) {
  const original = statement[method];
  statement[method] = function (...args) {
    const t0 = process.hrtime.bigint();
    try {
      return original.apply(this, args);
    } finally {
      add(this.source, Number(process.hrtime.bigint() - t0));
    }
  };
}
const exec = Database.prototype.exec;
Database.prototype.exec = function (sql) {
  const t0 = process.hrtime.bigint();
  try {
    return exec.call(this, sql);
  } finally {
    add(`EXEC ${sql.slice(0, 200)}`, Number(process.hrtime.bigint() - t0));
  }
};

const file = process.env.SQLITE_TIMING_FILE;
if (file !== undefined) {
  setInterval(() => {
    const at = Number(process.hrtime.bigint() / 1000n);
    appendFileSync(file, `${JSON.stringify({ at, totals: [...totals] })}\n`);
  }, 2000).unref();
}
