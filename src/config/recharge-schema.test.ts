import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FACE_VALUE_RULES } from '../domain/recharge/face-values.js';
import { DEFAULT_OPERATOR_SETTINGS } from '../domain/recharge/operator-settings.js';
import { DEFAULT_BREAKER_SETTINGS } from '../domain/routing/circuit-breaker.js';
import { DEFAULT_SCORE_SETTINGS } from '../domain/routing/channel-score.js';
import { DEFAULT_WINDOW_SETTINGS } from '../domain/routing/channel-window.js';
import { loadConfig } from './load-config.js';
import { rechargeSettings } from './recharge-schema.js';

const dir = mkdtempSync(join(tmpdir(), 'autoglm-recharge-config-'));
function load(json: unknown) {
  const p = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(p, JSON.stringify(json));
  return loadConfig({ file: p, env: {} });
}
const problems = (r: ReturnType<typeof loadConfig>) => (r.ok ? '' : r.error.issues.join('\n'));

describe('recharge configuration', () => {
  it('defaults are the documented ones', () => {
    const r = loadConfig({ env: {} });
    expect(problems(r)).toBe('');
    if (!r.ok) return;
    const s = rechargeSettings(r.value.recharge);
    expect(s.operatorSettings).toEqual(DEFAULT_OPERATOR_SETTINGS);
    expect(s.operatorSettings.CHINA_UNICOM).toEqual({ timeoutMs: 8000, retries: 3, encoding: 'gbk' });
    expect(s.faceValues).toEqual(DEFAULT_FACE_VALUE_RULES);
    expect(s.routing).toEqual({
      strategy: 'smart',
      score: DEFAULT_SCORE_SETTINGS,
      window: DEFAULT_WINDOW_SETTINGS,
      breaker: DEFAULT_BREAKER_SETTINGS,
    });
    expect(s.rechargeableCategories).toEqual(['mobile', 'virtual', 'data_card']);
    expect(r.value.recharge.max_attempts).toBe(3);
    expect(Object.keys(r.value.recharge.channels).length).toBeGreaterThan(0);
  });

  it('takes operators, face values, routing and channels from the file', () => {
    const r = load({
      recharge: {
        operators: { CHINA_TELECOM: { timeout_ms: 3000 } },
        face_values: { per_operator: { CHINA_BROADNET: [2000, 5000] }, arbitrary: { enabled: true } },
        routing: {
          strategy: 'round_robin',
          weights: { latency: 0.5, success: 0.5, load: 0 },
          breaker: { cooldown_ms: 60_000 },
        },
        channels: {
          juhe: { type: 'juhe', operators: ['CHINA_MOBILE', 'CHINA_UNICOM'], api_key: 'k', openid_secret: 'o' },
          sim: { type: 'simulator', operators: ['CHINA_TELECOM'], latency_ms: { min: 10, max: 20 } },
        },
      },
    });
    expect(problems(r)).toBe('');
    if (!r.ok) return;
    const s = rechargeSettings(r.value.recharge);
    expect(s.operatorSettings.CHINA_TELECOM).toEqual({ timeoutMs: 3000, retries: 2, encoding: 'utf-8' });
    expect(s.operatorSettings.CHINA_MOBILE).toEqual(DEFAULT_OPERATOR_SETTINGS.CHINA_MOBILE);
    expect(s.faceValues.perOperator.CHINA_BROADNET).toEqual([2000, 5000]);
    expect(s.faceValues.arbitrary).toEqual({ enabled: true, minFen: 100, maxFen: 50_000 });
    expect(s.routing.strategy).toBe('round_robin');
    expect(s.routing.score.weights).toEqual({ latency: 0.5, success: 0.5, load: 0 });
    expect(s.routing.breaker.cooldownMs).toBe(60_000);
    expect(r.value.recharge.channels.juhe).toMatchObject({
      type: 'juhe',
      base_url: 'http://op.juhe.cn/ofpay/mobile/',
      capacity: 50,
      max_sockets: 32,
    });
  });

  it.each([
    [{ recharge: { routing: { strategy: 'fastest' } } }, /recharge\.routing\.strategy/],
    [
      { recharge: { operators: { CHINA_MOBILE: { encoding: 'latin1' } } } },
      /recharge\.operators\.CHINA_MOBILE\.encoding/,
    ],
    [{ recharge: { operators: { CHINA_MOBIL: {} } } }, /CHINA_MOBIL/],
    [{ recharge: { face_values: { default: [10.5] } } }, /recharge\.face_values\.default/],
    [{ recharge: { channels: {} } }, /at least one recharge channel/],
    [{ recharge: { channels: { j: { type: 'juhe', operators: ['CHINA_MOBILE'] } } } }, /api_key/],
    [{ recharge: { routing: { weights: { latency: 0, success: 0, load: 0 } } } }, /at least one weight/],
    [{ recharge: { routing: { breaker: { cooldown: 5 } } } }, /cooldown/],
  ])('refuses %j', (json, message) => {
    const r = load(json);
    expect(r.ok).toBe(false);
    expect(problems(r)).toMatch(message);
  });
});
