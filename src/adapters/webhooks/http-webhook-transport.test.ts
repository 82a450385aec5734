import { createServer, type Server } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpWebhookTransport } from './http-webhook-transport.js';

/** A resolver that knows a few names, as a DNS server pointing them wherever a test likes. */
const resolverOf =
  (names: Readonly<Record<string, string>>): LookupFunction =>
  (hostname, options, callback) => {
    const address = names[hostname];
    if (address === undefined) {
      callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 4);
      return;
    }
    if ((options as { all?: boolean }).all === true) callback(null, [{ address, family: 4 }]);
    else callback(null, address, 4);
  };

let server: Server | undefined;
let transport: HttpWebhookTransport | undefined;
afterEach(async () => {
  await transport?.shutdown();
  transport = undefined;
  await new Promise<void>((res) => (server === undefined ? res() : server.close(() => res())));
  server = undefined;
});

async function receiver(): Promise<{ port: number; received: string[] }> {
  const received: string[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(body);
      res.writeHead(204).end();
    });
  });
  const s = server;
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', () => res()));
  return { port: (s.address() as AddressInfo).port, received };
}

const delivery = (url: string) => ({
  url,
  eventId: 'msg_1',
  at: 1_700_000_000_000,
  body: '{"type":"x"}',
  secret: 'whsec_' + Buffer.alloc(24, 7).toString('base64'),
});

describe('webhook deliveries never reach inward addresses unless allowed', () => {
  it('a host name that resolves to loopback is refused at connect time; nothing reaches the address', async () => {
    const { port, received } = await receiver();
    const names = { 'hooks.example.com': '127.0.0.1', 'meta.example.com': '169.254.169.254' };
    transport = new HttpWebhookTransport({
      timeoutMs: 2000,
      now: Date.now,
      allowPrivateAddresses: false,
      lookup: resolverOf(names),
    });
    const inward = await transport.send(delivery(`http://hooks.example.com:${port}/hook?token=secret-token`));
    expect(inward.statusCode).toBeNull();
    expect(inward.error).toMatch(/hooks\.example\.com resolves to 127\.0\.0\.1/);
    expect(inward.error).not.toMatch(/secret-token/);
    const metadata = await transport.send(delivery(`http://meta.example.com:${port}/hook`));
    expect(metadata.error).toMatch(/169\.254\.169\.254/);
    // An address literal is refused without connecting (a subscription made while it was allowed).
    const literal = await transport.send(delivery(`http://127.0.0.1:${port}/hook`));
    expect(literal).toMatchObject({ statusCode: null, latencyMs: 0 });
    expect(literal.error).toMatch(/loopback, private/);
    expect(received).toHaveLength(0);
  });

  it('with webhooks.allow_private_addresses the same name is delivered to, through the same resolver', async () => {
    const { port, received } = await receiver();
    transport = new HttpWebhookTransport({
      timeoutMs: 2000,
      now: Date.now,
      allowPrivateAddresses: true,
      lookup: resolverOf({ 'hooks.example.com': '127.0.0.1' }),
    });
    const r = await transport.send(delivery(`http://hooks.example.com:${port}/hook`));
    expect(r).toMatchObject({ statusCode: 204, error: null });
    expect(received).toEqual(['{"type":"x"}']);
  });
});
