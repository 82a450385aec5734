import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PersonView, Session } from '../src/application/identity/identity-api.js';
import type { Caller } from '../src/application/kernel/caller.js';
import type { App } from '../src/composition/create-app.js';
import { type Cluster, ENGINES, startCluster } from './support/cluster.js';
import { adminKeyOf, keyOf } from './support/test-app.js';

/**
 * An admin's people: the tenant's list (and nobody else's), a role change that holds from the
 * person's next request, disabling that ends their logins, access tokens and keys (and their
 * agents' keys) at once while their login answers like a wrong password, enabling that lets them
 * log in afresh, nobody changing themself, and the tenant never left without an admin — not even
 * when two admins demote each other at the same moment on two instances of one PostgreSQL
 * database. Every change is in the audit trail with before and after.
 */

const PASSWORD = 'correct horse battery staple';
const json = { 'content-type': 'application/json' };
const TENANT = 'default';

describe.each(ENGINES)('people, on %s', (engine) => {
  let cluster: Cluster;
  let app: App;
  let adminKey: string;
  /** Refused requests count against their address: each test that expects refusals uses its own. */
  let nextAddress = 10;
  const address = (): string => `198.51.100.${nextAddress++}`;

  const send = (
    method: 'GET' | 'POST' | 'PATCH',
    url: string,
    token: string,
    payload?: unknown,
    on: App = app,
    remoteAddress = '127.0.0.1',
  ): Promise<LightMyRequestResponse> =>
    on.http.inject({
      method,
      url,
      remoteAddress,
      headers: { ...(payload === undefined ? {} : json), authorization: `Bearer ${token}` },
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });
  const login = (user: string, remoteAddress = '127.0.0.1', password = PASSWORD): Promise<LightMyRequestResponse> =>
    app.http.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: json,
      remoteAddress,
      payload: { user, password },
    });
  const session = async (user: string): Promise<Session> => {
    const res = await login(user);
    expect(res.statusCode, res.body).toBe(200);
    return res.json<Session>();
  };
  const refresh = (token: string, remoteAddress: string): Promise<LightMyRequestResponse> =>
    app.http.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      headers: json,
      remoteAddress,
      payload: { refresh_token: token },
    });
  const me = (token: string, remoteAddress = '127.0.0.1'): Promise<LightMyRequestResponse> =>
    send('GET', '/api/v1/auth/me', token, undefined, app, remoteAddress);
  const patch = (id: string, body: unknown, token = adminKey, on: App = app) =>
    send('PATCH', `/api/v1/admin/users/${encodeURIComponent(id)}`, token, body, on);
  const people = async (query = '', token = adminKey): Promise<{ data: PersonView[]; next_cursor: string | null }> => {
    const res = await send('GET', `/api/v1/admin/users${query}`, token);
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const person = async (id: string): Promise<PersonView | undefined> =>
    (await people('?limit=500')).data.find((p) => p.id === id);
  const code = (res: LightMyRequestResponse): string => res.json<{ code: string }>().code;
  const withoutRequestId = (res: LightMyRequestResponse): unknown => {
    const { request_id: _id, ...rest } = res.json<Record<string, unknown>>();
    return rest;
  };
  const makeUser = async (user: string, role = 'user', token = adminKey): Promise<void> => {
    const made = await send('POST', '/api/v1/admin/users', token, { user, password: PASSWORD, role });
    expect(made.statusCode, made.body).toBe(201);
  };

  beforeAll(async () => {
    cluster = await startCluster(engine, { security: { block: { threshold: 20, window_seconds: 60 } } });
    app = cluster.at(0);
    adminKey = adminKeyOf(app);
    for (const [user, role] of [
      ['ada', 'admin'],
      ['bob', 'admin'],
      ['carol', 'user'],
      ['dave', 'user'],
      ['erin', 'viewer'],
      ['frank', 'operator'],
    ] as const)
      await makeUser(user, role);
    // A second tenant, made the way the local administrator makes one (autoglm users create --db).
    const other: Caller = { tenantId: 'acme', userId: 'local', actor: 'system:cli', requestId: null, role: 'admin' };
    const made = await app.services.identity.createUser(
      other,
      { user: 'zed', password: PASSWORD, role: 'user' },
      { createTenant: true },
    );
    expect(made.ok).toBe(true);
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it('lists the tenant’s people by id, with role, status, logins and live keys, a page at a time', async () => {
    await keyOf(app, 'carol');
    await session('carol');
    const all = await people();
    expect(all.data.map((p) => p.id)).toEqual(['ada', 'admin', 'bob', 'carol', 'dave', 'erin', 'frank']);
    expect(all.next_cursor).toBeNull();
    const carol = all.data.find((p) => p.id === 'carol');
    expect(carol).toMatchObject({
      role: 'user',
      status: 'active',
      password_set: true,
      disabled_at: null,
      live_keys: 1,
    });
    expect(Date.parse(carol?.last_login_at ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect(all.data.find((p) => p.id === 'frank')).toMatchObject({
      role: 'operator',
      last_login_at: null,
      live_keys: 0,
    });
    expect(all.data.find((p) => p.id === 'admin')).toMatchObject({ role: 'admin', password_set: false, live_keys: 1 });
    // Nobody of the other tenant, and no agent.
    expect(JSON.stringify(all)).not.toContain('zed');

    const first = await people('?limit=3');
    expect(first.data.map((p) => p.id)).toEqual(['ada', 'admin', 'bob']);
    expect(first.next_cursor).toBe('bob');
    const second = await people(`?limit=3&cursor=${first.next_cursor}`);
    expect(second.data.map((p) => p.id)).toEqual(['carol', 'dave', 'erin']);
    const bad = await send('GET', '/api/v1/admin/users?limit=0', adminKey);
    expect([bad.statusCode, code(bad)]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('is an admin’s: an operator and a viewer are refused the list and the change', async () => {
    for (const who of ['frank', 'erin']) {
      const s = await session(who);
      const list = await send('GET', '/api/v1/admin/users', s.access_token);
      expect([list.statusCode, code(list)]).toEqual([403, 'FORBIDDEN']);
      const change = await patch('carol', { role: 'admin' }, s.access_token);
      expect([change.statusCode, code(change)]).toEqual([403, 'FORBIDDEN']);
    }
    expect((await person('carol'))?.role).toBe('user');
  });

  it('refuses an unknown person, another tenant’s, an agent, an unknown role and an empty change', async () => {
    const unknown = await patch('nobody', { disabled: true });
    expect([unknown.statusCode, code(unknown)]).toEqual([404, 'PRINCIPAL_NOT_FOUND']);
    // zed exists, in tenant acme: from here, he does not.
    const foreign = await patch('zed', { disabled: true });
    expect([foreign.statusCode, code(foreign)]).toEqual([404, 'PRINCIPAL_NOT_FOUND']);
    const zed = await app.deps.uow.read.identity.getPrincipal('acme', 'zed');
    expect(zed?.disabledAt).toBeNull();
    const made = await send('POST', '/api/v1/admin/keys', adminKey, {
      role: 'agent',
      user: 'dave-bot',
      acts_for: 'dave',
    });
    expect(made.statusCode, made.body).toBe(201);
    const agent = await patch('dave-bot', { role: 'admin' });
    expect([agent.statusCode, code(agent)]).toEqual([404, 'PRINCIPAL_NOT_FOUND']);
    for (const body of [
      { role: 'superuser' },
      { role: 'agent' },
      {},
      { disabled: 'yes' },
      { role: 'user', extra: 1 },
    ]) {
      const res = await patch('carol', body);
      expect([res.statusCode, code(res)], JSON.stringify(body)).toEqual([400, 'VALIDATION_FAILED']);
    }
  });

  it('changes a role from the person’s very next request, with their token as it is', async () => {
    const s = await session('carol');
    const before = await send('GET', '/api/v1/admin/users', s.access_token);
    expect(before.statusCode).toBe(403);
    const promoted = await patch('carol', { role: 'operator' });
    expect(promoted.statusCode, promoted.body).toBe(200);
    expect(promoted.json<{ user: PersonView }>().user).toMatchObject({
      id: 'carol',
      role: 'operator',
      status: 'active',
    });
    // The same access token, on the other instance too: the role is read per request.
    for (const on of cluster.apps) {
      const flags = await send('GET', '/api/v1/review-flags', s.access_token, undefined, on);
      expect(flags.statusCode, flags.body).toBe(200);
    }
    expect((await me(s.access_token)).json()).toMatchObject({ role: 'operator' });
    const back = await patch('carol', { role: 'user' });
    expect(back.statusCode).toBe(200);
    expect((await send('GET', '/api/v1/review-flags', s.access_token)).statusCode).toBe(403);
    const trail = await app.deps.uow.read.audit.list(TENANT, 'principal', 'carol');
    expect(trail.filter((a) => a.action === 'principal.role_changed').map((a) => [a.before, a.after])).toEqual([
      [{ role: 'user' }, { role: 'operator' }],
      [{ role: 'operator' }, { role: 'user' }],
    ]);
  });

  it('disables at once: login as a wrong password, refresh, access token, keys, agents’ keys refused', async () => {
    const from = address();
    const s = await session('dave');
    const key = await keyOf(app, 'dave');
    const agent = await send('POST', '/api/v1/admin/keys', adminKey, {
      role: 'agent',
      user: 'dave-pa',
      acts_for: 'dave',
    });
    const agentKey = agent.json<{ key: string }>().key;
    expect((await me(s.access_token)).statusCode).toBe(200);
    expect((await me(key)).statusCode).toBe(200);
    expect((await me(agentKey)).statusCode).toBe(200);

    const off = await patch('dave', { disabled: true });
    expect(off.statusCode, off.body).toBe(200);
    const view = off.json<{ user: PersonView }>().user;
    expect(view).toMatchObject({ id: 'dave', status: 'disabled', live_keys: 0 });
    expect(view.disabled_at).not.toBeNull();

    // Every instance refuses everything dave (and his agents) held, from the next request on.
    for (const on of cluster.apps) {
      for (const credential of [s.access_token, key, agentKey]) {
        const res = await send('GET', '/api/v1/auth/me', credential, undefined, on, from);
        expect([res.statusCode, code(res)]).toEqual([401, 'UNAUTHENTICATED']);
      }
    }
    const renewed = await refresh(s.refresh_token, from);
    expect([renewed.statusCode, code(renewed)]).toEqual([401, 'UNAUTHENTICATED']);
    // The right password answers exactly as a wrong one: nobody learns the account exists.
    const refused = await login('dave', from);
    const wrong = await login('carol', from, 'not the password at all');
    expect([refused.statusCode, code(refused)]).toEqual([401, 'INVALID_CREDENTIALS']);
    expect(withoutRequestId(refused)).toEqual(withoutRequestId(wrong));

    // Audited: the person with before and after, and each key the disabling revoked.
    const trail = await app.deps.uow.read.audit.list(TENANT, 'principal', 'dave');
    const disabled = trail.find((a) => a.action === 'principal.disabled');
    expect(disabled?.before).toEqual({ disabled_at: null });
    expect(disabled?.after).toMatchObject({ disabled_at: view.disabled_at, refresh_tokens_revoked: 1 });
    const revokedIds = (disabled?.after as { api_keys_revoked: string[] }).api_keys_revoked;
    // His own key, and the keys of both agents acting for him (dave-bot from the test before).
    expect(revokedIds).toHaveLength(3);
    expect(disabled?.actor).toBe('admin:admin');
    for (const id of revokedIds) {
      const rows = await app.deps.uow.read.audit.list(TENANT, 'api_key', id);
      expect(rows.map((a) => a.action)).toContain('api_key.revoked');
    }
    // Disabling again changes nothing and writes nothing.
    expect((await patch('dave', { disabled: true })).statusCode).toBe(200);
    const again = await app.deps.uow.read.audit.list(TENANT, 'principal', 'dave');
    expect(again.filter((a) => a.action === 'principal.disabled')).toHaveLength(1);

    // Enabled: a fresh login works; the old session and keys stay dead.
    const on = await patch('dave', { disabled: false });
    expect(on.json<{ user: PersonView }>().user).toMatchObject({ status: 'active', disabled_at: null, live_keys: 0 });
    const fresh = await session('dave');
    expect((await me(fresh.access_token)).json()).toMatchObject({ principal: 'dave', role: 'user' });
    for (const credential of [s.access_token, key, agentKey]) expect((await me(credential, from)).statusCode).toBe(401);
    expect((await refresh(s.refresh_token, from)).statusCode).toBe(401);
    const enabled = (await app.deps.uow.read.audit.list(TENANT, 'principal', 'dave')).find(
      (a) => a.action === 'principal.enabled',
    );
    expect([enabled?.before, enabled?.after]).toEqual([{ disabled_at: view.disabled_at }, { disabled_at: null }]);
  });

  it('checks role and access with the reads authentication already made: no extra round trip', async () => {
    const s = await session('erin');
    const key = await keyOf(app, 'erin', 'viewer');
    const identity = app.deps.uow.read.identity;
    const spies = (['getKeyWithPrincipal', 'getPrincipal', 'refreshFamilyRevoked', 'listPeople'] as const).map((m) =>
      vi.spyOn(identity, m),
    );
    const reads = (): string[] => spies.flatMap((spy) => spy.mock.calls.map(() => spy.getMockName())).sort();
    try {
      expect((await me(key)).statusCode).toBe(200);
      // An API key: the key and its person, read in one statement.
      expect(reads()).toEqual(['getKeyWithPrincipal']);
      for (const spy of spies) spy.mockClear();
      expect((await me(s.access_token)).statusCode).toBe(200);
      // An access token: its login's family, then its person (as before the people admin existed).
      expect(reads()).toEqual(['getPrincipal', 'refreshFamilyRevoked']);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it('refuses an admin changing or disabling themself, by key or by login', async () => {
    const ada = await session('ada');
    for (const [token, id] of [
      [ada.access_token, 'ada'],
      [adminKey, 'admin'],
    ] as const) {
      for (const body of [{ role: 'user' }, { disabled: true }, { role: 'admin' }]) {
        const res = await patch(id, body, token);
        expect([res.statusCode, code(res)]).toEqual([409, 'SELF_CHANGE_REFUSED']);
      }
    }
    expect(await person('ada')).toMatchObject({ role: 'admin', status: 'active' });
  });

  it('never leaves the tenant without an admin, even when two admins demote each other at once', async () => {
    // Three admins: admin (the first, by key), ada and bob. The first steps down, by ada's hand.
    const ada = await session('ada');
    const bob = await session('bob');
    const down = await patch('admin', { role: 'operator' }, ada.access_token);
    expect(down.statusCode, down.body).toBe(200);
    const tokens = { ada: ada.access_token, bob: bob.access_token };
    // Listed as whichever admin is left (the first admin's key is an operator's now).
    const admins = async (): Promise<string[]> =>
      (await people('?limit=500', tokens.ada).catch(() => people('?limit=500', tokens.bob))).data
        .filter((p) => p.role === 'admin' && p.status === 'active')
        .map((p) => p.id);
    for (let round = 0; round < 6; round++) {
      // Each demotes the other, on its own instance, at the same moment; half the rounds by
      // disabling instead.
      const change = round % 2 === 0 ? { role: 'user' } : { disabled: true };
      const [a, b] = await Promise.all([
        patch('bob', change, tokens.ada, cluster.at(0)),
        patch('ada', change, tokens.bob, cluster.at(1)),
      ]);
      const outcomes = [a, b].map((r) => `${r.statusCode} ${code(r) ?? ''}`.trim());
      expect(
        outcomes.filter((o) => o === '200'),
        outcomes.join(', '),
      ).toHaveLength(1);
      // The loser asked after the winner committed (its role is gone: FORBIDDEN; its login ended:
      // UNAUTHENTICATED) or while it was deciding (LAST_ADMIN, having waited for it).
      for (const o of outcomes.filter((x) => x !== '200'))
        expect(['409 LAST_ADMIN', '403 FORBIDDEN', '401 UNAUTHENTICATED']).toContain(o);
      const left = await admins();
      expect(left).toHaveLength(1);
      // The survivor restores the other (and, after a disabling, they log in afresh).
      const [winner, loser] = a.statusCode === 200 ? (['ada', 'bob'] as const) : (['bob', 'ada'] as const);
      expect(left).toEqual([winner]);
      const restored = await patch(loser, { role: 'admin', disabled: false }, tokens[winner]);
      expect(restored.statusCode, restored.body).toBe(200);
      tokens[loser] = (await session(loser)).access_token;
    }
    // Their creation, then per round the winner's change and the restoring: the refused changes
    // (LAST_ADMIN, and the self-changes before) wrote nothing.
    const rows = [
      ...(await app.deps.uow.read.audit.list(TENANT, 'principal', 'ada')),
      ...(await app.deps.uow.read.audit.list(TENANT, 'principal', 'bob')),
    ];
    expect(rows).toHaveLength(2 + 6 * 2);
    // The local administrator (the CLI on the database, no principal of the tenant) is held to
    // the same rule: with ada the only admin left, she cannot be demoted.
    expect((await patch('bob', { role: 'user' }, tokens.ada)).statusCode).toBe(200);
    const local: Caller = { tenantId: TENANT, userId: 'local', actor: 'system:cli', requestId: null, role: 'admin' };
    const refused = await app.services.identity.updatePerson(local, 'ada', { disabled: true });
    expect(refused.ok ? 'ok' : refused.error.code).toBe('LAST_ADMIN');
    expect(await admins()).toEqual(['ada']);
  }, 120_000);
});
