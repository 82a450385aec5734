// Benchmark: batch recharge throughput and memory for 1k, 10k and 100k rows.
//
// For each size, a fresh `autoglm serve` (SQLite, its defaults but these channels) gets a file of
// that many rows streamed to POST /api/v1/recharges/batch (with its Content-Digest, as the CLI
// sends it), and the benchmark follows GET /api/v1/batches/:id until every row has its answer.
// Channels: three simulated channels for every operator with 50–300 ms latency and a few
// failures (failover applies). Prints upload time, time to the last answer, recharges/s, and the
// server's peak resident memory (VmHWM from /proc), its anonymous part and the V8 heap in use,
// with the server's heap capped at the same size for every run, so one can see that cost grows
// linearly with the rows and memory does not.
//
//   npm run bench:batch                  BENCH_BATCH_SIZES=1000,10000 npm run bench:batch
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminAuth, startServer, stop } from './server-process.js';

const sizes = (process.env.BENCH_BATCH_SIZES ?? '1000,10000,100000').split(',').map(Number);
const concurrency = process.env.BENCH_CONCURRENCY;
const heapCapMb = Number(process.env.BENCH_HEAP_CAP_MB ?? 128);
const PREFIXES = ['138', '186', '189']; // China Mobile, Unicom, Telecom
const AMOUNT = 1000; // ¥10

const channel = (seed, failure) => ({
  type: 'simulator',
  operators: ['CHINA_MOBILE', 'CHINA_UNICOM', 'CHINA_TELECOM'],
  latency_ms: { min: 50, max: 300 },
  failure_rate: failure,
  capacity: 200,
  seed,
});
const config = {
  log: { level: 'warn' },
  // The person's own top-up and batch, trusted: measure the recharges, not a confirmation step.
  trusted_actions: ['order_coffee', 'submit_payment', 'recharge_phone', 'wallet_top_up'],
  // The progress polls come from one address: measure the batch, not the per-IP budget.
  rate_limit: { enabled: false },
  recharge: {
    channels: { 'sim-1': channel(1, 0.01), 'sim-2': channel(2, 0.02), 'sim-3': channel(3, 0.005) },
  },
  ...(concurrency === undefined ? {} : { worker: { concurrency: Number(concurrency) } }),
};

/**
 * Resident memory from /proc: peak and current total, and the anonymous part (the process's own
 * memory, without the database file's mapped pages).
 */
function memoryMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { peak: kb('VmHWM') / 1024, now: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024 };
}

/** The V8 heap in use, from the server's own /metrics (prom-client's default metrics). */
async function heapUsedMb(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^nodejs_heap_size_used_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
  return m === null ? 0 : Number(m[1]) / 1024 / 1024;
}

