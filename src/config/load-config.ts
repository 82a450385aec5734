import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { type Policy, policySchema } from '../domain/policy.js';
import { type MasterKeyConfig, resolveMasterKey } from './master-key.js';
import { configSchema, DEFAULT_GATEWAYS, type ParsedConfig } from './schema.js';
import { decryptSecrets, encryptedPaths } from './secret-values.js';

export type { MasterKeyConfig } from './master-key.js';

export type DatabaseConfig =
  | { readonly kind: 'sqlite'; readonly url: string; readonly path: string }
  | {
      readonly kind: 'postgres';
      readonly url: string;
      readonly path: string;
      readonly poolSize: number;
      readonly preparedStatements: boolean;
    };

/** Data at rest: the master key (never the raw setting: its bytes, and where they came from). */
export interface SecurityConfig {
  readonly master_key: MasterKeyConfig;
  readonly key_refresh_ms: number;
  /** Sources blocked after repeated failures. */
  readonly block: ParsedConfig['security']['block'];
}

/** The validated configuration every other module receives. Nothing else reads env or files. */
export type AppConfig = Omit<ParsedConfig, 'database' | 'security' | 'webhooks'> & {
  /** `timeout_ms` resolved: as given, or 10 s cut to what the job lease holds. */
  readonly webhooks: ParsedConfig['webhooks'] & { readonly timeout_ms: number };
  readonly database: DatabaseConfig;
  readonly policy: Policy;
  readonly security: SecurityConfig;
};

export interface ConfigError {
  readonly code: 'CONFIG_INVALID';
  readonly message: string;
  /** One line per problem, each starting with the path, e.g. `server.port: …`. */
  readonly issues: string[];
}

export type ConfigResult =
  { readonly ok: true; readonly value: AppConfig } | { readonly ok: false; readonly error: ConfigError };

type Env = Readonly<Record<string, string | undefined>>;

/** Environment variables we read, for the README and `--help`. */
export const ENV_VARS: ReadonlyArray<{ readonly name: string; readonly path: string; readonly description: string }> = [
  { name: 'AUTOGLM_CONFIG', path: '(file)', description: 'configuration file (JSON or YAML)' },
  { name: 'AUTOGLM_HOST', path: 'server.host', description: 'address to listen on' },
  {
    name: 'AUTOGLM_PORT',
    path: 'server.port',
    description: 'port to listen on (PORT also works, with lower precedence)',
  },
  {
    name: 'AUTOGLM_DB',
    path: 'database.url',
    description: 'database URL (DATABASE_URL also works, with lower precedence)',
  },
  { name: 'AUTOGLM_LOG_LEVEL', path: 'log.level', description: 'fatal, error, warn, info, debug, trace or silent' },
  { name: 'AUTOGLM_LOG_PRETTY', path: 'log.pretty', description: 'true/false' },
  { name: 'AUTOGLM_AUTO_CONFIRM_ORDER', path: 'auto_confirm_order', description: 'true/false' },
  { name: 'AUTOGLM_TRUSTED_ACTIONS', path: 'trusted_actions', description: 'comma-separated action names' },
  { name: 'AUTOGLM_PAYMENT_GATEWAY', path: 'payment_gateway', description: 'name of the gateway to pay through' },
  {
    name: 'AUTOGLM_WORKER_CONCURRENCY',
    path: 'worker.concurrency',
    description: 'jobs run at once by the worker loop',
  },
  { name: 'AUTOGLM_LLM_MODE', path: 'llm.mode', description: 'grammar-only, llm-only or grammar-then-llm' },
  { name: 'AUTOGLM_LLM_BASE_URL', path: 'llm.base_url', description: 'OpenAI-compatible endpoint (default Zhipu GLM)' },
  { name: 'AUTOGLM_LLM_MODEL', path: 'llm.model', description: 'model name (default glm-4-flash)' },
  { name: 'AUTOGLM_LLM_API_KEY', path: 'llm.api_key', description: 'API key of the model provider (never logged)' },
  { name: 'AUTOGLM_LLM_TIMEOUT_MS', path: 'llm.timeout_ms', description: 'timeout of one model call' },
  {
    name: 'AUTOGLM_MASTER_KEY',
    path: 'security.master_key',
    description: 'master key of data at rest: base64 of 32 bytes (never logged)',
  },
  { name: 'AUTOGLM_MASTER_KEY_FILE', path: 'security.master_key_file', description: 'file holding the master key' },
  {
    name: 'AUTOGLM__SECTION__KEY',
    path: 'section.key',
    description: 'any setting; the value is parsed as JSON when it parses, else taken as a string',
  },
];

