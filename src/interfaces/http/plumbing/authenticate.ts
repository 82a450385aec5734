import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { type IdentityApi, callerOf, type Principal } from '../../../application/identity/identity-api.js';
import type { Caller } from '../../../application/kernel/caller.js';
import { can, DEPLOYMENT_PERMISSIONS, type Permission, PERMISSIONS } from '../../../domain/auth/permissions.js';
import { problem, sendProblem } from './problem.js';
import { credentialSource, ipSource } from './sources.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What a route needs (`domain/auth/permissions.ts`); every route names one, or says it is public. */
    permission?: Permission;
    /** Open to anyone: health, readiness, login, and callbacks (which carry their own signatures). */
    public?: boolean;
    /** Open without a credential when the request comes from this machine (the metrics scrape). */
    publicOnLoopback?: boolean;
  }
  interface FastifyRequest {
    caller: Caller;
    principal: Principal | undefined;
  }
  interface FastifyInstance {
    /** Every route and what it needs, as registered (for the permission-matrix test and the docs). */
    routeTable: RouteAccess[];
  }
}

/** One route and what it takes to call it. */
export interface RouteAccess {
  readonly method: string;
  readonly url: string;
  readonly access: Permission | 'public' | 'public-on-loopback';
}

/** The cookies a browser session rides on (set by POST /api/v1/auth/login). */
export const ACCESS_COOKIE = 'autoglm_access';
export const REFRESH_COOKIE = 'autoglm_refresh';
export const CSRF_COOKIE = 'autoglm_csrf';
const CSRF_HEADER = 'x-csrf-token';
const ACT_FOR_HEADER = 'x-act-for';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AuthOptions {
  readonly identity: Pick<IdentityApi, 'authenticate'>;
  /** Told of every refused credential (the abuse guard blocks sources that keep trying). */
  readonly onRefused?: (req: FastifyRequest) => Promise<unknown>;
  /** The deployment's own tenant (`tenant.default_id`): the only one whose credentials get DEPLOYMENT_PERMISSIONS. */
  readonly homeTenant: string;
}

/** Marks a route whose own onRequest hooks include the check (set as the route is added). */
const GUARDED = Symbol('autoglm.guarded');

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * Every request names who it is: `Authorization: Bearer <API key or access token>`, or the
 * session cookie a browser got at login (then a state-changing request must also echo the CSRF
 * cookie in `X-CSRF-Token`). No credential: 401 UNAUTHENTICATED with `WWW-Authenticate`; a
 * credential without the route's permission: 403 FORBIDDEN. An operator or admin may act for a
 * person by naming them in `X-Act-For` (audited as such). Routes must declare their permission:
 * one that does not is refused when it is registered, so none can ship open by mistake.
 */
export function registerAuthentication(app: FastifyInstance, opts: AuthOptions): void {
  // Fail closed: a route the plugin below never saw (added on the root before it loaded) has no
  // check of its own, so it is refused outright rather than served open.
  app.addHook('onRequest', async (req, reply) => {
    const config = req.routeOptions.config as { public?: boolean; [GUARDED]?: boolean };
    if (req.routeOptions.url === undefined || config.public === true || config[GUARDED] === true) return;
    return deny(reply, req, 'FORBIDDEN', 'this route was added without its permission check');
  });
  // A plugin that is not encapsulated (its hooks reach every route), registered after the rate
  // limiter, so that on each route the limiter's hook runs before this one: a flood of requests
  // without a valid credential is counted and refused before any credential is looked up.
  void app.register(
    fastifyPlugin((root: FastifyInstance, _o: unknown, done: () => void) => {
      authenticationHooks(root, opts);
      done();
    }),
  );
}

function authenticationHooks(app: FastifyInstance, opts: AuthOptions): void {
  const table: RouteAccess[] = [];
  app.decorate('routeTable', table);
  app.decorateRequest('principal', undefined);
  const check = authenticateRequest(opts);
  app.addHook('onRoute', (route) => {
    if (route.url === '*') return;
    const config = (route.config ?? {}) as { permission?: unknown; public?: unknown; publicOnLoopback?: unknown };
    const permission = (PERMISSIONS as readonly unknown[]).includes(config.permission)
      ? (config.permission as Permission)
      : undefined;
    if (config.public !== true && permission === undefined) {
      throw new Error(
        `route ${String(route.method)} ${route.url} names no permission (config.permission or config.public)`,
      );
    }
    const access = config.public === true ? 'public' : permission!;
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      table.push({
        method,
        url: route.url,
        access: config.publicOnLoopback === true && access !== 'public' ? 'public-on-loopback' : access,
      });
    }
    if (config.public === true) return;
    (route.config as Record<symbol, unknown>)[GUARDED] = true;
    const hooks = route.onRequest;
    route.onRequest = hooks === undefined ? [check] : [...[hooks].flat(), check];
  });
}

/** The per-route check: who is asking, and may they. */
function authenticateRequest(opts: AuthOptions): onRequestAsyncHookHandler {
  return async (req, reply) => {
    const config = req.routeOptions.config;
    if (config.publicOnLoopback === true && LOOPBACK.has(req.socket.remoteAddress ?? '')) return;
    const permission = config.permission;
    if (permission === undefined) return deny(reply, req, 'FORBIDDEN', 'this route names no permission');
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const cookies = (req as FastifyRequest & { cookies?: Record<string, string | undefined> }).cookies ?? {};
    const fromCookie = bearer === undefined ? cookies[ACCESS_COOKIE] : undefined;
    const credential = bearer ?? fromCookie;
    if (credential === undefined) {
      void reply.header('www-authenticate', 'Bearer realm="open-autoglm"');
      return deny(reply, req, 'UNAUTHENTICATED', 'send a credential: Authorization: Bearer <API key or access token>');
    }
    if (fromCookie !== undefined && !SAFE_METHODS.has(req.method)) {
      // A cookie rides along on any request the browser sends: the CSRF token proves the page is ours.
      const token = req.headers[CSRF_HEADER];
      if (typeof token !== 'string' || token === '' || token !== cookies[CSRF_COOKIE]) {
        return deny(reply, req, 'FORBIDDEN', `a request with the session cookie needs its ${CSRF_HEADER} header`);
      }
    }
    const found = await opts.identity.authenticate(credential);
    if (!found.ok) {
      await opts.onRefused?.(req);
      void reply.header('www-authenticate', 'Bearer realm="open-autoglm", error="invalid_token"');
      return deny(reply, req, 'UNAUTHENTICATED', found.error.message);
    }
    const actFor = req.headers[ACT_FOR_HEADER];
    const caller = callerOf(found.value, req.id, typeof actFor === 'string' && actFor !== '' ? actFor : undefined);
    if (!caller.ok) return deny(reply, req, caller.error.code, caller.error.message);
    req.principal = found.value;
    // What a mandate violation counts against: the credential (an agent's key), else the address.
    req.caller = { ...caller.value, source: credentialSource(req) ?? ipSource(req) };
    if (!can(caller.value.role, permission)) {
      return deny(reply, req, 'FORBIDDEN', `a ${caller.value.role} may not ${permission}`);
    }
    if (DEPLOYMENT_PERMISSIONS.has(permission) && caller.value.tenantId !== opts.homeTenant) {
      return deny(
        reply,
        req,
        'FORBIDDEN',
        `${permission} spans every tenant of the deployment: only credentials of its home tenant may`,
      );
    }
  };
}

function deny(reply: FastifyReply, req: FastifyRequest, code: string, detail: string): FastifyReply {
  return sendProblem(reply, problem(code, detail, req.id));
}
