import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import type { SimulatedRechargeChannel } from '../src/simulator/simulated-recharge-channel.js';
import { ENGINES } from './support/cluster.js';
import { createTestDatabase } from './support/pg-db.js';
import { quick, rechargeConfig, simulatedChannels, topUpWallet } from './support/recharge-harness.js';
import { startTestApp } from './support/test-app.js';
import { type Received, receiverForFile, until } from './support/webhook-receiver.js';

/**
 * The webhook events that do not follow one resource's audit trail, end to end over real HTTP:
 * a recharge channel's breaker opening and closing (`channel.breaker_*`, from the router, not the
 * audit log), and a batch recharge completing (`batch.completed`, after its rows' own events).
 */
const FAST = { webhooks: { poll_interval_ms: 10, retry_base_ms: 10, retry_max_ms: 40 } };

const apps: App[] = [];
const receiver = receiverForFile(apps);

async function start(
  config: Record<string, unknown>,
  channels: Map<string, SimulatedRechargeChannel>,
  carriers: SimulatedCarriers,
): Promise<App> {
  const { app } = await startTestApp({ ...FAST, ...config }, { carriers, rechargeChannels: channels });
  apps.push(app);
  await app.http.ready();
  app.start();
  return app;
}

async function subscribe(app: App, events: string[]): Promise<string> {
  const res = await app.http.inject({
    method: 'POST',
    url: '/api/v1/webhooks',
    payload: { url: `${receiver.url}/e`, events },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ webhook: { secret: string } }>().webhook.secret;
}

/** The event as the `standardwebhooks` library verifies it with this secret (throws if it does not). */
function verified(secret: string, r: Received): { type: string; timestamp: string; data: Record<string, unknown> } {
  return new Webhook(secret).verify(r.body, {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  }) as { type: string; timestamp: string; data: Record<string, unknown> };
}

async function recharge(app: App, user: string, phone: string): Promise<void> {
  const res = await app.http.inject({
    method: 'POST',
    url: '/api/v1/recharges',
    headers: { 'x-user-id': user },
    payload: { phone, amount: 1000 },
  });
  expect(res.statusCode, res.body).toBe(201);
}

describe('channel breaker events', () => {
  it('a failing channel → channel.breaker_opened; its half-open probe succeeds → channel.breaker_closed', async () => {
    const carriers = new SimulatedCarriers();
    const channels = simulatedChannels(carriers, {
      breaks: { chaos: { ...quick.chaos, failureRate: 1 } },
      steady: quick,
    });
    const config = rechargeConfig(['breaks', 'steady'], {
      routing: { strategy: 'round_robin', breaker: { consecutive_failures: 2, cooldown_ms: 1000 } },
    });
    const app = await start(config, channels, carriers);
    const secret = await subscribe(app, ['channel.*']);
    await topUpWallet(app, 'alice', 100_000);

    // Round robin sends every other recharge to `breaks`, which refuses each: two in a row open it.
    for (let i = 0; i < 6 && !receiver.delivered().some((e) => e.type === 'channel.breaker_opened'); i++)
      await recharge(app, 'alice', `1380013800${i}`);
    await until(
      () => receiver.delivered(),
      (d) => d.some((e) => e.type === 'channel.breaker_opened'),
    );
    const opened = receiver.received.map((r) => verified(secret, r)).find((e) => e.type === 'channel.breaker_opened');
    expect(opened?.data).toMatchObject({ channel: 'breaks', state: 'open' });
    expect(typeof opened?.data.instance).toBe('string');
    expect(receiver.delivered().filter((e) => e.type === 'channel.breaker_opened')).toHaveLength(1);
    // Only channel events were asked for.
    expect(receiver.delivered().every((e) => e.type.startsWith('channel.'))).toBe(true);

    // Repaired; after the cool-down the first recharge is its probe, which succeeds and closes it.
    channels.get('breaks')!.setProfile({ chaos: { failureRate: 0 } });
    await new Promise((r) => setTimeout(r, 1100));
    for (let i = 0; i < 4 && !receiver.delivered().some((e) => e.type === 'channel.breaker_closed'); i++) {
      await recharge(app, 'alice', `1390013900${i}`);
      await until(
        () => receiver.delivered(),
        (d) => d.some((e) => e.type === 'channel.breaker_closed'),
        300,
      );
    }
    const events = receiver.received.map((r) => verified(secret, r));
    expect(events.map((e) => e.type)).toEqual(['channel.breaker_opened', 'channel.breaker_closed']);
    expect(events[1]!.data).toMatchObject({ channel: 'breaks', state: 'closed', instance: opened?.data.instance });
    // Each event is its own delivery, with its own id.
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(2);
  });
});

describe.each(ENGINES)('batch.completed on %s', (engine) => {
  it('a small batch: batch.completed, signed, with its counts, after every recharge.* event of its rows', async () => {
    const db = engine === 'postgres' ? await createTestDatabase('webhook_batch') : undefined;
    try {
      await batchCompletedAfterItsRows(db === undefined ? {} : { database: { url: db.url } });
    } finally {
      for (const a of apps.splice(0)) await a.close();
      await db?.drop();
    }
  });
});

async function batchCompletedAfterItsRows(database: Record<string, unknown>): Promise<void> {
  const carriers = new SimulatedCarriers();
  const channels = simulatedChannels(carriers, { 'sim-a': quick });
  const app = await start({ ...rechargeConfig(['sim-a']), ...database }, channels, carriers);
  const secret = await subscribe(app, ['recharge.*', 'batch.*']);
  await topUpWallet(app, 'bob', 100_000);
  // Three good rows and one the batch refuses (not a number).
  const csv = ['phone,amount', '13800138001,1000', '13800138002,2000', 'not-a-phone,1000', '13800138003,5000'].join(
    '\n',
  );
  const res = await app.http.inject({
    method: 'POST',
    url: '/api/v1/recharges/batch',
    headers: { 'content-type': 'text/csv', 'x-user-id': 'bob' },
    payload: csv,
  });
  expect(res.statusCode, res.body).toBe(202);
  const batchId = res.json<{ batch: { id: string } }>().batch.id;

  await until(
    () => receiver.delivered(),
    (d) => d.some((e) => e.type === 'batch.completed'),
    15_000,
  );
  const file = await app.http.inject({ url: `/api/v1/batches/${batchId}/results`, headers: { 'x-user-id': 'bob' } });
  const rechargeIds = file.body
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(',')[5] ?? '')
    .filter((id) => id !== '');
  expect(rechargeIds).toHaveLength(3);
  // Every recharge.* event of the batch's rows, as its audit trail has them, reaches the endpoint.
  const expectedPerRecharge = new Map<string, string[]>();
  for (const id of rechargeIds) {
    const trail = await app.deps.uow.read.audit.list('default', 'recharge', id);
    expectedPerRecharge.set(
      id,
      trail.map((a) => a.action).filter((a) => a.startsWith('recharge.')),
    );
  }
  const total = [...expectedPerRecharge.values()].reduce((n, t) => n + t.length, 0);
  const ofRows = (): Array<{ type: string; data: Record<string, unknown> }> =>
    receiver.delivered().filter((e) => e.type.startsWith('recharge.') && rechargeIds.includes(String(e.data.id)));
  await until(ofRows, (d) => d.length >= total);

  const events = receiver.received.filter((r) => r.status < 300).map((r) => verified(secret, r));
  const completedAt = events.findIndex((e) => e.type === 'batch.completed');
  expect(events.filter((e) => e.type === 'batch.completed')).toHaveLength(1);
  const completed = events[completedAt]!;
  expect(completed.data).toMatchObject({
    id: batchId,
    rows: 4,
    valid_rows: 3,
    rejected_rows: 1,
    recharges: 3,
    succeeded: 3,
    failed: 0,
  });
  // In commit order: every row's own events, in its trail's order, before the batch's.
  for (const id of rechargeIds) {
    const mine = events.map((e, i) => ({ ...e, i })).filter((e) => e.type.startsWith('recharge.') && e.data.id === id);
    expect(mine.map((e) => e.type)).toEqual(expectedPerRecharge.get(id));
    for (const e of mine) expect(e.i, `${e.type} of ${id} came after batch.completed`).toBeLessThan(completedAt);
  }
  // Nothing delivered carries a number unmasked.
  for (const r of receiver.received) expect(r.body).not.toMatch(/1380013800[123]/);
}

