import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/system/system-clock.js';
import type { App } from '../src/composition/create-app.js';
import { credentialSource } from '../src/interfaces/http/plumbing/sources.js';
import { createTestDatabase, postgresWanted, type TestDatabase } from './support/pg-db.js';
import { REDIS_TEST_URL, redisWanted, unique } from './support/redis.js';
import { ANONYMOUS, keyOf, startTestApp } from './support/test-app.js';

/**
 * Abuse: request budgets per credential and per source IP (429), and sources blocked after
 * repeated failures (403), on the injected clock wherever the counters allow it.
 */

const apps: App[] = [];
const dbs: TestDatabase[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  for (const d of dbs.splice(0)) await d.drop();
});

const T0 = Date.parse('2026-12-01T08:00:00Z');
const redisOk = await redisWanted();
const pgOk = await postgresWanted();

async function start(overrides: Record<string, unknown>, clock?: ManualClock): Promise<App> {
  const { app } = await startTestApp(overrides, clock === undefined ? {} : { clock });
  apps.push(app);
  return app;
}

/** A callback that parses but whose signature is wrong: what an attacker without the secret sends. */
function forge(app: App, ip: string) {
  return app.http.inject({
    method: 'POST',
    url: '/api/v1/callbacks/secure-pay-v3',
    remoteAddress: ip,
    headers: {
      'content-type': 'application/json',
      'x-sim-timestamp': String(Math.floor(T0 / 1000)),
      'x-sim-nonce': 'n-forged',
      'x-sim-signature': Buffer.alloc(32, 7).toString('base64'),
    },
    payload: '{"id":"evt_forged","type":"payment"}',
  });
}

function menu(app: App, ip: string, headers: Record<string, string> = {}) {
  return app.http.inject({ method: 'GET', url: '/api/v1/menu', remoteAddress: ip, headers });
}

