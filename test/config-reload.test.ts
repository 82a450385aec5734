import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import type { ConfigResult } from '../src/config/load-config.js';
import { adminKeyOf, keyOf, startTestApp, tempDbPath, testConfig } from './support/test-app.js';

const apps: App[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close().catch(() => undefined);
});

/**
 * The test's stand-in for "the file the process started with": a JSON file of overrides on top of
 * the test configuration, read again on every reload (bad JSON or bad values: refused as a file would be).
 */
function fileSource(file: string, dbPath: string): () => ConfigResult {
  return () => {
    try {
      return { ok: true, value: testConfig(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>, dbPath) };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      return { ok: false, error: { code: 'CONFIG_INVALID', message, issues: [message] } };
    }
  };
}

async function start(): Promise<{ app: App; file: string }> {
  const dbPath = tempDbPath();
  const file = `${dbPath}.config.json`;
  writeFileSync(file, '{}');
  const { app } = await startTestApp({}, { reloadConfig: fileSource(file, dbPath) }, dbPath);
  apps.push(app);
  return { app, file };
}

const order = (app: App) =>
  app.http.inject({
    method: 'POST',
    url: '/api/v1/order',
    headers: { 'content-type': 'application/json' },
    payload: { drink: 'latte', size: 'medium' },
  });

const reload = (app: App, authorization = `Bearer ${adminKeyOf(app)}`) =>
  app.http.inject({ method: 'POST', url: '/api/v1/admin/reload', headers: { authorization } });

describe('reload without restart (POST /api/v1/admin/reload)', () => {
  it('a new policy limit applies to the next order; a bad file is refused and the old limit stays', async () => {
    const { app, file } = await start();
    expect((await order(app)).statusCode).toBe(201);

    writeFileSync(file, JSON.stringify({ max_order_amount: 100, server: { port: 9999 } }));
    const ok = await reload(app);
    expect(ok.statusCode, ok.body).toBe(200);
    const report = ok.json<{ changed: string[]; restart_required: string[] }>();
    expect(report.changed).toEqual(['policy']);
    expect(report.restart_required).toContain('server');
    expect(report.restart_required).not.toContain('policy');
    const refused = await order(app);
    expect(refused.statusCode, refused.body).toBeGreaterThanOrEqual(400);
    const code = refused.json<{ code: string }>().code;

    // Not a valid policy: refused whole, nothing replaced.
    writeFileSync(file, JSON.stringify({ max_order_amount: -5 }));
    const bad = await reload(app);
    expect(bad.statusCode).toBe(422);
    expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(bad.json<{ code: string }>().code).toBe('CONFIG_INVALID');
    const still = await order(app);
    expect(still.json<{ code: string }>().code).toBe(code);
    // Not even JSON: the same.
    writeFileSync(file, '{ max_order_amount: ');
    expect((await reload(app)).statusCode).toBe(422);
    expect((await order(app)).json<{ code: string }>().code).toBe(code);

    // Who reloaded, and what changed, is in the audit log.
    const audit = await app.deps.uow.read.audit.list('default', 'config', 'runtime');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      action: 'config.reloaded',
      actor: expect.stringContaining('admin') as unknown,
      before: { policy: expect.not.objectContaining({ max_order_amount: 100 }) as unknown },
      after: { policy: expect.objectContaining({ max_order_amount: 100 }) as unknown },
    });
  });

  it('is the admin’s: an operator or a user is refused, and a process without a source says so', async () => {
    const { app } = await start();
    for (const role of ['operator', 'user', 'viewer'] as const) {
      const res = await reload(app, `Bearer ${await keyOf(app, `reload-${role}`, role)}`);
      expect(res.statusCode, role).toBe(403);
    }
    expect((await reload(app, 'Bearer nope')).statusCode).toBe(401);
    const { app: plain } = await startTestApp();
    apps.push(plain);
    const none = await reload(plain);
    expect(none.statusCode).toBe(409);
    expect(none.json<{ code: string }>().code).toBe('RELOAD_UNAVAILABLE');
  });
});
