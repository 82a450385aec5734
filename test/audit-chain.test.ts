import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCheckpoints } from '../src/adapters/audit/file-checkpoint-sink.js';
import { auditRowHash } from '../src/adapters/storage/kysely/audit-log.js';
import type { App } from '../src/composition/create-app.js';
import { ENGINES, type EngineName, startCluster } from './support/cluster.js';
import { createTestDatabase, type TestDatabase } from './support/pg-db.js';
import { startTestApp, tempDbPath } from './support/test-app.js';
import { TEST_MASTER_KEY_BASE64 } from './support/test-cipher.js';

/** `autoglm …` as its own process (the executable from the sources), its output and exit code. */
function autoglm(engine: EngineName, args: readonly string[]): Promise<{ out: string; err: string; code: number }> {
  // PostgreSQL is given the tests' master key; SQLite keeps its own beside the database file.
  const key = engine === 'postgres' ? { AUTOGLM_MASTER_KEY: TEST_MASTER_KEY_BASE64 } : {};
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/cli-child.ts', ...args], {
      env: { ...process.env, ...key, AUTOGLM_LOG_LEVEL: 'warn' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ out, err, code: code ?? -1 }));
  });
}

/** A person orders a latte (each order writes several audit rows as it moves on). */
const latte = (app: App, user: string) =>
  app.http.inject({
    method: 'POST',
    url: '/api/v1/order',
    headers: { 'content-type': 'application/json', 'x-user-id': user },
    payload: { drink: 'latte', size: 'medium' },
  });

type SqlRow = Record<string, unknown>;

/** Plain SQL on either engine (`?` placeholders), as someone with the database's credentials would edit it. */
interface RawDb {
  all(text: string, params?: readonly unknown[]): Promise<SqlRow[]>;
  run(text: string, params?: readonly unknown[]): Promise<void>;
  close(): Promise<void>;
}

async function openRaw(engine: EngineName, url: string): Promise<RawDb> {
  if (engine === 'sqlite') {
    const db = new Database(url.slice('sqlite:'.length));
    return {
      all: (text, params = []) => Promise.resolve(db.prepare(text).all(...params) as SqlRow[]),
      run: (text, params = []) => {
        db.prepare(text).run(...params);
        return Promise.resolve();
      },
      close: () => Promise.resolve(void db.close()),
    };
  }
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const numbered = (text: string): string => {
    let i = 0;
    return text.replace(/\?/g, () => `$${++i}`);
  };
  return {
    all: async (text, params = []) => (await c.query(numbered(text), [...params])).rows as SqlRow[],
    run: async (text, params = []) => void (await c.query(numbered(text), [...params])),
    close: () => c.end(),
  };
}

const COLUMNS = [
  'id',
  'tenant_id',
  'at',
  'actor',
  'action',
  'resource_type',
  'resource_id',
  'before_json',
  'after_json',
  'request_id',
  'shards',
  'shard',
  'seq',
  'prev_hash',
  'hash',
] as const;

/** A stored row's chained fields, read back from plain SQL. */
function fieldsOf(r: SqlRow): Parameters<typeof auditRowHash>[0] {
  return {
    tenantId: String(r.tenant_id),
    shards: Number(r.shards),
    shard: Number(r.shard),
    seq: Number(r.seq),
    prevHash: String(r.prev_hash),
    at: Number(r.at),
    actor: String(r.actor),
    action: String(r.action),
    resourceType: String(r.resource_type),
    resourceId: String(r.resource_id),
    beforeJson: r.before_json as string | null,
    afterJson: r.after_json as string | null,
    requestId: r.request_id as string | null,
  };
}

