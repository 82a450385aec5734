import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll } from 'vitest';

/** One request the receiver got, as it came. */
export interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly path: string;
  readonly status: number;
}

/**
 * A webhook endpoint on 127.0.0.1 for tests: records every request (raw body, headers) and
 * answers each with the next status of `plan` (then `fallback`, 200 unless set).
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  readonly plan: number[] = [];
  fallback = 200;
  /** `http://127.0.0.1:<port>` once started. */
  url = '';
  private readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const status = this.plan.shift() ?? this.fallback;
        this.received.push({
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          path: req.url ?? '',
          status,
        });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'nope');
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  /** The events that were answered 2xx, in arrival order. */
  delivered(): Array<{ id: string; type: string; data: Record<string, unknown> }> {
    return this.received
      .filter((r) => r.status >= 200 && r.status < 300)
      .map((r) => {
        const body = JSON.parse(r.body) as { type: string; data: Record<string, unknown> };
        return { id: String(r.headers['webhook-id']), type: body.type, data: body.data };
      });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * One receiver for a test file: started before its tests, closed after them; after each test the
 * apps in `apps` are closed and the receiver forgets what it got and was told to answer.
 */
export function receiverForFile(apps: Array<{ close(): Promise<void> }>): WebhookReceiver {
  const receiver = new WebhookReceiver();
  beforeAll(async () => {
    await receiver.start();
  });
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close();
    receiver.received.length = 0;
    receiver.plan.length = 0;
    receiver.fallback = 200;
  });
  afterAll(async () => {
    await receiver.close();
  });
  return receiver;
}

/** Poll `probe` in real time until `done` passes or `ms` is over; the last value either way. */
export async function until<T>(probe: () => T | Promise<T>, done: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 15));
  }
}
