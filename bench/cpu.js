// Benchmark: CPU per request, in process (no sockets, no load generator): the service built from
// dist/ with createApp, requests sent with Fastify's inject, 16 at a time. Measures
// process.cpuUsage() and the event loop's busy time around `BENCH_READS` authenticated
// GET /api/v1/orders/:id and around `BENCH_ORDERS` auto-paid POST /api/v1/order (until every
// order is terminal: the worker's pay and fulfil jobs count), after a warm-up, `BENCH_RUNS` times,
// and prints each run and the median.
// On PostgreSQL it also reads the CPU of the server backends connected to its database
// (/proc/<pid>/stat; the server must run on this machine). CPU, not a rate: the machine is shared.
//
//   npm run bench:cpu                                   (SQLite; 20,000 reads, 3,000 orders, 3 runs)
//   BENCH_DB=postgres BENCH_ORDERS=2000 npm run bench:cpu
//   BENCH_PROFILE=cpu.cpuprofile npm run bench:cpu       (a CPU profile of the measured runs)
//   BENCH_COMPILED=100 npm run bench:cpu                 (which SQL Kysely compiled, per request)
//   BENCH_ALLOC=1 npm run bench:cpu                      (bytes allocated per request, sampled by V8,
//                                                         and where; the sampling costs some CPU)
//   node bench/profile-summary.js cpu.cpuprofile         (that profile's self time by package, file, function)
//
// Beside the CPU it prints, per request, the user and system halves of the service's CPU, its
// context switches (involuntary ones: the process was runnable but another took its core, e.g. a
// backend it had just woken) and, on PostgreSQL, the statements sent (round trips).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { DefaultQueryCompiler } from 'kysely';
import pg from 'pg';
import { createApp } from '../dist/composition/create-app.js';
import { loadConfig } from '../dist/config/load-config.js';
import { processTicks } from './server-process.js';

