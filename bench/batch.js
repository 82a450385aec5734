// Benchmark: batch recharge throughput and memory for 1k, 10k and 100k rows.
//
// For each size, a fresh `autoglm serve` (SQLite, its defaults but these channels) gets a file of
// that many rows streamed to POST /api/v1/recharges/batch (with its Content-Digest, as the CLI
// sends it), and the benchmark follows GET /api/v1/batches/:id until every row has its answer.
// Channels: three simulated channels for every operator with 50–300 ms latency and a few
// failures (failover applies). Prints upload time, time to the last answer, recharges/s, and the
// server's peak resident memory (VmHWM from /proc), its anonymous part and the V8 heap in use,
// with the server's heap capped at the same size for every run, so one can see that cost grows
// linearly with the rows and memory does not. Also the server's CPU (user + system, every thread,
// from /proc) per row over the run, and per recharge answered in each tenth of the batch, with the
// main thread's part: a late row that costs more than an early one shows there, whatever else the
// machine runs.
//
// BENCH_CHANNELS=remote runs the channels in one `autoglm simulator` process (Juhe channels over
// HTTP, below) instead of inside the server, prints that process's CPU per row too, and stops if
// its carriers did not top up each succeeded row's phone exactly once.
// BENCH_PROGRESS=file writes the progress samples (rows answered, CPU, CLOCK_MONOTONIC µs, the
// clock of a --cpu-prof profile), so a profile can be cut to the rows it covers.
//
//   npm run bench:batch                  BENCH_BATCH_SIZES=1000,10000 npm run bench:batch
//   BENCH_CHANNELS=remote BENCH_BATCH_SIZES=10000,100000 npm run bench:batch
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
// BENCH_CHANNELS=remote: the channels are Juhe channels of one `autoglm simulator` process, as
// production's are remote, so the server's heap holds only the service (the in-process channels
// keep every order of the run in it). Its chaos is set as close to the in-process channels as one
// Juhe face allows: the submit's latency drawn from the same 50–300 ms, the three channels'
// average refusal rate (refused top-ups end in game_state 9). Juhe answers a submit "processing"
// (game_state 0) and the service asks ordersta after `poll_interval_ms`: a remote recharge has one
// more call and one more commit (PROCESSING) than an in-process one, which answers at once.
const remote = process.env.BENCH_CHANNELS === 'remote';
const SIM_CHAOS = {
  latency: { type: 'uniform', min_ms: 50, max_ms: 300 },
  paths: ['/juhe/ofpay/mobile/onlineorder'],
  recharge_failure_rate: (0.01 + 0.02 + 0.005) / 3,
};
const juheChannel = (simUrl, keys) => ({
  type: 'juhe',
  operators: ['CHINA_MOBILE', 'CHINA_UNICOM', 'CHINA_TELECOM'],
  base_url: `${simUrl}/juhe/ofpay/mobile/`,
  api_key: keys.api_key,
  openid_secret: keys.openid_secret,
  capacity: 200,
  // Sockets for every job in flight (worker.concurrency 128): no call waits for the pool.
  max_sockets: 128,
});

const configFor = (channels) => ({
  log: { level: 'warn' },
  // The person's own top-up and batch, trusted: measure the recharges, not a confirmation step.
  trusted_actions: ['order_coffee', 'submit_payment', 'recharge_phone', 'wallet_top_up'],
  // The progress polls come from one address: measure the batch, not the per-IP budget.
  rate_limit: { enabled: false },
  recharge: {
    channels,
    // A remote submit answers "processing": ask soon, as an in-process one answers at once.
    ...(remote ? { poll_interval_ms: 50 } : {}),
  },
  ...(concurrency === undefined ? {} : { worker: { concurrency: Number(concurrency) } }),
});
const inProcessChannels = {
  'sim-1': channel(1, 0.01),
  'sim-2': channel(2, 0.02),
  'sim-3': channel(3, 0.005),
};

/**
 * Resident memory from /proc: peak and current total, and the anonymous part (the process's own
 * memory, without the database file's mapped pages).
 */
function memoryMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return {
    peak: kb('VmHWM') / 1024,
    now: kb('VmRSS') / 1024,
    anon: kb('RssAnon') / 1024,
  };
}

/** CPU time (user + system, all threads) a process has used so far, in ms, from /proc. */
function cpuMs(pid, thread) {
  // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
  const stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms (USER_HZ)
}

/** The V8 heap in use, from the server's own /metrics (prom-client's default metrics). */
async function heapUsedMb(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^nodejs_heap_size_used_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
  return m === null ? 0 : Number(m[1]) / 1024 / 1024;
}

/**
 * CPU per recharge answered in each tenth of the batch (from the progress samples: the CPU between
 * the sample where a tenth began and the one where it ended, over the recharges answered between
 * them). The first tenth also carries the upload's and the expansion's CPU.
 */
