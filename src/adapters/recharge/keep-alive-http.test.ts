import http from 'node:http';
import type { AddressInfo } from 'node:net';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RechargeUnknownOutcomeError } from '../../ports/recharge-channel.js';
import { KeepAliveHttp, MAX_BODY_BYTES } from './keep-alive-http.js';

let server: http.Server;
let base = '';
const client = new KeepAliveHttp(4);

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/gbk')
      res.writeHead(200, { 'content-type': 'application/json' }).end(iconv.encode('{"reason":"充值成功"}', 'gbk'));
    else if (path === '/huge') res.writeHead(200).end(Buffer.alloc(MAX_BODY_BYTES + 10, 0x20));
    else if (path === '/hang') setTimeout(() => res.writeHead(200).end('late'), 1000);
    else res.writeHead(500).end('boom');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  client.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('keep-alive HTTP for recharge channels', () => {
  it('decodes an undeclared charset with the operator’s encoding', async () => {
    const r = await client.get(new URL(`${base}/gbk`), 1000, 'gbk');
    expect(r.text).toBe('{"reason":"充值成功"}');
  });

  it('a late answer is an unknown outcome after the timeout, not a wait for the answer', async () => {
    const started = Date.now();
    await expect(client.get(new URL(`${base}/hang`), 100, 'utf-8')).rejects.toBeInstanceOf(RechargeUnknownOutcomeError);
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('refuses an oversized answer as an unknown outcome', async () => {
    await expect(client.get(new URL(`${base}/huge`), 2000, 'utf-8')).rejects.toThrow(/larger than/);
  });

  it('a refused connection is an unknown outcome', async () => {
    await expect(client.get(new URL('http://127.0.0.1:9/x'), 1000, 'utf-8')).rejects.toBeInstanceOf(
      RechargeUnknownOutcomeError,
    );
  });

  it('hands a 5xx to the caller with its status', async () => {
    expect((await client.get(new URL(`${base}/boom`), 1000, 'utf-8')).status).toBe(500);
  });
});
