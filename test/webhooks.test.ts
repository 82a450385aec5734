import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import { quick, rechargeConfig, simulatedChannels, topUpWallet } from './support/recharge-harness.js';
import { keyOf, type LogSink, startTestApp } from './support/test-app.js';
import { receiverForFile, until } from './support/webhook-receiver.js';

/**
 * Outbound webhooks end to end, over real HTTP to a receiver on 127.0.0.1: signatures checked
 * by the `standardwebhooks` library, events in commit order per resource, retries with backoff,
 * giving up (the endpoint disabled, operators told), redelivery, the recharge notice by SMS,
 * secrets in no log line, and who may manage endpoints.
 */
const FAST = {
  webhooks: { poll_interval_ms: 10, retry_base_ms: 10, retry_max_ms: 40 },
  notifications: { recharge_channels: ['sms', 'webhook'] },
};

const apps: App[] = [];
const receiver = receiverForFile(apps);

async function start(extra: Record<string, unknown> = {}): Promise<{ app: App; logs: LogSink }> {
  const carriers = new SimulatedCarriers();
  const started = await startTestApp(
    { ...rechargeConfig(['sim-a']), ...FAST, ...extra },
    { carriers, rechargeChannels: simulatedChannels(carriers, { 'sim-a': quick }) },
  );
  apps.push(started.app);
  await started.app.http.ready();
  started.app.start();
  return started;
}

async function subscribe(app: App, body: Record<string, unknown>): Promise<{ id: string; secret: string }> {
  const res = await app.http.inject({ method: 'POST', url: '/api/v1/webhooks', payload: body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ webhook: { id: string; secret: string } }>().webhook;
}

describe('deliveries', () => {
  it('signs per Standard Webhooks (checked with the standardwebhooks library); an order in commit order', async () => {
    const { app, logs } = await start();
    const { id, secret } = await subscribe(app, {
      url: `${receiver.url}/hooks?token=abc`,
      events: ['order.*', 'payment.*'],
    });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const placed = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: { 'x-user-id': 'alice' },
      payload: { drink: 'latte', size: 'medium' },
    });
    expect(placed.statusCode, placed.body).toBe(201);
    const orderId = placed.json<{ order: { id: string } }>().order.id;
    const trail = (
      await app.http.inject({ url: `/api/v1/orders/${orderId}/audit`, headers: { 'x-user-id': 'alice' } })
    ).json<{ data: Array<{ action: string }> }>().data;
    const expected = trail.map((a) => a.action).filter((a) => a.startsWith('order.'));
    expect(expected[0]).toBe('order.created');
    const orderEvents = () => receiver.delivered().filter((e) => e.data.id === orderId);
    await until(orderEvents, (e) => e.length >= expected.length);
    expect(orderEvents().map((e) => e.type)).toEqual(expected);
    expect(receiver.delivered().some((e) => e.type.startsWith('payment.'))).toBe(true);

    const wh = new Webhook(secret);
    for (const r of receiver.received) {
      expect(r.path).toBe('/hooks?token=abc');
      expect(r.headers['content-type']).toBe('application/json');
      const verified = wh.verify(r.body, {
        'webhook-id': String(r.headers['webhook-id']),
        'webhook-timestamp': String(r.headers['webhook-timestamp']),
        'webhook-signature': String(r.headers['webhook-signature']),
      }) as { type: string; timestamp: string; data: unknown };
      expect(Object.keys(verified)).toEqual(['type', 'timestamp', 'data']);
      expect(Number.isNaN(Date.parse(verified.timestamp))).toBe(false);
    }
    // Another secret does not verify them.
    expect(() =>
      new Webhook('whsec_' + Buffer.alloc(32, 7).toString('base64')).verify(receiver.received[0]!.body, {
        'webhook-id': String(receiver.received[0]!.headers['webhook-id']),
        'webhook-timestamp': String(receiver.received[0]!.headers['webhook-timestamp']),
        'webhook-signature': String(receiver.received[0]!.headers['webhook-signature']),
      }),
    ).toThrow();

    // The endpoint answers before the attempt's transaction commits: wait for the log to catch up.
    const deliveries = await until(
      async () =>
        (await app.http.inject({ url: `/api/v1/webhooks/${id}/deliveries` })).json<{
          data: Array<{ status: string; log: Array<{ status_code: number; latency_ms: number }> }>;
        }>().data,
      (ds) => ds.length === receiver.received.length && ds.every((d) => d.status === 'succeeded'),
    );
    expect(deliveries.length).toBe(receiver.received.length);
    for (const d of deliveries) {
      expect(d.status).toBe('succeeded');
      expect(d.log[0]).toMatchObject({ status_code: 200 });
      expect(d.log[0]!.latency_ms).toBeGreaterThanOrEqual(0);
    }
    // The secret (and its HMAC key) and the URL's token are in no log line.
    const key = secret.slice('whsec_'.length);
    expect(logs.text).not.toContain(key);
    expect(logs.text).not.toContain('token=abc');
    // Nor in any answer after the one that created it.
    expect((await app.http.inject({ url: `/api/v1/webhooks/${id}` })).body).not.toContain(key);
    expect((await app.http.inject({ url: '/api/v1/webhooks' })).body).not.toContain(key);
  });

  it('a recharge: its events in order, then the person is told by SMS (masked in logs) and by webhook', async () => {
    const { app, logs } = await start();
    await subscribe(app, { url: `${receiver.url}/r`, events: ['recharge.*'] });
    await topUpWallet(app, 'alice', 10_000);
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/v1/recharges',
      headers: { 'x-user-id': 'alice' },
      payload: { phone: '13800138000', amount: 2000 },
    });
    expect(res.statusCode, res.body).toBe(201);
    const rechargeId = res.json<{ recharge: { id: string } }>().recharge.id;
    const mine = () =>
      receiver.delivered().filter((e) => e.data.id === rechargeId || e.data.recharge_id === rechargeId);
    await until(mine, (e) => e.some((x) => x.type === 'recharge.notification'));
    const types = mine().map((e) => e.type);
    const trail = await app.deps.uow.read.audit.list('default', 'recharge', rechargeId);
    const expected = trail.map((a) => a.action).filter((a) => a.startsWith('recharge.'));
    expect(types).toEqual([...expected, 'recharge.notification']);
    expect(types.at(-2)).toBe('recharge.succeeded');
    const notice = mine().at(-1)!.data;
    expect(notice).toMatchObject({ phone: '138****8000', status: 'SUCCEEDED', amount: 2000 });
    // Nothing delivered carries the number unmasked.
    for (const r of receiver.received) expect(r.body).not.toContain('13800138000');

    await until(
      () => app.sms?.messages.length ?? 0,
      (n) => n >= 1,
    );
    expect(app.sms?.messages[0]).toMatchObject({
      phone: '13800138000',
      templateCode: 'SMS_100000001',
      templateParam: { amount: '20.00', status: '成功' },
      outId: rechargeId,
    });
    await until(
      () => logs.text,
      (t) => t.includes('SMS sent'),
    );
    expect(logs.text).toContain('138****8000');
    expect(logs.text).not.toContain('13800138000');
  });
});

