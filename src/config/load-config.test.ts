import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeConfig, loadConfig } from './load-config.js';

/** A master key for the PostgreSQL cases (PostgreSQL is never started without one). */
const KEY = Buffer.alloc(32, 7).toString('base64');
const dir = mkdtempSync(join(tmpdir(), 'autoglm-config-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const SEED =
  '{"auto_confirm_order": true, "payment_gateway": "secure-pay-v3", "context_retention": {"enabled": true, ' +
  '"ttl_seconds": 300}, "trusted_actions": ["order_coffee", "submit_payment"]}';

function issues(r: ReturnType<typeof loadConfig>): string {
  return r.ok ? '' : `${r.error.message}\n${r.error.issues.join('\n')}`;
}

describe('configuration', () => {
  it('accepts the seed configuration of the mission documents verbatim', () => {
    const r = loadConfig({ file: file('seed.json', SEED), env: {} });
    expect(issues(r)).toBe('');
    if (!r.ok) return;
    expect(r.value.policy).toEqual({ auto_confirm_order: true, trusted_actions: ['order_coffee', 'submit_payment'] });
    expect(r.value.payment_gateway).toBe('secure-pay-v3');
    expect(r.value.context_retention).toEqual({ enabled: true, ttl_seconds: 300 });
    expect(r.value.gateways['secure-pay-v3']).toEqual({ type: 'simulator' });
  });

  it('has working defaults with nothing given: 127.0.0.1:8787, SQLite under ./data, strict policy', () => {
    const r = loadConfig({ env: {} });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.server).toMatchObject({ host: '127.0.0.1', port: 8787 });
    expect(r.value.database).toEqual({ kind: 'sqlite', url: 'sqlite:./data/autoglm.db', path: './data/autoglm.db' });
    expect(r.value.policy).toEqual({ auto_confirm_order: false, trusted_actions: [] });
    expect(r.value.menu.drinks.length).toBeGreaterThan(4);
  });

  it('refuses a breaker threshold of 1 at load (the breaker would refuse it at start, with a crash)', () => {
    const r = loadConfig({ env: {}, overrides: { resilience: { breaker_threshold: 1 } } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.issues.join('\n')).toMatch(/resilience\.breaker_threshold/);
    expect(loadConfig({ env: {}, overrides: { resilience: { breaker_threshold: 0.99 } } }).ok).toBe(true);
  });

  it('a gateways map of the user replaces the defaults, as recharge.channels does', () => {
    const alone = loadConfig({
      env: {},
      overrides: { payment_gateway: 'mine', gateways: { mine: { type: 'simulator' } } },
    });
    expect(alone.ok && Object.keys(alone.value.gateways)).toEqual(['mine']);
    // The default names are gone: pointing at one is an error that lists what is configured.
    const stale = loadConfig({ env: {}, overrides: { gateways: { mine: { type: 'simulator' } } } });
    expect(stale.ok).toBe(false);
    expect(issues(stale)).toContain('payment_gateway: "secure-pay-v3" is not a configured gateway; configured: mine');
    const none = loadConfig({ env: {}, overrides: {} });
    expect(none.ok && Object.keys(none.value.gateways).sort()).toEqual(['secure-pay-v3', 'simulator']);
  });

  it('reads YAML', () => {
    const r = loadConfig({
      file: file('c.yaml', 'auto_confirm_order: true\nserver:\n  port: 9000\nmax_order_amount: 10000\n'),
      env: {},
    });
    expect(issues(r)).toBe('');
    expect(r.ok && r.value.server.port).toBe(9000);
    expect(r.ok && r.value.policy.max_order_amount).toBe(10000);
  });

  it('names an unknown key and lists the valid ones, at the root and nested', () => {
    const root = loadConfig({ file: file('typo.json', '{"auto_confirm_orders": true}'), env: {} });
    expect(root.ok).toBe(false);
    expect(issues(root)).toMatch(/unknown key "auto_confirm_orders" at root; valid keys: .*auto_confirm_order/);
    const nested = loadConfig({ file: file('typo2.json', '{"server": {"prot": 1}}'), env: {} });
    expect(issues(nested)).toMatch(/unknown key "prot" at server; valid keys: host, port/);
  });

  it('reports wrong types with their path', () => {
    const r = loadConfig({
      file: file('types.json', '{"server": {"port": 70000}, "trusted_actions": "order_coffee"}'),
      env: {},
    });
    expect(issues(r)).toMatch(/server\.port/);
    expect(issues(r)).toMatch(/trusted_actions/);
  });

  it('layers defaults < file < environment < overrides', () => {
    const f = file('layers.json', '{"server": {"port": 1111, "host": "0.0.0.0"}, "log": {"level": "warn"}}');
    const r = loadConfig({
      file: f,
      env: { AUTOGLM_PORT: '2222', PORT: '3333', AUTOGLM_LOG_LEVEL: 'debug' },
      overrides: { server: { port: 4444 } },
    });
    expect(issues(r)).toBe('');
    if (!r.ok) return;
    expect(r.value.server).toMatchObject({ port: 4444, host: '0.0.0.0' });
    expect(r.value.log.level).toBe('debug');
    const env = loadConfig({
      env: {
        PORT: '3333',
        DATABASE_URL: 'sqlite:/tmp/a.db',
        AUTOGLM_DB: 'sqlite:/tmp/b.db',
        AUTOGLM_TRUSTED_ACTIONS: 'order_coffee, submit_payment',
      },
    });
    expect(env.ok && env.value.server.port).toBe(3333);
    expect(env.ok && env.value.database.path).toBe('/tmp/b.db');
    expect(env.ok && env.value.policy.trusted_actions).toEqual(['order_coffee', 'submit_payment']);
  });

  it('takes any setting through AUTOGLM__SECTION__KEY', () => {
    const r = loadConfig({ env: { AUTOGLM__SIMULATOR__FAILURE_RATE: '0.2', AUTOGLM__WORKER__CONCURRENCY: '4' } });
    expect(r.ok && r.value.simulator.failure_rate).toBe(0.2);
    expect(r.ok && r.value.worker.concurrency).toBe(4);
  });

  it('refuses bad environment values by name', () => {
    expect(issues(loadConfig({ env: { AUTOGLM_PORT: 'eighty' } }))).toMatch(/AUTOGLM_PORT/);
    expect(issues(loadConfig({ env: { AUTOGLM_AUTO_CONFIRM_ORDER: 'maybe' } }))).toMatch(/AUTOGLM_AUTO_CONFIRM_ORDER/);
  });

  it('refuses a payment gateway that is not configured, and unusable database URLs', () => {
    expect(issues(loadConfig({ env: {}, overrides: { payment_gateway: 'nope' } }))).toMatch(
      /payment_gateway: "nope" is not a configured gateway/,
    );
    expect(issues(loadConfig({ env: {}, overrides: { database: { url: 'mysql://x' } } }))).toMatch(/database\.url/);
  });

  it('explains a missing file and malformed JSON', () => {
    expect(issues(loadConfig({ file: join(dir, 'missing.json'), env: {} }))).toMatch(
      /cannot read configuration file .*missing\.json: ENOENT/,
    );
    expect(issues(loadConfig({ file: file('bad.json', '{"a": '), env: {} }))).toMatch(/is not valid JSON/);
  });

  it('hides secrets when describing itself', () => {
    const r = loadConfig({ env: { AUTOGLM_DB: 'postgres://app:hunter2@127.0.0.1/db', AUTOGLM_MASTER_KEY: KEY } });
    if (!r.ok) throw new Error(issues(r));
    expect(JSON.stringify(describeConfig(r.value))).not.toContain('hunter2');
    const q = loadConfig({
      env: { DATABASE_URL: 'postgres://127.0.0.1/db?user=app&password=hunter2', AUTOGLM_MASTER_KEY: KEY },
    });
    if (!q.ok) throw new Error(issues(q));
    expect(JSON.stringify(describeConfig(q.value))).not.toContain('hunter2');
  });

  it('selects PostgreSQL from DATABASE_URL, AUTOGLM_DB or --db (most specific wins), with a pool size', () => {
    const fromEnv = loadConfig({ env: { DATABASE_URL: 'postgres://a/one', AUTOGLM_MASTER_KEY: KEY } });
    expect(fromEnv.ok && fromEnv.value.database).toEqual({
      kind: 'postgres',
      url: 'postgres://a/one',
      path: '',
      poolSize: 10,
      preparedStatements: true,
    });
    const unprepared = loadConfig({
      env: {
        DATABASE_URL: 'postgres://a/one',
        AUTOGLM__DATABASE__PREPARED_STATEMENTS: 'false',
        AUTOGLM_MASTER_KEY: KEY,
      },
    });
    expect(unprepared.ok && unprepared.value.database).toMatchObject({ preparedStatements: false });
    const both = loadConfig({
      env: {
        DATABASE_URL: 'postgres://a/one',
        AUTOGLM_DB: 'postgresql://a/two',
        AUTOGLM__DATABASE__POOL_SIZE: '4',
        AUTOGLM_MASTER_KEY: KEY,
      },
    });
    expect(both.ok && both.value.database).toMatchObject({ kind: 'postgres', url: 'postgresql://a/two', poolSize: 4 });
    const flag = loadConfig({
      env: { DATABASE_URL: 'postgres://a/one' },
      overrides: { database: { url: 'sqlite:./x.db' } },
    });
    expect(flag.ok && flag.value.database.kind).toBe('sqlite');
    expect(issues(loadConfig({ env: { AUTOGLM__DATABASE__POOL_SIZE: '0' } }))).toMatch(/database\.pool_size/);
  });
});
