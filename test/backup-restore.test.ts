import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../src/composition/create-app.js';
import { runBackup, runRestore } from '../src/composition/run-backup.js';
import { TERMINAL_ORDER_STATUSES } from '../src/domain/order.js';
import { runCliCaptured } from './support/cli-run.js';
import { createTestDatabase, postgresWanted, type TestDatabase } from './support/pg-db.js';
import { spawnUntil } from './support/spawn-until.js';
import { ADMIN, LogSink, shortLease, shortLeaseEnv, startTestApp, testConfig } from './support/test-app.js';

/**
 * Back up during traffic, restore into a fresh place, start the service there: the books balance
 * and every order the backup caught half-way is finished by the restored service (its jobs
 * resume). The simulated outside world keeps its books in journals, as a real gateway would keep
 * its own: the restored service asks it what happened to the payments it had started.
 */
const LEASE_MS = 1000;
const ORDER = { drink: 'latte', size: 'medium' };
/** Settled for good, or finished and kept (COMPLETED): nothing left for a job to do. */
const settled = (status: string): boolean => status === 'COMPLETED' || TERMINAL_ORDER_STATUSES.has(status as never);

const cli = (args: readonly string[]): ReturnType<typeof runCliCaptured> =>
  runCliCaptured(args, { defaultUrl: 'http://127.0.0.1:1', backup: runBackup, restore: runRestore });