describe('retries, giving up, redelivery', () => {
  it('retries a 500 with growing waits until the endpoint answers 2xx', async () => {
    const { app } = await start();
    const { id } = await subscribe(app, { url: `${receiver.url}/flaky`, events: ['order.created'] });
    receiver.plan.push(500, 500, 503);
    await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: { 'x-user-id': 'bob' },
      payload: { drink: 'latte', size: 'small' },
    });
    await until(
      () => receiver.delivered().length,
      (n) => n === 1,
    );
    // The endpoint saw the 200 before our transaction recording it committed: wait for the log.
    const d = await until(
      async () =>
        (await app.http.inject({ url: `/api/v1/webhooks/${id}/deliveries` })).json<{
          data: Array<{ status: string; attempts: number; log: Array<{ at: string; status_code: number }> }>;
        }>().data[0]!,
      (x) => x.status === 'succeeded',
    );
    expect(d.status).toBe('succeeded');
    expect(d.log.map((a) => a.status_code)).toEqual([500, 500, 503, 200]);
    // One event, one webhook-id, on every attempt.
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    const gaps = d.log.slice(1).map((a, i) => Date.parse(a.at) - Date.parse(d.log[i]!.at));
    expect(gaps.every((g) => g >= 5)).toBe(true);
  });

  it('gives up after the retry period: endpoint disabled, audited, flagged; redelivered once re-enabled', async () => {
    const { app, logs } = await start({ webhooks: { ...FAST.webhooks, retry_for_seconds: 1 } });
    const { id } = await subscribe(app, { url: `${receiver.url}/down`, events: ['order.created'] });
    receiver.fallback = 500;
    await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: { 'x-user-id': 'carol' },
      payload: { drink: 'latte', size: 'small' },
    });
    const view = await until(
      async () => (await app.http.inject({ url: `/api/v1/webhooks/${id}` })).json<{ webhook: { enabled: boolean } }>(),
      (v) => !v.webhook.enabled,
    );
    expect(view.webhook).toMatchObject({ enabled: false });
    const d = (await app.http.inject({ url: `/api/v1/webhooks/${id}/deliveries` })).json<{
      data: Array<{ id: string; status: string; attempts: number }>;
    }>().data[0]!;
    expect(d.status).toBe('failed');
    expect(d.attempts).toBeGreaterThan(2);
    const trail = await app.deps.uow.read.audit.list('default', 'webhook_subscription', id);
    expect(trail.map((a) => a.action)).toEqual(
      expect.arrayContaining(['webhook.created', 'webhook.disabled', 'flag.webhook_disabled']),
    );
    const flags = (await app.http.inject({ url: '/api/v1/review-flags' })).json<{ data: Array<{ code: string }> }>()
      .data;
    expect(flags.map((f) => f.code)).toContain('WEBHOOK_DISABLED');
    expect(logs.lines.some((l) => l.includes('"level":"error"') && l.includes('webhook endpoint disabled'))).toBe(true);

    // Disabled: redelivery is refused until it is enabled again.
    const refused = await app.http.inject({
      method: 'POST',
      url: `/api/v1/webhooks/${id}/deliveries/${d.id}/redeliver`,
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json<{ code: string }>().code).toBe('WEBHOOK_DISABLED');
    receiver.fallback = 200;
    const before = receiver.received.length;
    const enabled = await app.http.inject({
      method: 'PATCH',
      url: `/api/v1/webhooks/${id}`,
      payload: { enabled: true },
    });
    expect(enabled.json<{ webhook: { enabled: boolean } }>().webhook.enabled).toBe(true);
    const again = await app.http.inject({ method: 'POST', url: `/api/v1/webhooks/${id}/deliveries/${d.id}/redeliver` });
    expect(again.statusCode, again.body).toBe(202);
    await until(
      () => receiver.received.length,
      (n) => n > before && receiver.received.at(-1)!.status === 200,
    );
    const redelivered = receiver.received.at(-1)!;
    expect(redelivered.headers['webhook-id']).toBe(receiver.received[0]!.headers['webhook-id']);
    const after = await until(
      async () =>
        (await app.http.inject({ url: `/api/v1/webhooks/${id}/deliveries` })).json<{
          data: Array<{ status: string; log: Array<{ status_code: number }> }>;
        }>().data[0]!,
      (x) => x.status === 'succeeded',
    );
    expect(after.log.at(-1)!.status_code).toBe(200);
  });
});

