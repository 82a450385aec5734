import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const WEB = 'web';
const BUILT = join('dist', 'web', 'index.html');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * The console as `npm start` serves it (dist/web): built here when missing or older than its
 * sources, so a clean clone's `npm test` needs no build step first.
 */
export function ensureWebBuilt(): void {
  if (existsSync(BUILT) && statSync(BUILT).mtimeMs >= newest(WEB)) return;
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'web/vite.config.ts'], {
    stdio: 'pipe',
  });
}