describe('endpoint addresses', () => {
  it('allow_private_addresses off: link-local, metadata and loopback endpoints are WEBHOOK_URL_INVALID', async () => {
    const carriers = new SimulatedCarriers();
    const channels = simulatedChannels(carriers, { 'sim-a': quick });
    const app = await start(
      { ...rechargeConfig(['sim-a']), webhooks: { ...FAST.webhooks, allow_private_addresses: false } },
      channels,
      carriers,
    );
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[fd00:ec2::254]/', receiver.url]) {
      const res = await app.http.inject({ method: 'POST', url: '/api/v1/webhooks', payload: { url } });
      expect(res.statusCode, url).toBe(400);
      expect(res.json<{ code: string }>().code).toBe('WEBHOOK_URL_INVALID');
    }
    const ok = await app.http.inject({
      method: 'POST',
      url: '/api/v1/webhooks',
      payload: { url: 'https://example.com/h' },
    });
    expect(ok.statusCode, ok.body).toBe(201);
    const id = ok.json<{ webhook: { id: string } }>().webhook.id;
    const patched = await app.http.inject({
      method: 'PATCH',
      url: `/api/v1/webhooks/${id}`,
      payload: { url: 'http://169.254.169.254/' },
    });
    expect(patched.json<{ code: string }>().code).toBe('WEBHOOK_URL_INVALID');
  });
});
