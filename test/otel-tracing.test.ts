import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { HttpClient } from '../src/adapters/http/http-client.js';
import { createOtelTracing } from '../src/adapters/tracing/otel-tracing.js';
import { parseTraceparent } from '../src/adapters/tracing/trace-context.js';
import { tracedPort } from '../src/adapters/tracing/traced-port.js';
import type { App } from '../src/composition/create-app.js';
import { loadConfig } from '../src/config/load-config.js';
import { createTestDatabase, postgresWanted, type TestDatabase } from './support/pg-db.js';
import { adminKeyOf, startTestApp } from './support/test-app.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

// OpenTelemetry spans, exported to the SDK's in-memory exporter: the same ids as the W3C
// traceparent answers, the log lines and the job rows.

const apps: App[] = [];
const dbs: TestDatabase[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close().catch(() => undefined);
});
afterAll(async () => {
  for (const d of dbs.splice(0)) await d.drop();
});

const pgOk = await postgresWanted();
const ENGINES = pgOk ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const);

const INCOMING_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const INCOMING_SPAN = '00f067aa0ba902b7';
const INCOMING = `00-${INCOMING_TRACE}-${INCOMING_SPAN}-01`;

async function traced(
  engine: 'sqlite' | 'postgres' = 'sqlite',
  overrides: Record<string, unknown> = {},
): Promise<{ app: App; exporter: InMemorySpanExporter; logs: string[] }> {
  const exporter = new InMemorySpanExporter();
  let database = {};
  if (engine === 'postgres') {
    const db = await createTestDatabase('otel');
    dbs.push(db);
    database = { database: { url: db.url, pool_size: 4 } };
  }
  const { app, logs } = await startTestApp({ ...database, ...overrides }, { spanExporter: exporter });
  apps.push(app);
  return { app, exporter, logs: logs.lines };
}

const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;
const nameOf = (spans: readonly ReadableSpan[], id: string | undefined): string | undefined =>
  spans.find((s) => s.spanContext().spanId === id)?.name;
const idOf = (s: ReadableSpan): string => s.spanContext().spanId;
const traceOf = (s: ReadableSpan): string => s.spanContext().traceId;

function serverSpan(spans: readonly ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((s) => s.kind === SpanKind.SERVER && s.name === name);
  expect(found, spans.map((s) => s.name).join(', ')).toHaveLength(1);
  return found[0] as ReadableSpan;
}

/** The job rows' stored traceparents, on either engine. */
async function storedTraceparents(app: App): Promise<Array<{ kind: string; traceparent: string | null }>> {
  const d = app.config.database;
  if (d.kind === 'sqlite') {
    const db = new SqliteDatabase(d.path, { readonly: true });
    try {
      return db.prepare('select kind, traceparent from jobs').all() as Array<{ kind: string; traceparent: string }>;
    } finally {
      db.close();
    }
  }
  const c = new pg.Client({ connectionString: d.url });
  await c.connect();
  try {
    return (await c.query<{ kind: string; traceparent: string | null }>('select kind, traceparent from jobs')).rows;
  } finally {
    await c.end();
  }
}

describe('OpenTelemetry spans of a request', () => {
  it("a request with a traceparent is a server span of the caller's trace, named by method and route", async () => {
    const { app, exporter } = await traced();
    const res = await app.http.inject({
      method: 'GET',
      url: '/api/v1/orders?limit=5',
      headers: { traceparent: INCOMING },
    });
    expect(res.statusCode).toBe(200);
    const span = serverSpan(exporter.getFinishedSpans(), 'GET /api/v1/orders');
    expect(traceOf(span)).toBe(INCOMING_TRACE);
    expect(parentOf(span)).toBe(INCOMING_SPAN);
    expect(span.parentSpanContext?.isRemote).toBe(true);
    // The answer's traceparent names this very span.
    expect(parseTraceparent(res.headers.traceparent)?.spanId).toBe(idOf(span));
    expect(span.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/api/v1/orders',
      'http.response.status_code': 200,
    });
  });

  it('a route with parameters is named by its template, not the URL; a refusal carries its code', async () => {
    const { app, exporter } = await traced();
    const res = await app.http.inject({ method: 'GET', url: '/api/v1/orders/ord_does_not_exist' });
    expect(res.statusCode).toBe(404);
    const code = res.json<{ code: string }>().code;
    const span = serverSpan(exporter.getFinishedSpans(), 'GET /api/v1/orders/:id');
    expect(span.attributes['autoglm.error_code']).toBe(code);
    expect(span.attributes['http.response.status_code']).toBe(404);
    expect(JSON.stringify(span.attributes)).not.toContain('ord_does_not_exist');
  });

  it('a malformed traceparent starts a new trace (the request still succeeds)', async () => {
    const { app, exporter } = await traced();
    const res = await app.http.inject({
      method: 'GET',
      url: '/api/v1/orders',
      headers: { traceparent: `00-${INCOMING_TRACE}-zzzz-01` },
    });
    expect(res.statusCode).toBe(200);
    const span = serverSpan(exporter.getFinishedSpans(), 'GET /api/v1/orders');
    expect(span.parentSpanContext).toBeUndefined();
    expect(traceOf(span)).not.toBe(INCOMING_TRACE);
    expect(parseTraceparent(res.headers.traceparent)?.traceId).toBe(traceOf(span));
  });

  it('a caller that did not sample its trace is not recorded, and says so downstream', async () => {
    const { app, exporter } = await traced();
    const res = await app.http.inject({
      method: 'GET',
      url: '/api/v1/orders',
      headers: { traceparent: `00-${INCOMING_TRACE}-${INCOMING_SPAN}-00` },
    });
    expect(res.statusCode).toBe(200);
    expect(exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER)).toHaveLength(0);
    const echoed = parseTraceparent(res.headers.traceparent);
    expect(echoed?.traceId).toBe(INCOMING_TRACE);
    expect(echoed?.flags).toBe('00');
  });
});

