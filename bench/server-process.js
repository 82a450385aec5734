// Server processes for the benchmarks: start one and wait for the URL it prints; stop it.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
