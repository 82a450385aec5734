import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { authHeaders, startTestApp } from './support/test-app.js';

/**
 * The service over TLS (`server.tls.cert_file` / `key_file`), with a self-signed certificate made
 * here by the machine's openssl (node:crypto makes keys, not certificates): HTTPS only, and
 * Strict-Transport-Security on every answer — success, problem, not found, malformed URL.
 */
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
if (!hasOpenssl) process.stderr.write('\n  !! openssl is not on this machine: the TLS test is SKIPPED\n\n');

function selfSigned(): { cert: string; key: string; ca: string } {
  const dir = mkdtempSync(join(tmpdir(), 'autoglm-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key, ca: readFileSync(cert, 'utf8') };
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function get(
  url: string,
  ca: string,
  method = 'GET',
  body?: string,
  auth: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
    const req = request(url, { method, ca, headers });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

let app: App | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe.runIf(hasOpenssl)('TLS for the service itself', () => {
  it('serves HTTPS with Strict-Transport-Security on every answer', async () => {
    const tls = selfSigned();
    app = (await startTestApp({ server: { port: 0, tls: { cert_file: tls.cert, key_file: tls.key } } })).app;
    const url = await app.listen();
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const hsts = 'max-age=31536000';
    const ok = await get(`${url}/healthz`, tls.ca);
    expect(ok.status).toBe(200);
    expect(ok.headers['strict-transport-security']).toBe(hsts);
    const auth = await authHeaders(app);
    const order = await get(
      `${url}/api/v1/order`,
      tls.ca,
      'POST',
      JSON.stringify({ drink: 'latte', size: 'medium' }),
      auth,
    );
    expect(order.status).toBe(201);
    expect(order.headers['strict-transport-security']).toBe(hsts);
    const refused = await get(`${url}/api/v1/order`, tls.ca, 'POST', JSON.stringify({ drink: 'tea' }), auth);
    expect(refused.status).toBe(400);
    expect(refused.headers['strict-transport-security']).toBe(hsts);
    // Under /api (elsewhere a GET is the console's page): a route that does not exist.
    const missing = await get(`${url}/api/v1/nowhere`, tls.ca);
    expect(missing.status).toBe(404);
    expect(missing.headers['strict-transport-security']).toBe(hsts);
    const malformed = await get(`${url}/api/v1/orders/%E0%A4%A`, tls.ca, 'GET', undefined, auth);
    expect(malformed.status).toBe(400);
    expect(malformed.headers['strict-transport-security']).toBe(hsts);
    // Plain HTTP on the same port is not served.
    const port = new URL(url).port;
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    // A certificate nobody vouches for is refused by clients: TLS is really on.
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('a request in flight when the service starts closing is answered over TLS, not cut', async () => {
    const tls = selfSigned();
    const started = await startTestApp({ server: { port: 0, tls: { cert_file: tls.cert, key_file: tls.key } } });
    app = started.app;
    const url = await app.listen();
    const auth = await authHeaders(app);
    const body = JSON.stringify({ drink: 'latte', size: 'medium' });
    const answer = new Promise<number>((resolve, reject) => {
      const req = request(`${url}/api/v1/order`, {
        method: 'POST',
        ca: tls.ca,
        headers: { ...auth, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      // Headers and half the body now: the request has begun when the close starts.
      req.write(body.slice(0, 10));
      setTimeout(() => req.end(body.slice(10)), 600);
    });
    await new Promise((r) => setTimeout(r, 250));
    const closing = app.close();
    app = undefined;
    // Quiet connections are swept every 100 ms while closing: this one carries a request.
    expect(await answer).toBe(201);
    await closing;
  });

  it('without TLS, answers carry no Strict-Transport-Security', async () => {
    app = (await startTestApp()).app;
    const res = await app.http.inject({ method: 'GET', url: '/healthz' });
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });

  it('a certificate file that is not there stops the start, with the path', async () => {
    await expect(
      startTestApp({
        server: { port: 0, tls: { cert_file: '/nonexistent/cert.pem', key_file: '/nonexistent/k.pem' } },
      }),
    ).rejects.toThrow(/nonexistent\/cert\.pem/);
  });
});
