// Benchmark: POST /api/v1/order with auto-pay against the in-process simulator, next to a
// Fastify hello-world route measured the same way (server in its own process, autocannon here,
// 200 connections). Prints orders/s, p50/p99 latency, and the ratio to hello-world.
//
//   npm run bench                      (defaults: 200 connections, 10 s per run)
//   BENCH_SECONDS=5 BENCH_CONNECTIONS=100 npm run bench
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const root = fileURLToPath(new URL('..', import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 200);

/** Start a server process and resolve with its URL (the first line it prints that has one). */
function startServer(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${buf}`)), 20_000);
    child.stdout.on('data', (d) => {
      buf += d.toString();
      const m = buf.match(/http:\/\/127\.0\.0\.1:\d+/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[0] });
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${buf}`)));
  });
}

function stop(child) {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', resolve);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  });
}

async function load(url, path, body) {
  // Warm up (JIT, SQLite page cache) before measuring.
  await autocannon({ url: url + path, method: 'POST', connections: 20, duration: 2, headers: { 'content-type': 'application/json' }, body });
  const r = await autocannon({ url: url + path, method: 'POST', connections, duration: seconds, headers: { 'content-type': 'application/json' }, body });
  return {
    rps: r.requests.average,
    total: r.requests.total,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}

const hello = await startServer(['bench/hello-server.js'], { PORT: '0' });
const helloResult = await load(hello.url, '/hello', '{}');
await stop(hello.child);

const dir = mkdtempSync(join(tmpdir(), 'autoglm-bench-'));
const order = await startServer(['bin/autoglm.js', 'serve', '--port', '0', '--db', `sqlite:${join(dir, 'bench.db')}`], {
  AUTOGLM_LOG_LEVEL: 'warn',
  AUTOGLM_AUTO_CONFIRM_ORDER: 'true',
  AUTOGLM_TRUSTED_ACTIONS: 'order_coffee,submit_payment',
  // Enough money in every simulated wallet for the whole run.
  AUTOGLM__SIMULATOR__STARTING_BALANCE: '9000000000',
});
const orderResult = await load(order.url, '/api/v1/order', JSON.stringify({ drink: 'latte', size: 'medium' }));
const statusRes = await fetch(`${order.url}/api/v1/orders?limit=1&status=COMPLETED`);
const completedSample = (await statusRes.json()).data.length;
await stop(order.child);
rmSync(dir, { recursive: true, force: true });

const fmt = (n) => n.toFixed(0).padStart(8);
const ms = (n) => `${n.toFixed(1)} ms`.padStart(10);
console.log(`\nPOST benchmark — ${connections} connections, ${seconds} s, Node ${process.version}, SQLite WAL synchronous=FULL`);
console.log('route                          req/s      p50        p99   non-2xx  errors');
console.log(`hello world (Fastify)       ${fmt(helloResult.rps)} ${ms(helloResult.p50)} ${ms(helloResult.p99)} ${String(helloResult.non2xx).padStart(8)} ${String(helloResult.errors + helloResult.timeouts).padStart(7)}`);
console.log(`POST /api/v1/order auto-pay ${fmt(orderResult.rps)} ${ms(orderResult.p50)} ${ms(orderResult.p99)} ${String(orderResult.non2xx).padStart(8)} ${String(orderResult.errors + orderResult.timeouts).padStart(7)}`);
console.log(`ratio order/hello: ${((100 * orderResult.rps) / helloResult.rps).toFixed(1)}%   (target ≥ 25%, p99 < 25 ms)`);
console.log(`orders placed during the measured run: ${orderResult.total}; completed orders visible afterwards: ${completedSample > 0 ? 'yes' : 'NO'}`);