function cpuByTenth(progress, rows, key) {
  const out = [];
  let from = progress[0];
  for (let k = 1; k <= 10; k++) {
    const to = progress.find((p) => p.finished >= (rows * k) / 10);
    if (to === undefined || to.finished === from.finished) break;
    out.push((to[key] - from[key]) / (to.finished - from.finished));
    from = to;
  }
  return out;
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
  const res = await fetch(`${url}${path}`, {
    ...init,
    headers: { ...auth, ...(init.headers ?? {}) },
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function run(rows) {
  const dir = mkdtempSync(join(tmpdir(), 'autoglm-bench-batch-'));
  let sim;
  try {
    return await runIn(dir, rows, (s) => (sim = s));
  } finally {
    if (sim !== undefined) await stop(sim.child);
    // BENCH_KEEP=1 leaves the server's directory (its database) for a look afterwards.
    if (process.env.BENCH_KEEP === '1') console.log(`  kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

async function runIn(dir, rows, simStarted) {
  const configFile = join(dir, 'config.json');
  let sim;
  let channels = inProcessChannels;
  if (remote) {
    const simDir = join(dir, 'simulator');
    sim = await startServer(
      ['bin/autoglm.js', 'simulator', '--port', '0', '--keys-dir', simDir, '--chaos', JSON.stringify(SIM_CHAOS)],
      {},
    );
    simStarted(sim);
    const keys = JSON.parse(readFileSync(join(simDir, 'juhe.json'), 'utf8'));
    channels = {
      'sim-1': juheChannel(sim.url, keys),
      'sim-2': juheChannel(sim.url, keys),
      'sim-3': juheChannel(sim.url, keys),
    };
  }
  writeFileSync(configFile, JSON.stringify(configFor(channels)));
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
      headers: {
        'content-type': 'application/json',
        'idempotency-key': 'bench-funds',
      },
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
    const cpu0 = cpuMs(server.child.pid);
    const simCpu0 = sim === undefined ? 0 : cpuMs(sim.child.pid);
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
    // The server's CPU against the rows answered so far: what a late recharge costs next to an early one.
    const pid = server.child.pid;
    const progress = [
      {
        finished: 0,
        cpu: cpuMs(pid),
        main: cpuMs(pid, pid),
        at: process.hrtime.bigint(),
      },
    ];
    while (!view.done) {
      await new Promise((r) => setTimeout(r, 250));
      view = (await call(server.url, `/api/v1/batches/${view.id}`)).batch;
      progress.push({
        finished: view.finished,
        cpu: cpuMs(pid),
        main: cpuMs(pid, pid),
        at: process.hrtime.bigint(),
      });
    }
    const totalS = (performance.now() - t0) / 1000;
    // BENCH_PROGRESS=file: the samples (CLOCK_MONOTONIC µs, as a --cpu-prof profile's timestamps), to cut a profile by rows.
    if (process.env.BENCH_PROGRESS !== undefined)
      writeFileSync(
        process.env.BENCH_PROGRESS,
        JSON.stringify(progress.map((p) => ({ ...p, at: Number(p.at / 1000n) }))),
      );
    // The server's CPU from the upload to the last answer (expansion and recharges included), per row.
    const cpuPerRowMs = (cpuMs(server.child.pid) - cpu0) / rows;
    const simCpuPerRowMs = sim === undefined ? undefined : (cpuMs(sim.child.pid) - simCpu0) / rows;
    clearInterval(sampler);
    if (sim !== undefined) {
      // The outside world's own count: every row phoned once, and only the rows the service says succeeded.
      const truth = await (await fetch(`${sim.url}/_sim/recharge-ground-truth`)).json();
      if (truth.top_ups !== view.succeeded || truth.phones !== view.succeeded)
        throw new Error(
          `the carriers topped up ${truth.top_ups} times, ${truth.phones} phones, for ${view.succeeded} recharges succeeded`,
        );
    }
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
      cpuPerRowMs,
      tenths: cpuByTenth(progress, rows, 'cpu'),
      mainTenths: cpuByTenth(progress, rows, 'main'),
      simCpuPerRowMs,
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
  }
}

const results = [];
for (const n of sizes) {
  const r = await run(n);
  results.push(r);
  console.log(
    `${String(n).padStart(7)} rows: upload ${r.uploadS.toFixed(2)} s, all answered in ${r.totalS.toFixed(1)} s → ` +
      `${r.perSecond.toFixed(0)} recharges/s, server CPU ${r.cpuPerRowMs.toFixed(2)} ms a row; ${r.succeeded} succeeded, ${r.failed} failed, ${r.refused} refused; ` +
      `server memory ${r.baselineMb.toFixed(0)} MB at start, peak ${r.peakMb.toFixed(0)} MB ` +
      `(anonymous ${r.anonMb.toFixed(0)} MB, V8 heap in use ${r.heapMb.toFixed(0)} MB)`,
  );
  if (r.simCpuPerRowMs !== undefined)
    console.log(`  the simulator process's CPU: ${r.simCpuPerRowMs.toFixed(2)} ms a row`);
  console.log(
    `  server CPU a recharge answered, ms, by tenth of the batch: ${r.tenths.map((t) => t.toFixed(2)).join(' ')}`,
  );
  console.log(`  of which the main thread: ${r.mainTenths.map((t) => t.toFixed(2)).join(' ')}`);
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
      `peak heap ${(b.heapMb / a.heapMb).toFixed(2)}×, peak anonymous memory ${(b.anonMb / a.anonMb).toFixed(2)}×; ` +
      `rate ratio ${(b.perSecond / a.perSecond).toFixed(2)}, server CPU a row ${(b.cpuPerRowMs / a.cpuPerRowMs).toFixed(2)}×`,
  );
}
const tenK = results.find((r) => r.rows === 10_000);
if (tenK !== undefined) console.log(`10,000 recharges in ${tenK.totalS.toFixed(1)} s (target: under 30 s)`);
console.log(`Every size ran with the server's V8 heap capped at ${heapCapMb} MB (--max-old-space-size).`);
console.log(
  '(Total RSS also counts the pages of the database file SQLite maps, up to its 256 MB mmap_size, ' +
    'and two 64 MB page caches: bounded, not per row.)',
);
