import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/system/system-clock.js';
import type { Session } from '../src/application/identity/identity-api.js';
import type { App } from '../src/composition/create-app.js';
import { loadConfig } from '../src/config/load-config.js';
import { createTestDatabase, postgresWanted, type TestDatabase } from './support/pg-db.js';
import { ANONYMOUS, adminKeyOf, keyOf, startTestApp } from './support/test-app.js';

/**
 * People's logins: argon2id passwords → a short access token (a JWT, at most 15 minutes) and a
 * rotating refresh token whose reuse ends the whole login; logout; the same answer for a wrong
 * password and an unknown user; guessing passwords gets the address blocked; browser cookies
 * (HttpOnly, SameSite=Strict, Secure over TLS) with CSRF on state-changing requests; CORS only
 * for configured origins; and a revoked key refused at once by every instance of one database.
 */

const T0 = Date.parse('2026-12-01T08:00:00Z');
const CONSOLE = 'https://console.example';
const PASSWORD = 'correct horse battery staple';
const clock = new ManualClock(T0);
let app: App;
const json = { 'content-type': 'application/json' };

beforeAll(async () => {
  app = (
    await startTestApp(
      {
        auth: { cors_origins: [CONSOLE] },
        security: { block: { threshold: 5, window_seconds: 60, duration_seconds: 300 } },
        // Only this machine is a proxy whose X-Forwarded-Proto is believed (TLS ends there).
        server: { trust_proxy: ['127.0.0.1'] },
      },
      { clock },
    )
  ).app;
  await app.http.ready();
  for (const user of ['carol', 'dave', 'erin', 'frank', 'grace', 'heidi']) {
    const made = await app.http.inject({
      method: 'POST',
      url: '/api/v1/admin/users',
      headers: { ...json, authorization: `Bearer ${adminKeyOf(app)}` },
      payload: { user, password: PASSWORD },
    });
    expect(made.statusCode, made.body).toBe(201);
  }
});
afterAll(async () => {
  await app.close();
});

/** Each test its own address, so one test's failed logins never count against another's. */
let nextAddress = 10;
const address = (): string => `198.51.100.${nextAddress++}`;

function login(user: string, password = PASSWORD, remoteAddress = '127.0.0.1'): Promise<LightMyRequestResponse> {
  return app.http.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    headers: json,
    remoteAddress,
    payload: { user, password },
  });
}

async function session(user: string): Promise<Session> {
  const res = await login(user);
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Session>();
}

/** Refused tokens count against their address: a test that expects refusals sends from its own. */
const refresh = (token: string, remoteAddress = '127.0.0.1'): Promise<LightMyRequestResponse> =>
  app.http.inject({
    method: 'POST',
    url: '/api/v1/auth/refresh',
    headers: json,
    remoteAddress,
    payload: { refresh_token: token },
  });