describe.each(ENGINES)('the audit hash chain on %s', (engine) => {
  it('spreads a tenant over 64 chains on PostgreSQL and keeps one on SQLite (its one writer), by default', async () => {
    const cluster = await startCluster(engine, {});
    try {
      const placed = [];
      for (let i = 0; i < 8; i++) placed.push(await latte(cluster.at(i), `default-u${i}`));
      for (const a of placed) expect(a.statusCode, a.body).toBeLessThan(300);
      const report = await cluster.apps[0]!.services.audit.verify({ tenantId: 'default' });
      expect(report.ok).toBe(true);
      const chains = report.tenants[0]!.chains;
      // 8 orders' resources over 64 chains land on several; with one chain, all on chain 0.
      if (engine === 'sqlite') expect(chains.map((c) => c.shard)).toEqual([0]);
      else expect(chains.length).toBeGreaterThan(4);
    } finally {
      await cluster.close();
    }
  }, 60_000);

  it('keeps every chain unbroken under concurrent orders (PostgreSQL: two instances)', async () => {
    // Few shards, so that many writers do meet on the same heads.
    const cluster = await startCluster(engine, { audit: { shards: 4 } });
    const orders = 96;
    try {
      const place = (i: number) => latte(cluster.at(i), `chain-u${i % 8}`);
      // Verified while the orders are being written, too: a walk beside writers sees a valid prefix.
      const [answers, during] = await Promise.all([
        Promise.all(Array.from({ length: orders }, (_, i) => place(i))),
        cluster.apps[0]!.services.audit.verify(),
      ]);
      for (const a of answers) expect(a.statusCode, a.body).toBeLessThan(300);
      expect(during.problem).toBeUndefined();
      // Both instances see the same chains: every row has its place, none is missing or repeated.
      for (const app of cluster.apps) {
        const report = await app.services.audit.verify({ tenantId: 'default' });
        expect(report.problem).toBeUndefined();
        expect(report.ok).toBe(true);
        const t = report.tenants[0]!;
        // Each order writes at least its creation and its payment's rows.
        expect(t.rows).toBeGreaterThanOrEqual(orders * 2);
        expect(t.chains.map((c) => c.shard)).toEqual([0, 1, 2, 3]);
        expect(t.chains.reduce((n, c) => n + c.head.seq, 0)).toBe(t.rows);
      }
      // One resource's rows are one chain, in the order they were written.
      const rows = await cluster.apps[0]!.storage.unitOfWork.read.audit.list(
        'default',
        'order',
        (JSON.parse(answers[0]!.body) as { order: { id: string } }).order.id,
      );
      expect(new Set(rows.map((r) => r.shard)).size).toBe(1);
      expect(rows.map((r) => r.seq)).toEqual([...rows.map((r) => r.seq)].sort((a, b) => a - b));
    } finally {
      await cluster.close();
    }
  }, 120_000);

  describe('autoglm audit verify, as a process, on a tampered log', () => {
    let url = '';
    let pgDb: TestDatabase | undefined;
    let raw: RawDb;
    let saved: { rows: SqlRow[]; heads: SqlRow[] };
    /** The tampered chain: the default tenant's longest. */
    let shard = 0;
    const inChain = `tenant_id = 'default' and shard = ?`;

    const row = async (seq: number): Promise<SqlRow> => {
      const [r] = await raw.all(`select * from audit_log where ${inChain} and seq = ?`, [shard, seq]);
      if (r === undefined) throw new Error(`no row at seq ${seq}`);
      return r;
    };
    /** Put the log back as it was before a tampering. */
    const restore = async (): Promise<void> => {
      await raw.run('delete from audit_log');
      await raw.run('delete from audit_chain_heads');
      for (const r of saved.rows)
        await raw.run(
          `insert into audit_log (${COLUMNS.join(', ')}) values (${COLUMNS.map(() => '?').join(', ')})`,
          COLUMNS.map((c) => r[c]),
        );
      for (const h of saved.heads)
        await raw.run(
          'insert into audit_chain_heads (tenant_id, shard, seq, hash, updated_at) values (?, ?, ?, ?, ?)',
          [h.tenant_id, h.shard, h.seq, h.hash, h.updated_at],
        );
    };
    /** Renumber: rows at `from` and after move by `by` (two steps: UNIQUE(tenant, shard, seq) holds throughout). */
    const shift = async (from: number, by: number): Promise<void> => {
      await raw.run(`update audit_log set seq = -seq where ${inChain} and seq >= ?`, [shard, from]);
      await raw.run(`update audit_log set seq = -seq + ? where ${inChain} and seq < 0`, [by, shard]);
    };
    const verify = (...more: string[]) => autoglm(engine, ['audit', 'verify', '--db', url, ...more]);

    beforeAll(async () => {
      if (engine === 'postgres') {
        pgDb = await createTestDatabase('auditcli');
        url = pgDb.url;
      } else {
        url = `sqlite:${tempDbPath()}`;
      }
      // Two chains, so that one of them is long enough to tamper with in every way.
      const { app } = await startTestApp(
        { audit: { shards: 2 }, ...(engine === 'postgres' ? { database: { url } } : {}) },
        {},
        engine === 'sqlite' ? url.slice('sqlite:'.length) : undefined,
      );
      for (let i = 0; i < 6; i++) {
        const r = await latte(app, 'tamper-u');
        expect(r.statusCode, r.body).toBeLessThan(300);
      }
      await app.close();
      raw = await openRaw(engine, url);
      // Audit rows cannot be changed or deleted (migration 0035): a tamperer who can first drop
      // that guard — the one the chain is there to expose — does so.
      if (engine === 'postgres') await raw.run('drop trigger audit_log_append_only on audit_log');
      else for (const op of ['update', 'delete']) await raw.run(`drop trigger audit_log_append_only_${op}`);
      saved = {
        rows: await raw.all('select * from audit_log order by id'),
        heads: await raw.all('select * from audit_chain_heads'),
      };
      const [longest] = await raw.all(
        `select shard, count(*) as n from audit_log where tenant_id = 'default' group by shard order by count(*) desc`,
      );
      shard = Number(longest?.shard);
      expect(Number(longest?.n)).toBeGreaterThan(8);
    }, 120_000);

    afterAll(async () => {
      await raw?.close();
      await pgDb?.drop();
    });

    it('passes an untouched log (exit 0)', async () => {
      const r = await verify();
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/tenant default: \d+ rows in 2 chain\(s\) intact/);
      expect(r.out).toContain('ok: ');
    }, 60_000);

    it('names an edited row and exits 1', async () => {
      const victim = await row(5);
      await raw.run(`update audit_log set actor = 'admin:mallory' where id = ?`, [victim.id]);
      try {
        const r = await verify('--tenant', 'default');
        expect(r.code).toBe(1);
        expect(r.err).toContain(`error AUDIT_CHAIN_BROKEN: tenant default shard ${shard}: edited:`);
        expect(r.err).toContain(`row id ${Number(victim.id)} (seq 5`);
      } finally {
        await restore();
      }
    }, 60_000);

    it('names a deleted row, with or without the rest renumbered', async () => {
      await raw.run(`delete from audit_log where ${inChain} and seq = 5`, [shard]);
      try {
        const gap = await verify();
        expect(gap.code).toBe(1);
        expect(gap.err).toContain('deleted: seq 5 missing before row id');
        await shift(6, -1);
        const renumbered = await verify();
        expect(renumbered.code).toBe(1);
        expect(renumbered.err).toContain('deleted: seq 5 was deleted and the rows after it renumbered');
      } finally {
        await restore();
      }
    }, 60_000);

    it('names an inserted row, even one forged with a correct hash of its own', async () => {
      const before = await row(4);
      await shift(5, 1);
      const forged = {
        ...fieldsOf(before),
        seq: 5,
        prevHash: String(before.hash),
        action: 'order.refunded',
        actor: 'admin:mallory',
      };
      await raw.run(
        `insert into audit_log (tenant_id, at, actor, action, resource_type, resource_id, before_json, after_json,
           request_id, shards, shard, seq, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          forged.tenantId,
          forged.at,
          forged.actor,
          forged.action,
          forged.resourceType,
          forged.resourceId,
          forged.beforeJson,
          forged.afterJson,
          forged.requestId,
          forged.shards,
          forged.shard,
          forged.seq,
          forged.prevHash,
          auditRowHash(forged),
        ],
      );
      await raw.run(`update audit_chain_heads set seq = seq + 1 where ${inChain}`, [shard]);
      const forgedId = Number((await row(5)).id);
      try {
        const r = await verify();
        expect(r.code).toBe(1);
        expect(r.err).toContain(`inserted: row id ${forgedId} (seq 5, order.refunded`);
      } finally {
        await restore();
      }
    }, 60_000);

    it('names a row moved out of its place (two rows swapped)', async () => {
      const fifth = await row(5);
      const sixth = await row(6);
      await raw.run('update audit_log set seq = -1 where id = ?', [fifth.id]);
      await raw.run('update audit_log set seq = 5 where id = ?', [sixth.id]);
      await raw.run('update audit_log set seq = 6 where id = ?', [fifth.id]);
      try {
        const r = await verify();
        expect(r.code).toBe(1);
        expect(r.err).toContain(`reordered: row id ${Number(sixth.id)} (seq 5`);
      } finally {
        await restore();
      }
    }, 60_000);

    it('a rewrite of the whole chain passes the walk but not the checkpoint taken before it', async () => {
      const file = `${tempDbPath()}.checkpoints.jsonl`;
      const cp = await autoglm(engine, ['audit', 'checkpoint', '--db', url, '--out', file]);
      expect(cp.code, cp.err).toBe(0);
      const line = JSON.parse(readFileSync(file, 'utf8').trim()) as { heads: Array<{ tenant_id: string }> };
      expect(line.heads.map((h) => h.tenant_id)).toContain('default');
      expect((await verify('--checkpoint', file)).code).toBe(0);

      // Someone with the database edits row 5 and recomputes every hash after it, and the head.
      await raw.run(`update audit_log set actor = 'admin:mallory' where ${inChain} and seq = 5`, [shard]);
      let prev = String((await row(4)).hash);
      const rest = await raw.all(`select * from audit_log where ${inChain} and seq >= 5 order by seq`, [shard]);
      for (const r of rest) {
        const hash = auditRowHash({ ...fieldsOf(r), prevHash: prev });
        await raw.run('update audit_log set prev_hash = ?, hash = ? where id = ?', [prev, hash, r.id]);
        prev = hash;
      }
      await raw.run(`update audit_chain_heads set hash = ? where ${inChain}`, [prev, shard]);
      try {
        expect((await verify()).code).toBe(0);
        const r = await verify('--checkpoint', file);
        expect(r.code).toBe(1);
        expect(r.err).toContain(`tenant default shard ${shard}: rewritten: the checkpoint of`);
        expect(r.err).toContain('the chain was rewritten');
      } finally {
        await restore();
      }
    }, 90_000);
  });
});

describe('checkpoints of the chain heads', () => {
  it('are appended to audit.checkpoint_file when a head moved, and checked against the chain', async () => {
    const file = `${tempDbPath()}.checkpoints.jsonl`;
    const { app } = await startTestApp({ audit: { checkpoint_file: file } });
    try {
      const first = await app.services.audit.checkpoint();
      const seqOf = (cp: typeof first): number =>
        (cp?.heads ?? []).filter((h) => h.tenantId === 'default').reduce((n, h) => n + h.seq, 0);
      expect(seqOf(first)).toBeGreaterThan(0);
      // Nothing moved: nothing written.
      expect(await app.services.audit.checkpoint()).toBeUndefined();
      const placed = await latte(app, 'cp-u');
      expect(placed.statusCode, placed.body).toBeLessThan(300);
      const second = await app.services.audit.checkpoint();
      expect(seqOf(second)).toBeGreaterThan(seqOf(first));
      const lines = parseCheckpoints(readFileSync(file, 'utf8'));
      expect(lines.map(seqOf)).toEqual([seqOf(first), seqOf(second)]);
      const report = await app.services.audit.verify({ checkpoints: lines });
      expect(report.ok).toBe(true);
      expect(report.checkpointsChecked).toBeGreaterThanOrEqual(2);
    } finally {
      await app.close();
    }
  });

  it('are POSTed to audit.checkpoint_url as the same JSON line, and to the file too when both are set', async () => {
    const bodies: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString('utf8')));
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(bodies.length === 1 ? 503 : 204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const file = `${tempDbPath()}.checkpoints.jsonl`;
    const { app } = await startTestApp({
      audit: { checkpoint_file: file, checkpoint_url: `http://127.0.0.1:${port}/audit-heads` },
    });
    try {
      const placed = await latte(app, 'cp-w');
      expect(placed.statusCode, placed.body).toBeLessThan(300);
      // The receiver refused the first: not counted, so the same heads go again on the next tick.
      await expect(app.services.audit.checkpoint()).rejects.toThrow('answered 503');
      const sent = await app.services.audit.checkpoint();
      expect(sent?.heads.length).toBeGreaterThan(0);
      expect(bodies).toHaveLength(2);
      expect(parseCheckpoints(bodies[1]!)).toEqual([{ ...sent, at: Math.floor(sent!.at) }]);
      expect((await app.services.audit.verify({ checkpoints: parseCheckpoints(bodies.join('\n')) })).ok).toBe(true);
      expect(parseCheckpoints(readFileSync(file, 'utf8')).length).toBeGreaterThanOrEqual(1);
    } finally {
      await app.close();
      server.close();
    }
  });
});
