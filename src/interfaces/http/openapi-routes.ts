import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { buildOpenApiDocument, type DocumentedRoute } from './plumbing/openapi/build-document.js';
import { renderDocsPage } from './plumbing/openapi/docs-page.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';

const INFO = {
  title: 'Open-AutoGLM API',
  version: '1.0.0',
  description:
    'Let a language-model agent move money for people — coffee orders and payments, phone recharges, ' +
    'wallet top-ups, refunds — exactly once, under a policy, with a ledger and an audit trail.\n\n' +
    'Every request names who it is (an API key or access token as `Authorization: Bearer …`, or the browser ' +
    'session cookie with `X-CSRF-Token` on requests that change anything). Amounts are integer minor units ' +
    '(fen). Send an `Idempotency-Key` with every POST that moves money and reuse it on retries. Errors are ' +
    '`application/problem+json` (RFC 9457) with a stable `code` to branch on and the `request_id`.',
};

/**
 * Records each route's `config.openapi` as it is added (on the root, so every plugin's routes are
 * seen). Call before the routes are registered; the answer lists them once the server is ready.
 */
export function collectRouteDocs(app: FastifyInstance): () => readonly DocumentedRoute[] {
  const docs = new Map<string, RouteDoc | undefined>();
  app.addHook('onRoute', (route) => {
    const doc = (route.config as { openapi?: RouteDoc } | undefined)?.openapi;
    for (const method of [route.method].flat()) docs.set(`${method} ${route.url}`, doc);
  });
  return () => app.routeTable.map((r) => ({ ...r, doc: docs.get(`${r.method} ${r.url}`) }));
}

/** The document of the whole API, built once from the routes as registered. */
export function openApiDocument(routes: () => readonly DocumentedRoute[]): () => Record<string, unknown> {
  let built: Record<string, unknown> | undefined;
  return () => (built ??= buildOpenApiDocument(routes(), INFO).document);
}

/** GET /openapi.json (the OpenAPI 3.1 document) and GET /docs (a page of it for people; no script, no CDN). */
export function registerOpenApiRoutes(
  app: FastifyInstance,
  { document }: { readonly document: () => Record<string, unknown> },
): void {
  let page: string | undefined;
  app.get(
    '/openapi.json',
    {
      config: {
        public: true,
        openapi: {
          summary: 'The OpenAPI 3.1 document of this API',
          description: 'Generated from the zod schemas the routes validate with; every route is in it.',
          tags: ['docs'],
          responses: { 200: { description: 'the document', body: z.looseObject({ openapi: z.string() }) } },
        },
      },
    },
    (_req, reply) => reply.header('cache-control', 'no-cache').send(document()),
  );
  app.get(
    '/docs',
    {
      config: {
        public: true,
        openapi: {
          summary: 'The API reference, as a page for people',
          description: 'Self-contained HTML rendered from the document: no script and nothing fetched from elsewhere.',
          tags: ['docs'],
          responses: { 200: { description: 'the page', content: { 'text/html': z.string() } } },
        },
      },
    },
    (_req, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send((page ??= renderDocsPage(document()))),
  );
}
