import type { App, AppOptions } from '../../src/composition/create-app.js';
import { createTestDatabase, postgresWanted, type TestDatabase } from './pg-db.js';
import { startTestApp, tempDbPath } from './test-app.js';

/** The engines every money-guarding concurrency test runs on: SQLite (one process), PostgreSQL (two instances). */
export type EngineName = 'sqlite' | 'postgres';

const pgWanted = await postgresWanted();

/** `describe.each` rows: SQLite always; PostgreSQL when wanted (always in CI). */
export const ENGINES: ReadonlyArray<[EngineName]> = [['sqlite'], ...(pgWanted ? [['postgres'] as [EngineName]] : [])];

/** Several instances of the service on one database (SQLite: one, since one process owns the file). */
export interface Cluster {
  readonly apps: readonly App[];
  /** The instance for the i-th of many concurrent requests: spreads them over every instance. */
  at(i: number): App;
  close(): Promise<void>;
}

/**
 * Start the service on `engine`: one instance on SQLite, `instances` on one fresh PostgreSQL
 * database. `options(i)` gives each instance its options (share the simulators between them to
 * see the outside world's ground truth in one place).
 */
export async function startCluster(
  engine: EngineName,
  overrides: Record<string, unknown>,
  options: (i: number) => AppOptions = () => ({}),
  instances = 2,
  /** Names the PostgreSQL database (autoglm_<label>_…), to tell whose scratch databases are whose. */
  label = 'cluster',
): Promise<Cluster> {
  let db: TestDatabase | undefined;
  const apps: App[] = [];
  if (engine === 'postgres') {
    db = await createTestDatabase(label);
    for (let i = 0; i < instances; i++) {
      const { app } = await startTestApp(
        { ...overrides, database: { url: db.url, pool_size: 8 } },
        { workerId: `pg-${i}`, ...options(i) },
      );
      apps.push(app);
    }
  } else {
    apps.push((await startTestApp(overrides, { workerId: 'sqlite-0', ...options(0) }, tempDbPath())).app);
  }
  for (const a of apps) await a.http.ready();
  return {
    apps,
    at: (i) => apps[i % apps.length] as App,
    async close() {
      for (const a of apps) await a.close().catch(() => undefined);
      await db?.drop();
    },
  };
}
