import { Writable } from 'node:stream';
import { loadConfig, type AppConfig } from '../../src/config/load-config.js';
import { type App, type AppOptions, createApp } from '../../src/composition/create-app.js';
import { tempDbPath } from './temp-db.js';
import { TEST_MASTER_KEY_BASE64 } from './test-cipher.js';

/** Collects every log line so tests can assert on what was (and was not) logged. */
export class LogSink extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (error?: Error | null) => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line !== '') this.lines.push(line);
    cb();
  }
  get text(): string {
    return this.lines.join('\n');
  }
}

export { tempDbPath };

/** A config on a fresh temp SQLite file, with the seed policy unless overridden. */
export function testConfig(overrides: Record<string, unknown> = {}, dbPath = tempDbPath()): AppConfig {
  const merged = deepMerge(
    {
      auto_confirm_order: true,
      trusted_actions: ['order_coffee', 'submit_payment'],
      payment_gateway: 'secure-pay-v3',
      context_retention: { enabled: true, ttl_seconds: 300 },
      database: { url: `sqlite:${dbPath}` },
      log: { level: 'info' },
      server: { port: 0 },
      worker: { poll_interval_ms: 20, retry_base_ms: 10, retry_max_ms: 50 },
    },
    overrides,
  );
  // PostgreSQL must be given a master key (SQLite makes its own master.key beside the file).
  const url = (merged.database as { url?: unknown }).url;
  const security = isObject(merged.security) ? merged.security : {};
  if (typeof url === 'string' && url.startsWith('postgres') && security.master_key_file === undefined)
    merged.security = { master_key: TEST_MASTER_KEY_BASE64, ...security };
  const loaded = loadConfig({ env: {}, overrides: merged });
  if (!loaded.ok) throw new Error(`${loaded.error.message}: ${loaded.error.issues.join('; ')}`);
  return loaded.value;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Overrides merged into the defaults key by key, so a test that sets one worker setting keeps the others. */
function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObject(b) && isObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

/**
 * A short job lease, for tests where a "crashed" process's jobs are taken over by another once the
 * lease runs out: every outside call's timeout is shortened with it, as the configuration requires
 * (a lease must outlast the longest call a job makes).
 */
export function shortLease(leaseMs: number, more: Record<string, unknown> = {}): Record<string, unknown> {
  const callMs = Math.floor(leaseMs / 1.5);
  const operators = ['CHINA_MOBILE', 'CHINA_UNICOM', 'CHINA_TELECOM', 'CHINA_BROADNET', 'VIRTUAL'];
  return deepMerge(
    {
      worker: { lease_ms: leaseMs },
      resilience: { timeout_ms: callMs },
      recharge: { operators: Object.fromEntries(operators.map((op) => [op, { timeout_ms: callMs }])) },
    },
    more,
  );
}

export async function startTestApp(
  overrides: Record<string, unknown> = {},
  options: AppOptions = {},
  dbPath?: string,
): Promise<{ app: App; logs: LogSink }> {
  const logs = new LogSink();
  const app = await createApp(testConfig(overrides, dbPath), { logDestination: logs, ...options });
  return { app, logs };
}