describe('subscriptions', () => {
  it('admins manage, operators and viewers read, people are refused; bad input has stable codes', async () => {
    const { app } = await start();
    const as = async (role: 'operator' | 'viewer' | 'user', method: 'GET' | 'POST', url: string, payload?: unknown) =>
      app.http.inject({
        method,
        url,
        headers: { authorization: `Bearer ${await keyOf(app, `wh-${role}`, role)}` },
        ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
      });
    const { id } = await subscribe(app, { url: 'https://example.com/hook' });
    expect((await as('operator', 'GET', `/api/v1/webhooks/${id}`)).statusCode).toBe(200);
    expect((await as('viewer', 'GET', '/api/v1/webhooks')).statusCode).toBe(200);
    expect((await as('operator', 'POST', '/api/v1/webhooks', { url: 'https://example.com/x' })).statusCode).toBe(403);
    expect((await as('user', 'GET', '/api/v1/webhooks')).statusCode).toBe(403);
    const got = (await app.http.inject({ url: `/api/v1/webhooks/${id}` })).json<{ webhook: Record<string, unknown> }>();
    expect(got.webhook).toMatchObject({ url: 'https://example.com/hook', events: ['*'], enabled: true });
    expect(got.webhook.secret).toBeUndefined();

    const bad = async (body: unknown, code: string) => {
      const res = await app.http.inject({
        method: 'POST',
        url: '/api/v1/webhooks',
        payload: body as Record<string, unknown>,
      });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json<{ code: string }>().code).toBe(code);
    };
    await bad({ url: 'ftp://example.com/x' }, 'WEBHOOK_URL_INVALID');
    await bad({ url: 'not a url' }, 'WEBHOOK_URL_INVALID');
    await bad({ url: 'https://user:pw@example.com/x' }, 'WEBHOOK_URL_INVALID');
    await bad({ url: 'https://example.com/x', events: ['money.*'] }, 'WEBHOOK_EVENTS_INVALID');
    await bad({ url: 'https://example.com/x', events: ['order'] }, 'WEBHOOK_EVENTS_INVALID');
    await bad({ url: 'https://example.com/x', extra: 1 }, 'VALIDATION_FAILED');
    await bad({}, 'VALIDATION_FAILED');

    const patched = await app.http.inject({
      method: 'PATCH',
      url: `/api/v1/webhooks/${id}`,
      payload: { events: ['refund.*', 'order.created'], enabled: false },
    });
    expect(patched.json<{ webhook: unknown }>().webhook).toMatchObject({
      events: ['order.created', 'refund.*'],
      enabled: false,
    });
    expect((await app.http.inject({ method: 'DELETE', url: `/api/v1/webhooks/${id}` })).statusCode).toBe(204);
    const gone = await app.http.inject({ url: `/api/v1/webhooks/${id}` });
    expect(gone.statusCode).toBe(404);
    expect(gone.json<{ code: string }>().code).toBe('WEBHOOK_NOT_FOUND');
  });
});
