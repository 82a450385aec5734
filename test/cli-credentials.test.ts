import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvelopeCipher } from '../src/adapters/crypto/envelope-cipher.js';
import { openSqlite, type SqliteStorage } from '../src/adapters/storage/sqlite/database.js';
import { LOCAL_CLI_ACTOR, openLocalIdentity } from '../src/composition/build-identity.js';
import type { App } from '../src/composition/create-app.js';
import { runCliCaptured } from './support/cli-run.js';
import { createTestDatabase, postgresWanted, type TestDatabase } from './support/pg-db.js';
import { spawnUntil } from './support/spawn-until.js';
import { LogSink, startTestApp, testConfig } from './support/test-app.js';

/**
 * `autoglm keys create|list|revoke` and `users create`: through the running service (`--url`,
 * with the caller's key) and on the database itself (`--db`, as the tenant's administrator).
 *
 * The service runs as its own process, as it does beside an administrator's shell: SQLite makes
 * a second writer wait (busy timeout) by blocking its thread, so a local command and the service
 * must not share one.
 */

const dir = mkdtempSync(join(tmpdir(), 'autoglm-idcli-'));
const sqliteUrl = `sqlite:${join(dir, 'db.sqlite')}`;
let service: { child: ChildProcess; url: string; output: () => string };
let url: string;
/** Tenant default's admin key, written beside the database by the first start. */
let adminKey: string;
/** The same database, read by the test (audit rows, tenants). */
let storage: SqliteStorage;
/** What the local commands (`--db`) log, in this process. */
const localLogs = new LogSink();
/** Every key and password the tests made: none may appear in any log. */
const secrets: string[] = [];
/** An order of tenant `default`, which no other tenant may see. */
let defaultOrderId: string;

beforeAll(async () => {
  service = await spawnUntil(
    'test/support/serve-child.ts',
    ['--port', '0', '--db', sqliteUrl],
    {
      ...process.env,
      AUTOGLM_LOG_LEVEL: 'debug',
      AUTOGLM_AUTO_CONFIRM_ORDER: 'true',
      AUTOGLM_TRUSTED_ACTIONS: 'order_coffee,submit_payment',
      // The tests send refused credentials on purpose, all from this machine's address.
      AUTOGLM__SECURITY__BLOCK__ENABLED: 'false',
    },
    'service',
  );
  url = service.url;
  adminKey = readFileSync(join(dir, 'admin-key'), 'utf8').trim();
  // The service's own master key (made beside the database at its first start).
  const masterKey = Buffer.from(readFileSync(join(dir, 'master.key'), 'utf8').trim(), 'base64');
  storage = await openSqlite(join(dir, 'db.sqlite'), { cipher: new EnvelopeCipher(masterKey) });
  const placed = await send('POST', '/api/v1/order', adminKey, { drink: 'latte', size: 'medium' });
  expect(placed.status).toBe(201);
  defaultOrderId = (placed.body as { order: { id: string } }).order.id;
}, 120_000);
afterAll(async () => {
  await storage.close();
  service.child.kill('SIGTERM');
  await new Promise((r) => service.child.once('exit', r));
});

/** A command line as the shell splits it (no argument here holds a space). */
const words = (line: string): string[] => line.split(' ');

interface CliOptions {
  /** The credential the CLI sends (default: tenant default's admin key). */
  readonly apiKey?: string | undefined;
  readonly stdin?: string;
}

function cli(args: readonly string[], o: CliOptions = {}): Promise<{ out: string[]; err: string[]; code: number }> {
  return runCliCaptured(args, {
    defaultUrl: url,
    apiKey: 'apiKey' in o ? o.apiKey : adminKey,
    openIdentity: (db) =>
      openLocalIdentity(testConfig({ database: { url: db }, log: { level: 'debug' } }), {
        logDestination: localLogs,
      }),
    readStdin: () => Promise.resolve(o.stdin ?? ''),
  });
}