/** GET /api/v1/auth/me with this bearer credential. */
const me = (token: string, remoteAddress = '127.0.0.1'): Promise<LightMyRequestResponse> =>
  app.http.inject({ url: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` }, remoteAddress });

const code = (res: LightMyRequestResponse): string => res.json<{ code: string }>().code;

const withoutRequestId = (res: LightMyRequestResponse): unknown => {
  const { request_id: _id, ...rest } = res.json<Record<string, unknown>>();
  return rest;
};

function setCookies(res: LightMyRequestResponse): Map<string, string> {
  const raw = res.headers['set-cookie'];
  const lines = raw === undefined ? [] : [raw].flat();
  return new Map(lines.map((l) => [l.slice(0, l.indexOf('=')), l]));
}

const valueOf = (cookie: string | undefined): string => /^[^=]+=([^;]*)/.exec(cookie ?? '')?.[1] ?? '';

describe('logging in', () => {
  it('a password (argon2id) gives an access token that works, is a JWT of at most 900 s, and expires', async () => {
    const stored = await app.deps.uow.read.identity.getPrincipal('default', 'carol');
    expect(stored?.passwordHash).toMatch(/^\$argon2id\$/);
    const s = await session('carol');
    expect(s).toMatchObject({ token_type: 'Bearer', principal: { tenant: 'default', id: 'carol', role: 'user' } });
    expect(s.expires_in).toBeLessThanOrEqual(900);
    expect(decodeProtectedHeader(s.access_token).alg).toBe('HS256');
    const claims = decodeJwt(s.access_token);
    expect(claims.sub).toBe('carol');
    expect((claims.exp ?? Infinity) - (claims.iat ?? 0)).toBeLessThanOrEqual(900);

    const ok = await me(s.access_token);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ principal: 'carol', role: 'user', acts_for: 'carol' });
    clock.advance(899_000);
    expect((await me(s.access_token)).statusCode).toBe(200);
    clock.advance(2_000);
    const expired = await me(s.access_token);
    expect(expired.statusCode).toBe(401);
    expect(code(expired)).toBe('UNAUTHENTICATED');
    // The refresh token outlives it, and renews it.
    const renewed = await refresh(s.refresh_token);
    expect(renewed.statusCode, renewed.body).toBe(200);
    expect((await me(renewed.json<Session>().access_token)).statusCode).toBe(200);
  });

  it('a wrong password and an unknown user get the very same 401 INVALID_CREDENTIALS', async () => {
    const from = address();
    const wrong = await login('carol', 'not the password at all', from);
    const unknown = await login('nobody-at-all', PASSWORD, from);
    // A principal that has only API keys has no password to guess either.
    await keyOf(app, 'keys-only');
    const keysOnly = await login('keys-only', PASSWORD, from);
    for (const res of [wrong, unknown, keysOnly]) {
      expect(res.statusCode).toBe(401);
      expect(code(res)).toBe('INVALID_CREDENTIALS');
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    expect(withoutRequestId(unknown)).toEqual(withoutRequestId(wrong));
    expect(withoutRequestId(keysOnly)).toEqual(withoutRequestId(wrong));
  });

  it('guessing passwords from one address blocks it (SOURCE_BLOCKED), to the right one too; others go on', async () => {
    const attacker = address();
    for (let i = 0; i < 6; i++) {
      const res = await login('dave', `guess number ${i}`, attacker);
      expect(res.statusCode).toBe(401);
    }
    const blocked = await login('dave', PASSWORD, attacker);
    expect(blocked.statusCode).toBe(403);
    expect(code(blocked)).toBe('SOURCE_BLOCKED');
    expect(blocked.headers['retry-after']).toBe('300');
    expect((await login('dave', PASSWORD, address())).statusCode).toBe(200);
    const blocks = await app.services.abuse.list();
    expect(blocks.find((b) => b.source === `ip:${attacker}`)).toMatchObject({
      kind: 'authentication',
      reasons: { authentication: 6 },
    });
  });
});

describe('refresh tokens', () => {
  it('rotate: each is spent once; using a spent one again ends every token of its login, the newest too', async () => {
    const first = await session('erin');
    clock.advance(60_000);
    const second = (await refresh(first.refresh_token)).json<Session>();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.access_token).not.toBe(first.access_token);
    clock.advance(60_000);
    const third = (await refresh(second.refresh_token)).json<Session>();
    expect((await me(third.access_token)).statusCode).toBe(200);
    // Another login of the same person is another family: it is not touched.
    const elsewhere = await session('erin');

    const from = address();
    const reused = await refresh(first.refresh_token, from);
    expect(reused.statusCode).toBe(401);
    expect(code(reused)).toBe('REFRESH_TOKEN_REUSED');
    for (const token of [second.refresh_token, third.refresh_token]) {
      const res = await refresh(token, from);
      expect(res.statusCode).toBe(401);
      expect(code(res)).toBe('UNAUTHENTICATED');
    }
    for (const s of [first, second, third]) expect((await me(s.access_token, from)).statusCode).toBe(401);

    expect((await me(elsewhere.access_token)).statusCode).toBe(200);
    expect((await refresh(elsewhere.refresh_token)).statusCode).toBe(200);
  });

  it('logout ends the login: its refresh token and its access token stop working', async () => {
    const s = await session('frank');
    const out = await app.http.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: json,
      payload: { refresh_token: s.refresh_token },
    });
    expect(out.statusCode).toBe(204);
    // The browser's cookies are cleared.
    for (const [, cookie] of setCookies(out)) expect(cookie).toMatch(/Expires=Thu, 01 Jan 1970|Max-Age=0/);
    const from = address();
    expect(code(await refresh(s.refresh_token, from))).toBe('UNAUTHENTICATED');
    expect((await me(s.access_token, from)).statusCode).toBe(401);
  });
});

describe('the browser: cookies, CSRF and CORS', () => {
  it('sets HttpOnly, SameSite=Strict cookies with a Path; Secure only when TLS is on', async () => {
    const res = await login('grace');
    const cookies = setCookies(res);
    expect([...cookies.keys()].sort()).toEqual(['autoglm_access', 'autoglm_csrf', 'autoglm_refresh']);
    expect(cookies.get('autoglm_access')).toMatch(/; Path=\/(;|$)/);
    expect(cookies.get('autoglm_refresh')).toMatch(/; Path=\/api\/v1\/auth(;|$)/);
    expect(cookies.get('autoglm_csrf')).toMatch(/; Path=\/(;|$)/);
    for (const name of ['autoglm_access', 'autoglm_refresh']) expect(cookies.get(name)).toMatch(/; HttpOnly(;|$)/);
    // The page reads the CSRF token to echo it: that one cookie is not HttpOnly.
    expect(cookies.get('autoglm_csrf')).not.toMatch(/HttpOnly/);
    for (const [, cookie] of cookies) {
      expect(cookie).toMatch(/; SameSite=Strict(;|$)/);
      expect(cookie).not.toMatch(/; Secure/);
    }
    expect(res.headers['cache-control']).toBe('no-store');

    // Behind the TLS-terminating proxy: Secure. A client that merely claims https is not believed.
    const overTls = await app.http.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { ...json, 'x-forwarded-proto': 'https' },
      payload: { user: 'grace', password: PASSWORD },
    });
    for (const [, cookie] of setCookies(overTls)) expect(cookie).toMatch(/; Secure(;|$)/);
    const claimed = await app.http.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { ...json, 'x-forwarded-proto': 'https' },
      remoteAddress: address(),
      payload: { user: 'grace', password: PASSWORD },
    });
    for (const [, cookie] of setCookies(claimed)) expect(cookie).not.toMatch(/; Secure/);
  });

  it('with the session cookie, GET needs nothing more; a POST needs the CSRF token echoed', async () => {
    const cookies = setCookies(await login('heidi'));
    const access = valueOf(cookies.get('autoglm_access'));
    const csrf = valueOf(cookies.get('autoglm_csrf'));
    expect(csrf.length).toBeGreaterThan(20);
    const cookie = `autoglm_access=${access}; autoglm_csrf=${csrf}`;
    // The test client would add the admin's key to a request without Authorization: not to these.
    const browser = { [ANONYMOUS]: '1' };

    const read = await app.http.inject({ url: '/api/v1/auth/me', headers: { ...browser, cookie } });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ principal: 'heidi' });

    const post = (headers: Record<string, string>) =>
      app.http.inject({
        method: 'POST',
        url: '/api/v1/intents/parse',
        headers: { ...json, ...browser, cookie, ...headers },
        payload: { text: '来一杯大杯拿铁' },
      });
    for (const headers of [{}, { 'x-csrf-token': 'not-the-token' }, { 'x-csrf-token': '' }]) {
      const refused = await post(headers);
      expect(refused.statusCode).toBe(403);
      expect(code(refused)).toBe('FORBIDDEN');
    }
    // Without the CSRF cookie (another site cannot set it), the header alone proves nothing.
    const noCookie = await app.http.inject({
      method: 'POST',
      url: '/api/v1/intents/parse',
      headers: { ...json, ...browser, cookie: `autoglm_access=${access}`, 'x-csrf-token': csrf },
      payload: { text: '来一杯大杯拿铁' },
    });
    expect(noCookie.statusCode).toBe(403);
    const ok = await post({ 'x-csrf-token': csrf });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ intent: { action: 'order_coffee' } });
  });

  it('CORS answers only the configured origin, with credentials; any other origin gets no CORS header', async () => {
    const preflight = (origin: string) =>
      app.http.inject({
        method: 'OPTIONS',
        url: '/api/v1/orders',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-csrf-token' },
      });
    const allowed = await preflight(CONSOLE);
    expect(allowed.statusCode).toBeLessThan(300);
    expect(allowed.headers['access-control-allow-origin']).toBe(CONSOLE);
    expect(allowed.headers['access-control-allow-credentials']).toBe('true');
    const other = await preflight('https://evil.example');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    expect(other.headers['access-control-allow-credentials']).toBeUndefined();

    const get = (origin: string) =>
      app.http.inject({ url: '/api/v1/menu', headers: { origin, authorization: `Bearer ${adminKeyOf(app)}` } });
    expect((await get(CONSOLE)).headers['access-control-allow-origin']).toBe(CONSOLE);
    const evil = await get('https://evil.example');
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
    expect(evil.headers['access-control-allow-credentials']).toBeUndefined();
  });
});

describe('configuration', () => {
  it('refuses an access token that would live longer than 15 minutes (CONFIG_INVALID)', () => {
    const load = (ttl: number) => loadConfig({ env: {}, overrides: { auth: { access_token_ttl_seconds: ttl } } });
    const long = load(901);
    expect(long.ok).toBe(false);
    if (!long.ok) {
      expect(long.error.code).toBe('CONFIG_INVALID');
      expect(long.error.issues.join('\n')).toMatch(/auth\.access_token_ttl_seconds/);
    }
    expect(load(900).ok).toBe(true);
    const fromEnv = loadConfig({ env: { AUTOGLM__AUTH__ACCESS_TOKEN_TTL_SECONDS: '3600' }, overrides: {} });
    expect(fromEnv.ok ? 'loaded' : fromEnv.error.code).toBe('CONFIG_INVALID');
  });
});

const pgOk = await postgresWanted();

describe.runIf(pgOk)('two instances on one PostgreSQL database', () => {
  const apps: App[] = [];
  let db: TestDatabase | undefined;
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close();
    await db?.drop();
    db = undefined;
  });

  it('a key revoked on one is refused by the other at once; a reused refresh token ends a login on both', async () => {
    db = await createTestDatabase('sessions');
    const overrides = { database: { url: db.url, pool_size: 4 } };
    const a = (await startTestApp(overrides)).app;
    apps.push(a);
    const b = (await startTestApp(overrides)).app;
    apps.push(b);
    const admin = { authorization: `Bearer ${adminKeyOf(a)}` };
    const made = await a.http.inject({
      method: 'POST',
      url: '/api/v1/admin/keys',
      headers: { ...admin, ...json },
      payload: { role: 'user', user: 'ivan' },
    });
    expect(made.statusCode, made.body).toBe(201);
    const { key, api_key: view } = made.json<{ key: string; api_key: { id: string } }>();
    const menu = (x: App, credential = key) =>
      x.http.inject({ url: '/api/v1/menu', headers: { authorization: `Bearer ${credential}` } });
    expect((await menu(b)).statusCode).toBe(200);
    const revoked = await a.http.inject({ method: 'DELETE', url: `/api/v1/admin/keys/${view.id}`, headers: admin });
    expect(revoked.statusCode, revoked.body).toBe(200);
    const refused = await menu(b);
    expect(refused.statusCode).toBe(401);
    expect(code(refused)).toBe('UNAUTHENTICATED');
    expect((await menu(a)).statusCode).toBe(401);

    const user = await a.http.inject({
      method: 'POST',
      url: '/api/v1/admin/users',
      headers: { ...admin, ...json },
      payload: { user: 'judy', password: PASSWORD },
    });
    expect(user.statusCode).toBe(201);
    const on = (x: App, url: string, payload: unknown) =>
      x.http.inject({ method: 'POST', url, headers: json, payload: payload as Record<string, unknown> });
    const first = (await on(a, '/api/v1/auth/login', { user: 'judy', password: PASSWORD })).json<Session>();
    const second = (await on(b, '/api/v1/auth/refresh', { refresh_token: first.refresh_token })).json<Session>();
    expect((await menu(b, second.access_token)).statusCode).toBe(200);
    const reused = await on(a, '/api/v1/auth/refresh', { refresh_token: first.refresh_token });
    expect(code(reused)).toBe('REFRESH_TOKEN_REUSED');
    expect(code(await on(b, '/api/v1/auth/refresh', { refresh_token: second.refresh_token }))).toBe('UNAUTHENTICATED');
    for (const x of [a, b]) expect((await menu(x, second.access_token)).statusCode).toBe(401);
  });
});
