import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type PostgresStorage } from '../src/adapters/storage/postgres/database.js';
import { LOCK_NAMESPACE } from '../src/adapters/storage/postgres/locks.js';
import type { App } from '../src/composition/create-app.js';
import { startCluster, type Cluster } from './support/cluster.js';
import { createTestDatabase, postgresWanted, type TestDatabase } from './support/pg-db.js';
import { quiet } from './support/quiet-logger.js';
import { testCipher } from './support/test-cipher.js';

/**
 * On PostgreSQL an instance answers API keys from memory (auth.api_key_cache_seconds), which saves
 * a round trip on every authenticated request, and must never let a revoked key, a disabled
 * person or a lowered role through: a change made through an instance is answered only once
 * every instance forgot its keys; one made beside the service (the CLI, psql) reaches them all
 * as soon as the database notifies them.
 */
const wanted = await postgresWanted();

/** Poll `read` until `done` holds, for at most `ms`; the last value read. */
async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.runIf(wanted)('PostgreSQL: API keys kept in memory, forgotten at every change', () => {
  let db: TestDatabase;
  let a: PostgresStorage;
  let b: PostgresStorage;
  const open = (ms = 60_000): Promise<PostgresStorage> =>
    openPostgres(db.url, { poolSize: 3, logger: quiet, cipher: testCipher(), credentialCacheMs: ms });
  const key = (id: string, principalId: string) => ({
    id,
    tenantId: 't',
    principalId,
    secretHash: 'hash',
    createdBy: 'admin',
    createdAt: 1,
    expiresAt: null,
    revokedAt: null,
  });
  const person = (id: string) => ({
    tenantId: 't',
    id,
    kind: 'person' as const,
    role: 'operator' as const,
    actsFor: null,
    displayName: null,
    passwordHash: null,
    createdAt: 1,
    disabledAt: null,
  });
  const lookup = (s: PostgresStorage, id: string) => s.unitOfWork.read.identity.getKeyWithPrincipal(id);
  /** Statements `s` sends while `work` runs. */
  const sent = async <T>(s: PostgresStorage, work: () => Promise<T>): Promise<number> => {
    const before = s.statementsSent();
    await work();
    return s.statementsSent() - before;
  };

  beforeAll(async () => {
    db = await createTestDatabase('keycache');
    a = await open();
    b = await open();
    await a.coordination.join('instance-a');
    await b.coordination.join('instance-b');
    await a.unitOfWork.run(async (r) => {
      await r.identity.ensureTenant({ id: 't', name: 't', createdAt: 1 });
      for (const p of ['p1', 'p2', 'p3', 'p4']) await r.identity.insertPrincipal(person(p));
      for (const [k, p] of [
        ['k1', 'p1'],
        ['k2', 'p2'],
        ['k3', 'p3'],
        ['k4', 'p4'],
      ] as const)
        await r.identity.insertKey(key(k, p));
    });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it('a key read once is answered without a statement; a key that does not exist is read every time', async () => {
    expect(await sent(b, () => lookup(b, 'k1'))).toBe(1);
    expect(await sent(b, () => lookup(b, 'k1'))).toBe(0);
    expect((await lookup(b, 'k1'))?.principal?.role).toBe('operator');
    expect(await sent(b, () => lookup(b, 'nope'))).toBe(1);
    expect(await sent(b, () => lookup(b, 'nope'))).toBe(1);
  });

  it('a key revoked on one instance is refused by every instance once the revocation is answered', async () => {
    await lookup(a, 'k2');
    await lookup(b, 'k2');
    expect(await sent(a, () => lookup(a, 'k2'))).toBe(0);
    expect(await sent(b, () => lookup(b, 'k2'))).toBe(0);
    // The revoking transaction returns only once the other instance said it forgot its keys.
    expect(await a.unitOfWork.run((r) => r.identity.revokeKey('t', 'k2', 50))).toBe(true);
    expect((await lookup(a, 'k2'))?.key.revokedAt).toBe(50);
    expect((await lookup(b, 'k2'))?.key.revokedAt).toBe(50);
  });

  it('a change made outside the service (psql) reaches every instance; a login does not clear the cache', async () => {
    await lookup(a, 'k3');
    await lookup(b, 'k3');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      // A login only stamps last_login_at: nothing a key is checked against, so nothing is forgotten.
      await client.query(`update principals set last_login_at = 7 where id = 'p3'`);
      await new Promise((r) => setTimeout(r, 200));
      expect(await sent(b, () => lookup(b, 'k3'))).toBe(0);
      await client.query(`update principals set disabled_at = 60, role = 'viewer' where id = 'p3'`);
    } finally {
      await client.end();
    }
    for (const s of [a, b]) {
      const f = await until(
        () => lookup(s, 'k3'),
        (v) => v?.principal?.disabledAt === 60,
      );
      expect([f?.principal?.disabledAt, f?.principal?.role]).toEqual([60, 'viewer']);
    }
  });

  it('an instance that loses its listening connection keeps nothing until it listens again', async () => {
    await lookup(b, 'k4');
    expect(await sent(b, () => lookup(b, 'k4'))).toBe(0);
    // Its listening connection dies (the server restarts it, a network blip): while it is gone a
    // change would go unheard, so nothing kept may be trusted.
    // (each instance's listening connection holds its liveness lock)
    await sql`select pg_terminate_backend(pid) from pg_locks
      where locktype = 'advisory' and classid = ${LOCK_NAMESPACE.workerAlive} and objsubid = 2`.execute(a.db);
    // It hears of the loss at once (the server closes the connection) and stops answering from
    // memory: well before it reconnects, which it tries after a second.
    const mark = await until(
      () => Promise.resolve(b.credentials?.mark()),
      (m) => m === undefined,
      800,
    );
    expect(mark).toBeUndefined();
    expect(b.credentials?.size).toBe(0);
    await a.unitOfWork.run((r) => r.identity.revokeKey('t', 'k4', 70));
    expect((await lookup(b, 'k4'))?.key.revokedAt).toBe(70);
    // Until it listens again, every request reads its key.
    if (b.credentials?.mark() === undefined) expect(await sent(b, () => lookup(b, 'k4'))).toBe(1);
    // It reconnects (after about a second) and keeps keys again.
    await until(
      () => Promise.resolve(b.credentials?.mark()),
      (m) => m !== undefined,
    );
    await lookup(b, 'k4');
    expect(await sent(b, () => lookup(b, 'k4'))).toBe(0);
  });

  it('with the cache configured off every request reads its key', async () => {
    const off = await openPostgres(db.url, { poolSize: 2, logger: quiet, cipher: testCipher(), credentialCacheMs: 0 });
    try {
      await off.coordination.join('instance-off');
      expect(off.credentials).toBeUndefined();
      await lookup(off, 'k1');
      expect(await sent(off, () => lookup(off, 'k1'))).toBe(1);
    } finally {
      await off.close();
    }
  });
});

describe.runIf(wanted)('PostgreSQL: a key revoked through the API on one instance is refused on the other', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster('postgres', {}, undefined, 2, 'keyrevoke');
  });
  afterAll(() => cluster?.close());

  const wallet = (app: App, key: string) =>
    app.http.inject({ method: 'GET', url: '/api/v1/wallet', headers: { authorization: `Bearer ${key}` } });

  it('served from memory before, refused by both at once after', async () => {
    const [one, two] = cluster.apps as [App, App];
    const admin = {
      tenantId: one.config.tenant.default_id,
      userId: 'admin',
      actor: 'admin:admin',
      requestId: null,
      role: 'admin' as const,
    };
    const made = await one.services.identity.createKey(admin, { role: 'user', user: 'erin' });
    if (!made.ok) throw new Error(made.error.message);
    for (const app of [one, two]) {
      expect((await wallet(app, made.value.key)).statusCode).toBe(200);
      expect((await wallet(app, made.value.key)).statusCode).toBe(200);
    }
    const revoked = await one.http.inject({ method: 'DELETE', url: `/api/v1/admin/keys/${made.value.view.id}` });
    expect(revoked.statusCode).toBe(200);
    // Answered: refused on both instances from the very next request.
    expect((await wallet(two, made.value.key)).statusCode).toBe(401);
    const last = await wallet(one, made.value.key);
    expect(last.statusCode).toBe(401);
    expect(last.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
