import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../../ports/records.js';
import { linkedInsert } from '../kysely/audit-log.js';
import { BATCHABLE, batchKind } from '../kysely/batchable.js';
import { snakeCaseIdentifiers, withCamelCase } from '../kysely/with-camel-case.js';
import type { Database } from '../schema.js';
import { shifted, target } from './write-batching.js';

// Compiles as the repositories do on PostgreSQL, without a server: what write batching is shown.
const db = withCamelCase(
  new Kysely<Database>({
    dialect: snakeCaseIdentifiers({
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (k) => new PostgresIntrospector(k),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    }),
  }),
);

const entry = (resourceId: string): AuditEntry => ({
  tenantId: 't1',
  at: 1000,
  actor: 'user:u1',
  action: 'order.created',
  resourceType: 'order',
  resourceId,
  before: null,
  after: { status: 'CREATED' },
  requestId: 'req-1',
});

/**
 * target() reads Kysely's query nodes to learn a write's table and rows. A Kysely upgrade that
 * reshapes them would make it answer undefined, which is safe (the write is sent at once) but
 * silently ends batching: these pin what it must find.
 */
describe('what a batchable write targets', () => {
  it('a version-checked update: its table, one row', () => {
    const q = db
      .updateTable('orders')
      .set({ status: 'PAID', version: 2 })
      .where('id', '=', 'o1')
      .where('version', '=', 1)
      .modifyEnd(BATCHABLE.version)
      .compile();
    expect(batchKind(q.sql)).toBe('version');
    expect(target(q)).toEqual({ table: 'orders', rows: 1, update: true });
  });

  it('an insert: its table and as many rows as its VALUES', () => {
    const row = { id: 'j', tenantId: 't1', kind: 'k', resourceId: 'r', runAt: 1, attempts: 0, maxAttempts: 3 };
    const q = db
      .insertInto('jobs')
      .values([row, { ...row, id: 'j2' }, { ...row, id: 'j3' }] as never)
      .modifyEnd(BATCHABLE.insert)
      .compile();
    expect(batchKind(q.sql)).toBe('insert');
    expect(target(q)).toEqual({ table: 'jobs', rows: 3, update: false });
  });

  it('the audit rows: an INSERT … SELECT whose mark names its table and rows', () => {
    const q = linkedInsert([entry('o1'), entry('o1'), entry('o2')], 64).compile(db);
    expect(batchKind(q.sql)).toBe('insert');
    expect(target(q)).toEqual({ table: 'audit_log', rows: 3, update: false });
    expect(q.sql).toMatch(/from autoglm_audit_link\(/);
  });

  it('a read targets nothing', () => {
    const q = db.selectFrom('orders').selectAll().where('id', '=', 'o1').compile();
    expect(batchKind(q.sql)).toBeUndefined();
    expect(target(q)).toBeUndefined();
  });
});

describe('parameters renumbered for a batch', () => {
  it('every $n moves by the offset, whatever its digits; other dollars and the rest stay', () => {
    const sql = 'update "t" set "a" = $1, "b" = $10 where "id" = $2 and x = \'$\' and y = $$ returning $9';
    expect(shifted(sql, 0)).toBe(sql);
    expect(shifted(sql, 7)).toBe(
      'update "t" set "a" = $8, "b" = $17 where "id" = $9 and x = \'$\' and y = $$ returning $16',
    );
    expect(shifted('select $1', 99)).toBe('select $100');
    expect(shifted('select 1', 5)).toBe('select 1');
  });

  it('says what the regular expression it replaced said', () => {
    const old = (s: string, o: number) => s.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + o}`);
    for (const sql of ['$1$2$3', 'a$', '$a$12b$0', 'x = $123456 and $7']) expect(shifted(sql, 3)).toBe(old(sql, 3));
  });
});
