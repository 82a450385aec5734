import type { SimulatedGateway } from '../../src/simulator/simulated-gateway.js';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Caller } from '../../src/application/kernel/caller.js';
import type { AuditRecord } from '../../src/ports/records.js';
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
      // The money actions most tests exercise run at once; tests of the policy hold them.
      trusted_actions: ['order_coffee', 'submit_payment', 'recharge_phone', 'wallet_top_up', 'refund'],
      payment_gateway: 'secure-pay-v3',
      context_retention: { enabled: true, ttl_seconds: 300 },
      database: { url: `sqlite:${dbPath}` },
      log: { level: 'info' },
      server: { port: 0 },
      worker: { poll_interval_ms: 20, retry_base_ms: 10, retry_max_ms: 50 },
      // The tests' webhook receivers listen on 127.0.0.1.
      webhooks: { allow_private_addresses: true },
      // Beside the test's own database, never the repository's data/ (test files run in parallel).
      auth: { admin_key_file: `${dbPath}.admin-key` },
    },
    overrides,
  );
  // PostgreSQL must be given a master key (SQLite makes its own master.key beside the file).
  const url = (merged.database as { url?: unknown }).url;
  const security = isObject(merged.security) ? merged.security : {};
  if (typeof url === 'string' && url.startsWith('postgres') && security.master_key_file === undefined)
    merged.security = { master_key: TEST_MASTER_KEY_BASE64, ...security };
  // The embedded simulators keep their books under the data directory: on PostgreSQL that is
  // ./data, the repository's own; the tests keep theirs beside their temp directory instead.
  const simulator = isObject(merged.simulator) ? merged.simulator : {};
  if (typeof url === 'string' && url.startsWith('postgres') && simulator.journal_dir === undefined)
    merged.simulator = { ...simulator, journal_dir: join(dirname(dbPath), 'simulator') };
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

/** `shortLease` for a service started as its own process: the same settings as environment variables. */
export function shortLeaseEnv(leaseMs: number): Record<string, string> {
  const settings = shortLease(leaseMs) as {
    worker: unknown;
    resilience: { timeout_ms: number };
    recharge: { operators: unknown };
  };
  return {
    AUTOGLM__WORKER__LEASE_MS: String(leaseMs),
    AUTOGLM__RESILIENCE__TIMEOUT_MS: String(settings.resilience.timeout_ms),
    AUTOGLM__RECHARGE__OPERATORS: JSON.stringify(settings.recharge.operators),
  };
}

export async function startTestApp(
  overrides: Record<string, unknown> = {},
  options: AppOptions = {},
  dbPath?: string,
): Promise<{ app: App; logs: LogSink }> {
  const logs = new LogSink();
  const app = await createApp(testConfig(overrides, dbPath), { logDestination: logs, ...options });
  authenticateInjections(app);
  return { app, logs };
}

/** The admin key of each database the tests started the service on (every instance of it shares it). */
const adminKeys = new Map<string, string>();
const userKeys = new Map<string, Promise<string>>();

/** The admin key of this app's database: the one its first start created. */
export function adminKeyOf(app: App): string {
  const url = app.config.database.url;
  if (app.adminKey !== undefined) adminKeys.set(url, app.adminKey);
  const key = adminKeys.get(url);
  if (key === undefined)
    throw new Error(`no admin key known for ${url}: was the first app on it started by the tests?`);
  return key;
}

/** An API key of a person (role user, unless given) on this app's database, made once through the admin. */
export function keyOf(
  app: App,
  user: string,
  role: 'user' | 'operator' | 'viewer' | 'admin' = 'user',
): Promise<string> {
  const id = `${app.config.database.url} ${role} ${user}`;
  let key = userKeys.get(id);
  if (key === undefined) {
    const admin = {
      tenantId: app.config.tenant.default_id,
      userId: 'admin',
      actor: 'admin:admin',
      requestId: null,
      role: 'admin' as const,
    };
    key = app.services.identity.createKey(admin, { role, user }).then((r) => {
      if (!r.ok) throw new Error(`could not make a key for ${user}: ${r.error.message}`);
      return r.value.key;
    });
    userKeys.set(id, key);
  }
  return key;
}

