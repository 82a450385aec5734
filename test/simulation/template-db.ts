import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createApp } from '../../src/composition/create-app.js';
import { ADMIN, testConfig } from '../support/test-app.js';

/** Where the simulation's databases live: tmpfs where there is one (durable commits cost no disk). */
const ROOT = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

/** A log destination that keeps nothing (the simulation's trace is its own). */
export const nowhere = (): Writable =>
  new Writable({
    write(_chunk, _enc, cb) {
      cb();
    },
  });

export interface Template {
  readonly dir: string;
  /** API keys by person (users u0…u3), made once in the template. */
  readonly keys: Readonly<Record<string, string>>;
}

let made: Promise<Template> | undefined;

/**
 * One migrated database with the tenant, its admin and the clients' API keys, made once per
 * process; each seed starts from a copy of it instead of migrating a new file (most of a seed's
 * start-up otherwise). Nothing in it steers a run: it holds no orders, jobs or money.
 */
export function template(config: Record<string, unknown>, users: readonly string[]): Promise<Template> {
  made ??= (async () => {
    const dir = mkdtempSync(join(ROOT, 'autoglm-sim-template-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const app = await createApp(testConfig(config, join(dir, 'sim.db')), { logDestination: nowhere() });
    const keys: Record<string, string> = {};
    for (const user of users) {
      const k = await app.services.identity.createKey(ADMIN, { role: 'user', user });
      if (!k.ok) throw new Error(`no key for ${user}: ${k.error.message}`);
      keys[user] = k.value.key;
    }
    await app.close(1000);
    return { dir, keys };
  })();
  return made;
}

/** A fresh copy of the template: the database path of one seed. */
export function copyOf(t: Template): string {
  const dir = mkdtempSync(join(ROOT, 'autoglm-sim-'));
  cpSync(t.dir, dir, { recursive: true });
  return join(dir, 'sim.db');
}
