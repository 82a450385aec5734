import SqliteDatabase from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient } from '../src/adapters/http/http-client.js';
import { newTrace, parseTraceparent, runInTrace } from '../src/adapters/tracing/trace-context.js';
import type { App } from '../src/composition/create-app.js';
import { startTestApp } from './support/test-app.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

const apps: App[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close().catch(() => undefined);
});

const INCOMING = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('parseTraceparent (W3C trace context)', () => {
  it.each([
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', true],
    // A later version may carry more fields after the four it shares with 00.
    ['01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra', true],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra', false],
    ['ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', false],
    ['00-00000000000000000000000000000000-00f067aa0ba902b7-01', false],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', false],
    ['00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01', false],
    ['00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01', false],
    ['garbage', false],
    ['', false],
  ])('%s → valid: %s', (header, valid) => {
    expect(parseTraceparent(header) !== undefined).toBe(valid);
  });
});

describe('traceparent through requests, logs, jobs and outgoing calls', () => {
  it("continues the caller's trace: echoed, in every log line of the request and of the jobs it enqueued", async () => {
    const { app, logs } = await startTestApp();
    apps.push(app);
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: { 'content-type': 'application/json', traceparent: INCOMING },
      payload: { drink: 'latte', size: 'medium' },
    });
    expect(res.statusCode, res.body).toBe(201);
    const echoed = parseTraceparent(res.headers.traceparent);
    expect(echoed?.traceId).toBe(TRACE_ID);
    // The request is a span of its own, a child of the caller's.
    expect(echoed?.spanId).not.toBe('00f067aa0ba902b7');

    const lines = logs.lines.map((l) => JSON.parse(l) as { msg: string; trace_id?: string });
    const completed = lines.find((l) => l.msg === 'request completed');
    expect(completed?.trace_id).toBe(TRACE_ID);
    // Logged by the payment job the request enqueued and ran.
    const paid = lines.find((l) => l.msg === 'Payment submitted successfully');
    expect(paid?.trace_id).toBe(TRACE_ID);
    // Every job the order enqueued was stored with the trace (a restart or another instance continues it).
    const db = new SqliteDatabase(app.config.database.kind === 'sqlite' ? app.config.database.path : '', {
      readonly: true,
    });
    try {
      const rows = db.prepare('select kind, traceparent from jobs').all() as Array<{ traceparent: string | null }>;
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) expect(parseTraceparent(r.traceparent)?.traceId, JSON.stringify(r)).toBe(TRACE_ID);
    } finally {
      db.close();
    }
  });

  it('a malformed traceparent is ignored: the request succeeds in a new trace', async () => {
    const { app, logs } = await startTestApp();
    apps.push(app);
    const res = await app.http.inject({
      method: 'GET',
      url: '/api/v1/orders',
      headers: { traceparent: '00-not-a-trace-01' },
    });
    expect(res.statusCode).toBe(200);
    const echoed = parseTraceparent(res.headers.traceparent);
    expect(echoed).toBeDefined();
    expect(echoed?.traceId).not.toContain('not');
    const completed = logs.lines
      .map((l) => JSON.parse(l) as { msg: string; trace_id?: string })
      .find((l) => l.msg === 'request completed');
    expect(completed?.trace_id).toBe(echoed?.traceId);
  });

  it('outgoing calls carry the current trace as a new span; outside a trace, no header', async () => {
    const receiver = new WebhookReceiver();
    const url = await receiver.start();
    const client = new HttpClient({ baseUrl: url, timeoutMs: 2000 });
    try {
      const trace = newTrace();
      await runInTrace(trace, () => client.request({ method: 'POST', path: '/hook', body: '{}' }));
      await client.request({ method: 'POST', path: '/untraced', body: '{}' });
      const sent = parseTraceparent(receiver.received[0]?.headers.traceparent);
      expect(sent?.traceId).toBe(trace.traceId);
      expect(sent?.spanId).not.toBe(trace.spanId);
      expect(receiver.received[1]?.headers.traceparent).toBeUndefined();
    } finally {
      await client.close();
      await receiver.close();
    }
  });
});