const fail = (message: string, issues: string[] = []): ConfigResult => ({
  ok: false,
  error: { code: 'CONFIG_INVALID', message, issues },
});

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects merge key by key; anything else (arrays included) replaces. */
function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') continue;
    const prev = out[k];
    out[k] = isObject(prev) && isObject(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = target;
  path.slice(0, -1).forEach((p) => {
    if (!isObject(cur[p])) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  });
  const last = path.at(-1);
  if (last !== undefined) cur[last] = value;
}

function readFile(file: string): { ok: true; value: Record<string, unknown> } | { ok: false; result: ConfigResult } {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return {
      ok: false,
      result: fail(`cannot read configuration file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`),
    };
  }
  let data: unknown;
  try {
    const ext = extname(path).toLowerCase();
    data = ext === '.yaml' || ext === '.yml' ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    return {
      ok: false,
      result: fail(
        `configuration file ${path} is not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ` +
          `${e instanceof Error ? e.message : String(e)}`,
      ),
    };
  }
  if (data === null || data === undefined) return { ok: true, value: {} };
  if (!isObject(data)) return { ok: false, result: fail(`configuration file ${path} must hold an object at its root`) };
  return { ok: true, value: data };
}

const BOOL: Record<string, boolean> = {
  true: true,
  '1': true,
  yes: true,
  on: true,
  false: false,
  '0': false,
  no: false,
  off: false,
};

function fromEnv(env: Env): { ok: true; value: Record<string, unknown> } | { ok: false; result: ConfigResult } {
  const out: Record<string, unknown> = {};
  const issues: string[] = [];
  const num = (name: string, path: string[]): void => {
    const v = env[name];
    if (v === undefined || v === '') return;
    const n = Number(v);
    if (!Number.isFinite(n)) issues.push(`${name}: expected a number, got "${v}"`);
    else setPath(out, path, n);
  };
  const bool = (name: string, path: string[]): void => {
    const v = env[name];
    if (v === undefined || v === '') return;
    const b = BOOL[v.toLowerCase()];
    if (b === undefined) issues.push(`${name}: expected true or false, got "${v}"`);
    else setPath(out, path, b);
  };
  const str = (name: string, path: string[]): void => {
    const v = env[name];
    if (v !== undefined && v !== '') setPath(out, path, v);
  };
  // Lower precedence first: the more specific variable overwrites.
  num('PORT', ['server', 'port']);
  num('AUTOGLM_PORT', ['server', 'port']);
  str('AUTOGLM_HOST', ['server', 'host']);
  str('DATABASE_URL', ['database', 'url']);
  str('AUTOGLM_DB', ['database', 'url']);
  str('AUTOGLM_LOG_LEVEL', ['log', 'level']);
  bool('AUTOGLM_LOG_PRETTY', ['log', 'pretty']);
  bool('AUTOGLM_AUTO_CONFIRM_ORDER', ['auto_confirm_order']);
  str('AUTOGLM_PAYMENT_GATEWAY', ['payment_gateway']);
  num('AUTOGLM_WORKER_CONCURRENCY', ['worker', 'concurrency']);
  str('AUTOGLM_LLM_MODE', ['llm', 'mode']);
  str('AUTOGLM_LLM_BASE_URL', ['llm', 'base_url']);
  str('AUTOGLM_LLM_MODEL', ['llm', 'model']);
  str('AUTOGLM_LLM_API_KEY', ['llm', 'api_key']);
  num('AUTOGLM_LLM_TIMEOUT_MS', ['llm', 'timeout_ms']);
  str('AUTOGLM_MASTER_KEY', ['security', 'master_key']);
  str('AUTOGLM_MASTER_KEY_FILE', ['security', 'master_key_file']);
  const trusted = env.AUTOGLM_TRUSTED_ACTIONS;
  if (trusted !== undefined) {
    setPath(
      out,
      ['trusted_actions'],
      trusted
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    );
  }
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('AUTOGLM__') || raw === undefined) continue;
    const path = name
      .slice('AUTOGLM__'.length)
      .toLowerCase()
      .split('__')
      .filter((p) => p !== '');
    if (path.length === 0) continue;
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    setPath(out, path, value);
  }
  if (issues.length > 0) return { ok: false, result: fail('invalid environment variable', issues) };
  return { ok: true, value: out };
}

