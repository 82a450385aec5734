import type { Command } from 'commander';
import type { CreateOptions, IdentityApi, KeyView, PersonView } from '../../application/identity/identity-api.js';
import type { Caller } from '../../application/kernel/caller.js';
import { API_KEY_PREFIX } from '../../domain/auth/credentials.js';
import { ROLES } from '../../domain/auth/permissions.js';
import type { Result } from '../../domain/result.js';

/** The identity capability on a database opened in this process (`--db`), as the composition root builds it. */
export interface LocalIdentity {
  readonly api: Pick<
    IdentityApi,
    'createKey' | 'listKeys' | 'revokeKey' | 'createUser' | 'listPeople' | 'updatePerson'
  >;
  /** The tenant a command acts on without `--tenant` (`tenant.default_id`). */
  readonly defaultTenant: string;
  /** Who a local command acts as: the tenant's administrator, audited as the local CLI. */
  administrator(tenantId: string): Caller;
  close(): Promise<void>;
}

/** What the credential commands need from the composition root. */
export interface CredentialCliDeps {
  /** Open the identity capability on this database (sqlite:PATH or postgres://…), for `--db`. */
  readonly openIdentity?: (db: string) => Promise<LocalIdentity>;
  /** Everything on standard input (`--password-stdin`). */
  readonly readStdin?: () => Promise<string>;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

type Call = (
  o: { url: string; apiKey?: string | undefined },
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: unknown }>;

type Fail = (code: string, message: string) => never;

interface ModeOptions {
  url: string;
  db?: string;
  tenant?: string;
  json?: boolean;
  apiKey?: string | undefined;
}

/** One way to reach the identity capability: through the service (`--url`) or on the database (`--db`). */
interface Backend {
  /** The answer's body, shaped as the HTTP API's, on success. */
  createKey(request: KeyRequest): Promise<{ key: string; api_key: KeyView }>;
  listKeys(): Promise<{ data: KeyView[] }>;
  revokeKey(id: string): Promise<{ api_key: KeyView }>;
  createUser(request: UserRequest): Promise<{ user: { id: string; role: string } }>;
  listUsers(page: { limit: number; cursor?: string }): Promise<{ data: PersonView[]; next_cursor: string | null }>;
  updateUser(id: string, change: { role?: string; disabled?: boolean }): Promise<{ user: PersonView }>;
  close(): Promise<void>;
}

interface KeyRequest {
  role: string;
  user: string;
  acts_for?: string;
  expires_at?: string;
}

interface UserRequest {
  user: string;
  password: string;
  role?: string;
}

/** Through the running service, with the credential every client command sends; always the caller's own tenant. */
async function httpBackend(o: ModeOptions, call: Call, fail: Fail): Promise<Backend> {
  const target = { url: o.url, apiKey: o.apiKey };
  const answer = async <T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> => {
    const r = await call(target, method, path, body);
    if (r.status < 400) return r.body as T;
    const p = r.body as { code?: unknown; detail?: unknown } | null;
    return fail(
      typeof p?.code === 'string' ? p.code : `HTTP_${r.status}`,
      typeof p?.detail === 'string' ? p.detail : JSON.stringify(r.body),
    );
  };
  if (o.tenant !== undefined) {
    // The service makes credentials only in the caller's own tenant: say so rather than act elsewhere.
    const me = await answer<{ tenant: string }>('GET', '/api/v1/auth/me');
    if (me.tenant !== o.tenant) {
      fail(
        'FORBIDDEN',
        `this credential belongs to tenant ${me.tenant}: over --url credentials are made only in the caller's ` +
          `own tenant (an administrator of the database uses --db to act on tenant ${o.tenant})`,
      );
    }
  }
  return {
    createKey: (request) => answer('POST', '/api/v1/admin/keys', request),
    listKeys: () => answer('GET', '/api/v1/admin/keys'),
    revokeKey: (id) => answer('DELETE', `/api/v1/admin/keys/${encodeURIComponent(id)}`),
    createUser: (request) => answer('POST', '/api/v1/admin/users', request),
    listUsers: ({ limit, cursor }) =>
      answer(
        'GET',
        `/api/v1/admin/users?limit=${limit}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
      ),
    updateUser: (id, change) => answer('PATCH', `/api/v1/admin/users/${encodeURIComponent(id)}`, change),
    close: () => Promise.resolve(),
  };
}

/** On the database in this process, as the tenant's administrator; `--tenant` may name a new tenant. */
async function localBackend(o: ModeOptions & { db: string }, deps: CredentialCliDeps, fail: Fail): Promise<Backend> {
  const open = deps.openIdentity ?? fail('UNSUPPORTED', '--db is not available here');
  const local = await open(o.db).catch((e: unknown) =>
    // Not the URL itself: a PostgreSQL URL may carry a password.
    fail('DATABASE_UNAVAILABLE', `cannot open the database: ${e instanceof Error ? e.message : String(e)}`),
  );
  const caller = local.administrator(o.tenant ?? local.defaultTenant);
  const creating: CreateOptions = { createTenant: true };
  const value = <T>(r: Result<T>): T => (r.ok ? r.value : fail(r.error.code, r.error.message));
  const noteTenant = (created: boolean): void => {
    if (created) deps.err(`created tenant ${caller.tenantId}`);
  };
  return {
    async createKey(request) {
      const made = value(
        await local.api.createKey(
          caller,
          {
            role: request.role,
            user: request.user,
            ...(request.acts_for === undefined ? {} : { actsFor: request.acts_for }),
            ...(request.expires_at === undefined ? {} : { expiresAt: request.expires_at }),
          },
          creating,
        ),
      );
      noteTenant(made.tenantCreated);
      return { key: made.key, api_key: made.view };
    },
    listKeys: async () => ({ data: value(await local.api.listKeys(caller)) }),
    revokeKey: async (id) => ({ api_key: value(await local.api.revokeKey(caller, id)) }),
    async createUser(request) {
      const made = value(await local.api.createUser(caller, request, creating));
      noteTenant(made.tenantCreated);
      return { user: { id: made.id, role: made.role } };
    },
    async listUsers({ limit, cursor }) {
      const data = value(
        await local.api.listPeople(caller, { limit, ...(cursor === undefined ? {} : { after: cursor }) }),
      );
      const last = data.at(-1);
      return { data, next_cursor: data.length === limit && last !== undefined ? last.id : null };
    },
    updateUser: async (id, change) => ({ user: value(await local.api.updatePerson(caller, id, change)) }),
    close: () => local.close(),
  };
}

const never = (at: string | null): string => at ?? '-';

function keyRow(k: KeyView): string[] {
  const who = k.acts_for === null ? k.principal : `${k.principal} (for ${k.acts_for})`;
  return [k.prefix, who, k.role, k.created_at, never(k.expires_at), never(k.revoked_at)];
}

/** Rows as aligned columns. */
function columns(rows: readonly string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

/** A key's id as `keys list` shows it (its prefix `agk_<id>`) or bare. */
function keyIdOf(text: string): string {
  if (!text.startsWith(API_KEY_PREFIX)) return text;
  return text.slice(API_KEY_PREFIX.length).split('_')[0] ?? '';
}

/**
 * The tenant's credentials: `keys create|list|revoke` (registered on the `keys` group, which other
 * key commands share) and `users create`. Through the service (`--url`, with the credential every
 * client command sends) or on the database itself (`--db`, as the tenant's administrator).
 */
export function registerCredentialCommands(
  program: Command,
  keys: Command,
  deps: CredentialCliDeps & { readonly defaultUrl: string; readonly apiKey?: string | undefined },
  call: Call,
  fail: Fail,
): void {
  const modes = (cmd: Command): Command =>
    cmd
      .option('--url <url>', 'service URL (the credential: AUTOGLM_API_KEY, else the admin key file)', deps.defaultUrl)
      .option('--db <url>', 'act on this database in this process instead (sqlite:PATH or postgres://…), as its admin')
      .option('--tenant <id>', 'the tenant (--db: created if new; --url: must be the credential’s own)')
      .option('--json', 'print the JSON answer')
      .hook('preAction', (c) => {
        if (c.getOptionValue('db') !== undefined && c.getOptionValueSource('url') === 'cli') {
          fail('VALIDATION_FAILED', 'give --url (through the service) or --db (on the database), not both');
        }
        c.setOptionValue('apiKey', deps.apiKey);
      });

  const withBackend = async <T>(o: ModeOptions, run: (b: Backend) => Promise<T>): Promise<T> => {
    const backend =
      o.db === undefined ? await httpBackend(o, call, fail) : await localBackend({ ...o, db: o.db }, deps, fail);
    try {
      return await run(backend);
    } finally {
      await backend.close();
    }
  };

  modes(
    keys
      .command('create')
      .description('make an API key for a person or an agent; the key is printed once, only its prefix is kept')
      .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
      .requiredOption('--user <name>', 'whose key: a person, or the agent itself (made if new)')
      .option('--acts-for <person>', 'an agent key: the one person the agent acts for')
      .option('--expires-at <iso>', 'when the key stops working (ISO 8601), e.g. 2026-12-31T00:00:00Z'),
  ).action(async (o: ModeOptions & { role: string; user: string; actsFor?: string; expiresAt?: string }) => {
    const request: KeyRequest = {
      role: o.role,
      user: o.user,
      ...(o.actsFor === undefined ? {} : { acts_for: o.actsFor }),
      ...(o.expiresAt === undefined ? {} : { expires_at: o.expiresAt }),
    };
    const made = await withBackend(o, (b) => b.createKey(request));
    if (o.json === true) {
      deps.out(JSON.stringify({ key: made.key, api_key: made.api_key }));
      return;
    }
    // The notice on stderr, the key alone on stdout: KEY=$(autoglm keys create …) keeps just the key.
    const k = made.api_key;
    deps.err(
      `API key ${k.prefix} for ${k.principal} (${k.role}${k.acts_for === null ? '' : ` for ${k.acts_for}`}), ` +
        'shown this once — store it now (only its prefix is kept):',
    );
    deps.out(made.key);
  });

  modes(keys.command('list').description('the tenant’s API keys (never their secrets)')).action(
    async (o: ModeOptions) => {
      const { data } = await withBackend(o, (b) => b.listKeys());
      if (o.json === true) {
        deps.out(JSON.stringify({ data }));
        return;
      }
      const header = ['PREFIX', 'PRINCIPAL', 'ROLE', 'CREATED', 'EXPIRES', 'REVOKED'];
      for (const line of columns([header, ...data.map(keyRow)])) deps.out(line);
    },
  );

  modes(
    keys
      .command('revoke <id>')
      .description('revoke an API key at once (its id, or its prefix agk_<id> as `keys list` shows it)'),
  ).action(async (id: string, o: ModeOptions) => {
    const { api_key: k } = await withBackend(o, (b) => b.revokeKey(keyIdOf(id)));
    if (o.json === true) deps.out(JSON.stringify({ api_key: k }));
    else deps.out(`revoked ${k.prefix} of ${k.principal} at ${never(k.revoked_at)}`);
  });

  const users = program.command('users').description('people who log in with a password');
  modes(
    users
      .command('create')
      .description('make a person who logs in (POST /api/v1/auth/login), or set their password')
      .requiredOption('--user <name>', 'their user name')
      .option('--password-stdin', 'read the password from standard input (preferred)')
      .option(
        '--password <password>',
        'the password (discouraged: shells and process lists keep it; use --password-stdin)',
      )
      .option('--role <role>', 'admin, operator, user or viewer', 'user'),
  ).action(async (o: ModeOptions & { user: string; password?: string; passwordStdin?: boolean; role: string }) => {
    if (o.password !== undefined && o.passwordStdin === true) {
      fail('VALIDATION_FAILED', 'give the password one way: --password-stdin or --password');
    }
    let password = o.password;
    if (o.passwordStdin === true) {
      const read = deps.readStdin ?? fail('UNSUPPORTED', 'standard input is not available here');
      // One trailing newline is the shell's (echo, a heredoc), not the password's.
      password = (await read()).replace(/\r?\n$/, '');
    }
    if (password === undefined) fail('VALIDATION_FAILED', 'give the password on standard input (--password-stdin)');
    const made = await withBackend(o, (b) => b.createUser({ user: o.user, password, role: o.role }));
    if (o.json === true) deps.out(JSON.stringify({ user: made.user }));
    else deps.out(`user ${made.user.id} (${made.user.role}) can log in`);
  });

  modes(
    users
      .command('list')
      .description('the tenant’s people: role, status, last login, live API keys')
      .option('--limit <n>', 'at most this many (1–500)', '100')
      .option('--cursor <id>', 'the page after this person (the next_cursor printed before)'),
  ).action(async (o: ModeOptions & { limit: string; cursor?: string }) => {
    if (!/^[0-9]{1,3}$/.test(o.limit) || Number(o.limit) < 1 || Number(o.limit) > 500)
      fail('VALIDATION_FAILED', '--limit is a whole number from 1 to 500');
    const page = await withBackend(o, (b) =>
      b.listUsers({ limit: Number(o.limit), ...(o.cursor === undefined ? {} : { cursor: o.cursor }) }),
    );
    if (o.json === true) {
      deps.out(JSON.stringify(page));
      return;
    }
    const header = ['USER', 'ROLE', 'STATUS', 'LAST LOGIN', 'LIVE KEYS'];
    const rows = page.data.map((p) => [p.id, p.role, p.status, never(p.last_login_at), String(p.live_keys)]);
    for (const line of columns([header, ...rows])) deps.out(line);
    if (page.next_cursor !== null) deps.err(`more: --cursor ${page.next_cursor}`);
  });

  const report = (o: ModeOptions, p: PersonView): void => {
    if (o.json === true) deps.out(JSON.stringify({ user: p }));
    else deps.out(`user ${p.id}: ${p.role}, ${p.status}, ${p.live_keys} live keys`);
  };
  modes(
    users
      .command('set-role <user> <role>')
      .description('give a person another role (admin, operator, user, viewer), from their next request'),
  ).action(async (user: string, role: string, o: ModeOptions) => {
    report(o, (await withBackend(o, (b) => b.updateUser(user, { role }))).user);
  });
  modes(
    users
      .command('disable <user>')
      .description('end a person’s logins and revoke their (and their agents’) API keys at once; login then fails'),
  ).action(async (user: string, o: ModeOptions) => {
    report(o, (await withBackend(o, (b) => b.updateUser(user, { disabled: true }))).user);
  });
  modes(
    users.command('enable <user>').description('let a disabled person log in again (revoked keys stay revoked)'),
  ).action(async (user: string, o: ModeOptions) => {
    report(o, (await withBackend(o, (b) => b.updateUser(user, { disabled: false }))).user);
  });
}
