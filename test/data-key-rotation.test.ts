import { spawnSync } from 'node:child_process';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../src/adapters/storage/schema.js';
import type { App } from '../src/composition/create-app.js';
import { loadConfig } from '../src/config/load-config.js';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import { type Cluster, ENGINES, startCluster } from './support/cluster.js';
import { quick, simulatedChannels } from './support/recharge-harness.js';
import { startTestApp, tempDbPath } from './support/test-app.js';
import type { Kysely } from 'kysely';

/**
 * `rotate-data-key` without downtime: a rotation runs while recharges are being made (on SQLite,
 * and on two PostgreSQL instances, the rotation on one while the other keeps sealing with the old
 * key until it refreshes); afterwards every value reads back, none uses the old key, and the old
 * key is retired. An interrupted rotation resumes. The CLI runs it against the database file.
 */

const json = (user: string, key?: string): Record<string, string> => ({
  'content-type': 'application/json',
  'x-user-id': user,
  ...(key === undefined ? {} : { 'idempotency-key': key }),
});

const USERS = ['u0', 'u1', 'u2', 'u3'];
const phoneOf = (i: number): string => `139${String(10_000_000 + i).slice(-8)}`;

let cluster: Cluster | undefined;
const apps: App[] = [];
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  for (const a of apps.splice(0)) await a.close().catch(() => undefined);
});

const rawDb = (a: App): Kysely<Database> => (a.storage as unknown as { db: Kysely<Database> }).db;