interface JsonSchemaNode {
  properties?: Record<string, JsonSchemaNode>;
  items?: JsonSchemaNode;
  additionalProperties?: JsonSchemaNode | boolean;
  anyOf?: JsonSchemaNode[];
  oneOf?: JsonSchemaNode[];
}

let cachedJsonSchema: JsonSchemaNode | undefined;

/** Keys valid at the object a zod issue points to, walked through the schema's JSON Schema form. */
function validKeysAt(path: readonly PropertyKey[]): string[] {
  cachedJsonSchema ??= z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;
  let node: JsonSchemaNode | undefined = cachedJsonSchema;
  for (const p of path) {
    if (node === undefined) return [];
    const variants: JsonSchemaNode[] = [node, ...(node.anyOf ?? []), ...(node.oneOf ?? [])];
    const withProps = variants.find((v) => typeof p === 'string' && v.properties?.[p] !== undefined);
    if (withProps !== undefined && typeof p === 'string') node = withProps.properties?.[p];
    else if (node.items !== undefined) node = node.items;
    else if (typeof node.additionalProperties === 'object') node = node.additionalProperties;
    else return [];
  }
  const variants: JsonSchemaNode[] = node === undefined ? [] : [node, ...(node.anyOf ?? []), ...(node.oneOf ?? [])];
  return [...new Set(variants.flatMap((v) => Object.keys(v.properties ?? {})))];
}

function describe(issue: z.core.$ZodIssue): string {
  const where = issue.path.length === 0 ? 'root' : issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `"${k}"`).join(', ');
    return `unknown key ${keys} at ${where}; valid keys: ${validKeysAt(issue.path).join(', ')}`;
  }
  return `${where}: ${issue.message}`;
}

const DEFAULT_DATABASE_URL = 'sqlite:./data/autoglm.db';

function parseDatabase(url: string, poolSize: number, preparedStatements = true): DatabaseConfig | string {
  if (/^postgres(?:ql)?:\/\//i.test(url)) return { kind: 'postgres', url, path: '', poolSize, preparedStatements };
  if (url === 'sqlite::memory:' || url === ':memory:') return { kind: 'sqlite', url, path: ':memory:' };
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    return path === ''
      ? 'database.url: sqlite: needs a file path, e.g. sqlite:./data/autoglm.db'
      : { kind: 'sqlite', url, path };
  }
  if (/\.(db|sqlite3?)$/i.test(url)) return { kind: 'sqlite', url: `sqlite:${url}`, path: url };
  return `database.url: "${url}" is neither sqlite:<path> nor postgres://…`;
}

export interface LoadOptions {
  /** A JSON or YAML file; if absent, AUTOGLM_CONFIG names one. */
  readonly file?: string;
  /** Defaults to process.env. */
  readonly env?: Env;
  /** Highest precedence, e.g. from CLI flags. */
  readonly overrides?: Record<string, unknown>;
}

