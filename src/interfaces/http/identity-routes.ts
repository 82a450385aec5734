import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AbuseApi } from '../../application/abuse/abuse-api.js';
import type { IdentityApi, Session } from '../../application/identity/identity-api.js';
import type { Result } from '../../domain/result.js';
import { ACCESS_COOKIE, CSRF_COOKIE, REFRESH_COOKIE } from './plumbing/authenticate.js';
import { type HttpResult, parseId, problemResult, send, validationResult } from './plumbing/http-result.js';
import { problem, sendProblem } from './plumbing/problem.js';
import { ipSource } from './plumbing/sources.js';
import { ROLES } from '../../domain/auth/permissions.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';
import { PRINCIPAL_ID_RE } from '../../domain/auth/credentials.js';
import { keyViewSchema, listOf, personViewSchema, sessionSchema } from './plumbing/openapi/view-schemas.js';
import { idParamSchema } from './plumbing/validation.js';

const loginSchema = z
  .object({
    tenant: z.string().min(1).max(64).optional(),
    user: z.string().min(1).max(64),
    password: z.string().max(1024),
  })
  .strict();
const refreshSchema = z.object({ refresh_token: z.string().min(1).max(200).optional() }).strict();
const keySchema = z
  .object({
    role: z.string(),
    user: z.string(),
    acts_for: z.string().optional(),
    expires_at: z.string().optional(),
  })
  .strict();
const userSchema = z.object({ user: z.string(), password: z.string().max(1024), role: z.string().optional() }).strict();
const peopleQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100),
    cursor: z.string().regex(PRINCIPAL_ID_RE, 'cursor is the next_cursor of the page before').optional(),
  })
  .strict();
const personParamSchema = z.object({ id: z.string().regex(PRINCIPAL_ID_RE) }).strict();
const personPatchSchema = z
  .object({
    role: z.enum(ROLES.filter((r) => r !== 'agent') as ['admin', 'operator', 'user', 'viewer']).optional(),
    disabled: z.boolean().optional(),
  })
  .strict();