async function send(
  method: string,
  path: string,
  bearer: string | undefined,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(new URL(path, url), {
    method,
    headers: {
      ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : (JSON.parse(text) as unknown) };
}

interface KeyView {
  id: string;
  prefix: string;
  principal: string;
  role: string;
  acts_for: string | null;
  revoked_at: string | null;
}

/** The key the plain `keys create` printed (alone on stdout), remembered as a secret. */
function printedKey(r: { out: string[]; err: string[]; code: number }): string {
  expect(r.code, r.err.join('\n')).toBe(0);
  expect(r.out).toHaveLength(1);
  const key = r.out[0] ?? '';
  expect(key).toMatch(/^agk_[a-z2-7]{16}_[A-Za-z0-9_-]{43}$/);
  secrets.push(key);
  return key;
}

const MODES = [
  { mode: '--url', args: (): string[] => [] },
  { mode: '--db', args: (): string[] => ['--db', sqliteUrl] },
] as const;

describe.each(MODES)('credential commands, $mode', ({ mode, args }) => {
  const tag = mode === '--url' ? 'http' : 'local';

  it('makes a key that authenticates, shows it once, lists it without its secret, revokes it at once', async () => {
    const made = await cli(['keys', 'create', '--role', 'user', '--user', `alice-${tag}`, ...args()]);
    const key = printedKey(made);
    expect(made.err.join('\n')).toMatch(/^API key agk_[a-z2-7]{16} for alice-\w+ \(user\), shown this once/);

    const ordered = await send('POST', '/api/v1/order', key, { drink: 'latte', size: 'large' });
    expect(ordered.status).toBe(201);
    expect(await send('GET', '/api/v1/auth/me', key)).toMatchObject({
      status: 200,
      body: { tenant: 'default', principal: `alice-${tag}`, role: 'user' },
    });

    // --json: the API's answer, the key in `key`.
    const json = await cli(['keys', 'create', '--role', 'user', '--user', `alice-${tag}`, '--json', ...args()]);
    expect(json.code, json.err.join('\n')).toBe(0);
    const answer = JSON.parse(json.out[0] ?? '{}') as { key: string; api_key: KeyView };
    secrets.push(answer.key);
    expect(answer.key).toMatch(/^agk_/);
    expect(answer.api_key).toMatchObject({ principal: `alice-${tag}`, role: 'user', revoked_at: null });
    expect(answer.key.startsWith(`${answer.api_key.prefix}_`)).toBe(true);
    expect((await send('GET', '/api/v1/wallet', answer.key)).status).toBe(200);

    const prefix = key.slice(0, 'agk_'.length + 16);
    const listed = await cli(['keys', 'list', ...args()]);
    expect(listed.code).toBe(0);
    const table = listed.out.join('\n');
    expect(table).toMatch(/^PREFIX\s+PRINCIPAL\s+ROLE\s+CREATED\s+EXPIRES\s+REVOKED/);
    expect(table).toContain(prefix);
    expect(table).toContain(answer.api_key.prefix);
    expect(table).not.toContain(key);
    expect(table).not.toContain(answer.key);
    const listedJson = await cli(['keys', 'list', '--json', ...args()]);
    const rows = (JSON.parse(listedJson.out[0] ?? '{}') as { data: Array<KeyView & { key?: unknown }> }).data;
    expect(rows.find((k) => k.prefix === prefix)).toMatchObject({ principal: `alice-${tag}`, revoked_at: null });
    expect(rows.every((k) => k.key === undefined)).toBe(true);
    expect(listedJson.out.join('')).not.toContain(key.slice(prefix.length + 1));

    // Revoked by the prefix `keys list` shows: refused on the very next request.
    const revoked = await cli(['keys', 'revoke', prefix, ...args()]);
    expect(revoked.code, revoked.err.join('\n')).toBe(0);
    expect(revoked.out.join('\n')).toMatch(new RegExp(`^revoked ${prefix} of alice-${tag} at \\d{4}-`));
    expect((await send('GET', '/api/v1/wallet', key)).status).toBe(401);
    // The other key of the same person still works; revoking it by its bare id, as JSON.
    expect((await send('GET', '/api/v1/wallet', answer.key)).status).toBe(200);
    const byId = await cli(['keys', 'revoke', answer.api_key.id, '--json', ...args()]);
    expect(JSON.parse(byId.out[0] ?? '{}')).toMatchObject({ api_key: { id: answer.api_key.id } });
    expect((await send('GET', '/api/v1/wallet', answer.key)).status).toBe(401);

    const unknown = await cli(['keys', 'revoke', 'aaaaaaaaaaaaaaaa', ...args()]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toEqual([expect.stringMatching(/^error KEY_NOT_FOUND: /)]);
  });

  it('makes an agent key that acts for its person', async () => {
    const made = await cli(
      ['keys', 'create', '--role', 'agent', '--user', `bot-${tag}`, '--acts-for', `carol-${tag}`, ...args()],
      {},
    );
    const key = printedKey(made);
    expect(made.err.join('\n')).toContain(`for bot-${tag} (agent for carol-${tag})`);
    expect(await send('GET', '/api/v1/auth/me', key)).toMatchObject({
      status: 200,
      body: { principal: `bot-${tag}`, role: 'agent', acts_for: `carol-${tag}` },
    });
    const noPerson = await cli(['keys', 'create', '--role', 'agent', '--user', `bot2-${tag}`, ...args()]);
    expect(noPerson.code).toBe(1);
    expect(noPerson.err).toEqual([expect.stringMatching(/^error VALIDATION_FAILED: an agent acts for/)]);
  });

  it('makes a person who logs in; the password comes on standard input', async () => {
    const password = `correct horse ${tag} battery`;
    secrets.push(password);
    const made = await cli(['users', 'create', '--user', `bob-${tag}`, '--password-stdin', ...args()], {
      stdin: `${password}\n`,
    });
    expect(made.code, made.err.join('\n')).toBe(0);
    expect(made.out).toEqual([`user bob-${tag} (user) can log in`]);

    const login = await send('POST', '/api/v1/auth/login', undefined, { user: `bob-${tag}`, password });
    expect(login.status).toBe(200);
    const session = login.body as { access_token: string; refresh_token: string };
    secrets.push(session.access_token, session.refresh_token);
    expect(await send('GET', '/api/v1/auth/me', session.access_token)).toMatchObject({
      status: 200,
      body: { principal: `bob-${tag}`, role: 'user' },
    });

    // On the command line it works too (discouraged), and --json answers as the API does.
    const viewer = `correct horse ${tag} viewer`;
    secrets.push(viewer);
    const flagged = await cli(
      ['users', 'create', '--user', `vera-${tag}`, '--password', viewer, '--role', 'viewer', '--json', ...args()],
      {},
    );
    expect(JSON.parse(flagged.out[0] ?? '{}')).toEqual({ user: { id: `vera-${tag}`, role: 'viewer' } });
    expect(
      (await send('POST', '/api/v1/auth/login', undefined, { user: `vera-${tag}`, password: viewer })).status,
    ).toBe(200);

    const short = await cli(['users', 'create', '--user', `dan-${tag}`, '--password-stdin', ...args()], {
      stdin: 'short\n',
    });
    expect(short.code).toBe(1);
    expect(short.err).toEqual(['error VALIDATION_FAILED: a password has at least 10 characters']);
    const none = await cli(['users', 'create', '--user', `dan-${tag}`, ...args()]);
    expect(none.err).toEqual([expect.stringMatching(/^error VALIDATION_FAILED: give the password on standard input/)]);
    const clash = await cli([
      'users',
      'create',
      '--user',
      `bot-${tag}`,
      '--password',
      'long enough password',
      ...args(),
    ]);
    expect(clash.err).toEqual([expect.stringMatching(/^error PRINCIPAL_EXISTS: /)]);
  });

  it('lists people, changes a role, disables (login then fails) and enables', async () => {
    const who = `pia-${tag}`;
    const password = `correct horse ${tag} pia`;
    secrets.push(password);
    expect(
      (await cli(['users', 'create', '--user', who, '--password-stdin', ...args()], { stdin: password })).code,
    ).toBe(0);
    const listed = await cli(['users', 'list', '--limit', '500', ...args()]);
    expect(listed.code, listed.err.join('\n')).toBe(0);
    expect(listed.out[0]).toMatch(/^USER +ROLE +STATUS +LAST LOGIN +LIVE KEYS$/);
    expect(listed.out.find((l) => l.startsWith(`${who} `))).toMatch(new RegExp(`^${who} +user +active +- +0$`));
    const page = JSON.parse((await cli(['users', 'list', '--limit', '1', '--json', ...args()])).out[0] ?? '{}') as {
      data: unknown[];
      next_cursor: string | null;
    };
    expect(page.data).toHaveLength(1);
    expect(page.next_cursor).not.toBeNull();

    const promoted = await cli(['users', 'set-role', who, 'operator', ...args()]);
    expect(promoted.out).toEqual([`user ${who}: operator, active, 0 live keys`]);
    const off = await cli(['users', 'disable', who, '--json', ...args()]);
    expect(JSON.parse(off.out[0] ?? '{}')).toMatchObject({ user: { id: who, role: 'operator', status: 'disabled' } });
    expect((await send('POST', '/api/v1/auth/login', undefined, { user: who, password })).status).toBe(401);
    expect((await cli(['users', 'enable', who, ...args()])).out).toEqual([
      `user ${who}: operator, active, 0 live keys`,
    ]);
    expect((await send('POST', '/api/v1/auth/login', undefined, { user: who, password })).status).toBe(200);

    const unknown = await cli(['users', 'disable', 'nobody-at-all', ...args()]);
    expect([unknown.code, unknown.err]).toEqual([1, [expect.stringMatching(/^error PRINCIPAL_NOT_FOUND: /)]]);
    const badRole = await cli(['users', 'set-role', who, 'emperor', ...args()]);
    expect(badRole.err).toEqual([expect.stringMatching(/^error VALIDATION_FAILED: /)]);
    const badLimit = await cli(['users', 'list', '--limit', 'lots', ...args()]);
    expect(badLimit.err).toEqual(['error VALIDATION_FAILED: --limit is a whole number from 1 to 500']);
  });
});

describe('credential commands through the service (--url)', () => {
  it('refuses a caller who may not manage keys, and one without a credential', async () => {
    const userKey = printedKey(await cli(['keys', 'create', '--role', 'user', '--user', 'erin']));
    const forbidden = await cli(['keys', 'create', '--role', 'admin', '--user', 'erin2'], { apiKey: userKey });
    expect(forbidden.code).toBe(1);
    expect(forbidden.out).toEqual([]);
    expect(forbidden.err).toEqual([expect.stringMatching(/^error FORBIDDEN: /)]);
    for (const command of [
      ['keys', 'list'],
      ['keys', 'revoke', 'aaaaaaaaaaaaaaaa'],
    ]) {
      expect((await cli(command, { apiKey: userKey })).err).toEqual([expect.stringMatching(/^error FORBIDDEN: /)]);
    }
    const users = await cli(['users', 'create', '--user', 'x', '--password-stdin'], {
      apiKey: userKey,
      stdin: 'long enough password',
    });
    expect(users.err).toEqual([expect.stringMatching(/^error FORBIDDEN: /)]);

    const anonymous = await cli(['keys', 'list'], { apiKey: undefined });
    expect(anonymous.code).toBe(1);
    expect(anonymous.err).toEqual([expect.stringMatching(/^error UNAUTHENTICATED: /)]);
  });

  it('makes keys only in the caller’s own tenant', async () => {
    const other = await cli(['keys', 'create', '--role', 'user', '--user', 'mallory', '--tenant', 'acme-http']);
    expect(other.code).toBe(1);
    expect(other.out).toEqual([]);
    expect(other.err).toEqual([
      expect.stringMatching(/^error FORBIDDEN: this credential belongs to tenant default: .*--db/),
    ]);
    // Nothing was made: neither the tenant nor a key.
    expect(await storage.unitOfWork.read.identity.getTenant('acme-http')).toBeUndefined();
    expect((await storage.unitOfWork.read.identity.listKeys('acme-http')).length).toBe(0);
    printedKey(await cli(['keys', 'create', '--role', 'user', '--user', 'mallory', '--tenant', 'default']));
  });

  it('says which way to go: --url or --db, not both; an unreachable service is named', async () => {
    const both = await cli(['keys', 'list', '--url', url, '--db', sqliteUrl]);
    expect(both.code).toBe(1);
    expect(both.err).toEqual([expect.stringMatching(/^error VALIDATION_FAILED: give --url .* or --db/)]);
    const noDb = await cli(['keys', 'list', '--db', 'postgres://someone:sekrit@127.0.0.1:1/none']);
    expect(noDb.code).toBe(1);
    expect(noDb.err).toEqual([expect.stringMatching(/^error DATABASE_UNAVAILABLE: cannot open the database: /)]);
    expect(noDb.err.join('')).not.toContain('sekrit');
    const down = await cli(['keys', 'list', '--url', 'http://127.0.0.1:1']);
    expect(down.code).toBe(1);
    expect(down.err).toEqual([expect.stringMatching(/^error SERVICE_UNREACHABLE: cannot reach http:\/\/127.0.0.1:1/)]);
  });
});

describe('credential commands on the database (--db)', () => {
  it('starts a new tenant with its admin key, which sees nothing of tenant default', async () => {
    const made = await cli(words(`keys create --db ${sqliteUrl} --tenant acme --role admin --user root`));
    const acmeKey = printedKey(made);
    expect(made.err[0]).toBe('created tenant acme');
    const audit = await storage.unitOfWork.read.audit.list('acme', 'tenant', 'acme');
    expect(audit).toMatchObject([{ action: 'tenant.created', actor: LOCAL_CLI_ACTOR }]);

    expect(await send('GET', '/api/v1/auth/me', acmeKey)).toMatchObject({
      status: 200,
      body: { tenant: 'acme', principal: 'root', role: 'admin' },
    });
    expect(await send('GET', '/api/v1/orders', acmeKey)).toMatchObject({ status: 200, body: { data: [] } });
    expect((await send('GET', `/api/v1/orders/${defaultOrderId}`, acmeKey)).status).toBe(404);
    expect((await send('GET', `/api/v1/orders/${defaultOrderId}`, adminKey)).status).toBe(200);

    // The new admin manages acme through the service, and only acme.
    const listed = await cli(['keys', 'list', '--json'], { apiKey: acmeKey });
    const rows = (JSON.parse(listed.out[0] ?? '{}') as { data: KeyView[] }).data;
    expect(rows.map((k) => k.principal)).toEqual(['root']);
    const refused = await cli(['keys', 'list', '--tenant', 'default'], { apiKey: acmeKey });
    expect(refused.err).toEqual([expect.stringMatching(/^error FORBIDDEN: this credential belongs to tenant acme/)]);
    const person = await cli(['users', 'create', '--user', 'ann', '--password-stdin', '--tenant', 'acme'], {
      apiKey: acmeKey,
      stdin: 'ann’s long password',
    });
    expect(person.code, person.err.join('\n')).toBe(0);
    secrets.push('ann’s long password');
    expect(
      (
        await send('POST', '/api/v1/auth/login', undefined, {
          tenant: 'acme',
          user: 'ann',
          password: 'ann’s long password',
        })
      ).status,
    ).toBe(200);
    // ann is acme's, not default's.
    expect(
      (await send('POST', '/api/v1/auth/login', undefined, { user: 'ann', password: 'ann’s long password' })).status,
    ).toBe(401);

    // A second key in acme: the tenant exists now, nothing to announce.
    const again = await cli(words(`keys create --db ${sqliteUrl} --tenant acme --role viewer --user v`));
    printedKey(again);
    expect(again.err.join('\n')).not.toContain('created tenant');
  });

  it('acts as the tenant’s admin, audited as the local CLI', async () => {
    const made = await cli(['keys', 'create', '--db', sqliteUrl, '--role', 'operator', '--user', 'olga', '--json']);
    const { key, api_key: view } = JSON.parse(made.out[0] ?? '{}') as { key: string; api_key: KeyView };
    secrets.push(key);
    const audit = await storage.unitOfWork.read.audit.list('default', 'api_key', view.id);
    expect(audit).toMatchObject([{ action: 'api_key.created', actor: LOCAL_CLI_ACTOR, after: { principal: 'olga' } }]);
    expect(JSON.stringify(audit)).not.toContain(key);
  });

  it('refuses a tenant name that is not one, and creates nothing', async () => {
    const bad = await cli([...words(`keys create --db ${sqliteUrl} --role user --user x`), '--tenant', 'no such!']);
    expect(bad.code).toBe(1);
    expect(bad.err).toEqual(['error VALIDATION_FAILED: a tenant is 1–64 letters, digits, _ or -']);
    expect(await storage.unitOfWork.read.identity.getTenant('no such!')).toBeUndefined();
    // A refused request does not leave an empty tenant behind either.
    const refused = await cli(words(`keys create --db ${sqliteUrl} --tenant ghost --role nope --user x`));
    expect(refused.err).toEqual([expect.stringMatching(/^error VALIDATION_FAILED: role is one of/)]);
    expect(await storage.unitOfWork.read.identity.getTenant('ghost')).toBeUndefined();
  });

  it('works as a process of its own: the key and the password from standard input', async () => {
    const autoglm = (argv: string[], input?: string): { out: string; err: string; code: number } => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/support/cli-child.ts', ...argv], {
        env: { ...process.env, AUTOGLM_API_KEY: '', AUTOGLM_LOG_LEVEL: 'warn' },
        encoding: 'utf8',
        timeout: 120_000,
        ...(input === undefined ? {} : { input }),
      });
      return { out: r.stdout, err: r.stderr, code: r.status ?? -1 };
    };
    const made = autoglm(['keys', 'create', '--db', sqliteUrl, '--role', 'user', '--user', 'pat']);
    expect(made.code, made.err).toBe(0);
    expect(made.err).toMatch(/shown this once/);
    const key = made.out.trim();
    expect(key).toMatch(/^agk_[a-z2-7]{16}_[\w-]{43}$/);
    secrets.push(key);
    const user = autoglm(
      ['users', 'create', '--db', sqliteUrl, '--user', 'pat', '--password-stdin'],
      'pat’s long password\n',
    );
    expect(user.code, user.err).toBe(0);
    secrets.push('pat’s long password');
    expect(await send('GET', '/api/v1/auth/me', key)).toMatchObject({ status: 200, body: { principal: 'pat' } });
    const login = await send('POST', '/api/v1/auth/login', undefined, { user: 'pat', password: 'pat’s long password' });
    expect(login.status).toBe(200);
  }, 240_000);
});