/** Load and validate the configuration: defaults < file < environment < overrides. */
export function loadConfig(options: LoadOptions = {}): ConfigResult {
  const env = options.env ?? process.env;
  let raw: Record<string, unknown> = {};
  const file = options.file ?? env.AUTOGLM_CONFIG;
  if (file !== undefined && file !== '') {
    const f = readFile(file);
    if (!f.ok) return f.result;
    raw = f.value;
  }
  const e = fromEnv(env);
  if (!e.ok) return e.result;
  raw = deepMerge(deepMerge(raw, e.value), options.overrides ?? {});

  // The master key first: `enc:` values are decrypted with it before anything is validated.
  const rawSecurity = isObject(raw.security) ? raw.security : {};
  const rawDb = isObject(raw.database) ? raw.database : {};
  const rawUrl = rawDb.url === undefined ? DEFAULT_DATABASE_URL : rawDb.url;
  const located = typeof rawUrl === 'string' && !rawUrl.startsWith('enc:') ? parseDatabase(rawUrl, 1) : undefined;
  if (typeof located === 'string') return fail('the configuration is not valid', [located]);
  const masterKey = resolveMasterKey(rawSecurity, located);
  if (typeof masterKey === 'string') return fail('the configuration is not valid', [masterKey]);
  const sealed = encryptedPaths(raw);
  if (sealed.length > 0) {
    if (masterKey.source !== 'env' && masterKey.source !== 'file') {
      return fail('the configuration is not valid', [
        `${sealed.map((p) => p.join('.')).join(', ')}: encrypted values need the master key they were made with ` +
          '(AUTOGLM_MASTER_KEY or security.master_key_file); there is none yet',
      ]);
    }
    const opened = decryptSecrets(raw, masterKey.bytes);
    if (opened.issues.length > 0) return fail('the configuration is not valid', opened.issues);
    raw = opened.value as Record<string, unknown>;
  }

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) return fail('the configuration is not valid', parsed.error.issues.map(describe));
  const c = parsed.data;
  // A map the user gives replaces the defaults (as `recharge.channels` does), never merges with them.
  const gateways = Object.keys(c.gateways).length > 0 ? c.gateways : DEFAULT_GATEWAYS;
  const issues: string[] = [];
  if (!Object.hasOwn(gateways, c.payment_gateway)) {
    issues.push(
      `payment_gateway: "${c.payment_gateway}" is not a configured gateway; configured: ` +
        `${Object.keys(gateways).join(', ')}`,
    );
  }
  for (const [i, route] of (c.payment_routing ?? []).entries()) {
    if (!Object.hasOwn(gateways, route.gateway))
      issues.push(
        `payment_routing.${i}.gateway: "${route.gateway}" is not a configured gateway; configured: ` +
          `${Object.keys(gateways).join(', ')}`,
      );
    if (route.min_amount !== undefined && route.max_amount !== undefined && route.max_amount < route.min_amount)
      issues.push(`payment_routing.${i}: max_amount must be ≥ min_amount`);
  }
  const db = parseDatabase(c.database.url, c.database.pool_size, c.database.prepared_statements);
  if (typeof db === 'string') issues.push(db);
  const policy = policySchema.safeParse({
    auto_confirm_order: c.auto_confirm_order,
    trusted_actions: c.trusted_actions,
    ...(c.max_order_amount === undefined ? {} : { max_order_amount: c.max_order_amount }),
    ...(c.daily_limit_per_user === undefined ? {} : { daily_limit_per_user: c.daily_limit_per_user }),
    ...(c.require_confirmation_above === undefined ? {} : { require_confirmation_above: c.require_confirmation_above }),
  });
  if (!policy.success) issues.push(...policy.error.issues.map(describe));
  if (c.worker.retry_max_ms < c.worker.retry_base_ms)
    issues.push('worker.retry_max_ms: must be ≥ worker.retry_base_ms');
  if (c.webhooks.retry_max_ms < c.webhooks.retry_base_ms)
    issues.push('webhooks.retry_max_ms: must be ≥ webhooks.retry_base_ms');
  const step = longestStep(c, gateways);
  if (c.worker.lease_ms < Math.ceil(step.ms * 1.5)) {
    // Leases are renewed every third of lease_ms. If renewals stop (the database unreachable)
    // right after one, the lease still holds for two thirds of it: the longest call a job makes
    // must end inside that, or another worker could start the same step beside it.
    issues.push(
      `worker.lease_ms: ${c.worker.lease_ms} ms cannot hold the longest step a job takes ` +
        `(${step.ms} ms: ${step.what}); ` +
        `make it at least ${Math.ceil(step.ms * 1.5)} ms, or shorten that timeout`,
    );
  }
  if (issues.length > 0 || typeof db === 'string' || !policy.success)
    return fail('the configuration is not valid', issues);
  return {
    ok: true,
    value: {
      ...c,
      gateways,
      database: db,
      policy: policy.data,
      webhooks: {
        ...c.webhooks,
        timeout_ms: c.webhooks.timeout_ms ?? Math.min(10_000, Math.floor(c.worker.lease_ms / 1.5)),
      },
      security: { master_key: masterKey, key_refresh_ms: c.security.key_refresh_ms, block: c.security.block },
    },
  };
}

