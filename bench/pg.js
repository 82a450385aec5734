// Benchmark: when to move from SQLite to PostgreSQL. The same workload as `npm run bench`
// (POST /api/v1/order with auto-pay against each instance's in-process simulator, every step
// durable) on 1, 2 and 3 `autoglm serve` instances sharing one PostgreSQL database, and on one
// instance over SQLite. The same total number of connections is spread over the instances.
// Beside it, the server's own yardstick in the same run: `pgbench` (TPC-B) with as many clients,
// and the statements (round trips) each order cost, read from the instances' metrics.
// Beside each rate, the CPU it cost (/proc; the server must run on this machine): the whole
// machine's busy CPU per order or per pgbench transaction (instances, backends, the load generator,
// the server's own processes), the instances' and their backends' share of it, and how busy the
// machine's cores were — so a ratio to pgbench can be read as a ratio of CPU costs.
//
//   npm run bench:pg                                  (defaults: 64 connections, 5 s per run)
//   BENCH_SECONDS=10 BENCH_CONNECTIONS=120 BENCH_PG=postgres://postgres@127.0.0.1:5432/test npm run bench:pg
//   BENCH_INSTANCES=1 BENCH_POOL=20 npm run bench:pg   (only one instance, 20 pooled connections)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { adminAuth, machineTicks, processTicks, startServer, stop } from './server-process.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const instanceCounts = (process.env.BENCH_INSTANCES ?? '1,2,3').split(',').map(Number);
const pool = process.env.BENCH_POOL;
const admin = process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const body = JSON.stringify({ drink: 'latte', size: 'medium' });
// BENCH_DB_PREFIX: the scratch databases' name prefix (several people benchmark on one server).
const prefix = process.env.BENCH_DB_PREFIX ?? 'autoglm';

// Each database's first start writes its admin key here; every request carries it.
const keyDir = mkdtempSync(join(tmpdir(), 'autoglm-bench-keys-'));
const keyFile = join(keyDir, 'admin-key');
let auth = {};

function startInstance(db) {
  return startServer(
    ['bin/autoglm.js', 'serve', '--port', '0', '--db', db],
    {
      AUTOGLM_LOG_LEVEL: 'warn',
      AUTOGLM_AUTO_CONFIRM_ORDER: 'true',
      AUTOGLM_TRUSTED_ACTIONS: 'order_coffee,submit_payment',
      AUTOGLM__SIMULATOR__STARTING_BALANCE: '9000000000',
      // One load generator on one address: measure the orders, not the per-IP budget.
      AUTOGLM__RATE_LIMIT__ENABLED: 'false',
      AUTOGLM__AUTH__ADMIN_KEY_FILE: keyFile,
      // PostgreSQL needs a master key shared by every instance (SQLite makes its own master.key).
      AUTOGLM_MASTER_KEY: Buffer.alloc(32, 1).toString('base64'),
      ...(pool === undefined ? {} : { AUTOGLM__DATABASE__POOL_SIZE: pool }),
    },
    60_000,
  );
}

