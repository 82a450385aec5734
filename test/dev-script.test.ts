import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { tempDbPath } from './support/temp-db.js';

/** Whether any process of the group `pgid` is still alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether something accepts connections at `url`. */
function listening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const s = connect(Number(port), hostname, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** `npm run dev` is what a contributor types first: it must start the service from the TypeScript sources. */
describe('npm run dev', () => {
  it('starts the service from the sources and stops on SIGTERM, leaving no process behind', async () => {
    // Its own process group: npm does not forward SIGTERM to `tsx src/main.ts serve`, so the test
    // signals the whole group (npm, sh, tsx and the service), as a terminal's Ctrl-C does.
    const child = spawn('npm', ['run', 'dev', '--silent'], {
      env: { ...process.env, AUTOGLM_PORT: '0', AUTOGLM_DB: `sqlite:${tempDbPath()}`, AUTOGLM_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const pgid = child.pid!;
    let url: string | undefined;
    try {
      url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no start within 60 s: ${out}`)), 60_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /running at (http:\/\/[^\s]+)/.exec(out);
          if (m?.[1] !== undefined) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        child.on('exit', (code) => reject(new Error(`exited with ${String(code)}: ${out}`)));
      });
      const health = await fetch(`${url}/healthz`);
      expect(await health.json()).toEqual({ status: 'ok' });
    } finally {
      if (groupAlive(pgid)) process.kill(-pgid, 'SIGTERM');
      const end = Date.now() + 20_000;
      while (groupAlive(pgid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      const left = groupAlive(pgid);
      // Never leave one behind, even when the test fails.
      if (left) process.kill(-pgid, 'SIGKILL');
      expect(left, 'a process of `npm run dev` outlived SIGTERM to its group').toBe(false);
    }
    expect(await listening(url)).toBe(false);
  }, 90_000);
});