/** An auto-paid coffee order placed in the caller's trace (INCOMING); its spans once it is answered. */
async function orderInTrace(
  engine: 'sqlite' | 'postgres',
): Promise<{ app: App; logs: string[]; spans: ReadableSpan[] }> {
  const { app, exporter, logs } = await traced(engine);
  const res = await app.http.inject({
    method: 'POST',
    url: '/api/v1/order',
    headers: { 'content-type': 'application/json', traceparent: INCOMING },
    payload: { drink: 'latte', size: 'medium' },
  });
  expect(res.statusCode, res.body).toBe(201);
  return { app, logs, spans: exporter.getFinishedSpans().filter((s) => traceOf(s) === INCOMING_TRACE) };
}

describe.each(ENGINES)('an order paid by the simulator gateway, traced on %s', (engine) => {
  it('each unit of work reports the statements it sent, as the storage adapter counted them', async () => {
    const { spans } = await orderInTrace(engine);
    const units = spans
      .filter((s) => s.name === 'unit of work')
      .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
    // docs/performance.md: on PostgreSQL each of the order's three transactions is ONE statement
    // (its writes held and sent together, no BEGIN or COMMIT). On SQLite, the statements each ran:
    // the order, its payment and its leased pay job; the payment's and the order's updates, the
    // ledger postings and the job's advance; the order's update and the job's completion (the audit
    // rows are written once per group commit, not counted in any one unit).
    const expected =
      engine === 'postgres'
        ? [
            ['POST /api/v1/order', 1],
            ['job order.pay', 1],
            ['job order.fulfil', 1],
          ]
        : [
            ['POST /api/v1/order', 3],
            ['job order.pay', 4],
            ['job order.fulfil', 2],
          ];
    expect(units.map((u) => [nameOf(spans, parentOf(u)), u.attributes['autoglm.uow.statements']])).toEqual(expected);
  });

  it('server span → units of work → pay job → gateway client span; the ids of logs and job rows', async () => {
    const { app, logs, spans } = await orderInTrace(engine);
    const byId = new Map(spans.map((s) => [idOf(s), s]));
    const server = serverSpan(spans, 'POST /api/v1/order');
    expect(parentOf(server)).toBe(INCOMING_SPAN);

    // The request's own transactions are its children.
    const units = spans.filter((s) => s.name === 'unit of work');
    expect(units.filter((u) => parentOf(u) === idOf(server)).length).toBeGreaterThan(0);
    for (const u of units) {
      expect(u.kind).toBe(SpanKind.INTERNAL);
      expect(u.attributes['db.system.name']).toBe(engine === 'postgres' ? 'postgresql' : 'sqlite');
      expect(u.attributes['autoglm.uow.attempts']).toBeGreaterThanOrEqual(1);
    }

    // The pay job continues the trace from the unit of work that enqueued it.
    const job = spans.find((s) => s.name === 'job order.pay');
    expect(job, spans.map((s) => s.name).join(', ')).toBeDefined();
    if (job === undefined) return;
    expect(job.kind).toBe(SpanKind.CONSUMER);
    const enqueuer = byId.get(parentOf(job) ?? '');
    expect(enqueuer?.name).toBe('unit of work');
    expect(enqueuer === undefined ? undefined : parentOf(enqueuer)).toBe(idOf(server));

    // The gateway call is a client span of the job.
    const call = spans.find((s) => s.name === 'gateway create');
    expect(call).toBeDefined();
    expect(call?.kind).toBe(SpanKind.CLIENT);
    expect(parentOf(call as ReadableSpan)).toBe(idOf(job));
    expect(call?.attributes).toMatchObject({ 'autoglm.peer.kind': 'gateway', 'autoglm.operation': 'create' });
    // The job's own transactions (recording the outcome) are its children too.
    expect(units.some((u) => parentOf(u) === idOf(job))).toBe(true);

    // Every span ended before the answer was sent, within the request's trace.
    for (const s of spans) expect(s.ended).toBe(true);

    // The log lines name exported spans: the job's line its span (or one of its units of work).
    const lines = logs.map((l) => JSON.parse(l) as { msg: string; trace_id?: string; span_id?: string });
    const paid = lines.find((l) => l.msg === 'Payment submitted successfully');
    expect(paid?.trace_id).toBe(INCOMING_TRACE);
    expect(byId.has(paid?.span_id ?? '')).toBe(true);
    // Each job row stored the span that enqueued it: an exported span of this trace.
    const rows = await storedTraceparents(app);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      const t = parseTraceparent(r.traceparent);
      expect(t?.traceId, JSON.stringify(r)).toBe(INCOMING_TRACE);
      expect(byId.has(t?.spanId ?? ''), JSON.stringify(r)).toBe(true);
    }
  });
});