/** Every sealed value by the key it names ('plain' for an unversioned one). */
async function valuesByKey(a: App): Promise<Record<string, number>> {
  const { rows } = await sql<{ v: string }>`
    select phone as v from recharges union all select phone from recharge_batch_rows union all
    select context_json from agent_sessions union all
    select response_body from idempotency_keys where response_body is not null
  `.execute(rawDb(a));
  const out: Record<string, number> = {};
  for (const { v } of rows) {
    const key = v.startsWith('v1:') ? (v.split(':')[1] ?? '?') : 'plain';
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

async function recharge(a: App, user: string, i: number): Promise<{ id: string; phone: string }> {
  const phone = phoneOf(i);
  const res = await a.http.inject({
    method: 'POST',
    url: '/api/v1/recharges',
    headers: json(user, `r-${i}`),
    payload: { phone, amount: 1000 },
  });
  expect(res.statusCode, res.body).toBeLessThan(300);
  return { id: res.json<{ recharge: { id: string } }>().recharge.id, phone };
}

describe.each(ENGINES)('data key rotation under load on %s', (engine) => {
  it('re-seals everything while recharges go on; every value reads back; the old key is retired', async () => {
    const carriers = new SimulatedCarriers();
    cluster = await startCluster(
      engine,
      {
        log: { level: 'warn' },
        security: { key_refresh_ms: 200 },
        recharge: { channels: { 'sim-a': { type: 'simulator', operators: ['CHINA_MOBILE', 'CHINA_UNICOM'] } } },
      },
      () => ({ carriers, rechargeChannels: simulatedChannels(carriers, { 'sim-a': quick }) }),
    );
    const c = cluster;
    for (const a of c.apps) a.start();
    const a0 = c.apps[0] as App;
    for (const [i, u] of USERS.entries()) {
      const top = await c.at(i).http.inject({
        method: 'POST',
        url: '/api/v1/wallet/top-ups',
        headers: json(u, `top-${u}`),
        payload: { amount: 1_000_000 },
      });
      expect(top.statusCode).toBe(201);
    }
    // Before: recharges, a conversation holding a number, a batch, all on the first key.
    const made = new Map<string, string>();
    let n = 0;
    for (; n < 40; n++) {
      const r = await recharge(c.at(n), USERS[n % USERS.length] ?? 'u0', n);
      made.set(r.id, r.phone);
    }
    const asked = await a0.http.inject({
      method: 'POST',
      url: '/api/v1/agent/messages',
      headers: json('u0', 'ask-1'),
      payload: { text: '给13800138000充话费' },
    });
    expect(asked.statusCode).toBe(200);
    const session = asked.json<{ session_id: string }>().session_id;
    const batch = await a0.http.inject({
      method: 'POST',
      url: '/api/v1/recharges/batch',
      headers: { 'content-type': 'text/csv', 'x-user-id': 'u1', 'idempotency-key': 'b-1' },
      payload: `phone,amount\n${Array.from({ length: 30 }, (_, i) => `${phoneOf(1000 + i)},1000`).join('\n')}\n`,
    });
    expect(batch.statusCode, batch.body).toBe(202);
    const before = (await a0.services.dataKeys.status()).keys;
    expect(before.map((k) => k.status)).toEqual(['active']);
    const oldKey = before[0]?.id ?? '';
    expect(Object.keys(await valuesByKey(a0))).toEqual([oldKey]);

    // The load: recharges on every instance, one after another per lane, until the rotation ends.
    let rotating = true;
    const lanes = Array.from({ length: 4 }, async (_, lane) => {
      let made_ = 0;
      while (rotating || made_ < 3) {
        const i = n++;
        const r = await recharge(c.at(i + lane), USERS[lane] ?? 'u0', i);
        made.set(r.id, r.phone);
        made_ += 1;
      }
    });
    const report = await a0.services.dataKeys.rotate();
    rotating = false;
    await Promise.all(lanes);

    expect(report).toMatchObject({ done: true, resumed: false, retired: [oldKey] });
    expect(report.keyId).not.toBe(oldKey);
    expect(report.resealed['recharges.phone']).toBeGreaterThanOrEqual(40);
    expect(report.resealed['recharge_batch_rows.phone']).toBe(30);
    expect(report.resealed['agent_sessions.context_json']).toBe(1);
    expect(made.size).toBeGreaterThan(52);

    // None uses the old key (the writers still running meanwhile sealed with the new one, or the
    // last pass re-sealed what they wrote before they refreshed).
    const byKey = await valuesByKey(a0);
    expect(Object.keys(byKey)).toEqual([report.keyId]);
    const status = await a0.services.dataKeys.status();
    expect(Object.fromEntries(status.keys.map((k) => [k.id, k.status]))).toEqual({
      [report.keyId]: 'active',
      [oldKey]: 'retired',
    });
    expect(Object.values(status.stale).every((s) => s === 0)).toBe(true);
    // Every value reads back, on every instance.
    for (const a of c.apps) {
      for (const [id, phone] of made) expect((await a.deps.uow.read.recharges.get('default', id))?.phone).toBe(phone);
      const s = await a.deps.uow.read.sessions.get('default', session);
      expect(JSON.stringify(s?.pending)).toContain('13800138000');
    }
    // The conversation (its question about the amount) carries on after it was re-sealed.
    const answered = await c.at(1).http.inject({
      method: 'POST',
      url: '/api/v1/agent/messages',
      headers: json('u0'),
      payload: { text: '100块', session_id: session },
    });
    expect(answered.statusCode, answered.body).toBe(200);
    expect(answered.json()).toMatchObject({ outcome: { kind: 'done', action: 'recharge_phone' } });
    // And new values after the rotation, on every instance, use the new key.
    for (const [i, a] of c.apps.entries()) await recharge(a, 'u2', 9000 + i);
    expect(Object.keys(await valuesByKey(a0))).toEqual([report.keyId]);
  }, 120_000);
});

describe('an interrupted rotation', () => {
  it('is resumed by the next run, not begun again', async () => {
    const { app } = await startTestApp({ log: { level: 'warn' }, security: { key_refresh_ms: 100 } });
    apps.push(app);
    app.start();
    const top = await app.http.inject({
      method: 'POST',
      url: '/api/v1/agent/messages',
      headers: json('u0', 'ask'),
      payload: { text: '给13800138000充话费' },
    });
    expect(top.statusCode).toBe(200);
    const first = (await app.services.dataKeys.status()).keys[0]?.id;
    // A rotation that got as far as its new key, and then the process died.
    const begun = await app.deps.uow.run((r) => r.dataKeys.beginRotation(Date.now()));
    expect(begun.resumed).toBe(false);
    const report = await app.services.dataKeys.rotate();
    expect(report).toMatchObject({ resumed: true, keyId: begun.active.id, done: true, retired: [first] });
    expect((await app.services.dataKeys.status()).keys.map((k) => k.status).sort()).toEqual(['active', 'retired']);
    // Run again once finished: a new rotation.
    const again = await app.services.dataKeys.rotate();
    expect(again).toMatchObject({ resumed: false, done: true, retired: [begun.active.id] });
  }, 60_000);
});

/** The `autoglm` executable, from the sources, in its own process. */
function autoglm(
  args: string[],
  env: Record<string, string>,
  input?: string,
): { out: string; err: string; code: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/support/cli-child.ts', ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
    ...(input === undefined ? {} : { input }),
  });
  return { out: r.stdout, err: r.stderr, code: r.status ?? -1 };
}