/** Keep `lanes` clients ordering until `stop()`; resolves with how many orders were accepted. */
function traffic(
  place: (key: string) => Promise<number>,
  lanes: number,
): { placed: () => number; stop: () => Promise<number> } {
  let running = true;
  let placed = 0;
  const loops = Array.from({ length: lanes }, async (_, lane) => {
    for (let i = 0; running; i++) {
      const status = await place(`lane${lane}-${i}`).catch(() => 0);
      if (status === 201 || status === 202) placed += 1;
      // Paced like a client, not a hot loop: the service keeps orders in flight, not a queue of requests.
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  return {
    placed: () => placed,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return placed;
    },
  };
}

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface OrderView {
  readonly id: string;
  readonly status: string;
}

describe('autoglm backup / restore (SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'autoglm-backup-'));
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AUTOGLM'))),
    AUTOGLM_LOG_LEVEL: 'warn',
    AUTOGLM_AUTO_CONFIRM_ORDER: 'true',
    AUTOGLM_TRUSTED_ACTIONS: 'order_coffee,submit_payment',
    // The outside world outlives us: its books are journals both services share.
    AUTOGLM__SIMULATOR__JOURNAL_DIR: join(dir, 'sim'),
    AUTOGLM__SIMULATOR__LATENCY_MS: '{"min":100,"max":300}',
    // Six clients for a few seconds are not abuse: the budgets would answer 429 and empty the pipeline.
    AUTOGLM__RATE_LIMIT__ENABLED: 'false',
    ...shortLeaseEnv(LEASE_MS),
    AUTOGLM__WORKER__POLL_INTERVAL_MS: '50',
    // The shop refuses half the drinks: those orders go on to be refunded by jobs, so whenever the
    // snapshot is taken some orders are paid and not yet made or refunded (work the restored service resumes).
    AUTOGLM__SIMULATOR__MERCHANT_FAILURE_RATE: '0.5',
    AUTOGLM__WORKER__RETRY_BASE_MS: '400',
    AUTOGLM__WORKER__RETRY_MAX_MS: '800',
    // Answer at once (202) while the payment is still in flight: the backup catches orders half-way.
    AUTOGLM__SERVER__WAIT_FOR_COMPLETION_MS: '0',
  };
  const serve = (db: string): ReturnType<typeof spawnUntil> =>
    spawnUntil('test/support/serve-child.ts', ['--port', '0', '--db', `sqlite:${db}`], env, 'service');
  const live = join(dir, 'live', 'db.sqlite');
  const backup = join(dir, 'backups', 'db.backup');
  const fresh = join(dir, 'fresh', 'db.sqlite');
  const admin = (): string => `Bearer ${readFileSync(join(dir, 'live', 'admin-key'), 'utf8').trim()}`;
  const get = async <T>(url: string, path: string): Promise<T> =>
    (await (await fetch(`${url}${path}`, { headers: { authorization: admin() } })).json()) as T;

  it(
    'backs up while orders are placed; the restored copy starts, finishes the orders it caught ' +
      'half-way and balances',
    async () => {
      mkdirSync(join(dir, 'backups'));
      const first = await serve(live);
      const load = traffic(
        async (key) =>
          (
            await fetch(`${first.url}/api/v1/order`, {
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                'idempotency-key': key,
                authorization: admin(),
                'x-act-for': `p-${key.split('-')[0] ?? ''}`,
              },
              body: JSON.stringify(ORDER),
            })
          ).status,
        6,
      );
      let backedUp: Awaited<ReturnType<typeof cli>>;
      try {
        await until('orders under way', () => Promise.resolve(load.placed() >= 20));
        backedUp = await cli(['backup', '--db', `sqlite:${live}`, '--out', backup]);
        const before = load.placed();
        await until('more orders after the backup', () => Promise.resolve(load.placed() >= before + 10));
      } finally {
        await load.stop();
        first.child.kill('SIGTERM');
        await new Promise((r) => first.child.once('exit', r));
      }
      expect(backedUp.err).toEqual([]);
      expect(backedUp.code).toBe(0);
      expect(backedUp.out[0]).toMatch(/^backed up \d+ bytes \(\d+ migrations\) to /);
      // The embedded default's master key travels beside the backup, readable by its owner only.
      expect(statSync(`${backup}.master.key`).mode & 0o777).toBe(0o600);

      // A second backup to the same file is refused rather than overwriting it.
      const again = await cli(['backup', '--db', `sqlite:${live}`, '--out', backup]);
      expect([again.code, again.err.join('\n')]).toEqual([1, expect.stringMatching(/^error BACKUP_EXISTS: /)]);

      const restored = await cli(['restore', '--from', backup, '--db', `sqlite:${fresh}`, '--json']);
      expect(restored.err).toEqual([]);
      const report = JSON.parse(restored.out[0] ?? '{}') as { orders: number; unbalancedJournals: number };
      expect(report.orders).toBeGreaterThanOrEqual(20);
      expect(report.unbalancedJournals).toBe(0);
      const caught = new SqliteDatabase(fresh, { readonly: true });
      const halfWay = (caught.prepare('select status from orders').all() as Array<{ status: string }>).filter(
        (o) => !settled(o.status),
      );
      caught.close();
      expect(halfWay.length).toBeGreaterThan(0);

      // Restoring over a database with data is refused without --force.
      const over = await cli(['restore', '--from', backup, '--db', `sqlite:${fresh}`]);
      expect([over.code, over.err.join('\n')]).toEqual([1, expect.stringMatching(/^error RESTORE_TARGET_NOT_EMPTY: /)]);

      // `serve` on the restored directory, with the key the first start wrote (API keys are in the database).
      writeFileSync(join(dir, 'fresh', 'admin-key'), readFileSync(join(dir, 'live', 'admin-key')), { mode: 0o600 });
      const second = await serve(fresh);
      try {
        let orders: OrderView[] = [];
        await until('every order settled', async () => {
          orders = (await get<{ data: OrderView[] }>(second.url, '/api/v1/orders?limit=200')).data;
          return orders.every((o) => settled(o.status));
        });
        expect(orders.length).toBe(report.orders);
        expect(orders.filter((o) => o.status === 'COMPLETED').length).toBeGreaterThan(0);
        const check = await get<{ balanced: boolean; complete: boolean }>(second.url, '/api/v1/ledger/check');
        expect(check).toMatchObject({ balanced: true, complete: true });
      } finally {
        second.child.kill('SIGTERM');
        await new Promise((r) => second.child.once('exit', r));
      }
      // With the service stopped, --force puts the backup back over what it did since.
      const forced = await cli(['restore', '--from', backup, '--db', `sqlite:${fresh}`, '--force', '--json']);
      expect(forced.err).toEqual([]);
      expect(JSON.parse(forced.out[0] ?? '{}')).toMatchObject({ orders: report.orders, unbalancedJournals: 0 });
    },
    60_000,
  );

  it('refuses a file that is not a backup of ours, and PostgreSQL (pg_dump is the tool there)', async () => {
    const junk = join(dir, 'junk.backup');
    writeFileSync(junk, 'not a database at all, just some text long enough to look like a file'.repeat(20));
    const other = join(dir, 'other.sqlite');
    const foreign = new SqliteDatabase(other);
    foreign.exec('create table notes (id integer primary key, body text)');
    foreign.close();
    for (const from of [junk, other]) {
      const r = await cli(['restore', '--from', from, '--db', `sqlite:${join(dir, 'never', 'db.sqlite')}`]);
      expect([r.code, r.err.join('\n')]).toEqual([1, expect.stringMatching(/^error BACKUP_INVALID: /)]);
    }
    expect(existsSync(join(dir, 'never', 'db.sqlite'))).toBe(false);
    const missing = await cli(['restore', '--from', join(dir, 'nope'), '--db', `sqlite:${join(dir, 'n', 'db')}`]);
    expect(missing.err.join('\n')).toMatch(/^error DATABASE_NOT_FOUND: /);
    const pg = await cli(['backup', '--db', 'postgres://u@127.0.0.1/x', '--out', join(dir, 'pg.backup')]);
    expect(pg.err.join('\n')).toMatch(/^error BACKUP_UNSUPPORTED: .*pg_dump/);
  });

  it('refuses a restore without the master key the backup was sealed with, leaving no database behind', async () => {
    const source = join(dir, 'keyed', 'db.sqlite');
    const { app } = await startTestApp({}, {}, source);
    await app.close();
    const file = join(dir, 'keyed.backup');
    expect((await cli(['backup', '--db', `sqlite:${source}`, '--out', file])).code).toBe(0);

    // Another key given in the configuration: the data keys do not unwrap.
    const config = join(dir, 'other-key.json');
    writeFileSync(config, JSON.stringify({ security: { master_key: randomBytes(32).toString('base64') } }));
    const target = join(dir, 'wrong-key', 'db.sqlite');
    const wrong = await cli(['restore', '--from', file, '--db', `sqlite:${target}`, '--config', config]);
    expect([wrong.code, wrong.err.join('\n')]).toEqual([
      1,
      expect.stringMatching(/^error RESTORE_MASTER_KEY_MISMATCH: /),
    ]);
    expect(existsSync(target)).toBe(false);

    // The key copy not kept beside the backup, and none at the target: nothing to open it with.
    rmSync(`${file}.master.key`);
    const bare = join(dir, 'no-key', 'db.sqlite');
    const missing = await cli(['restore', '--from', file, '--db', `sqlite:${bare}`]);
    expect([missing.code, missing.err.join('\n')]).toEqual([
      1,
      expect.stringMatching(/^error RESTORE_MASTER_KEY_MISSING: /),
    ]);
    expect(existsSync(bare)).toBe(false);
  });
});

