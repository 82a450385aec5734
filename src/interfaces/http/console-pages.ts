import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * What the console's pages may load: only this origin's own scripts, styles, images and API — no
 * inline script, no CDN, no framing. The built app (Vite) needs nothing more.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Paths that belong to the API and the operations routes: never answered with the console. */
const NOT_CONSOLE = /^\/(api|mcp|metrics|healthz|readyz|_sim|openapi\.json|docs)(\/|$|\?)/;

const ASSET = /^\/assets\/[A-Za-z0-9_.-]+$/;

export interface ConsolePages {
  /** Whether `path` (a GET) is the console's: a file of the built app or one of its client routes. */
  owns(req: FastifyRequest): boolean;
  /** The file or the app's page; undefined for a missing asset (a 404 then). */
  send(req: FastifyRequest, reply: FastifyReply): FastifyReply | undefined;
}

/**
 * The web console (`web/`, built by `npm run build` into `dist/web`), served at `/`: its hashed
 * assets under /assets/ (cached for good), and index.html for every other path that no route took
 * (the single-page app's own routes, such as /orders/ord_…). It is the server's not-found answer for
 * GETs outside the API, so it can never shadow a route. Undefined when the app was not built.
 */
export function registerConsolePages(app: FastifyInstance, root: string): ConsolePages | undefined {
  if (!existsSync(join(root, 'index.html'))) return undefined;
  void app.register(fastifyStatic, { root, serve: false, decorateReply: true, index: false });
  const headers = (reply: FastifyReply): FastifyReply =>
    reply
      .header('content-security-policy', CONSOLE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .header('cross-origin-opener-policy', 'same-origin');
  return {
    owns: (req) => (req.method === 'GET' || req.method === 'HEAD') && !NOT_CONSOLE.test(req.url),
    send(req, reply) {
      const path = req.url.split('?')[0] ?? '/';
      if (path.startsWith('/assets/')) {
        // Only a plain file name, and only one that exists (a miss must not loop back here).
        if (!ASSET.test(path) || !existsSync(join(root, path))) return undefined;
        // Names carry their content hash: a new build has new names.
        return headers(reply).sendFile(path.slice(1), { maxAge: '365d', immutable: true });
      }
      if (path === '/favicon.svg') return headers(reply).sendFile('favicon.svg', { maxAge: '1d' });
      return headers(reply).header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false });
    },
  };
}
