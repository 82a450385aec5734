import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import SqliteDatabase from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { tempDbPath } from '../../../../test/support/temp-db.js';
import { testCipher } from '../../../../test/support/test-cipher.js';
import { sql } from 'kysely';
import { openSqlite } from './database.js';
import { WalCheckpointer } from './wal-checkpointer.js';

describe('WalCheckpointer: the write-ahead log copied back on a worker thread', () => {
  it('checkpoints what the writer committed, without the writer checkpointing itself', async () => {
    const path = tempDbPath();
    const writer = new SqliteDatabase(path);
    writer.pragma('journal_mode = WAL');
    writer.pragma('wal_autocheckpoint = 0');
    writer.exec('create table t (id integer primary key, v text)');
    const insert = writer.prepare('insert into t (v) values (?)');
    for (let i = 0; i < 200; i++) insert.run('x'.repeat(500));
    const failures: string[] = [];
    const c = new WalCheckpointer(path, (m) => failures.push(m), 0);
    c.committed();
    await c.idle();
    expect(failures).toEqual([]);
    expect(c.stats.checkpoints).toBe(1);
    expect(c.stats.log).toBeGreaterThan(20);
    expect(c.stats.checkpointed).toBe(c.stats.log);
    // Nothing left for the writer to copy: its own checkpoint finds every frame done.
    const [own] = writer.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number; checkpointed: number }>;
    expect(own?.checkpointed).toBe(own?.log);
    await c.close();
    writer.close();
  });

  it('asks again only after `everyMs` since the last checkpoint ended', async () => {
    const path = tempDbPath();
    const writer = new SqliteDatabase(path);
    writer.pragma('journal_mode = WAL');
    writer.exec('create table t (id integer primary key)');
    let now = 1_000;
    const c = new WalCheckpointer(
      path,
      () => undefined,
      100,
      () => now,
    );
    c.committed();
    await c.idle();
    c.committed();
    await c.idle();
    expect(c.stats.checkpoints).toBe(1);
    now += 100;
    c.committed();
    await c.idle();
    expect(c.stats.checkpoints).toBe(2);
    await c.close();
    writer.close();
  });

  it('a database it cannot open is reported, not thrown', async () => {
    const failures: string[] = [];
    const c = new WalCheckpointer(`${tempDbPath()}-missing`, (m) => failures.push(m), 0);
    c.committed();
    await c.idle();
    while (failures.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(failures[0]).toMatch(/SQLITE_CANTOPEN|unable to open/);
    await c.close();
  });

  it('the service checkpoints in the background and keeps its own checkpoint only as a backstop', async () => {
    const s = await openSqlite(tempDbPath(), { cipher: testCipher() });
    const rows = (await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(s.db)).rows;
    expect(rows[0]?.wal_autocheckpoint).toBe(10_000);
    await s.close();
    const full = await openSqlite(tempDbPath(), { cipher: testCipher(), sync: 'commit' });
    const own = (await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(full.db)).rows;
    expect(own[0]?.wal_autocheckpoint).toBe(1000);
    await full.close();
  });

  it('a process with nothing else to do still waits for close() to finish, then exits', async () => {
    // The worker does not keep a process alive; closing it must (a CLI awaits close and exits).
    const database = fileURLToPath(new URL('./database.ts', import.meta.url));
    const cipher = fileURLToPath(new URL('../../../../test/support/test-cipher.ts', import.meta.url));
    const script =
      `const { openSqlite } = await import(${JSON.stringify(database)});` +
      `const { testCipher } = await import(${JSON.stringify(cipher)});` +
      `const s = await openSqlite(${JSON.stringify(tempDbPath())}, { cipher: testCipher() });` +
      `await s.unitOfWork.run(async () => undefined);` +
      `await s.close(); console.log('closed');`;
    const file = join(dirname(tempDbPath()), 'close.mts');
    writeFileSync(file, script);
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', file], { timeout: 60_000 }, (err, stdout) =>
        resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), stdout }),
      );
    });
    expect(out).toEqual({ code: 0, stdout: 'closed\n' });
  }, 70_000);
});