/** A database URL fit for logs: the password (in the authority or as a parameter) hidden. */
export function maskDatabaseUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:[REDACTED]@').replace(/([?&]password=)[^&]*/i, '$1[REDACTED]');
}

/** Any URL's password (`redis://:secret@host`, `redis://user:secret@host`) hidden. */
function maskUrlPassword(url: string): string {
  return url.replace(/\/\/([^:@/]*):([^@/]+)@/, '//$1:[REDACTED]@');
}

const SECRET_KEY = /(pass(word)?|secret|token|api[_-]?key|private[_-]?key|master[_-]?key|credential)/i;

/** A JSON-safe view for the start-up log: secrets replaced, database credentials hidden. */
export function describeConfig(config: AppConfig): Record<string, unknown> {
  const walk = (v: unknown, depth: number): unknown => {
    if (depth > 8) return '[…]';
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    if (!isObject(v)) return v;
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k, SECRET_KEY.test(k) ? '[REDACTED]' : walk(x, depth + 1)]),
    );
  };
  const view = walk({ ...config, menu: `${config.menu.drinks.length} drinks`, security: null }, 0) as Record<
    string,
    unknown
  >;
  // The key's bytes never appear: only where it comes from.
  const mk = config.security.master_key;
  view.security = {
    master_key_source: mk.source,
    ...('path' in mk && mk.path !== undefined ? { master_key_file: mk.path } : {}),
    key_refresh_ms: config.security.key_refresh_ms,
  };
  view.database = {
    kind: config.database.kind,
    url: maskDatabaseUrl(config.database.url),
    ...(config.database.kind === 'postgres'
      ? { pool_size: config.database.poolSize, prepared_statements: config.database.preparedStatements }
      : {}),
  };
  const redis = config.rate_limit.redis_url;
  if (redis !== undefined) view.rate_limit = { ...config.rate_limit, redis_url: maskUrlPassword(redis) };
  return view;
}

/** The longest single outside call a job may be waiting on, and what it is. */
function longestStep(
  c: {
    readonly resilience: { readonly timeout_ms: number };
    readonly merchant: { readonly type: string } & Partial<{ timeout_ms: number }>;
    readonly recharge: { readonly operators: Readonly<Record<string, { readonly timeout_ms: number }>> };
    readonly webhooks?: { readonly timeout_ms?: number | undefined };
    readonly notifications?: { readonly sms: { readonly type: string } & Partial<{ timeout_ms: number }> };
  },
  gateways: Readonly<Record<string, { readonly type: string } & Partial<{ timeout_ms: number }>>>,
): { readonly ms: number; readonly what: string } {
  const steps: Array<{ ms: number; what: string }> = [{ ms: c.resilience.timeout_ms, what: 'resilience.timeout_ms' }];
  for (const [name, g] of Object.entries(gateways)) {
    if (g.timeout_ms !== undefined)
      steps.push({ ms: Math.min(g.timeout_ms, c.resilience.timeout_ms), what: `gateways.${name}.timeout_ms` });
  }
  if (c.merchant.timeout_ms !== undefined) steps.push({ ms: c.merchant.timeout_ms, what: 'merchant.timeout_ms' });
  // Only a timeout someone set: the default is cut to fit the lease instead (see loadConfig).
  if (c.webhooks?.timeout_ms !== undefined) steps.push({ ms: c.webhooks.timeout_ms, what: 'webhooks.timeout_ms' });
  const smsTimeout = c.notifications?.sms.timeout_ms;
  if (smsTimeout !== undefined) steps.push({ ms: smsTimeout, what: 'notifications.sms.timeout_ms' });
  for (const [op, o] of Object.entries(c.recharge.operators)) {
    steps.push({ ms: o.timeout_ms, what: `recharge.operators.${op}.timeout_ms` });
  }
  return steps.reduce((a, b) => (b.ms > a.ms ? b : a));
}
