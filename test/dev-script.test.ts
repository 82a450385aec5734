import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { tempDbPath } from './support/temp-db.js';

/** `npm run dev` is what a contributor types first: it must start the service from the TypeScript sources. */
describe('npm run dev', () => {
  it('starts the service from the sources and stops on SIGTERM', async () => {
    const child = spawn('npm', ['run', 'dev', '--silent'], {
      env: { ...process.env, AUTOGLM_PORT: '0', AUTOGLM_DB: `sqlite:${tempDbPath()}`, AUTOGLM_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
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
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }, 90_000);
});
