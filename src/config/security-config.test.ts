import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeConfig, loadConfig } from './load-config.js';
import { encryptSecret } from './secret-values.js';

const MASTER = Buffer.alloc(32, 3);
const KEY = MASTER.toString('base64');
const dir = (): string => mkdtempSync(join(tmpdir(), 'autoglm-security-'));

function issues(r: ReturnType<typeof loadConfig>): string {
  return r.ok ? '' : `${r.error.message}\n${r.error.issues.join('\n')}`;
}

describe('the master key', () => {
  it('comes from AUTOGLM_MASTER_KEY first, and is never shown when the configuration describes itself', () => {
    const r = loadConfig({ env: { AUTOGLM_MASTER_KEY: KEY, AUTOGLM_DB: `sqlite:${join(dir(), 'a.db')}` } });
    if (!r.ok) throw new Error(issues(r));
    expect(r.value.security.master_key).toEqual({ source: 'env', bytes: MASTER });
    const described = JSON.stringify(describeConfig(r.value));
    expect(described).not.toContain(KEY);
    expect(described).not.toContain(MASTER.toString('hex'));
    expect(describeConfig(r.value).security).toEqual({ master_key_source: 'env', key_refresh_ms: 5000 });
  });

  it('is made on first start beside an SQLite file, and read from there afterwards', () => {
    const d = dir();
    const r = loadConfig({ env: { AUTOGLM_DB: `sqlite:${join(d, 'app.db')}` } });
    expect(r.ok && r.value.security.master_key).toEqual({ source: 'generate', path: join(d, 'master.key') });
    writeFileSync(join(d, 'master.key'), `${KEY}\n`, { mode: 0o600 });
    const again = loadConfig({ env: { AUTOGLM_DB: `sqlite:${join(d, 'app.db')}` } });
    expect(again.ok && again.value.security.master_key).toEqual({
      source: 'file',
      bytes: MASTER,
      path: join(d, 'master.key'),
    });
  });

  it('is refused from a key file other users can read, with the chmod that fixes it', () => {
    const d = dir();
    const f = join(d, 'master.key');
    writeFileSync(f, KEY);
    chmodSync(f, 0o644);
    expect(issues(loadConfig({ env: { AUTOGLM_MASTER_KEY_FILE: f } }))).toMatch(/open to other users.*chmod 600/);
    chmodSync(f, 0o600);
    expect(issues(loadConfig({ env: { AUTOGLM_MASTER_KEY_FILE: f } }))).toBe('');
  });

  it('must be given to PostgreSQL: without one the service refuses to start and says how to make one', () => {
    const e = issues(loadConfig({ env: { AUTOGLM_DB: 'postgres://127.0.0.1/db' } }));
    expect(e).toMatch(/PostgreSQL database needs a master key.*AUTOGLM_MASTER_KEY.*openssl rand -base64 32/);
    expect(issues(loadConfig({ env: { AUTOGLM_DB: 'postgres://127.0.0.1/db', AUTOGLM_MASTER_KEY: KEY } }))).toBe('');
  });

  it('refuses a key that is not base64 of 32 bytes, a missing key file, and two sources at once', () => {
    expect(issues(loadConfig({ env: { AUTOGLM_MASTER_KEY: Buffer.alloc(16).toString('base64') } }))).toMatch(
      /32 bytes \(it decodes to 16\)/,
    );
    expect(issues(loadConfig({ env: { AUTOGLM_MASTER_KEY: 'not base64!' } }))).toMatch(/not base64/);
    expect(issues(loadConfig({ env: { AUTOGLM_MASTER_KEY_FILE: join(dir(), 'none.key') } }))).toMatch(/ENOENT/);
    expect(issues(loadConfig({ env: { AUTOGLM_MASTER_KEY: KEY, AUTOGLM_MASTER_KEY_FILE: join(dir(), 'k') } }))).toMatch(
      /not both/,
    );
  });
});

describe('encrypted secrets in the configuration (enc:v1:)', () => {
  const apiKey = 'juhe-app-key-0123456789abcdef';
  const channels = (value: string): Record<string, unknown> => ({
    recharge: {
      channels: {
        juhe: {
          type: 'juhe',
          base_url: 'http://127.0.0.1:1',
          api_key: value,
          openid_secret: 'JHopenid0123456789',
          operators: ['CHINA_MOBILE'],
        },
      },
    },
  });

  it('are decrypted with the master key at load, wherever they are', () => {
    const r = loadConfig({ env: { AUTOGLM_MASTER_KEY: KEY }, overrides: channels(encryptSecret(MASTER, apiKey)) });
    if (!r.ok) throw new Error(issues(r));
    expect(r.value.recharge.channels.juhe).toMatchObject({ api_key: apiKey });
  });

  it('made with another master key, altered, or without any key: refused by path, the value never repeated', () => {
    const sealed = encryptSecret(Buffer.alloc(32, 9), apiKey);
    const wrong = issues(loadConfig({ env: { AUTOGLM_MASTER_KEY: KEY }, overrides: channels(sealed) }));
    expect(wrong).toMatch(/recharge\.channels\.juhe\.api_key: the master key does not decrypt this value/);
    expect(wrong).not.toContain(sealed);
    const mine = encryptSecret(MASTER, apiKey);
    const altered = `${mine.slice(0, -3)}${mine.endsWith('A') ? 'B' : 'A'}${mine.slice(-2)}`;
    expect(issues(loadConfig({ env: { AUTOGLM_MASTER_KEY: KEY }, overrides: channels(altered) }))).toMatch(
      /does not decrypt/,
    );
    const none = issues(
      loadConfig({ env: { AUTOGLM_DB: `sqlite:${join(dir(), 'x.db')}` }, overrides: channels(mine) }),
    );
    expect(none).toMatch(/encrypted values need the master key/);
    expect(issues(loadConfig({ env: { AUTOGLM_MASTER_KEY: KEY }, overrides: channels('enc:v9:abc') }))).toMatch(
      /must start with enc:v1:/,
    );
  });
});

describe('server.tls', () => {
  it('takes a certificate and key file, both or neither', () => {
    const r = loadConfig({ env: {}, overrides: { server: { tls: { cert_file: 'c.pem', key_file: 'k.pem' } } } });
    expect(r.ok && r.value.server.tls).toEqual({
      cert_file: 'c.pem',
      key_file: 'k.pem',
      hsts_max_age_seconds: 31_536_000,
    });
    expect(issues(loadConfig({ env: {}, overrides: { server: { tls: { cert_file: 'c.pem' } } } }))).toMatch(
      /server\.tls\.key_file/,
    );
  });
});