async function adminQuery(text) {
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

/** The share of the machine's cores that were busy between two readings of machineTicks(). */
function busyShare(a, b) {
  const busy = b.busy - a.busy;
  return busy / (busy + b.idle - a.idle);
}

/** The server processes (backends) connected to a database now. */
async function backendsOf(database) {
  const { rows } = await adminQuery(`select pid from pg_stat_activity where datname = '${database}'`);
  return rows.map((r) => r.pid);
}

/**
 * Load every instance at once, splitting the connections; orders/s summed over instances.
 * `pids`: the instances' processes; `database`: theirs on PostgreSQL (undefined on SQLite).
 */
async function run(urls, pids, database) {
  const per = Math.max(1, Math.round(connections / urls.length));
  const fire = (duration) =>
    Promise.all(
      urls.map((url) =>
        autocannon({
          url: `${url}/api/v1/order`,
          method: 'POST',
          connections: per,
          duration,
          headers: { 'content-type': 'application/json', ...auth },
          body,
        }),
      ),
    );
  await fire(1); // warm-up: JIT, caches, pool connections
  const before = await Promise.all(urls.map(statementsSent));
  const backendPids = database === undefined ? [] : await backendsOf(database);
  const cpu0 = { machine: machineTicks(), service: processTicks(pids), backends: processTicks(backendPids) };
  const rs = await fire(seconds);
  const cpu1 = { machine: machineTicks(), service: processTicks(pids), backends: processTicks(backendPids) };
  const after = await Promise.all(urls.map(statementsSent));
  const orders = rs.reduce((s, r) => s + r['2xx'], 0);
  const sent = after.reduce((s, n, i) => s + n - before[i], 0);
  const msPerOrder = (ticks) => (orders === 0 ? NaN : (10 * ticks) / orders);
  return {
    cpu: {
      machine: msPerOrder(cpu1.machine.busy - cpu0.machine.busy),
      service: msPerOrder(cpu1.service - cpu0.service),
      backends: database === undefined ? NaN : msPerOrder(cpu1.backends - cpu0.backends),
      busy: busyShare(cpu0.machine, cpu1.machine),
    },
    perOrder: orders === 0 || Number.isNaN(sent) ? NaN : sent / orders,
    rps: rs.reduce((s, r) => s + r.requests.average, 0),
    p50: Math.max(...rs.map((r) => r.latency.p50)),
    p99: Math.max(...rs.map((r) => r.latency.p99)),
    non2xx: rs.reduce((s, r) => s + r.non2xx, 0),
    errors: rs.reduce((s, r) => s + r.errors + r.timeouts, 0),
  };
}

/** Statements the instance has sent to PostgreSQL so far (NaN on SQLite, which has no such count). */
async function statementsSent(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = text.match(/^autoglm_db_statements_total (\d+)/m);
  return m === null ? NaN : Number(m[1]);
}

/** pgbench's TPC-B on a scratch database of the same server, as many clients: its transactions/s. */
async function pgbench() {
  const name = `${prefix}_pgbench_${process.pid}`;
  await adminQuery(`create database "${name}"`);
  const url = new URL(admin);
  try {
    const args = ['-h', url.hostname, '-p', url.port || '5432', '-U', decodeURIComponent(url.username) || 'postgres'];
    execFileSync('pgbench', [...args, '-i', '-q', '-s', '10', name], { stdio: 'ignore' });
    const t0 = machineTicks();
    const out = execFileSync('pgbench', [...args, '-c', String(connections), '-j', '2', '-T', String(seconds), name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const t1 = machineTicks();
    const tps = out.match(/tps = ([\d.]+) \(without initial connection time\)/);
    const done = out.match(/number of transactions actually processed: (\d+)/);
    if (tps === null) return { tps: NaN };
    // Its connections' start-up is in the CPU too (64 backends forked): a little more than its transactions'.
    const cpu = done === null ? NaN : (10 * (t1.busy - t0.busy)) / Number(done[1]);
    return { tps: Number(tps[1]), cpu, busy: busyShare(t0, t1) };
  } catch {
    return { tps: NaN }; // no pgbench here: the ratio is left out
  } finally {
    await adminQuery(`drop database if exists "${name}" with (force)`);
  }
}

async function unfinished(url) {
  for (let i = 0; i < 50; i++) {
    const res = await fetch(`${url}/api/v1/orders?limit=1&status=PAYMENT_PROCESSING,PAID,FULFILLING`, {
      headers: auth,
    });
    if ((await res.json()).data.length === 0) return 0;
    await new Promise((r) => setTimeout(r, 100));
  }
  return 1;
}

const { tps: baseline, cpu: baselineCpu, busy: baselineBusy } = await pgbench();
const results = [];
for (const n of instanceCounts) {
  const name = `${prefix}_bench_${process.pid}_${n}`;
  await adminQuery(`create database "${name}"`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  try {
    const first = await startInstance(url.toString()); // migrates; the others find it done
    auth = adminAuth(keyFile);
    const rest = await Promise.all(Array.from({ length: n - 1 }, () => startInstance(url.toString())));
    const servers = [first, ...rest];
    const r = await run(
      servers.map((s) => s.url),
      servers.map((s) => s.child.pid),
      name,
    );
    r.left = await unfinished(first.url);
    results.push([`PostgreSQL, ${n} instance${n === 1 ? '' : 's'}`, r]);
    await Promise.all(servers.map((s) => stop(s.child)));
  } finally {
    await adminQuery(`drop database if exists "${name}" with (force)`);
  }
}
const dir = mkdtempSync(join(tmpdir(), 'autoglm-bench-'));
try {
  const s = await startInstance(`sqlite:${join(dir, 'bench.db')}`);
  auth = adminAuth(keyFile);
  const r = await run([s.url], [s.child.pid], undefined);
  r.left = await unfinished(s.url);
  results.push(['SQLite, 1 instance', r]);
  await stop(s.child);
} finally {
  rmSync(dir, { recursive: true, force: true });
  rmSync(keyDir, { recursive: true, force: true });
}

const fmt = (n) => n.toFixed(0).padStart(8);
const ms = (n) => `${n.toFixed(0)} ms`.padStart(9);
const [server] = (await adminQuery('show server_version')).rows.map((r) => r.server_version);
const [commit] = (await adminQuery('show synchronous_commit')).rows.map((r) => r.synchronous_commit);
console.log(
  `\nPOST /api/v1/order with auto-pay — ${connections} connections in all, ${seconds} s per run, ` +
    `Node ${process.version}, PostgreSQL ${server} (synchronous_commit=${commit}, pool ${pool ?? 'default'} ` +
    `per instance), SQLite WAL synchronous=FULL`,
);
console.log(
  `pgbench TPC-B, ${connections} clients, same server, same run: ` +
    `${Number.isNaN(baseline) ? 'not measured (no pgbench)' : `${baseline.toFixed(0)} transactions/s`}`,
);
console.log(`${''.padEnd(26)}orders/s  of pgbench       p50       p99   non-2xx  errors  statements/order  unfinished`);
for (const [label, r] of results) {
  const ratio = Number.isNaN(baseline) ? '' : `${((100 * r.rps) / baseline).toFixed(1)}%`;
  const perOrder = Number.isNaN(r.perOrder) ? '-' : r.perOrder.toFixed(1);
  console.log(
    `${label.padEnd(26)}${fmt(r.rps)} ${ratio.padStart(10)} ${ms(r.p50)} ${ms(r.p99)} ${String(r.non2xx).padStart(9)} ` +
      `${String(r.errors).padStart(7)}  ${perOrder.padStart(16)}  ${r.left === 0 ? 'none' : 'SOME'}`,
  );
}

// CPU an order: the rate × the CPU it costs = the busy cores, so a ratio to pgbench is a ratio of
// CPU costs (and of how busy each run kept the cores).
const cores = machineTicks().cores;
const cpuMs = (n) => (Number.isNaN(n) ? '-' : n.toFixed(2)).padStart(8);
const busy = (n) => (n === undefined || Number.isNaN(n) ? '-' : `${(100 * n).toFixed(0)}%`).padStart(6);
console.log(
  `\nCPU (ms of one core) per order or transaction, whole machine (${cores} cores: instances, backends, load ` +
    `generator, server):`,
);
console.log(`${''.padEnd(26)} machine  instances  backends   cores busy`);
console.log(
  `${'pgbench TPC-B'.padEnd(26)}${cpuMs(baselineCpu ?? NaN)} ${''.padStart(10)} ${''.padStart(9)}  ${busy(baselineBusy)}`,
);
for (const [label, r] of results)
  console.log(
    `${label.padEnd(26)}${cpuMs(r.cpu.machine)} ${cpuMs(r.cpu.service).padStart(10)} ${cpuMs(r.cpu.backends).padStart(9)}  ` +
      `${busy(r.cpu.busy)}`,
  );
if (!Number.isNaN(baseline))
  console.log(
    `40 % of pgbench's rate, with every core busy: at most ${((cores * 1000) / (0.4 * baseline)).toFixed(2)} ms of ` +
      'machine CPU an order',
  );