async function writeFile(path, rows) {
  const out = createWriteStream(path);
  out.write('phone,amount\n');
  for (let i = 0; i < rows; i++) {
    const prefix = PREFIXES[i % PREFIXES.length];
    if (!out.write(`${prefix}${String(i).padStart(8, '0')},${AMOUNT}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function sha256Of(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('base64');
}

/** The admin key of the server being measured (written beside its database at first start). */
let auth = {};

async function call(url, path, init = {}) {
  const res = await fetch(`${url}${path}`, { ...init, headers: { ...auth, ...(init.headers ?? {}) } });
  const body = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function run(rows) {
  const dir = mkdtempSync(join(tmpdir(), 'autoglm-bench-batch-'));
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const file = join(dir, 'rows.csv');
  await writeFile(file, rows);
  // The server's V8 heap is capped (BENCH_HEAP_CAP_MB, default 128): every size finishing under
  // the same cap is the proof that memory does not grow with the rows. BENCH_NODE_ARGS adds flags (e.g. --cpu-prof).
  const nodeArgs = [
    `--max-old-space-size=${heapCapMb}`,
    ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
  ];
  const server = await startServer(
    [
      ...nodeArgs,
      'bin/autoglm.js',
      'serve',
      '--port',
      '0',
      '-c',
      configFile,
      '--db',
      `sqlite:${join(dir, 'bench.db')}`,
    ],
    {},
  );
  try {
    auth = adminAuth(join(dir, 'admin-key'));
    const baseline = memoryMb(server.child.pid);
    const funded = await call(server.url, '/api/v1/wallet/top-ups', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'bench-funds' },
      body: JSON.stringify({ amount: rows * AMOUNT }),
    });
    // A held top-up (the policy changed) would leave every row refused: measure nothing then.
    if (funded.top_up?.status !== 'SUCCEEDED') throw new Error(`the wallet was not funded: ${JSON.stringify(funded)}`);
    const peaks = { anon: 0, heap: 0 };
    const sample = async () => {
      peaks.anon = Math.max(peaks.anon, memoryMb(server.child.pid).anon);
      peaks.heap = Math.max(peaks.heap, await heapUsedMb(server.url).catch(() => 0));
    };
    const sampler = setInterval(() => void sample(), 500);
    const t0 = performance.now();
    const accepted = await call(server.url, '/api/v1/recharges/batch', {
      method: 'POST',
      headers: {
        'content-type': 'text/csv',
        'content-length': String(statSync(file).size),
        'content-digest': `sha-256=:${await sha256Of(file)}:`,
      },
      body: createReadStream(file),
      duplex: 'half',
    });
    const uploadS = (performance.now() - t0) / 1000;
    let view = accepted.batch;
    while (!view.done) {
      await new Promise((r) => setTimeout(r, 250));
      view = (await call(server.url, `/api/v1/batches/${view.id}`)).batch;
    }
    const totalS = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    if (process.env.BENCH_HEAP_SNAPSHOT === '1') {
      // With BENCH_NODE_ARGS=--heapsnapshot-signal=SIGUSR2: what the server still holds once the batch is done.
      server.child.kill('SIGUSR2');
      await new Promise((r) => setTimeout(r, 20_000));
    }
    await sample();
    const mem = memoryMb(server.child.pid);
    return {
      rows,
      uploadS,
      totalS,
      perSecond: rows / totalS,
      succeeded: view.succeeded,
      failed: view.failed,
      refused: view.rejected_count,
      baselineMb: baseline.now,
      peakMb: mem.peak,
      anonMb: peaks.anon,
      heapMb: peaks.heap,
    };
  } finally {
    await stop(server.child);
    // BENCH_KEEP=1 leaves the server's directory (its database) for a look afterwards.
    if (process.env.BENCH_KEEP === '1') console.log(`  kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
for (const n of sizes) {
  const r = await run(n);
  results.push(r);
  console.log(
    `${String(n).padStart(7)} rows: upload ${r.uploadS.toFixed(2)} s, all answered in ${r.totalS.toFixed(1)} s → ` +
      `${r.perSecond.toFixed(0)} recharges/s; ${r.succeeded} succeeded, ${r.failed} failed, ${r.refused} refused; ` +
      `server memory ${r.baselineMb.toFixed(0)} MB at start, peak ${r.peakMb.toFixed(0)} MB ` +
      `(anonymous ${r.anonMb.toFixed(0)} MB, V8 heap in use ${r.heapMb.toFixed(0)} MB)`,
  );
}
console.log('\nrows     upload s   total s   recharges/s   µs per row   peak RSS MB   peak anon MB   peak heap MB');
for (const r of results) {
  console.log(
    `${String(r.rows).padEnd(8)} ${r.uploadS.toFixed(2).padStart(8)} ${r.totalS.toFixed(1).padStart(9)} ` +
      `${r.perSecond.toFixed(0).padStart(13)} ${((r.totalS * 1e6) / r.rows).toFixed(0).padStart(12)} ` +
      `${r.peakMb.toFixed(0).padStart(13)} ${r.anonMb.toFixed(0).padStart(14)} ${r.heapMb.toFixed(0).padStart(14)}`,
  );
}
for (let i = 1; i < results.length; i++) {
  const a = results[i - 1];
  const b = results[i];
  console.log(
    `${b.rows}/${a.rows}: ${(b.rows / a.rows).toFixed(0)}× the rows took ` +
      `${(b.totalS / a.totalS).toFixed(1)}× the time; ` +
      `peak heap ${(b.heapMb / a.heapMb).toFixed(2)}×, peak anonymous memory ${(b.anonMb / a.anonMb).toFixed(2)}×`,
  );
}
const tenK = results.find((r) => r.rows === 10_000);
if (tenK !== undefined) console.log(`10,000 recharges in ${tenK.totalS.toFixed(1)} s (target: under 30 s)`);
console.log(`Every size ran with the server's V8 heap capped at ${heapCapMb} MB (--max-old-space-size).`);
console.log(
  '(Total RSS also counts the pages of the database file SQLite maps, up to its 256 MB mmap_size, ' +
    'and two 64 MB page caches: bounded, not per row.)',
);