/** What each route says of itself in the OpenAPI document (GET /openapi.json, GET /docs). */
const DOCS = {
  login: {
    summary: 'Log in',
    description:
      'A person’s password for an access token (JWT) and a refresh token; a browser also gets the session ' +
      'cookies. A wrong password counts against the address.',
    tags: ['identity'],
    body: loginSchema,
    example: { user: 'alice', password: 'correct horse battery staple' },
    responses: {
      200: {
        description: 'the session',
        body: sessionSchema,
        headers: {
          'Set-Cookie':
            'the session cookies: `autoglm_access`, `autoglm_refresh` (HttpOnly) and `autoglm_csrf` (to echo in ' +
            'X-CSRF-Token)',
        },
      },
    },
    errors: ['INVALID_CREDENTIALS'],
  },
  refresh: {
    summary: 'Renew a session',
    description:
      'A refresh token (in the body or its cookie) for a new pair; each refresh token works once, and reusing ' +
      'one ends the login.',
    tags: ['identity'],
    body: refreshSchema,
    bodyOptional: true,
    responses: {
      200: {
        description: 'the new session',
        body: sessionSchema,
        headers: {
          'Set-Cookie':
            'the session cookies: `autoglm_access`, `autoglm_refresh` (HttpOnly) and `autoglm_csrf` (to echo in ' +
            'X-CSRF-Token)',
        },
      },
    },
    errors: ['UNAUTHENTICATED', 'INVALID_CREDENTIALS', 'REFRESH_TOKEN_REUSED'],
  },
  logout: {
    summary: 'Log out',
    description: 'Ends the login of this refresh token and clears the cookies.',
    tags: ['identity'],
    body: refreshSchema,
    bodyOptional: true,
    responses: { 204: { description: 'logged out' } },
    errors: ['UNAUTHENTICATED', 'INVALID_CREDENTIALS', 'REFRESH_TOKEN_REUSED'],
  },
  me: {
    summary: 'Who am I',
    tags: ['identity'],
    responses: {
      200: {
        description: 'the caller',
        body: z.object({
          tenant: z.string(),
          principal: z.string().nullable(),
          role: z.enum(ROLES),
          acts_for: z.string(),
          actor: z.string(),
          deployment: z
            .boolean()
            .describe(
              "whether the credential is of the deployment's home tenant: only then do the permissions that " +
                'span every tenant (reconciliations, the configuration reload, metrics from elsewhere) apply',
            ),
        }),
      },
    },
  },
  createKey: {
    summary: 'Make an API key',
    description:
      'The key is shown here once (never stored, never logged). An `agent` key acts for the person named in ' +
      '`acts_for`.',
    tags: ['identity'],
    body: keySchema,
    example: { role: 'agent', user: 'alice-assistant', acts_for: 'alice' },
    responses: {
      201: {
        description: 'the key, once, and what the list shows of it',
        body: z.object({ key: z.string().describe('agk_…'), api_key: keyViewSchema }),
      },
    },
    errors: ['PRINCIPAL_NOT_FOUND', 'PRINCIPAL_EXISTS'],
  },
  listKeys: {
    summary: 'API keys',
    tags: ['identity'],
    responses: { 200: { description: 'keys', body: listOf(keyViewSchema) } },
  },
  revokeKey: {
    summary: 'Revoke an API key',
    tags: ['identity'],
    params: idParamSchema,
    responses: { 200: { description: 'the revoked key', body: z.object({ api_key: keyViewSchema }) } },
    errors: ['KEY_NOT_FOUND'],
  },
  createUser: {
    summary: 'Make a user',
    description: 'A person who logs in with a password.',
    tags: ['identity'],
    body: userSchema,
    example: { user: 'alice', password: 'correct horse battery staple', role: 'user' },
    responses: {
      201: { description: 'the user', body: z.object({ user: z.object({ id: z.string(), role: z.enum(ROLES) }) }) },
    },
    errors: ['PRINCIPAL_EXISTS'],
  },
  listUsers: {
    summary: 'People',
    description:
      'Every person of the caller’s tenant (agents are listed with their keys), by id, a page at a time: pass ' +
      '`next_cursor` back as `cursor`.',
    tags: ['identity'],
    query: peopleQuerySchema,
    responses: {
      200: {
        description: 'a page of people',
        body: z.object({ data: z.array(personViewSchema), next_cursor: z.string().nullable() }),
      },
    },
  },
  updateUser: {
    summary: 'Change a person’s role, disable or enable them',
    description:
      'Effective from their next request. Disabling ends every login of theirs at once (refresh tokens revoked, ' +
      'and the access tokens issued under them refused), revokes their live API keys and those of the agents ' +
      'acting for them, and their password login then answers like a wrong password. Enabling lets them log in ' +
      'afresh; what was revoked stays revoked. Nobody changes themself, and the tenant keeps at least one ' +
      'active admin. Audited with before and after.',
    tags: ['identity'],
    params: personParamSchema,
    body: personPatchSchema,
    example: { disabled: true },
    responses: { 200: { description: 'the person, changed', body: z.object({ user: personViewSchema }) } },
    errors: ['PRINCIPAL_NOT_FOUND', 'SELF_CHANGE_REFUSED', 'LAST_ADMIN'],
  },
} satisfies Record<string, RouteDoc>;

interface CookieReply {
  setCookie(name: string, value: string, options: Record<string, unknown>): FastifyReply;
  clearCookie(name: string, options: Record<string, unknown>): FastifyReply;
}

/**
 * Logins and credentials: POST /api/v1/auth/login|refresh|logout (a browser gets HttpOnly,
 * SameSite=Strict cookies — Secure when the request came over TLS — and a CSRF cookie to echo),
 * GET /api/v1/auth/me, and for admins /api/v1/admin/keys and /api/v1/admin/users (list, make, change a
 * role, disable, enable). A wrong password
 * or a refused refresh token counts against the address, like any refused credential. Transport only.
 */
