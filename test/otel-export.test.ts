import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnUntil } from './support/spawn-until.js';
import { tempDbPath } from './support/temp-db.js';

// `autoglm serve` as a real process: spans leave over OTLP/HTTP to a collector (a stub here),
// the last ones on SIGTERM's drain; and without `tracing.otlp` nothing of OpenTelemetry loads.

const INCOMING_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const INCOMING = `00-${INCOMING_TRACE}-00f067aa0ba902b7-01`;

/**
 * A module preloaded (--import) into the child: it registers resolution hooks under which any
 * import of an @opentelemetry package fails loudly, so a start that loads none proves the SDK
 * stays out of the default path. Written at run time (plain ESM, for Node itself to load).
 */
function importGuard(): string {
  const dir = mkdtempSync(join(tmpdir(), 'otel-guard-'));
  writeFileSync(
    join(dir, 'hooks.mjs'),
    'export async function resolve(specifier, context, next) {\n' +
      "  if (specifier.startsWith('@opentelemetry/')) throw new Error(`OpenTelemetry loaded: ${specifier}`);\n" +
      '  return next(specifier, context);\n}\n',
  );
  writeFileSync(
    join(dir, 'guard.mjs'),
    "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n",
  );
  return join(dir, 'guard.mjs');
}
const GUARD = importGuard();

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
}
interface OtlpExport {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
    scopeSpans: Array<{ spans: OtlpSpan[] }>;
  }>;
}

/** A collector's OTLP/HTTP traces endpoint, keeping every export request it is sent. */
class CollectorStub {
  readonly requests: Array<{ path: string; headers: IncomingHttpHeaders; body: OtlpExport }> = [];
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests.push({
        path: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport,
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/traces`;
  }

  spans(): OtlpSpan[] {
    return this.requests.flatMap((r) => r.body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans)));
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

const children: ChildProcess[] = [];
const stubs: CollectorStub[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const s of stubs.splice(0)) await s.close();
});

function serveEnv(db: string, more: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('AUTOGLM') && k !== 'NODE_OPTIONS'),
    ),
    AUTOGLM_DB: `sqlite:${db}`,
    AUTOGLM_HOST: '127.0.0.1',
    AUTOGLM_PORT: '0',
    AUTOGLM_AUTO_CONFIRM_ORDER: 'true',
    AUTOGLM_TRUSTED_ACTIONS: 'order_coffee,submit_payment',
    AUTOGLM__AUTH__ADMIN_KEY_FILE: `${db}.admin-key`,
    ...more,
  };
}

async function order(url: string, db: string): Promise<Response> {
  return fetch(`${url}/api/v1/order`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${readFileSync(`${db}.admin-key`, 'utf8').trim()}`,
      'content-type': 'application/json',
      traceparent: INCOMING,
    },
    body: JSON.stringify({ drink: 'latte', size: 'medium' }),
  });
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

describe('OTLP/HTTP export from `autoglm serve`', () => {
  it("posts the order's spans to the collector, the last of them on SIGTERM's drain", async () => {
    const stub = new CollectorStub();
    stubs.push(stub);
    const endpoint = await stub.start();
    const db = tempDbPath();
    const { child, url, output } = await spawnUntil(
      'test/support/serve-child.ts',
      [],
      serveEnv(db, {
        AUTOGLM__TRACING__OTLP__ENDPOINT: endpoint,
        AUTOGLM__TRACING__OTLP__HEADERS: JSON.stringify({ authorization: 'Bearer collector-token-1' }),
        AUTOGLM__TRACING__SERVICE_NAME: 'autoglm-under-test',
      }),
      'service',
    );
    children.push(child);
    const res = await order(url, db);
    expect(res.status, await res.text()).toBe(201);
    // The batch processor waits 5 s between exports: nothing has left yet, the drain sends it.
    await stop(child);

    expect(stub.requests.length).toBeGreaterThan(0);
    for (const r of stub.requests) {
      expect(r.path).toBe('/v1/traces');
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(r.headers.authorization).toBe('Bearer collector-token-1');
    }
    const resource = stub.requests[0]?.body.resourceSpans[0]?.resource.attributes ?? [];
    expect(resource.find((a) => a.key === 'service.name')?.value.stringValue).toBe('autoglm-under-test');

    const inTrace = stub.spans().filter((s) => s.traceId === INCOMING_TRACE);
    const names = inTrace.map((s) => s.name);
    expect(names).toContain('POST /api/v1/order');
    expect(names).toContain('unit of work');
    expect(names).toContain('job order.pay');
    expect(names).toContain('gateway create');
    // Every span of the order's trace arrived once, and each names a parent that arrived too
    // (or the caller's span).
    const ids = new Set(inTrace.map((s) => s.spanId));
    expect(ids.size).toBe(inTrace.length);
    for (const s of inTrace) expect(s.parentSpanId === '00f067aa0ba902b7' || ids.has(s.parentSpanId ?? '')).toBe(true);
    // The collector's token is a secret: never in the log.
    expect(output()).not.toContain('collector-token-1');
    expect(output()).toContain('exporting spans over OTLP/HTTP');
  });
});

describe('without tracing.otlp, nothing of OpenTelemetry is loaded', () => {
  it('the service starts and pays an order with every @opentelemetry import forbidden', async () => {
    const db = tempDbPath();
    const { child, url } = await spawnUntil(
      'test/support/serve-child.ts',
      [],
      serveEnv(db, { NODE_OPTIONS: `--import ${GUARD}` }),
      'service',
    );
    children.push(child);
    const res = await order(url, db);
    expect(res.status, await res.text()).toBe(201);
    // Still traced the W3C way: the answer names the caller's trace.
    expect(res.headers.get('traceparent')).toContain(INCOMING_TRACE);
    await stop(child);
  });

  it('the guard does catch the SDK: with tracing.otlp set, the same start fails', async () => {
    const db = tempDbPath();
    await expect(
      spawnUntil(
        'test/support/serve-child.ts',
        [],
        serveEnv(db, {
          NODE_OPTIONS: `--import ${GUARD}`,
          AUTOGLM__TRACING__OTLP__ENDPOINT: 'http://127.0.0.1:9/v1/traces',
        }),
        'service',
      ),
    ).rejects.toThrow(/OpenTelemetry loaded: @opentelemetry\//);
  });
});