/** `{ authorization }` for a person (or, without one, the admin), for requests sent with fetch. */
export async function authHeaders(app: App, user?: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${user === undefined ? adminKeyOf(app) : await keyOf(app, user)}` };
}

/** Header a test sets on an injected request to send it with no credential at all. */
export const ANONYMOUS = 'x-test-anonymous';

/** Routes only an operator or admin may use: a test request without a named person goes as the admin. */
const TENANT_WIDE = /^\/(api\/v1\/(ledger|review-flags|gateways|channels|admin|audit)\b|metrics\b)/;

/**
 * Tests written before authentication name the person in `x-user-id`. Every request the tests
 * inject without a credential gets one here: that person's own API key (a user key made through
 * the admin), or — for tenant-wide routes, or with nobody named — the admin key. The service
 * itself trusts no header: this is the test's client doing what a real client does.
 */
function authenticateInjections(app: App): void {
  adminKeyOf(app);
  const original = app.http.inject.bind(app.http) as (opts: InjectOptions) => Promise<LightMyRequestResponse>;
  const inject = async (opts: InjectOptions): Promise<LightMyRequestResponse> => {
    const headers = { ...(opts.headers ?? {}) } as Record<string, string | string[] | undefined>;
    const named = headers['x-user-id'];
    delete headers['x-user-id'];
    // A test of what a client without any credential gets says so: nothing is added for it.
    const anonymous = headers[ANONYMOUS] !== undefined;
    delete headers[ANONYMOUS];
    if (headers.authorization === undefined && !anonymous) {
      headers.authorization = await bearerFor(app, typeof opts.url === 'string' ? opts.url : '', named);
    }
    return original({ ...opts, headers });
  };
  (app.http as unknown as { inject: typeof inject }).inject = inject;
}

/** The credential a test request carries: the named person's key, or the admin's (tenant-wide routes, nobody named). */
async function bearerFor(app: App, path: string, named: unknown): Promise<string> {
  const user = typeof named === 'string' && !TENANT_WIDE.test(path) ? named : undefined;
  return `Bearer ${user === undefined ? adminKeyOf(app) : await keyOf(app, user)}`;
}

/** `fetch` for a test talking to this app over TCP: the same credentials as injected requests get. */
export function fetchFor(app: App): typeof fetch {
  return async (input, init = {}) => {
    const headers = { ...((init.headers ?? {}) as Record<string, string>) };
    const named = headers['x-user-id'];
    delete headers['x-user-id'];
    const path = new URL(input instanceof Request ? input.url : String(input)).pathname;
    headers.authorization ??= await bearerFor(app, path, named);
    return fetch(input, { ...init, headers });
  };
}

/** The tenant's admin, as a caller: for tests that call the capabilities directly. */
export const ADMIN = {
  tenantId: 'default',
  userId: 'admin',
  actor: 'admin:admin',
  requestId: null,
  role: 'admin',
} as const satisfies Caller;

/** Every audit row of a resource, oldest first (what the audit endpoints show, without a caller). */
export function auditOf(app: App, resourceType: string, id: string): Promise<AuditRecord[]> {
  return app.deps.uow.read.audit.list('default', resourceType, id);
}

/** alice grants her agent `agent` a week's mandate for coffee: ¥35.00 at most a time, ¥100.00 in all. */
export async function grantCoffeeMandate(app: App, agent: string): Promise<void> {
  const granted = await app.services.mandates.grant(
    { tenantId: 'default', userId: 'alice', actor: 'user:alice', requestId: null, role: 'user' },
    {
      agent,
      actions: ['order_coffee'],
      payees: ['merchant'],
      max_per_transaction: 3500,
      budget: 10000,
      period: 'week',
      expires_at: new Date(Date.now() + 86_400_000).toISOString(),
    },
  );
  if (!granted.ok) throw new Error(`mandate not granted: ${JSON.stringify(granted.error)}`);
}

/** The embedded payment simulator of an app (the one its configuration built). */
export function simulatorOf(a: App): SimulatedGateway {
  const s = a.paymentSimulator;
  if (s === undefined) throw new Error('the app built no embedded simulator');
  return s;
}