export function registerIdentityRoutes(
  app: FastifyInstance,
  {
    identity,
    abuse,
    homeTenant,
  }: {
    readonly identity: IdentityApi;
    readonly abuse: Pick<AbuseApi, 'recordFailure'>;
    /** The deployment's own tenant (`tenant.default_id`). */
    readonly homeTenant: string;
  },
): void {
  // Over TLS, here or at a proxy `server.trust_proxy` believes (X-Forwarded-Proto), cookies are
  // Secure: a browser then never sends them over plain HTTP.
  const base = (req: FastifyRequest) => ({ path: '/', sameSite: 'strict', secure: req.protocol === 'https' }) as const;
  const refused = async (req: FastifyRequest, r: Result<unknown>): Promise<void> => {
    if (!r.ok) await abuse.recordFailure(ipSource(req), 'authentication', req.id);
  };
  const session = async (req: FastifyRequest, reply: FastifyReply, r: Result<Session>): Promise<FastifyReply> => {
    await refused(req, r);
    if (!r.ok) return send(reply, problemResult(req, r.error));
    const s = r.value;
    const cookies = reply as unknown as CookieReply;
    cookies.setCookie(ACCESS_COOKIE, s.access_token, { ...base(req), httpOnly: true, maxAge: s.expires_in });
    cookies.setCookie(REFRESH_COOKIE, s.refresh_token, {
      ...base(req),
      httpOnly: true,
      path: '/api/v1/auth',
      maxAge: s.refresh_expires_in,
    });
    // Readable by the page, which echoes it in X-CSRF-Token: a cross-site page cannot read it.
    cookies.setCookie(CSRF_COOKIE, randomBytes(24).toString('base64url'), { ...base(req), httpOnly: false });
    return reply.header('cache-control', 'no-store').send(s);
  };
  const refreshTokenOf = (req: FastifyRequest, body: { refresh_token?: string | undefined }): string | undefined =>
    body.refresh_token ??
    (req as FastifyRequest & { cookies?: Record<string, string | undefined> }).cookies?.[REFRESH_COOKIE];

  app.post('/api/v1/auth/login', { config: { public: true, openapi: DOCS.login } }, async (req, reply) => {
    const b = loginSchema.safeParse(req.body);
    if (!b.success) return send(reply, validationResult(req, b.error));
    return session(req, reply, await identity.login(b.data));
  });

  app.post('/api/v1/auth/refresh', { config: { public: true, openapi: DOCS.refresh } }, async (req, reply) => {
    const b = refreshSchema.safeParse(req.body ?? {});
    if (!b.success) return send(reply, validationResult(req, b.error));
    const token = refreshTokenOf(req, b.data);
    if (token === undefined) return sendProblem(reply, problem('UNAUTHENTICATED', 'send the refresh token', req.id));
    return session(req, reply, await identity.refresh(token));
  });

  app.post('/api/v1/auth/logout', { config: { public: true, openapi: DOCS.logout } }, async (req, reply) => {
    const b = refreshSchema.safeParse(req.body ?? {});
    if (!b.success) return send(reply, validationResult(req, b.error));
    const token = refreshTokenOf(req, b.data);
    if (token === undefined) return sendProblem(reply, problem('UNAUTHENTICATED', 'send the refresh token', req.id));
    const r = await identity.logout(token);
    await refused(req, r);
    if (!r.ok) return send(reply, problemResult(req, r.error));
    const cookies = reply as unknown as CookieReply;
    for (const name of [ACCESS_COOKIE, CSRF_COOKIE]) cookies.clearCookie(name, base(req));
    cookies.clearCookie(REFRESH_COOKIE, { ...base(req), path: '/api/v1/auth' });
    return reply.code(204).send();
  });

  app.get('/api/v1/auth/me', { config: { permission: 'actions.read', openapi: DOCS.me } }, (req) => ({
    tenant: req.caller.tenantId,
    principal: req.principal?.id ?? null,
    role: req.caller.role,
    acts_for: req.caller.userId,
    actor: req.caller.actor,
    deployment: req.caller.tenantId === homeTenant,
  }));

  const created = (r: Result<unknown>, req: FastifyRequest, body: (v: never) => unknown): HttpResult =>
    r.ok ? { status: 201, body: body(r.value as never), store: false } : problemResult(req, r.error);

  app.post(
    '/api/v1/admin/keys',
    { config: { permission: 'keys.manage', openapi: DOCS.createKey } },
    async (req, reply) => {
      const b = keySchema.safeParse(req.body);
      if (!b.success) return send(reply, validationResult(req, b.error));
      const r = await identity.createKey(req.caller, {
        role: b.data.role,
        user: b.data.user,
        ...(b.data.acts_for === undefined ? {} : { actsFor: b.data.acts_for }),
        ...(b.data.expires_at === undefined ? {} : { expiresAt: b.data.expires_at }),
      });
      // The key is shown here once: never stored, never logged, not cached by anyone in between.
      void reply.header('cache-control', 'no-store');
      return send(
        reply,
        created(r, req, (v: { key: string; view: unknown }) => ({ key: v.key, api_key: v.view })),
      );
    },
  );

  app.get(
    '/api/v1/admin/keys',
    { config: { permission: 'keys.manage', openapi: DOCS.listKeys } },
    async (req, reply) => {
      const r = await identity.listKeys(req.caller);
      return r.ok ? { data: r.value } : send(reply, problemResult(req, r.error));
    },
  );

  app.delete(
    '/api/v1/admin/keys/:id',
    { config: { permission: 'keys.manage', openapi: DOCS.revokeKey } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, problem('KEY_NOT_FOUND', 'no such key', req.id));
      const r = await identity.revokeKey(req.caller, id);
      return r.ok ? { api_key: r.value } : send(reply, problemResult(req, r.error));
    },
  );

  app.post(
    '/api/v1/admin/users',
    { config: { permission: 'users.manage', openapi: DOCS.createUser } },
    async (req, reply) => {
      const b = userSchema.safeParse(req.body);
      if (!b.success) return send(reply, validationResult(req, b.error));
      const r = await identity.createUser(req.caller, {
        user: b.data.user,
        password: b.data.password,
        ...(b.data.role === undefined ? {} : { role: b.data.role }),
      });
      return send(
        reply,
        created(r, req, (v: { id: string; role: string }) => ({ user: { id: v.id, role: v.role } })),
      );
    },
  );

  app.get(
    '/api/v1/admin/users',
    { config: { permission: 'users.manage', openapi: DOCS.listUsers } },
    async (req, reply) => {
      const q = peopleQuerySchema.safeParse(req.query ?? {});
      if (!q.success) return send(reply, validationResult(req, q.error));
      const r = await identity.listPeople(req.caller, {
        limit: q.data.limit,
        ...(q.data.cursor === undefined ? {} : { after: q.data.cursor }),
      });
      if (!r.ok) return send(reply, problemResult(req, r.error));
      const last = r.value.at(-1);
      return { data: r.value, next_cursor: r.value.length === q.data.limit && last !== undefined ? last.id : null };
    },
  );

  app.patch(
    '/api/v1/admin/users/:id',
    { config: { permission: 'users.manage', openapi: DOCS.updateUser } },
    async (req, reply) => {
      const p = personParamSchema.safeParse(req.params);
      if (!p.success) return sendProblem(reply, problem('PRINCIPAL_NOT_FOUND', 'no such person', req.id));
      const b = personPatchSchema.safeParse(req.body ?? {});
      if (!b.success) return send(reply, validationResult(req, b.error));
      const r = await identity.updatePerson(req.caller, p.data.id, b.data);
      return r.ok ? { user: r.value } : send(reply, problemResult(req, r.error));
    },
  );
}