const engine = process.env.BENCH_DB ?? 'sqlite';
const READS = Number(process.env.BENCH_READS ?? 20_000);
const ORDERS = Number(process.env.BENCH_ORDERS ?? 3_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const admin = process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const dir = mkdtempSync(join(tmpdir(), 'autoglm-bench-cpu-'));
// BENCH_DB_PREFIX: the scratch database's name prefix (several people benchmark on one server).
const dbName = `${process.env.BENCH_DB_PREFIX ?? 'autoglm_bench_cpu'}_${process.pid}`;

async function adminQuery(text, params = []) {
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

let url = `sqlite:${join(dir, 'bench.db')}`;
if (engine === 'postgres') {
  await adminQuery(`create database "${dbName}"`);
  const u = new URL(admin);
  u.pathname = `/${dbName}`;
  url = u.toString();
}

const loaded = loadConfig({
  env: {},
  overrides: {
    auto_confirm_order: true,
    trusted_actions: ['order_coffee', 'submit_payment'],
    database: { url },
    log: { level: 'warn' },
    simulator: { starting_balance: 9_000_000_000, journal_dir: join(dir, 'simulator') },
    // One client on one address: measure the requests, not the per-IP budget.
    rate_limit: { enabled: false },
    auth: { admin_key_file: join(dir, 'admin-key') },
    ...(engine === 'postgres' ? { security: { master_key: Buffer.alloc(32, 1).toString('base64') } } : {}),
  },
});
if (!loaded.ok) throw new Error(`${loaded.error.message}: ${loaded.error.issues.join('; ')}`);
const app = await createApp(loaded.value, { logDestination: new Writable({ write: (_c, _e, cb) => cb() }) });
app.start();
const auth = { authorization: `Bearer ${readFileSync(join(dir, 'admin-key'), 'utf8').trim()}` };

/** CPU ticks (1/100 s) of the server backends connected to the benchmark's database. */
async function backendTicks() {
  if (engine !== 'postgres') return 0;
  const { rows } = await adminQuery('select pid from pg_stat_activity where datname = $1', [dbName]);
  return processTicks(rows.map((r) => r.pid));
}

async function order() {
  const r = await app.http.inject({
    method: 'POST',
    url: '/api/v1/order',
    headers: { 'content-type': 'application/json', ...auth },
    payload: { drink: 'latte', size: 'medium' },
  });
  if (r.statusCode >= 300) throw new Error(`order: ${r.statusCode} ${r.body}`);
  return r.json().order.id;
}

async function allTerminal() {
  for (;;) {
    const r = await app.http.inject({
      url: '/api/v1/orders?limit=1&status=CREATED,AWAITING_PAYMENT,PAYMENT_PROCESSING,PAID,FULFILLING',
      headers: auth,
    });
    if (r.json().data.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function concurrently(n, one) {
  let left = n;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (left-- > 0) await one();
    }),
  );
}

const orders = async (n) => {
  await concurrently(n, order);
  await allTerminal();
};
const reads = (id, n) =>
  concurrently(n, async () => {
    const r = await app.http.inject({ url: `/api/v1/orders/${id}`, headers: auth });
    if (r.statusCode !== 200) throw new Error(`read: ${r.statusCode} ${r.body}`);
  });

const id = await order();
await orders(Math.min(500, ORDERS)); // warm-up: JIT, caches, pool connections, compiled queries
await reads(id, Math.min(3000, READS));

const compiled = new Map();
if (process.env.BENCH_COMPILED !== undefined) {
  const compile = DefaultQueryCompiler.prototype.compileQuery;
  DefaultQueryCompiler.prototype.compileQuery = function (node, queryId) {
    const c = compile.call(this, node, queryId);
    const text = c.sql.slice(0, Number(process.env.BENCH_COMPILED)).replace(/\s+/g, ' ');
    compiled.set(text, (compiled.get(text) ?? 0) + 1);
    return c;
  };
}
let session;
const ALLOC = process.env.BENCH_ALLOC === '1';
if (process.env.BENCH_PROFILE !== undefined || ALLOC) {
  const { Session } = await import('node:inspector/promises');
  session = new Session();
  session.connect();
}
if (process.env.BENCH_PROFILE !== undefined) {
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
if (ALLOC) await session.post('HeapProfiler.enable');
/** Allocated bytes by where they were allocated (function and file), from a sampling heap profile. */
const allocated = { read: [], order: [] };
const allocatedWhere = { read: new Map(), order: new Map() };
function addAllocations(kind, node) {
  const f = node.callFrame;
  const where = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}`;
  const size = node.selfSize;
  if (size > 0) allocatedWhere[kind].set(where, (allocatedWhere[kind].get(where) ?? 0) + size);
  let total = size;
  for (const child of node.children) total += addAllocations(kind, child);
  return total;
}

const cpuUs = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};
const results = { read: [], readBackends: [], readLoop: [], order: [], orderBackends: [], orderLoop: [] };
const counts = { read: [], order: [] };
/** What the service did besides its CPU time: system share, context switches, statements sent. */
function counters() {
  const u = process.resourceUsage();
  return {
    system: u.systemCPUTime,
    switches: u.involuntaryContextSwitches,
    waits: u.voluntaryContextSwitches,
    statements: app.storage.statementsSent?.() ?? 0,
  };
}
async function measure(kind, n, work) {
  const b0 = await backendTicks();
  const k0 = counters();
  const c0 = cpuUs();
  const l0 = performance.eventLoopUtilization();
  if (ALLOC)
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 8192,
      // Every allocation counts, also what the next scavenge collects: the GC's work follows it.
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  await work();
  results[kind].push((cpuUs() - c0) / n);
  const k1 = counters();
  counts[kind].push(Object.fromEntries(Object.keys(k1).map((k) => [k, (k1[k] - k0[k]) / n])));
  if (ALLOC) {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    allocated[kind].push(addAllocations(kind, profile.head) / n);
  }
  // The event loop's busy time (running code or blocked in a call, not waiting in epoll): what
  // bounds one process's rate, whatever other threads (libuv's pool, GC helpers) do beside it.
  results[`${kind}Loop`].push((performance.eventLoopUtilization(l0).active * 1000) / n);
  results[`${kind}Backends`].push((((await backendTicks()) - b0) * 10_000) / n);
}
for (let run = 0; run < RUNS; run++) {
  if (READS > 0) await measure('read', READS, () => reads(id, READS));
  if (ORDERS > 0) await measure('order', ORDERS, () => orders(ORDERS));
}

if (process.env.BENCH_PROFILE !== undefined) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(process.env.BENCH_PROFILE, JSON.stringify(profile));
}
await app.close();
if (engine === 'postgres') await adminQuery(`drop database if exists "${dbName}" with (force)`);
rmSync(dir, { recursive: true, force: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const line = (name, xs) =>
  xs.length === 0
    ? ''
    : `${name.padEnd(34)}${String(Math.round(median(xs))).padStart(7)} µs   (runs: ${xs.map(Math.round).join(', ')})\n`;
process.stdout.write(
  `\nCPU per request, in process, ${engine}, Node ${process.version}, median of ${RUNS} runs\n` +
    line('GET /api/v1/orders/:id (service)', results.read) +
    line('  … event loop busy', results.readLoop) +
    (engine === 'postgres' ? line('  … PostgreSQL backends', results.readBackends) : '') +
    line('POST /api/v1/order (service)', results.order) +
    line('  … event loop busy', results.orderLoop) +
    (engine === 'postgres' ? line('  … PostgreSQL backends', results.orderBackends) : ''),
);
// The run whose service CPU was the median one: its counters, per request.
for (const kind of ['read', 'order']) {
  const xs = results[kind];
  if (xs.length === 0) continue;
  const c = counts[kind][xs.indexOf(median(xs))];
  process.stdout.write(
    `${kind.padEnd(6)} per request (median run): system CPU ${Math.round(c.system)} µs, ` +
      `${c.switches.toFixed(2)} involuntary / ${c.waits.toFixed(2)} voluntary context switches` +
      (engine === 'postgres' ? `, ${c.statements.toFixed(2)} statements` : '') +
      '\n',
  );
}
if (ALLOC) {
  process.stdout.write(
    line('allocated per read (bytes)', allocated.read).replace('µs', ' B') +
      line('allocated per order (bytes)', allocated.order).replace('µs', ' B'),
  );
  for (const kind of ['read', 'order']) {
    const n = (kind === 'read' ? READS : ORDERS) * RUNS;
    if (n === 0) continue;
    process.stdout.write(`\nWhere a ${kind}'s allocations are made (bytes per ${kind}, top 25):\n`);
    for (const [where, bytes] of [...allocatedWhere[kind]].sort((a, b) => b[1] - a[1]).slice(0, 25))
      process.stdout.write(`${String(Math.round(bytes / n)).padStart(8)}  ${where}\n`);
  }
}
if (compiled.size > 0) {
  process.stdout.write('\nCompiled by Kysely per request (reads + orders):\n');
  for (const [text, n] of [...compiled].sort((a, b) => b[1] - a[1]).slice(0, 20))
    process.stdout.write(`${(n / ((READS + ORDERS) * RUNS)).toFixed(3).padStart(7)}  ${text}\n`);
}
process.exit(0);
