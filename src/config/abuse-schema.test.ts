import { describe, expect, it } from 'vitest';
import { describeConfig, loadConfig } from './load-config.js';

describe('configuration: rate limits, blocking, trusted proxies', () => {
  it('has defaults: budgets on, in memory; blocking on; no proxy trusted', () => {
    const r = loadConfig({ env: {} });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.rate_limit).toEqual({ enabled: true, per_credential_max: 600, per_ip_max: 300, window_seconds: 60 });
    expect(r.value.security.block).toEqual({
      enabled: true,
      threshold: 20,
      window_seconds: 600,
      duration_seconds: 900,
      refresh_ms: 1000,
    });
    expect(r.value.server.trust_proxy).toBe(false);
  });

  it('takes a Redis URL from the environment and never shows its password', () => {
    const r = loadConfig({
      env: { AUTOGLM__RATE_LIMIT__REDIS_URL: 'redis://:hunter2@cache.internal:6379/2' },
      overrides: { server: { trust_proxy: ['10.0.0.0/8'] } },
    });
    if (!r.ok) throw new Error(`${r.error.message}: ${r.error.issues.join('; ')}`);
    expect(r.value.rate_limit.redis_url).toBe('redis://:hunter2@cache.internal:6379/2');
    expect(r.value.server.trust_proxy).toEqual(['10.0.0.0/8']);
    const shown = JSON.stringify(describeConfig(r.value));
    expect(shown).not.toContain('hunter2');
    expect(shown).toContain('cache.internal');
  });

  it('refuses what cannot work, by path', () => {
    const r = loadConfig({
      env: {},
      overrides: {
        rate_limit: { redis_url: 'http://cache:6379', per_ip_max: 0 },
        security: { block: { threshold: 0, colour: 'red' } },
      },
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.error.issues.join('\n');
    expect(text).toMatch(/rate_limit\.redis_url/);
    expect(text).toMatch(/rate_limit\.per_ip_max/);
    expect(text).toMatch(/security\.block\.threshold/);
    expect(text).toMatch(/colour/);
  });
});
