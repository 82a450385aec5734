import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTraceparent, newTrace, runInTrace } from '../../tracing/trace-context.js';
import { JuheRechargeChannel } from './juhe-channel.js';

describe("Juhe's day order list (the reconciliation statement)", () => {
  const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    res.setHeader('content-type', 'application/json');
    res.end('{"error_code":0,"reason":"ok","result":[]}');
  });
  let channel: JuheRechargeChannel;
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    channel = new JuheRechargeChannel({
      name: 'juhe',
      baseUrl: `http://127.0.0.1:${String(port)}/ofpay/mobile`,
      apiKey: 'k'.repeat(32),
      openId: 'open-id',
      operatorSettings: {} as never,
      clock: { now: () => Date.now() },
    });
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('is fetched inside the caller’s trace (traceparent names the same trace) and returns the bytes', async () => {
    const trace = newTrace();
    const file = await runInTrace(trace, () => channel.statement('2026-12-01'));
    expect(new TextDecoder().decode(file.bytes)).toContain('"error_code":0');
    expect(file.name).toBe('juhe-2026-12-01.json');
    const got = seen.at(-1);
    expect(got?.url).toContain('/ofpay/mobile/orderlist?');
    expect(got?.url).toContain('date=2026-12-01');
    const header = String(got?.headers.traceparent);
    expect(header.split('-')[1]).toBe(formatTraceparent(trace).split('-')[1]);
  });

  it('outside any trace sends no traceparent', async () => {
    await channel.statement('2026-12-02');
    expect(seen.at(-1)?.headers.traceparent).toBeUndefined();
  });
});
