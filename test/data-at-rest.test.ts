import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ENGINES, type EngineName } from './support/cluster.js';
import { FLOW_PHONES, type FullFlow, startFullFlow } from './support/full-flow.js';
import { createTestDatabase, type TestDatabase } from './support/pg-db.js';
import { tempDbPath } from './support/test-app.js';

/**
 * The acceptance for data at rest: after a full flow (orders paid three ways with signed
 * callbacks, recharges from the wallet and paid directly with signed channel callbacks, a batch
 * file, the agent asked in words), no test phone number is anywhere in the database files — the
 * SQLite file with its WAL, or a pg_dump of the PostgreSQL database — and no log line holds an
 * unmasked number, a key, a secret, a private key or a signature.
 */

let flow: FullFlow | undefined;
let pg: TestDatabase | undefined;
afterEach(async () => {
  await flow?.close().catch(() => undefined);
  await pg?.drop();
  flow = pg = undefined;
});

/** The phone numbers found in `bytes` (as the 11 or 10 digits themselves). */
const found = (bytes: Buffer, phones: readonly string[]): string[] =>
  phones.filter((p) => bytes.includes(Buffer.from(p, 'utf8')));

const withSidecars = (path: string): string[] => [path, `${path}-wal`, `${path}-shm`].filter((f) => existsSync(f));

describe.each(ENGINES)('a full flow on %s leaves no phone number at rest', (engine: EngineName) => {
  it('grep the database for every number it was given: nothing', async () => {
    const path = tempDbPath();
    if (engine === 'postgres') pg = await createTestDatabase('atrest');
    flow = await startFullFlow(pg === undefined ? {} : { database: { url: pg.url, pool_size: 4 } }, path);
    await flow.run();
    const phones = flow.phones;
    // The flow really stored them: each reads back through the service (sealed in the tables).
    const app = flow.app;
    const stored = await app.deps.uow.read.recharges.listAfter('default', null, 100);
    expect(new Set(stored.map((r) => r.phone))).toEqual(
      new Set([...FLOW_PHONES.wallet, ...FLOW_PHONES.direct, ...FLOW_PHONES.batch, FLOW_PHONES.agent]),
    );

    if (engine === 'sqlite') {
      // While running (the WAL holds the latest pages), and after a clean close (checkpointed).
      for (const f of withSidecars(path)) expect(found(readFileSync(f), phones), f).toEqual([]);
      await flow.close();
      flow = undefined;
      const files = withSidecars(path);
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) expect(found(readFileSync(f), phones), f).toEqual([]);
      const dump = execFileSync('sqlite3', [path, '.dump'], { maxBuffer: 256 * 1024 * 1024 });
      expect(found(dump, phones)).toEqual([]);
    } else {
      const dump = execFileSync('pg_dump', ['--no-owner', '--data-only', pg?.url ?? ''], {
        maxBuffer: 256 * 1024 * 1024,
      });
      expect(dump.toString('utf8')).toContain('COPY public.recharges');
      expect(found(dump, phones)).toEqual([]);
    }
  }, 120_000);
});

describe('the logs of a full flow', () => {
  it('hold no unmasked phone number, key, secret, private key or signature', async () => {
    flow = await startFullFlow();
    await flow.run();
    await flow.close();
    const text = flow.logs.text;
    const lines = flow.logs.lines;
    expect(lines.length).toBeGreaterThan(50);
    // The flow was logged: requests, recharges, callbacks (signed, forged ones refused).
    expect(text).toContain('"url":"/api/v1/recharge-callbacks/:channel"');
    expect(text).toContain('"code":"CALLBACK_SIGNATURE_INVALID"');
    expect(text).toMatch(/"gateway":"sim-alipay".*"msg":"callback accepted"/);
    expect(text).toMatch(/"gateway":"sim-wechatpay".*"msg":"callback accepted"/);
    expect(text).toContain('"url":"/api/v1/recharges/batch"');
    expect(text).toContain('"url":"/api/v1/agent/messages"');
    for (const phone of flow.phones) expect(text, phone).not.toContain(phone);
    // No mainland mobile number in any form (with +86, spaces or dashes) outside its masked form.
    // (UUIDs — request and session ids — first: a group like `…a1939079-8510…` looks like a number;
    // then long hex — trace and span ids, hashes — and prefixed ids such as `rch_01M9…`, where a run
    // of eleven digits between letters turns up by chance, as `…ab14977036942f…` once did.)
    const unmasked =
      text
        .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>')
        .replace(/(?<![0-9A-Za-z])[0-9a-f]{16,}(?![0-9A-Za-z])/gi, '<hex>')
        .replace(/(?<![0-9A-Za-z])[a-z]+_[0-9A-Z]{20,}(?![0-9A-Za-z])/g, '<id>')
        .match(/(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?!\d)/g) ?? [];
    expect(unmasked).toEqual([]);
    expect(text).toContain('****'); // masked numbers are there instead
    expect(flow.secrets.length).toBeGreaterThan(10);
    for (const secret of flow.secrets) expect(text.includes(secret), `a secret (${secret.length} chars)`).toBe(false);
    expect(text).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
    expect(flow.signatures.length).toBeGreaterThan(5);
    for (const sig of flow.signatures) expect(text.includes(sig), `a signature (${sig.length} chars)`).toBe(false);
    // The master key neither (it is only where the configuration says it comes from).
    expect(flow.app.config.security.master_key.source).toBe('generate');
    const keyFile = join(dirname(flow.app.config.database.path), 'master.key');
    const masterKey = readFileSync(keyFile, 'utf8').trim();
    expect(Buffer.from(masterKey, 'base64')).toHaveLength(32);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(text).not.toContain(masterKey);
    expect(text).not.toContain(Buffer.from(masterKey, 'base64').toString('hex'));
    expect(text).toContain(`"master_key_source":"generate","master_key_file":"${keyFile}"`);
  }, 120_000);
});
