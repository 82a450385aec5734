import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/system/system-clock.js';
import type { App } from '../src/composition/create-app.js';
import { credentialSource } from '../src/interfaces/http/plumbing/sources.js';
import { createTestDatabase, postgresWanted, type TestDatabase } from './support/pg-db.js';
import { keyOf, startTestApp } from './support/test-app.js';

/**
 * Blocking a source by hand (POST /api/v1/admin/blocks), as the console's blocked-sources screen
 * does: refused everywhere at once, audited with the note, lifted like any block, never the
 * caller's own source, one block per source however many ask at once — on both engines.
 */
const apps: App[] = [];
const dbs: TestDatabase[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  for (const d of dbs.splice(0)) await d.drop();
});

const pgOk = await postgresWanted();
const ENGINES = pgOk ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const);
const ADMIN_IP = '192.0.2.10';

async function start(engine: 'sqlite' | 'postgres', clock: ManualClock): Promise<App> {
  let overrides: Record<string, unknown> = {};
  if (engine === 'postgres') {
    const db = await createTestDatabase('manualblock');
    dbs.push(db);
    overrides = { database: { url: db.url, pool_size: 4 } };
  }
  const { app } = await startTestApp(overrides, { clock });
  apps.push(app);
  return app;
}

describe.each(ENGINES)('blocking a source by hand, on %s', (engine) => {
  it('refuses it at once, audits the note, lifts it; refuses bad input, doubles and one’s own source', async () => {
    const clock = new ManualClock(Date.parse('2026-12-05T08:00:00Z'));
    const app = await start(engine, clock);
    const ops = { authorization: `Bearer ${await keyOf(app, 'ops', 'operator')}` };
    const block = (body: Record<string, unknown>, headers: Record<string, string> = ops) =>
      app.http.inject({ method: 'POST', url: '/api/v1/admin/blocks', headers, remoteAddress: ADMIN_IP, payload: body });
    const menu = (ip: string) => app.http.inject({ method: 'GET', url: '/api/v1/menu', remoteAddress: ip });

    expect((await menu('203.0.113.7')).statusCode).toBe(200);
    const made = await block({ source: 'ip:203.0.113.7', minutes: 60, note: 'probing the callbacks' });
    expect(made.statusCode, made.body).toBe(201);
    const b = made.json<{ block: { id: string; source: string; kind: string; until: string } }>().block;
    expect(b).toMatchObject({ source: 'ip:203.0.113.7', kind: 'manual' });
    expect(Date.parse(b.until)).toBe(clock.now() + 3_600_000);
    // This instance refuses it at once; another address goes on.
    expect((await menu('203.0.113.7')).json()).toMatchObject({ code: 'SOURCE_BLOCKED' });
    expect((await menu('203.0.113.8')).statusCode).toBe(200);
    const [created] = await app.services.abuse.audit(b.id);
    expect(created).toMatchObject({ action: 'block.created', actor: 'operator:ops' });
    expect(created?.after).toMatchObject({ kind: 'manual', note: 'probing the callbacks', source: 'ip:203.0.113.7' });

    // Twice, or twenty times at once: one block.
    const again = await Promise.all(
      Array.from({ length: 20 }, () => block({ source: 'ip:198.51.100.9', minutes: 5, note: 'x' })),
    );
    expect(again.filter((r) => r.statusCode === 201)).toHaveLength(1);
    expect(again.filter((r) => r.statusCode === 409).map((r) => r.json<{ code: string }>().code)).toEqual(
      Array.from({ length: 19 }, () => 'SOURCE_ALREADY_BLOCKED'),
    );
    // IPv6 by its /64, as requests are counted.
    const v6 = await block({ source: 'ip:2001:db8:1:2:3:4:5:6', minutes: 5, note: 'scanner' });
    expect(v6.json<{ block: { source: string } }>().block.source).toBe('ip:2001:db8:1:2::');

    // A leaked credential, by the hash blocks show: refused wherever it is used from.
    const leaked = await keyOf(app, 'leaky', 'viewer');
    const hash = credentialSource({ headers: { authorization: `Bearer ${leaked}` } } as never) ?? '';
    expect((await block({ source: hash, minutes: 10, note: 'posted in a chat' })).statusCode).toBe(201);
    const used = await app.http.inject({
      url: '/api/v1/orders',
      headers: { authorization: `Bearer ${leaked}` },
      remoteAddress: '203.0.113.99',
    });
    expect(used.json()).toMatchObject({ code: 'SOURCE_BLOCKED' });

    // Never one's own address or credential: nobody locks themselves out.
    const own = await block({ source: `ip:${ADMIN_IP}`, minutes: 5, note: 'oops' });
    expect(own.statusCode).toBe(409);
    expect(own.json()).toMatchObject({ code: 'BLOCK_OWN_SOURCE' });
    const ownKey = credentialSource({ headers: ops } as never) ?? '';
    expect((await block({ source: ownKey, minutes: 5, note: 'oops' })).json()).toMatchObject({
      code: 'BLOCK_OWN_SOURCE',
    });

    // Bad input: a stable code naming the field, nothing blocked.
    for (const bad of [
      { source: '203.0.113.1', minutes: 5, note: 'no prefix' },
      { source: 'ip:999.1.1.1', minutes: 5, note: 'not an address' },
      { source: 'credential:agk_secret', minutes: 5, note: 'a key, not its hash' },
      { source: 'ip:203.0.113.1', minutes: 0, note: 'too short' },
      { source: 'ip:203.0.113.1', minutes: 43_201, note: 'too long' },
      { source: 'ip:203.0.113.1', minutes: 1.5, note: 'a fraction' },
      { source: 'ip:203.0.113.1', minutes: 5, note: '  ' },
      { source: 'ip:203.0.113.1', minutes: 5 },
    ]) {
      const r = await block(bad);
      expect(r.statusCode, JSON.stringify(bad)).toBe(400);
      expect(r.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    expect((await menu('203.0.113.1')).statusCode).toBe(200);

    // A viewer may not block (nor, with no permission, learn anything by trying).
    const viewer = { authorization: `Bearer ${await keyOf(app, 'vic', 'viewer')}` };
    const refused = await block({ source: 'ip:203.0.113.50', minutes: 5, note: 'x' }, viewer);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'FORBIDDEN' });

    // Listed with the rest, and lifted like any block.
    const list = await app.http.inject({ url: '/api/v1/admin/blocks', headers: ops, remoteAddress: ADMIN_IP });
    expect(list.json<{ data: { id: string }[] }>().data.map((x) => x.id)).toContain(b.id);
    const lift = await app.http.inject({
      method: 'DELETE',
      url: `/api/v1/admin/blocks/${b.id}`,
      headers: ops,
      remoteAddress: ADMIN_IP,
    });
    expect(lift.statusCode).toBe(200);
    expect((await menu('203.0.113.7')).statusCode).toBe(200);
    expect((await app.services.abuse.audit(b.id)).map((e) => e.action)).toEqual(['block.created', 'block.lifted']);
    // It ends by itself too.
    clock.advance(6 * 60_000);
    expect((await menu('2001:db8:1:2::77')).statusCode).toBe(200);
  }, 60_000);
});
