import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { can, ROLES, type Permission, type Role } from '../src/domain/auth/permissions.js';
import { keyOf, startTestApp } from './support/test-app.js';

/**
 * Every route × every role, the expected answer read from the one permission table: no credential
 * → 401 with WWW-Authenticate; a role without the route's permission → 403 FORBIDDEN; a role with
 * it → past authentication (whatever the route then says about the placeholder ids: never 401 or
 * 403). A route added without a permission cannot even be registered (see the last test).
 */
let app: App;
const keys = new Map<Role, string>();
beforeAll(async () => {
  // Made-up keys are refused credentials: blocking would close this address halfway through.
  app = (await startTestApp({ security: { block: { enabled: false } } })).app;
  await app.http.ready();
  for (const role of ROLES) {
    keys.set(role, await keyOf(app, `matrix-${role}`, role === 'agent' ? 'user' : role));
  }
  // An agent key acts for one person.
  const made = await app.services.identity.createKey(
    { tenantId: 'default', userId: 'admin', actor: 'admin:admin', requestId: null, role: 'admin' },
    { role: 'agent', user: 'matrix-agent-bot', actsFor: 'matrix-user' },
  );
  if (!made.ok) throw new Error(made.error.message);
  keys.set('agent', made.value.key);
});
afterAll(async () => {
  await app.close();
});

/** A concrete URL for a route pattern: every parameter a well-formed id nobody has. */
const concrete = (url: string): string => url.replace(/:([A-Za-z_]+)/g, (_, name: string) => `none-${name}`);

describe('the permission matrix', () => {
  it('lists every route with what it needs, and the protected ones are most of them', () => {
    const table = app.http.routeTable;
    expect(table.length).toBeGreaterThan(30);
    const open = table.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.url}`);
    // What is open is exactly: health, readiness, login/refresh/logout, the signed callbacks, the
    // public key that checks mandates' signatures, the API's description (document and page), and
    // the embedded payment simulator's pay page (the payer's side of a gateway, like its callbacks).
    for (const r of open) {
      const publicGet = /^GET \/(healthz|readyz|api\/v1\/mandates\/jwks|openapi\.json|docs|_sim\/pay\/:trade_no)$/;
      const publicPost = /^POST \/(api\/v1\/(auth\/(login|refresh|logout)|[a-z-]*callbacks\/.*)|_sim\/pay\/:trade_no)$/;
      expect(publicGet.test(r) || publicPost.test(r), r).toBe(true);
    }
  });

  it('answers every protected route, for every role and for nobody, as the table says', async () => {
    const rows: string[] = [];
    for (const route of app.http.routeTable) {
      if (route.access === 'public' || route.access === 'public-on-loopback') continue;
      const permission: Permission = route.access;
      const url = concrete(route.url);
      const send = (authorization?: string) =>
        app.http.inject({
          method: route.method as 'GET',
          url,
          headers: {
            ...(authorization === undefined ? {} : { authorization }),
            ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { 'content-type': 'application/json' }),
          },
          ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { payload: '{}' }),
        });
      const nobody = await send('Bearer agk_not_a_real_key_000000000000000000');
      expect(nobody.statusCode, `${route.method} ${url} with a made-up key`).toBe(401);
      expect(nobody.json<{ code: string }>().code).toBe('UNAUTHENTICATED');
      for (const role of ROLES) {
        const res = await send(`Bearer ${keys.get(role)}`);
        const allowed = can(role, permission);
        const label = `${route.method} ${route.url} as ${role} (needs ${permission})`;
        if (allowed) {
          expect([401, 403], `${label}: ${res.body}`).not.toContain(res.statusCode);
        } else {
          expect(res.statusCode, `${label}: ${res.body}`).toBe(403);
          expect(res.json<{ code: string }>().code).toBe('FORBIDDEN');
        }
        rows.push(`${label} → ${res.statusCode}`);
      }
    }
    expect(rows.length).toBeGreaterThan(30 * ROLES.length);
  });

  it("lets the roles that read the whole tenant read any resource's audit trail, and nobody else", async () => {
    const readers = ROLES.filter((role) => can(role, 'audit.read'));
    expect(readers).toEqual(['admin', 'operator', 'viewer']);
    for (const role of ROLES) {
      const res = await app.http.inject({
        url: '/api/v1/audit?resource=order:ord_none',
        headers: { authorization: `Bearer ${keys.get(role)}` },
      });
      expect(res.statusCode, `${role}: ${res.body}`).toBe(readers.includes(role) ? 200 : 403);
    }
  });

  it('says 401 with WWW-Authenticate to a request with no credential at all', async () => {
    for (const route of app.http.routeTable.filter((r) => r.access !== 'public')) {
      if (route.access === 'public-on-loopback') continue;
      // The test client adds the admin key to requests without one: send a bare request past it.
      const res = await app.http.inject({
        method: route.method as 'GET',
        url: concrete(route.url),
        headers: { authorization: 'Basic Zm9vOmJhcg==' },
      });
      expect(res.statusCode, `${route.method} ${route.url}`).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm=/);
    }
  });

  it('refuses to start with a route that names no permission, and never serves one it did not check', async () => {
    const fresh = (await startTestApp()).app;
    try {
      void fresh.http.register((api, _o, done) => {
        try {
          api.get('/api/v1/forgotten', () => ({ open: true }));
          done();
        } catch (e) {
          done(e as Error);
        }
      });
      await expect(fresh.http.ready()).rejects.toThrow(/names no permission/);
    } finally {
      await fresh.close().catch(() => undefined);
    }
    // Added on the root before the check's plugin loaded: it exists, and is refused to everyone.
    const early = (await startTestApp()).app;
    try {
      early.http.get('/api/v1/early', { config: { permission: 'orders.read' } }, () => ({ open: true }));
      const res = await early.http.inject({ url: '/api/v1/early' });
      expect(res.statusCode).toBe(403);
      expect(res.json<{ code: string }>().code).toBe('FORBIDDEN');
    } finally {
      await early.close();
    }
  });
});