/** An operator's credential on this app's database. */
async function ops(app: App): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await keyOf(app, 'ops', 'operator')}` };
}

/** A request with no credential at all (the test client otherwise sends the admin's key). */
const anon = { [ANONYMOUS]: '1' };

interface BlockJson {
  id: string;
  source: string;
  kind: string;
  reasons: Record<string, number>;
  until: string;
  lifted_at: string | null;
  lifted_by: string | null;
}

async function listBlocks(app: App): Promise<BlockJson[]> {
  const r = await app.http.inject({ url: '/api/v1/admin/blocks', headers: await ops(app), remoteAddress: '192.0.2.1' });
  expect(r.statusCode).toBe(200);
  return r.json<{ data: BlockJson[] }>().data;
}

/** A fresh documentation-range IPv6 /64 per call: runs share the Redis, so their sources must differ. */
function freshIp(): string {
  const h = unique('x').slice(-9);
  // Groups with no leading zero, as the address is written back (normalised) in sources.
  return `2001:db8:a${h.slice(0, 3)}:b${h.slice(3, 6)}::c${h.slice(6, 9)}`;
}

describe('rate limits (in memory, on the injected clock)', () => {
  it(
    'a budget per source IP and per credential: 429 RATE_LIMITED with Retry-After and RateLimit-*; ' +
      'probes and callbacks exempt; the budget is back when the window ends',
    async () => {
      const clock = new ManualClock(T0);
      const { app, logs } = await startTestApp(
        { rate_limit: { enabled: true, per_ip_max: 3, per_credential_max: 5, window_seconds: 60 } },
        { clock },
      );
      apps.push(app);
      const ip = '198.51.100.20';
      // Without a credential: counted per address before anything else (then told to authenticate).
      for (let i = 0; i < 3; i++) {
        const r = await menu(app, ip, anon);
        expect(r.statusCode).toBe(401);
        expect(r.headers['ratelimit-limit']).toBe('3');
        expect(r.headers['ratelimit-remaining']).toBe(String(2 - i));
        expect(r.headers['ratelimit-reset']).toBe('60');
      }
      clock.advance(15_000);
      const refused = await menu(app, ip, anon);
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.json()).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
      expect(refused.json<{ request_id: string }>().request_id).toBe(refused.headers['x-request-id']);
      expect(refused.headers['retry-after']).toBe('45');
      expect(refused.headers['ratelimit-limit']).toBe('3');
      expect(refused.headers['ratelimit-remaining']).toBe('0');
      expect(refused.headers['ratelimit-reset']).toBe('45');

      // Another address has its own budget; so has a credential, wherever it comes from.
      expect((await menu(app, '198.51.100.21', anon)).statusCode).toBe(401);
      const key = await keyOf(app, 'budgeted');
      const auth = { authorization: `Bearer ${key}` };
      for (let i = 0; i < 5; i++) {
        const r = await menu(app, ip, auth);
        expect(r.statusCode).toBe(200);
        expect(r.headers['ratelimit-limit']).toBe('5');
      }
      expect((await menu(app, '198.51.100.22', auth)).statusCode).toBe(429);

      // Probes and the gateways' and channels' callbacks spend no budget.
      for (let i = 0; i < 5; i++) {
        for (const url of ['/healthz', '/readyz']) {
          const r = await app.http.inject({ url, remoteAddress: ip });
          expect(r.statusCode).not.toBe(429);
          expect(r.headers['ratelimit-limit']).toBeUndefined();
        }
        const callbacks = [
          { url: '/api/v1/callbacks/secure-pay-v3', payload: 'hello' },
          { url: '/api/v1/recharge-callbacks/sim-fast', payload: 'orderid=x' },
        ];
        for (const c of callbacks) {
          const r = await app.http.inject({ method: 'POST', remoteAddress: ip, ...c });
          expect(r.statusCode).not.toBe(429);
          expect(r.headers['ratelimit-limit']).toBeUndefined();
        }
      }

      // The window ends: a new budget.
      clock.advance(45_000);
      const again = await menu(app, ip, anon);
      expect(again.statusCode).toBe(401);
      expect(again.headers['ratelimit-remaining']).toBe('2');
      // The credential is never written anywhere as it is.
      expect(logs.text).not.toContain(key);
    },
  );
});

describe.runIf(redisOk)('rate limits in Redis', () => {
  it('two instances pointing at one Redis share one budget per source', async () => {
    const overrides = {
      rate_limit: {
        enabled: true,
        per_ip_max: 4,
        per_credential_max: 2,
        window_seconds: 60,
        redis_url: REDIS_TEST_URL,
      },
    };
    const a = await start(overrides);
    const b = await start(overrides);
    const ip = freshIp();
    const seen: Array<[number, string | undefined]> = [];
    for (let i = 0; i < 6; i++) {
      const r = await menu(i % 2 === 0 ? a : b, ip, anon);
      seen.push([r.statusCode, r.headers['ratelimit-remaining'] as string | undefined]);
    }
    expect(seen).toEqual([
      [401, '3'],
      [401, '2'],
      [401, '1'],
      [401, '0'],
      [429, '0'],
      [429, '0'],
    ]);
    // A credential's budget is shared the same way (counted before it is even checked).
    const auth = { authorization: `Bearer ${unique('key')}` };
    const statuses = [];
    for (const app of [b, a, b]) statuses.push((await menu(app, freshIp(), auth)).statusCode);
    expect(statuses).toEqual([401, 401, 429]);
  });

  it('a Redis window ends by itself: the budget is back after it', async () => {
    const app = await start({
      rate_limit: { enabled: true, per_ip_max: 1, window_seconds: 1, redis_url: REDIS_TEST_URL },
    });
    const ip = freshIp();
    const started = Date.now();
    expect((await menu(app, ip, anon)).statusCode).toBe(401);
    const refused = await menu(app, ip, anon);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    // Redis expires the window in real time: wait for it, bounded.
    let status = 429;
    while (status === 429 && Date.now() - started < 5000) {
      await new Promise((r) => setTimeout(r, 50));
      status = (await menu(app, ip, anon)).statusCode;
    }
    expect(status).toBe(401);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});

describe('blocking sources after repeated failures', () => {
  it(
    'brute force: forged callbacks from one address → 403 SOURCE_BLOCKED on its next request, ' +
      'listed for operators, audited, lifted by DELETE',
    async () => {
      const clock = new ManualClock(T0);
      const app = await start(
        { security: { block: { threshold: 5, window_seconds: 60, duration_seconds: 300 } } },
        clock,
      );
      const attacker = '203.0.113.66';
      for (let i = 0; i < 6; i++) {
        const r = await forge(app, attacker);
        expect(r.statusCode).toBe(401);
        expect(r.headers['x-error-code']).toBe('CALLBACK_SIGNATURE_INVALID');
      }
      const blocked = await forge(app, attacker);
      expect(blocked.statusCode).toBe(403);
      expect(blocked.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(blocked.headers['retry-after']).toBe('300');
      expect(blocked.json()).toMatchObject({ code: 'SOURCE_BLOCKED', until: new Date(T0 + 300_000).toISOString() });
      // Every route is closed to it but the probes; other addresses go on.
      expect((await menu(app, attacker)).statusCode).toBe(403);
      expect((await app.http.inject({ url: '/healthz', remoteAddress: attacker })).statusCode).toBe(200);
      expect((await menu(app, '203.0.113.67')).statusCode).toBe(200);

      const [block, ...more] = await listBlocks(app);
      expect(more).toEqual([]);
      expect(block).toMatchObject({
        source: 'ip:203.0.113.66',
        kind: 'forged_callback',
        reasons: { authentication: 0, forged_callback: 6, mandate_violation: 0 },
        until: new Date(T0 + 300_000).toISOString(),
        lifted_at: null,
      });
      const made = await app.services.abuse.audit(block!.id);
      expect(made).toHaveLength(1);
      expect(made[0]).toMatchObject({
        action: 'block.created',
        actor: 'system:abuse',
        resourceType: 'source_block',
        after: { source: 'ip:203.0.113.66', kind: 'forged_callback', reasons: { forged_callback: 6 } },
      });

      clock.advance(10_000);
      const lift = await app.http.inject({
        method: 'DELETE',
        url: `/api/v1/admin/blocks/${block!.id}`,
        headers: await ops(app),
        remoteAddress: '192.0.2.1',
      });
      expect(lift.statusCode).toBe(200);
      expect(lift.json()).toMatchObject({
        block: { id: block!.id, lifted_by: 'operator:ops', lifted_at: new Date(T0 + 10_000).toISOString() },
      });
      const trail = await app.services.abuse.audit(block!.id);
      expect(trail.map((e) => [e.action, e.actor])).toEqual([
        ['block.created', 'system:abuse'],
        ['block.lifted', 'operator:ops'],
      ]);
      // Open again, and counting from nothing: one more forgery is a 401, not a new block.
      expect((await menu(app, attacker)).statusCode).toBe(200);
      expect((await forge(app, attacker)).statusCode).toBe(401);
      expect(await listBlocks(app)).toEqual([]);
      const twice = await app.http.inject({
        method: 'DELETE',
        url: `/api/v1/admin/blocks/${block!.id}`,
        headers: await ops(app),
      });
      expect(twice.statusCode).toBe(404);
      expect(twice.json()).toMatchObject({ code: 'BLOCK_NOT_FOUND' });
    },
  );

  it(
    'authentication failures block the address, which is open again once the block runs out on the clock; ' +
      'failures spread wider than the window never block',
    async () => {
      const clock = new ManualClock(T0);
      const { app } = await startTestApp(
        { security: { block: { threshold: 3, window_seconds: 60, duration_seconds: 120 } } },
        { clock },
      );
      apps.push(app);
      // Guessing API keys: every made-up key is a refused credential, counted against the address.
      const login = (ip: string) =>
        menu(app, ip, { authorization: `Bearer agk_${unique('guess').replace(/[^a-z0-9]/gi, '')}_0000000000` });

      const ip = '198.51.100.77';
      for (let i = 0; i < 4; i++) expect((await login(ip)).statusCode).toBe(401);
      const refused = await login(ip);
      expect(refused.statusCode).toBe(403);
      expect(refused.headers['retry-after']).toBe('120');
      clock.advance(60_000);
      const later = await login(ip);
      expect(later.statusCode).toBe(403);
      expect(later.headers['retry-after']).toBe('60');
      // The block's time is up: no lift, no reload needed.
      clock.advance(60_000);
      expect((await login(ip)).statusCode).toBe(401);
      expect(await listBlocks(app)).toEqual([]);
      const [created] = await app.services.abuse.audit((await app.storage.unitOfWork.read.blocks.active(T0))[0]!.id);
      expect(created).toMatchObject({ action: 'block.created', after: { kind: 'authentication' } });

      // Three failures, a pause longer than the window, three more: never more than three at once.
      const patient = '198.51.100.78';
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 3; i++) expect((await login(patient)).statusCode).toBe(401);
        clock.advance(61_000);
      }
      expect((await login(patient)).statusCode).toBe(401);
    },
  );

  it('a credential can be blocked as a source of its own, wherever it is used from', async () => {
    const clock = new ManualClock(T0);
    const { app } = await startTestApp({ security: { block: { threshold: 2, window_seconds: 60 } } }, { clock });
    apps.push(app);
    // Stand-in for the mandate check (being written elsewhere): an agent asking for what it may not.
    app.http.post('/test/mandate', { config: { public: true } }, async (req, reply) => {
      const source = credentialSource(req);
      if (source !== undefined) await app.services.abuse.recordFailure(source, 'mandate_violation', req.id);
      return reply.code(403).send({ code: 'MANDATE_EXCEEDED' });
    });
    const agentKey = await keyOf(app, 'shopper');
    const auth = { authorization: `Bearer ${agentKey}` };
    for (let i = 0; i < 3; i++)
      expect(
        (await app.http.inject({ method: 'POST', url: '/test/mandate', headers: auth, remoteAddress: `192.0.2.${i}` }))
          .statusCode,
      ).toBe(403);
    const refused = await menu(app, '192.0.2.99', auth);
    expect(refused.json()).toMatchObject({ code: 'SOURCE_BLOCKED' });
    // The address it came from is not blocked, nor is another credential; the block names a hash, not the key.
    expect((await menu(app, '192.0.2.99')).statusCode).toBe(200);
    expect((await menu(app, '192.0.2.99', { 'x-user-id': 'other' })).statusCode).toBe(200);
    const [block] = await listBlocks(app);
    expect(block?.source).toMatch(/^credential:[A-Za-z0-9_-]{32}$/);
    expect(block).toMatchObject({ kind: 'mandate_violation', reasons: { mandate_violation: 3 } });
    expect(JSON.stringify(await listBlocks(app))).not.toContain(agentKey);
  });

  it('security.block.enabled false: failures are not counted, nothing is blocked', async () => {
    const app = await start({ security: { block: { enabled: false, threshold: 1 } } });
    for (let i = 0; i < 4; i++) expect((await forge(app, '203.0.113.5')).statusCode).toBe(401);
    expect(await listBlocks(app)).toEqual([]);
  });
});

describe.runIf(pgOk)('blocks across instances on one PostgreSQL database', () => {
  it(
    'a flood of forgeries on two instances makes one block; the other instance refuses the source ' +
      'within refresh_ms; a lift on either reaches the other the same way',
    async () => {
      const db = await createTestDatabase('blocks');
      dbs.push(db);
      const clock = new ManualClock(Date.now());
      const overrides = {
        database: { url: db.url, pool_size: 4 },
        security: { block: { threshold: 4, window_seconds: 60, duration_seconds: 600, refresh_ms: 1000 } },
        // With Redis both instances add up one source's failures; without, each counts its own.
        ...(redisOk ? { rate_limit: { redis_url: REDIS_TEST_URL } } : {}),
      };
      const a = await start(overrides, clock);
      const b = await start(overrides, clock);
      const attacker = freshIp();
      // Both have read the (empty) block list before the attack.
      expect((await menu(a, attacker)).statusCode).toBe(200);
      expect((await menu(b, attacker)).statusCode).toBe(200);

      const flood = await Promise.all(Array.from({ length: 16 }, (_, i) => forge(i % 2 === 0 ? a : b, attacker)));
      expect(flood.every((r) => r.statusCode === 401 || r.statusCode === 403)).toBe(true);
      const blocks = await listBlocks(a);
      expect(blocks).toHaveLength(1);
      const block = blocks[0]!;
      expect(block.source).toBe(`ip:${attacker.split('::')[0]}::`);
      expect((await a.services.abuse.audit(block.id)).map((e) => e.action)).toEqual(['block.created']);

      // Within refresh_ms every instance refuses it, whichever made the block.
      clock.advance(1000);
      for (const app of [a, b]) expect((await menu(app, attacker)).json()).toMatchObject({ code: 'SOURCE_BLOCKED' });

      // Lifted on b: b opens at once, a within refresh_ms.
      const lift = await b.http.inject({
        method: 'DELETE',
        url: `/api/v1/admin/blocks/${block.id}`,
        headers: await ops(b),
      });
      expect(lift.statusCode).toBe(200);
      expect((await menu(b, attacker)).statusCode).toBe(200);
      clock.advance(1000);
      expect((await menu(a, attacker)).statusCode).toBe(200);
      expect((await a.services.abuse.audit(block.id)).map((e) => [e.action, e.actor])).toEqual([
        ['block.created', 'system:abuse'],
        ['block.lifted', 'operator:ops'],
      ]);
    },
  );
});