describe('the CLI', () => {
  it('autoglm keys rotate-data-key --db re-seals a database file and retires its old key', async () => {
    const path = tempDbPath();
    const { app } = await startTestApp({ log: { level: 'warn' } }, {}, path);
    const asked = await app.http.inject({
      method: 'POST',
      url: '/api/v1/agent/messages',
      headers: json('u0', 'ask'),
      payload: { text: '给13800138000充话费' },
    });
    expect(asked.statusCode).toBe(200);
    const oldKey = (await app.services.dataKeys.status()).keys[0]?.id ?? '';
    await app.close();

    const r = autoglm(['keys', 'rotate-data-key', '--db', `sqlite:${path}`], {
      AUTOGLM__SECURITY__KEY_REFRESH_MS: '100',
    });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^new data key [0-9a-f]{8}: recharges\.phone 0, .*agent_sessions\.context_json 1, /m);
    expect(r.out).toContain(`retired ${oldKey}`);
    expect(r.err).toMatch(/pass 1: agent_sessions\.context_json: 1 re-sealed/);

    const { app: again } = await startTestApp({ log: { level: 'warn' } }, {}, path);
    apps.push(again);
    const keys = (await again.services.dataKeys.status()).keys;
    expect(Object.fromEntries(keys.map((k) => [k.id, k.status]))).toMatchObject({ [oldKey]: 'retired' });
    expect(Object.keys(await valuesByKey(again))).toEqual([keys.find((k) => k.status === 'active')?.id]);
    expect(autoglm(['keys', '--help'], {}).out).toContain('rotate-data-key');
  }, 120_000);

  it('autoglm secrets encrypt prints an enc:v1: value the configuration decrypts with the same master key', () => {
    const key = Buffer.alloc(32, 5).toString('base64');
    const secret = 'juhe-app-key-0123456789abcdef';
    const r = autoglm(['secrets', 'encrypt'], { AUTOGLM_MASTER_KEY: key }, `${secret}\n`);
    expect(r.code, r.err).toBe(0);
    const value = r.out.trim();
    expect(value).toMatch(/^enc:v1:[A-Za-z0-9_-]+$/);
    expect(value).not.toContain(secret);
    const loaded = loadConfig({
      env: { AUTOGLM_MASTER_KEY: key },
      overrides: {
        recharge: {
          channels: {
            juhe: {
              type: 'juhe',
              base_url: 'http://127.0.0.1:1',
              api_key: value,
              openid_secret: 'JHopenid0123456789',
              operators: ['CHINA_MOBILE'],
            },
          },
        },
      },
    });
    expect(loaded.ok && loaded.value.recharge.channels.juhe).toMatchObject({ api_key: secret });
    const empty = autoglm(['secrets', 'encrypt'], { AUTOGLM_MASTER_KEY: key }, '');
    expect(empty.code).toBe(1);
    expect(empty.err).toMatch(/nothing on standard input/);
  }, 120_000);
});