describe('what spans never carry', () => {
  it('no phone number, API key, signature or body in any name, attribute, event or status', async () => {
    const phone = '13912345678';
    const { app, exporter } = await traced('sqlite', {
      recharge: { channels: { 'sim-a': { type: 'simulator', operators: ['CHINA_MOBILE', 'CHINA_UNICOM'] } } },
    });
    app.start();
    const key = adminKeyOf(app);
    const headers = { 'content-type': 'application/json', 'x-user-id': 'u1' };
    const top = await app.http.inject({
      method: 'POST',
      url: '/api/v1/wallet/top-ups',
      headers: { ...headers, 'idempotency-key': 'top-1' },
      payload: { amount: 100_000 },
    });
    expect(top.statusCode, top.body).toBe(201);
    const recharge = await app.http.inject({
      method: 'POST',
      url: '/api/v1/recharges',
      headers: { ...headers, 'idempotency-key': 'r-1' },
      payload: { phone, amount: 1000 },
    });
    expect(recharge.statusCode, recharge.body).toBeLessThan(300);
    const talk = await app.http.inject({
      method: 'POST',
      url: '/api/v1/agent/messages',
      headers,
      payload: { session_id: 's1', text: `给${phone}充值10元话费` },
    });
    expect(talk.statusCode, talk.body).toBeLessThan(500);
    // A refused request whose body holds the number.
    await app.http.inject({ method: 'POST', url: '/api/v1/recharges', headers, payload: { phone, amount: -1 } });
    // The recharge reaches its channel (a client span) from the worker.
    const deadline = Date.now() + 10_000;
    while (!exporter.getFinishedSpans().some((s) => s.name === 'recharge_channel submit') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));

    const spans = exporter.getFinishedSpans();
    expect(spans.some((s) => s.name === 'recharge_channel submit')).toBe(true);
    const everything = JSON.stringify(
      spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })),
    );
    expect(everything).not.toContain(phone);
    expect(everything).not.toContain(phone.slice(3));
    expect(everything).not.toContain(key);
    expect(everything).not.toMatch(/bearer|signature|authorization/i);
    expect(everything).not.toContain('充值');
  });
});

