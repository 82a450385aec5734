// Server processes for the benchmarks: start one and wait for the URL it prints; stop it.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

/** Start a server process and resolve with its URL (the first line it prints that has one). */
export function startServer(args, env, startTimeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${buf}`)), startTimeoutMs);
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

/**
 * SIGTERM (a graceful drain), SIGKILL if it takes longer than 15 s, or 180 s when the server was
 * started with --cpu-prof in BENCH_NODE_ARGS (writing a long run's profile takes a while).
 */
export function stop(child) {
  const grace = (process.env.BENCH_NODE_ARGS ?? '').includes('--cpu-prof') ? 180_000 : 15_000;
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', resolve);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), grace).unref();
  });
}

/** The admin key a server's first start wrote (the benchmarks call the API with it, as a client would). */
export function adminAuth(keyFile) {
  return { authorization: `Bearer ${readFileSync(keyFile, 'utf8').trim()}` };
}

/** CPU ticks (1/100 s, user + system) these processes have used so far; those gone count 0. */
export function processTicks(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      // gone since it was listed
    }
  }
  return ticks;
}

/** The whole machine's busy CPU ticks so far (every core; idle and I/O wait left out), and its cores. */
export function machineTicks() {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map(Number);
  return { busy: user + nice + system + irq + softirq + steal, idle: idle + iowait, cores: cpus().length };
}
