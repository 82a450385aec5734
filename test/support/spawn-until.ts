import { type ChildProcess, spawn } from 'node:child_process';
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Start a process from the TypeScript sources; resolve when it prints its URL. `output()` is
 * everything it has written so far, stdout and stderr (its log, for tests that read it).
 * `cwd` runs it elsewhere (where relative paths such as ./data land), still from these sources.
 */
export function spawnUntil(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  name: string,
  cwd?: string,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  // Elsewhere, neither the script nor the tsx loader is found by a relative name.
  const loader = cwd === undefined ? 'tsx' : pathToFileURL(resolvePath('node_modules/tsx/dist/loader.mjs')).href;
  const entry = cwd === undefined ? script : resolvePath(script);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', loader, entry, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(cwd === undefined ? {} : { cwd }),
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
