import { type ChildProcess, spawn } from 'node:child_process';

/**
 * Start a process from the TypeScript sources; resolve when it prints its URL. `output()` is
 * everything it has written so far, stdout and stderr (its log, for tests that read it).
 */
export function spawnUntil(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  name: string,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${out}`)), 60_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(?:running|listening) at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve({ child, url: m[1], output: () => out });
      }
    });
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', () => reject(new Error(`${name} exited: ${out}`)));
  });
}
