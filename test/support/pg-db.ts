import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * PostgreSQL for tests: the server at AUTOGLM_TEST_PG (default: this machine's, trust auth),
 * with a fresh database per test file so runs never collide, dropped afterwards.
 */
export const PG_ADMIN_URL = process.env.AUTOGLM_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Which engines the storage suites run on: AUTOGLM_TEST_ENGINES=sqlite,postgres (default both). */
export const TEST_ENGINES = (process.env.AUTOGLM_TEST_ENGINES ?? 'sqlite,postgres').split(',').map((s) => s.trim());

async function reachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * Whether the PostgreSQL half of a suite runs. Asked for and unreachable: in CI (CI=true) it
 * still runs, so it fails loudly at the first connection; on a developer's machine it is skipped
 * with a warning.
 */
export async function postgresWanted(): Promise<boolean> {
  if (!TEST_ENGINES.includes('postgres')) return false;
  if (await reachable()) return true;
  if (process.env.CI === 'true' || process.env.CI === '1') return true;
  process.stderr.write(
    `\n  !! PostgreSQL at ${PG_ADMIN_URL} is unreachable: its half of the storage suites is SKIPPED ` +
      `(CI=true makes this a failure)\n\n`,
  );
  return false;
}

export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** A new, empty database on the test server. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `autoglm_${label}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`create database "${name}"`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin((c) => c.query(`drop database if exists "${name}" with (force)`)).then(() => undefined),
  };
}
