// The documents' load test (`wrk -t12 -c400 -d30s` style, with autocannon): 400 connections for
// 30 s against one `autoglm serve` on its embedded defaults (SQLite, in-process simulators), first
// against read endpoints (an order's status, the wallet), then against POST /api/v1/order with
// auto-pay. Afterwards every order placed must be terminal. Only 127.0.0.1 is targeted; each run
// is bounded in time.
//
//   npm run bench:load                        (defaults: 400 connections, 30 s per run)
//   BENCH_SECONDS=10 BENCH_CONNECTIONS=200 npm run bench:load
import { cpus, totalmem } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { adminAuth, startServer, stop } from './server-process.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 30);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 400);

const dir = mkdtempSync(join(tmpdir(), 'autoglm-load-'));
const server = await startServer(['bin/autoglm.js', 'serve', '--port', '0', '--db', `sqlite:${join(dir, 'load.db')}`], {
  AUTOGLM_LOG_LEVEL: 'warn',
  AUTOGLM_AUTO_CONFIRM_ORDER: 'true',
  AUTOGLM_TRUSTED_ACTIONS: 'order_coffee,submit_payment',
  AUTOGLM__SIMULATOR__STARTING_BALANCE: '9000000000',
  // One load generator on one address: measure the service, not the per-IP budget.
  AUTOGLM__RATE_LIMIT__ENABLED: 'false',
});
const auth = adminAuth(join(dir, 'admin-key'));
const json = { 'content-type': 'application/json', ...auth };

async function load(name, options) {
  const r = await autocannon({ connections, duration: seconds, timeout: 10, ...options });
  return {
    name,
    rps: r.requests.average,
    total: r.requests.total,
    mean: r.latency.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}

try {
  const placed = await fetch(`${server.url}/api/v1/order`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ drink: 'latte', size: 'medium' }),
  });
  const { order } = await placed.json();
  // Warm-up: JIT, SQLite page cache.
  await autocannon({ url: `${server.url}/api/v1/orders/${order.id}`, connections: 20, duration: 2, headers: auth });

  const results = [
    await load(`GET /api/v1/orders/:id`, { url: `${server.url}/api/v1/orders/${order.id}`, headers: auth }),
    await load('GET /api/v1/wallet', { url: `${server.url}/api/v1/wallet`, headers: auth }),
    await load('POST /api/v1/order (auto-pay)', {
      url: `${server.url}/api/v1/order`,
      method: 'POST',
      headers: json,
      body: JSON.stringify({ drink: 'latte', size: 'medium' }),
    }),
  ];

  // Requests cut off when the run ended keep going on the server: every order must end.
  let unfinished = -1;
  for (let i = 0; i < 100 && unfinished !== 0; i++) {
    const res = await fetch(`${server.url}/api/v1/orders?limit=1&status=CREATED,PAYMENT_PROCESSING,PAID,FULFILLING`, {
      headers: auth,
    });
    unfinished = (await res.json()).data.length;
    if (unfinished !== 0) await new Promise((r) => setTimeout(r, 200));
  }

  const ms = (n) => `${n.toFixed(1)} ms`.padStart(10);
  console.log(
    `\nLoad test — ${connections} connections, ${seconds} s per run; ${cpus().length} × ${cpus()[0].model}, ` +
      `${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; SQLite WAL synchronous=FULL, ` +
      `embedded simulators journalled; rate limit off (one load generator on one address)`,
  );
  console.log(
    `${''.padEnd(32)}   req/s     total       mean        p50        p99        max  non-2xx  errors  timeouts`,
  );
  for (const r of results)
    console.log(
      `${r.name.padEnd(32)}${r.rps.toFixed(0).padStart(8)}${String(r.total).padStart(10)}${ms(r.mean)}${ms(r.p50)}` +
        `${ms(r.p99)}${ms(r.max)}${String(r.non2xx).padStart(9)}${String(r.errors).padStart(8)}` +
        `${String(r.timeouts).padStart(10)}`,
    );
  const reads = results.slice(0, 2);
  const pass = (b) => (b ? 'yes' : 'NO');
  console.log(
    `\nreads: mean < 100 ms ${pass(reads.every((r) => r.mean < 100))}, > 1,000 req/s ` +
      `${pass(reads.every((r) => r.rps > 1000))}, 0 errors ${pass(reads.every((r) => r.errors + r.timeouts + r.non2xx === 0))}`,
  );
  const w = results[2];
  console.log(
    `orders: 0 errors ${pass(w.errors + w.non2xx === 0)}, 0 timeouts ${pass(w.timeouts === 0)}, ` +
      `every order terminal afterwards ${pass(unfinished === 0)}, ${w.rps.toFixed(0)} orders/s`,
  );
} finally {
  await stop(server.child);
  rmSync(dir, { recursive: true, force: true });
}
