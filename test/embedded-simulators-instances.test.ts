import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { createTestDatabase, postgresWanted, type TestDatabase } from './support/pg-db.js';
import { startTestApp, type LogSink } from './support/test-app.js';

/**
 * Embedded simulators are one process's outside world: several instances on one PostgreSQL
 * database that each build their own would pay and top up in worlds of their own. An instance
 * that starts beside another says so, and how to fix it; one whose outside world is remote
 * says nothing.
 */
const wanted = await postgresWanted();

describe.runIf(wanted)('several instances with embedded simulators', () => {
  let db: TestDatabase;
  const apps: App[] = [];
  const start = async (overrides: Record<string, unknown> = {}): Promise<LogSink> => {
    const { app, logs } = await startTestApp({
      database: { url: db.url, pool_size: 3 },
      log: { level: 'warn' },
      ...overrides,
    });
    apps.push(app);
    app.start();
    return logs;
  };
  const warned = async (logs: LogSink): Promise<boolean> => {
    // The check is one query after start: give it a moment.
    for (let i = 0; i < 50 && !/embedded simulators/.test(logs.text); i++) await new Promise((r) => setTimeout(r, 20));
    return /its own embedded simulators/.test(logs.text);
  };
  beforeAll(async () => {
    db = await createTestDatabase('embsim');
  });
  afterAll(async () => {
    for (const a of apps) await a.close().catch(() => undefined);
    await db?.drop();
  });

  it('the first alone says nothing; the second warns that each runs its own outside world', async () => {
    expect(await warned(await start())).toBe(false);
    const second = await start();
    expect(await warned(second)).toBe(true);
    const line = JSON.parse(second.lines.find((l) => l.includes('its own embedded simulators')) ?? '{}') as {
      instances?: number;
      simulators?: string[];
    };
    expect(line.instances).toBe(2);
    expect(line.simulators).toContain('SimulatedGateway');
  });

  it("each instance keeps to its share of a recharge channel's capacity", async () => {
    // The two instances of the test above: the default channels' capacity (50) is shared (the first
    // to start counts the other at its next refresh, within two seconds).
    const capacities = async (app: App): Promise<number[]> => {
      const r = await app.http.inject({ url: '/api/v1/channels' });
      return r.json<{ data: Array<{ capacity: number }> }>().data.map((c) => c.capacity);
    };
    for (const app of apps) {
      let seen: number[] = [];
      for (let i = 0; i < 150; i++) {
        seen = await capacities(app);
        if (seen.every((c) => c === 25)) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(seen).toEqual([25, 25]);
    }
  });

  it('an instance whose gateway, shop and channels are remote does not warn', async () => {
    const logs = await start({
      payment_gateway: 'remote',
      gateways: { remote: { type: 'simulator-http', base_url: 'http://127.0.0.1:9', secret: 'x'.repeat(24) } },
      merchant: { type: 'http', base_url: 'http://127.0.0.1:9', secret: 'x'.repeat(24) },
      recharge: {
        channels: {
          juhe: {
            type: 'juhe',
            operators: ['CHINA_MOBILE'],
            base_url: 'http://127.0.0.1:9/',
            api_key: 'k',
            openid_secret: 's',
          },
        },
      },
    });
    expect(await warned(logs)).toBe(false);
  });
});
