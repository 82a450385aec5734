// Benchmark: when to move from SQLite to PostgreSQL. The same workload as `npm run bench`
// (POST /api/v1/order with auto-pay against each instance's in-process simulator, every step
// durable) on 1, 2 and 3 `autoglm serve` instances sharing one PostgreSQL database, and on one
// instance over SQLite. The same total number of connections is spread over the instances.
//
//   npm run bench:pg                                  (defaults: 60 connections, 5 s per run)
//   BENCH_SECONDS=10 BENCH_CONNECTIONS=120 BENCH_PG=postgres://postgres@127.0.0.1:5432/test npm run bench:pg
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { adminAuth, startServer, stop } from './server-process.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 60);
const admin = process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const body = JSON.stringify({ drink: 'latte', size: 'medium' });

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

/** Load every instance at once, splitting the connections; orders/s summed over instances. */
async function run(urls) {
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
  const rs = await fire(seconds);
  return {
    rps: rs.reduce((s, r) => s + r.requests.average, 0),
    p50: Math.max(...rs.map((r) => r.latency.p50)),
    p99: Math.max(...rs.map((r) => r.latency.p99)),
    non2xx: rs.reduce((s, r) => s + r.non2xx, 0),
    errors: rs.reduce((s, r) => s + r.errors + r.timeouts, 0),
  };
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

const results = [];
for (const n of [1, 2, 3]) {
  const name = `autoglm_bench_${process.pid}_${n}`;
  await adminQuery(`create database "${name}"`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  try {
    const first = await startInstance(url.toString()); // migrates; the others find it done
    auth = adminAuth(keyFile);
    const rest = await Promise.all(Array.from({ length: n - 1 }, () => startInstance(url.toString())));
    const servers = [first, ...rest];
    const r = await run(servers.map((s) => s.url));
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
  const r = await run([s.url]);
  r.left = await unfinished(s.url);
  results.push(['SQLite, 1 instance', r]);
  await stop(s.child);
} finally {
  rmSync(dir, { recursive: true, force: true });
  rmSync(keyDir, { recursive: true, force: true });
}

const fmt = (n) => n.toFixed(0).padStart(8);
const ms = (n) => `${n.toFixed(0)} ms`.padStart(9);
console.log(
  `\nPOST /api/v1/order with auto-pay — ${connections} connections in all, ${seconds} s per run, ` +
    `Node ${process.version}`,
);
console.log(`${''.padEnd(26)}orders/s       p50       p99   non-2xx  errors  unfinished`);
for (const [label, r] of results) {
  console.log(
    `${label.padEnd(26)}${fmt(r.rps)} ${ms(r.p50)} ${ms(r.p99)} ${String(r.non2xx).padStart(9)} ` +
      `${String(r.errors).padStart(7)}  ${r.left === 0 ? 'none' : 'SOME'}`,
  );
}