const pgWanted = await postgresWanted();

describe.runIf(pgWanted)('credential commands on a PostgreSQL database (--db postgres://…)', () => {
  let db: TestDatabase;
  let pgApp: App;
  let pgUrl: string;
  beforeAll(async () => {
    db = await createTestDatabase('idcli');
    pgApp = (await startTestApp({ database: { url: db.url } })).app;
    pgUrl = await pgApp.listen();
  });
  afterAll(async () => {
    await pgApp.close();
    await db.drop();
  });

  it('makes a key and a person the running service accepts at once', async () => {
    const made = await cli(['keys', 'create', '--db', db.url, '--tenant', 'acme', '--role', 'admin', '--user', 'root']);
    const key = printedKey(made);
    const me = await fetch(`${pgUrl}/api/v1/auth/me`, { headers: { authorization: `Bearer ${key}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ tenant: 'acme', principal: 'root' });
    const user = await cli(['users', 'create', '--db', db.url, '--user', 'quinn', '--password-stdin'], {
      stdin: 'quinn’s long password',
    });
    expect(user.code, user.err.join('\n')).toBe(0);
    secrets.push('quinn’s long password');
    const login = await fetch(`${pgUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'quinn', password: 'quinn’s long password' }),
    });
    expect(login.status).toBe(200);
    const revoked = await cli(['keys', 'revoke', key, '--db', db.url, '--tenant', 'acme']);
    expect(revoked.code, revoked.err.join('\n')).toBe(0);
    expect((await fetch(`${pgUrl}/api/v1/auth/me`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(401);
  });
});

describe('what is logged', () => {
  it('never holds a key or a password: not the service’s log, not the local commands’', () => {
    expect(secrets.length).toBeGreaterThan(10);
    const serviceLog = service.output();
    expect(serviceLog).toMatch(/"msg":"request completed"/);
    for (const secret of secrets) {
      expect(serviceLog).not.toContain(secret);
      expect(localLogs.text).not.toContain(secret);
    }
  });
});