describe('outgoing HTTP calls as client spans', () => {
  it("send the client span's own context: a span of their own, or the port's span they are part of", async () => {
    const exporter = new InMemorySpanExporter();
    const otel = createOtelTracing({
      serviceName: 't',
      serviceVersion: '0',
      instanceId: 'i',
      sampleRatio: 1,
      export: { exporter },
    });
    const receiver = new WebhookReceiver();
    const url = await receiver.start();
    const client = new HttpClient({ baseUrl: url, timeoutMs: 2000 });
    // A port whose call goes over this client (as the simulator-http gateway's does).
    const port = tracedPort(
      {
        name: 'remote',
        create: () => client.request({ method: 'POST', path: '/pay', body: '{"phone":"13912345678"}' }),
      },
      { kind: 'gateway', name: 'remote' },
      ['create'],
    );
    try {
      await otel.tracing.runJob(
        { id: 'job_1', kind: 'webhook.deliver', attempts: 1, traceparent: INCOMING },
        async () => {
          await client.request({ method: 'POST', path: '/hook?sign=abc', body: '{}' });
          await port.create();
        },
      );
      const spans = exporter.getFinishedSpans();
      const job = spans.find((s) => s.name === 'job webhook.deliver') as ReadableSpan;
      expect(parentOf(job)).toBe(INCOMING_SPAN);

      const hook = spans.find((s) => s.kind === SpanKind.CLIENT && s.name === 'POST') as ReadableSpan;
      expect(parentOf(hook)).toBe(idOf(job));
      expect(parseTraceparent(receiver.received[0]?.headers.traceparent)?.spanId).toBe(idOf(hook));
      expect(hook.attributes).toMatchObject({
        'http.request.method': 'POST',
        'server.address': '127.0.0.1',
        'http.response.status_code': 200,
      });
      // No path or query (a signature, an id) among the attributes.
      expect(JSON.stringify(hook.attributes)).not.toMatch(/hook|sign|abc/);

      // Inside the port's client span, the transport sends that span: one span per call, not two.
      const call = spans.find((s) => s.name === 'gateway create') as ReadableSpan;
      expect(call.kind).toBe(SpanKind.CLIENT);
      expect(parentOf(call)).toBe(idOf(job));
      expect(parseTraceparent(receiver.received[1]?.headers.traceparent)?.spanId).toBe(idOf(call));
      expect(call.attributes['http.response.status_code']).toBe(200);
      expect(spans).toHaveLength(3);
    } finally {
      await client.close();
      await receiver.close();
      await otel.shutdown();
    }
  });
});

describe('failures on spans and of the export', () => {
  const settings = { serviceName: 't', serviceVersion: '0', instanceId: 'i', sampleRatio: 1 };

  it("a job run's retry or give-up marks its span failed, the message masked", async () => {
    const exporter = new InMemorySpanExporter();
    const otel = createOtelTracing({ ...settings, export: { exporter } });
    const job = { id: 'job_1', kind: 'recharge.submit', attempts: 2, traceparent: null };
    await otel.tracing.runJob(job, (span) => {
      span.outcome('retry', 'RechargeUnknownOutcomeError: 13912345678 got no answer');
      return Promise.resolve();
    });
    await otel.tracing.runJob({ ...job, id: 'job_2' }, (span) => {
      span.outcome('done');
      return Promise.resolve();
    });
    const [failed, done] = exporter.getFinishedSpans();
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed?.attributes).toMatchObject({ 'autoglm.job.outcome': 'retry', 'autoglm.job.attempt': 2 });
    expect(failed?.parentSpanContext).toBeUndefined();
    expect(JSON.stringify([failed?.status, failed?.events])).not.toContain('13912345678');
    expect(failed?.events[0]?.attributes?.['exception.type']).toBe('retry');
    expect(done?.status.code).toBe(SpanStatusCode.UNSET);
    await otel.shutdown();
  });

  it('spans the collector refuses are logged as lost, once a minute at most', async () => {
    const failing: SpanExporter = {
      export: (_spans, done) => done({ code: 1, error: new Error('collector down') }),
      shutdown: () => Promise.resolve(),
    };
    const { app, logs } = await startTestApp({}, { spanExporter: failing });
    apps.push(app);
    for (let i = 0; i < 3; i++)
      expect((await app.http.inject({ method: 'GET', url: '/api/v1/orders' })).statusCode).toBe(200);
    const lost = logs.lines.filter((l) => l.includes('could not export spans'));
    expect(lost).toHaveLength(1);
    expect(lost[0]).toContain('collector down');
  });
});

describe('tracing configuration', () => {
  it('is off by default; a bad endpoint, header name or ratio is refused by path, never echoing a value', () => {
    const ok = loadConfig({ env: {} });
    expect(ok.ok && ok.value.tracing.otlp).toBeUndefined();
    for (const [tracing, path] of [
      [{ otlp: { endpoint: 'ftp://collector/v1/traces' } }, 'tracing.otlp.endpoint'],
      [
        { otlp: { endpoint: 'http://c:4318/v1/traces', headers: { 'bad header': 'Bearer s3cret-value' } } },
        'tracing.otlp.headers',
      ],
      [{ sample_ratio: 1.5 }, 'tracing.sample_ratio'],
    ] as const) {
      const r = loadConfig({ env: {}, overrides: { tracing } });
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.error.code).toBe('CONFIG_INVALID');
      expect(r.error.issues.join('\n')).toContain(path);
      expect(JSON.stringify(r.error)).not.toContain('s3cret-value');
    }
    const env = loadConfig({ env: { AUTOGLM__TRACING__OTLP__ENDPOINT: 'http://127.0.0.1:4318/v1/traces' } });
    expect(env.ok && env.value.tracing.otlp).toMatchObject({
      endpoint: 'http://127.0.0.1:4318/v1/traces',
      timeout_ms: 10_000,
    });
  });
});