const execFileAsync = promisify(execFile);
const databases: TestDatabase[] = [];
afterAll(async () => {
  for (const d of databases.splice(0)) await d.drop().catch(() => undefined);
});

describe.runIf(await postgresWanted())('PostgreSQL: pg_dump during traffic, pg_restore into a fresh database', () => {
  it('the restored database resumes the orders the dump caught half-way, and balances', async () => {
    const source = await createTestDatabase('dump');
    const target = await createTestDatabase('restore');
    databases.push(source, target);
    const journal = mkdtempSync(join(tmpdir(), 'autoglm-pgdump-'));
    const settings = shortLease(LEASE_MS, {
      simulator: { journal_dir: journal, latency_ms: { min: 100, max: 300 }, merchant_failure_rate: 0.5 },
      worker: { retry_base_ms: 400, retry_max_ms: 800 },
      rate_limit: { enabled: false },
      server: { port: 0, wait_for_completion_ms: 0 },
    });
    const dump = join(journal, 'autoglm.dump');
    let first: App | undefined = (await startTestApp({ ...settings, database: { url: source.url } })).app;
    try {
      first.start();
      const a = first;
      const load = traffic(
        async (key) =>
          (
            await a.http.inject({
              method: 'POST',
              url: '/api/v1/order',
              headers: { 'content-type': 'application/json', 'idempotency-key': key, 'x-user-id': 'pg-buyer' },
              payload: ORDER,
            })
          ).statusCode,
        6,
      );
      try {
        await until('orders under way', () => Promise.resolve(load.placed() >= 20));
        // The custom format, as the README's procedure takes it: one consistent snapshot.
        await execFileAsync('pg_dump', ['--format=custom', '--no-owner', `--file=${dump}`, source.url]);
      } finally {
        await load.stop();
      }
      await first.close();
      first = undefined;
      await execFileAsync('pg_restore', ['--no-owner', '--exit-on-error', `--dbname=${target.url}`, dump]);

      // The service as an operator starts it on the restored database (its tenant and keys came with it).
      const second = await createApp(testConfig({ ...settings, database: { url: target.url } }), {
        logDestination: new LogSink(),
      });
      try {
        const made = await second.services.identity.createKey(ADMIN, { role: 'admin', user: 'restorer' });
        if (!made.ok) throw new Error(made.error.message);
        const authorization = `Bearer ${made.value.key}`;
        const url = await second.listen();
        const fetchAs = (path: string): Promise<Response> => fetch(`${url}${path}`, { headers: { authorization } });
        const list = async (): Promise<OrderView[]> =>
          ((await (await fetchAs('/api/v1/orders?limit=200')).json()) as { data: OrderView[] }).data;
        const atStart = await list();
        expect(atStart.length).toBeGreaterThanOrEqual(20);
        expect(atStart.some((o) => !settled(o.status))).toBe(true);
        second.start();
        let orders: OrderView[] = [];
        await until('every order settled', async () => {
          orders = await list();
          return orders.every((o) => settled(o.status));
        });
        expect(orders.length).toBe(atStart.length);
        const check = (await (await fetchAs('/api/v1/ledger/check')).json()) as Record<string, unknown>;
        expect(check).toMatchObject({ balanced: true, complete: true });
      } finally {
        await second.close();
      }
    } finally {
      await first?.close();
    }
  }, 60_000);
});
