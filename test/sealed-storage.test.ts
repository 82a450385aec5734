import { existsSync, readFileSync } from 'node:fs';
import { type Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { EnvelopeCipher } from '../src/adapters/crypto/envelope-cipher.js';
import { openPostgres } from '../src/adapters/storage/postgres/database.js';
import type { Database } from '../src/adapters/storage/schema.js';
import { openSqlite } from '../src/adapters/storage/sqlite/database.js';
import type { Storage } from '../src/adapters/storage/storage.js';
import type { AgentSessionRecord } from '../src/ports/agent-sessions.js';
import type { IdempotencyRecord, RechargeRecord } from '../src/ports/records.js';
import type { UnitOfWork } from '../src/ports/repositories.js';
import { createTestDatabase, postgresWanted, type TestDatabase } from './support/pg-db.js';
import { quiet } from './support/quiet-logger.js';
import { tempDbPath } from './support/temp-db.js';
import { TEST_MASTER_KEY, testCipher } from './support/test-cipher.js';

/**
 * Data at rest in the storage adapters, on both engines: what the columns hold (ciphertext and
 * keyed indexes, never a number), rows from before encryption (read as plaintext, re-sealed by a
 * rotation), keys learnt on demand from another instance, a wrong master key refused.
 */

type Opened = Storage & { readonly db: Kysely<Database> };

interface Engine {
  /** Whether several instances may share one database (SQLite: one process owns the file). */
  readonly shared: boolean;
  /** The database file (SQLite). */
  readonly file?: () => string;
  /** A new, empty database; `open` opens instances on it. */
  fresh(): Promise<void>;
  open(cipher?: EnvelopeCipher): Promise<Opened>;
  drop(): Promise<void>;
}

function sqliteEngine(): Engine {
  let path = '';
  return {
    shared: false,
    file: () => path,
    fresh: () => {
      path = tempDbPath();
      return Promise.resolve();
    },
    open: (cipher = testCipher()) => openSqlite(path, { cipher }),
    drop: () => Promise.resolve(),
  };
}

function postgresEngine(): Engine {
  let db: TestDatabase | undefined;
  return {
    shared: true,
    async fresh() {
      await db?.drop();
      db = await createTestDatabase('sealed');
    },
    open: (cipher = testCipher()) => {
      if (db === undefined) throw new Error('fresh() first');
      return openPostgres(db.url, { poolSize: 4, logger: quiet, cipher });
    },
    async drop() {
      await db?.drop();
      db = undefined;
    },
  };
}

const engines: Array<[string, Engine]> = [['sqlite', sqliteEngine()]];
if (await postgresWanted()) engines.push(['postgres', postgresEngine()]);

const PHONE = '13800138000';
const STAMPED = { createdBy: 'user:u1', updatedBy: 'user:u1', createdAt: 1000, updatedAt: 1000, version: 1 } as const;

const recharge = (id: string, phone = PHONE): RechargeRecord => ({
  id,
  tenantId: 't1',
  userId: 'u1',
  phone,
  operator: 'CHINA_MOBILE',
  amount: 5000,
  currency: 'CNY',
  state: { id, maxAttempts: 2, status: 'CREATED', attempts: [] },
  batchId: null,
  ...STAMPED,
});

const session = (id: string): AgentSessionRecord => ({
  id,
  tenantId: 't1',
  userId: 'u1',
  pending: null,
  awaiting: { action: 'recharge_phone', params: { phone: PHONE, amount: 10000, currency: 'CNY' } },
  lastOrderId: null,
  turns: [{ text: `给${PHONE}充值100`, result: 'recharge_phone' }],
  createdAt: 1000,
  updatedAt: 1000,
  expiresAt: 9_000_000_000_000,
});

const answered = (key: string): IdempotencyRecord => ({
  tenantId: 't1',
  scope: 'user:u1 POST /api/v1/agent/messages',
  key,
  fingerprint: 'f',
  state: 'completed',
  responseStatus: 200,
  responseBody: JSON.stringify({ intent: { action: 'recharge_phone', params: { phone: PHONE } } }),
  responseHeaders: { 'content-type': 'application/json' },
  recoveryPoint: null,
  lockedUntil: 0,
  createdAt: 1000,
  expiresAt: 9_000_000_000_000,
});

const batchRow = (line: number, phone: string) => ({
  batchId: 'rcb1',
  line,
  phone,
  operator: 'CHINA_MOBILE',
  amount: 1000,
  status: 'pending' as const,
  code: null,
  message: null,
  rechargeId: null,
});

/** Every value of every sealed column, as stored. */
async function storedValues(db: Kysely<Database>): Promise<string[]> {
  const rows = await sql<{ v: string | null }>`
    select phone as v from recharges union all
    select phone from recharge_batch_rows union all
    select context_json from agent_sessions union all
    select response_body from idempotency_keys
  `.execute(db);
  return rows.rows.map((r) => r.v).filter((v): v is string => v !== null);
}

/** Write one of everything that holds a number. */
async function writeOneOfEach(uow: UnitOfWork): Promise<void> {
  await uow.run(async (r) => {
    await r.recharges.insert(recharge('rch_1'));
    await r.recharges.insertBatch({
      id: 'rcb1',
      tenantId: 't1',
      userId: 'u1',
      status: 'receiving',
      format: 'csv',
      rows: 0,
      validRows: 0,
      rejectedRows: 0,
      pendingRows: 0,
      rejected: [],
      createdBy: 'user:u1',
      createdAt: 1,
      updatedAt: 1,
    });
    await r.recharges.insertBatchRows([batchRow(2, PHONE), batchRow(3, '13900139000')]);
    await r.sessions.save(session('ses_1'));
    await r.idempotency.tryInsert(answered('k1'));
  });
}

/** Rotate through the port, as the use case does: begin, seal with the new key, re-seal each column, retire. */
async function rotate(uow: UnitOfWork, batch = 2): Promise<{ active: string; retiring: string[] }> {
  const begun = await uow.run((r) => r.dataKeys.beginRotation(5000));
  await uow.read.dataKeys.refresh();
  for (const column of uow.read.dataKeys.sealedColumns()) {
    let cursor: string | null = null;
    do {
      const step: { cursor: string | null } = await uow.run((r) =>
        r.dataKeys.reseal(column, begun.active.id, cursor, batch),
      );
      cursor = step.cursor;
    } while (cursor !== null);
  }
  const retiring = begun.retiring.map((k) => k.id);
  await uow.run((r) => r.dataKeys.retire(retiring, 6000));
  return { active: begun.active.id, retiring };
}

describe.each(engines)('sealed storage on %s', (_name, engine) => {
  const opened: Opened[] = [];
  const open = async (cipher?: EnvelopeCipher): Promise<Opened> => {
    const s = await engine.open(cipher);
    opened.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close().catch(() => undefined);
    await engine.drop();
  });

  it('stores only sealed values and keyed indexes, and gives plaintext back', async () => {
    await engine.fresh();
    const s = await open();
    await writeOneOfEach(s.unitOfWork);
    const values = await storedValues(s.db);
    expect(values).toHaveLength(5);
    for (const v of values) {
      expect(v).toMatch(/^v1:[0-9a-f]{8}:/);
      expect(v).not.toContain('138001');
    }
    const indexes = await sql<{ i: string | null }>`
      select phone_index as i from recharges union all select phone_index from recharge_batch_rows
      union all select context_digest from agent_sessions
    `.execute(s.db);
    for (const { i } of indexes.rows) expect(i).toMatch(/^[A-Za-z0-9_-]{22}$/);

    const read = s.unitOfWork.read;
    expect(await read.recharges.get('t1', 'rch_1')).toEqual(recharge('rch_1'));
    expect((await read.recharges.pendingBatchRows('rcb1', 10)).map((r) => r.phone)).toEqual([PHONE, '13900139000']);
    expect(await read.sessions.get('t1', 'ses_1')).toEqual(session('ses_1'));
    expect((await read.idempotency.get('t1', answered('k1').scope, 'k1'))?.responseBody).toBe(
      answered('k1').responseBody,
    );
    // The duplicate check finds numbers by blind index, in whatever form they were typed.
    expect([...(await read.recharges.firstLinesOf('rcb1', [PHONE, '13700137000']))]).toEqual([[PHONE, 2]]);
  });

  it('reads rows from before encryption as plaintext; a rotation seals, indexes, retires the old key', async () => {
    await engine.fresh();
    const s = await open();
    const before = await s.unitOfWork.read.dataKeys.list();
    expect(before.map((k) => k.status)).toEqual(['active']);
    // Rows as the code before 0011 wrote them: plaintext, no index, no digest.
    await sql`insert into recharges (id, tenant_id, user_id, phone, operator, amount, currency, status,
      attempts_json, max_attempts, created_by, updated_by, created_at, updated_at, version)
      values ('rch_old', 't1', 'u1', ${PHONE}, 'CHINA_MOBILE', 5000, 'CNY', 'CREATED', '[]', 2,
      'user:u1', 'user:u1', 1000, 1000, 1)`.execute(s.db);
    await sql`insert into recharge_batch_rows (batch_id, line, phone, operator, amount, status)
      values ('rcb_old', 2, ${PHONE}, 'CHINA_MOBILE', 1000, 'pending')`.execute(s.db);
    const legacy = session('ses_old');
    const legacyJson = JSON.stringify({ pending: null, awaiting: legacy.awaiting, turns: legacy.turns });
    await sql`insert into agent_sessions (tenant_id, id, user_id, context_json, created_at, updated_at, expires_at)
      values ('t1', 'ses_old', 'u1', ${legacyJson}, 1000, 1000, ${legacy.expiresAt})`.execute(s.db);
    await writeOneOfEach(s.unitOfWork);

    const read = s.unitOfWork.read;
    expect(await read.recharges.get('t1', 'rch_old')).toEqual(recharge('rch_old'));
    expect(await read.sessions.get('t1', 'ses_old')).toEqual(legacy);
    const active = before[0]?.id ?? '';
    expect(await read.dataKeys.countStale(active)).toEqual({
      'recharges.phone': 1,
      'recharge_batch_rows.phone': 1,
      'agent_sessions.context_json': 1,
      'idempotency_keys.response_body': 0,
      'held_actions.params_json': 0,
      'webhook_subscriptions.secret': 0,
    });

    const { active: next, retiring } = await rotate(s.unitOfWork);
    expect(retiring).toEqual([active]);
    expect(next).not.toBe(active);
    expect(await read.dataKeys.countStale(next)).toEqual({
      'recharges.phone': 0,
      'recharge_batch_rows.phone': 0,
      'agent_sessions.context_json': 0,
      'idempotency_keys.response_body': 0,
      'held_actions.params_json': 0,
      'webhook_subscriptions.secret': 0,
    });
    for (const v of await storedValues(s.db)) expect(v.startsWith(`v1:${next}:`)).toBe(true);
    expect(Object.fromEntries((await read.dataKeys.list()).map((k) => [k.id, k.status]))).toEqual({
      [next]: 'active',
      [active]: 'retired',
    });
    // Everything still reads as written; the legacy batch row is now found by its index.
    expect(await read.recharges.get('t1', 'rch_old')).toEqual(recharge('rch_old'));
    expect(await read.recharges.get('t1', 'rch_1')).toEqual(recharge('rch_1'));
    expect(await read.sessions.get('t1', 'ses_old')).toEqual(legacy);
    expect([...(await read.recharges.firstLinesOf('rcb_old', [PHONE]))]).toEqual([[PHONE, 2]]);
    // A re-sealed conversation is still claimed by compare-and-set on what it says.
    const taken = { ...legacy, awaiting: null, updatedAt: 2000 };
    expect(await s.unitOfWork.run((r) => r.sessions.replace(legacy, taken))).toBe(true);
    expect(await s.unitOfWork.run((r) => r.sessions.replace(legacy, taken))).toBe(false);
    // The plaintext the legacy rows held may linger in the file's free space until it is reused:
    // VACUUM (the README says when) rewrites the file without it.
    if (engine.file !== undefined) {
      await sql`vacuum`.execute(s.db);
      await sql`pragma wal_checkpoint(TRUNCATE)`.execute(s.db);
      for (const f of [engine.file(), `${engine.file()}-wal`])
        if (existsSync(f)) expect(readFileSync(f).includes(Buffer.from(PHONE)), f).toBe(false);
    }
    // Running the re-seal again finds nothing to do.
    expect(await s.unitOfWork.run((r) => r.dataKeys.reseal('recharges.phone', next, null, 100))).toEqual({
      resealed: 0,
      cursor: null,
    });
  });

  it('free-text errors and refusals are kept with numbers masked (a channel may name the number)', async () => {
    await engine.fresh();
    const s = await open();
    const uow = s.unitOfWork;
    await uow.run((r) => r.jobs.enqueue({ id: 'j1', tenantId: 't1', kind: 'k', resourceId: 'r', runAt: 1, now: 1 }));
    await uow.run((r) => r.jobs.claimById('j1', 'w1', 2, 100));
    await uow.run((r) => r.jobs.release('j1', 'w1', 3, 4, `juhe: ordersta answered 10014 号码${PHONE}不支持`));
    expect((await uow.read.jobs.get('j1'))?.lastError).toBe('juhe: ordersta answered 10014 号码138****8000不支持');
    await writeOneOfEach(uow);
    await uow.run((r) =>
      r.recharges.settleBatchRow('rcb1', 2, { status: 'rejected', code: 'JUHE_10014', message: `${PHONE} 不支持` }),
    );
    expect((await uow.read.recharges.rejectedBatchRows('rcb1', 0, 10))[0]).toMatchObject({
      phone: PHONE,
      message: '138****8000 不支持',
    });
    const { rows } = await sql<{ m: string | null }>`
      select last_error as m from jobs union all select message from recharge_batch_rows
    `.execute(s.db);
    for (const { m } of rows) expect(m ?? '').not.toContain(PHONE);
  });

  it('an instance opens values sealed with a key another instance made after it started', async () => {
    await engine.fresh();
    const a = await open();
    const b = await open();
    await rotate(a.unitOfWork);
    await a.unitOfWork.run((r) => r.recharges.insert(recharge('rch_new', '13700137000')));
    // b has never seen the new key: it loads it from the database, once, when it meets it.
    expect((await b.unitOfWork.read.recharges.get('t1', 'rch_new'))?.phone).toBe('13700137000');
    expect((await b.unitOfWork.run((r) => r.recharges.get('t1', 'rch_new')))?.phone).toBe('13700137000');
  });

  it('two rotations begun at once make one new key between them', async () => {
    await engine.fresh();
    const a = await open();
    const b = engine.shared ? await open() : a;
    const [x, y] = await Promise.all([
      a.unitOfWork.run((r) => r.dataKeys.beginRotation(1)),
      b.unitOfWork.run((r) => r.dataKeys.beginRotation(1)),
    ]);
    expect(x.active.id).toBe(y.active.id);
    expect([x.resumed, y.resumed].sort()).toEqual([false, true]);
    const keys = await a.unitOfWork.read.dataKeys.list();
    expect(keys.filter((k) => k.status === 'active')).toHaveLength(1);
    expect(keys.filter((k) => k.status === 'retiring')).toHaveLength(1);
    // Begun again before it finished: resumed, not a third key.
    const again = await a.unitOfWork.run((r) => r.dataKeys.beginRotation(2));
    expect(again).toMatchObject({ resumed: true, active: { id: x.active.id } });
  });

  it('refuses to open with another master key: nothing sealed could be read', async () => {
    await engine.fresh();
    await open();
    const wrong = new EnvelopeCipher(Buffer.alloc(32, 0xee));
    expect(Buffer.compare(Buffer.alloc(32, 0xee), TEST_MASTER_KEY)).not.toBe(0);
    await expect(engine.open(wrong)).rejects.toThrow(/master key does not unwrap data key/);
  });
});
