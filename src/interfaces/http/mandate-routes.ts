import type { FastifyInstance } from 'fastify';
import type { MandatesApi } from '../../application/mandates/mandates-api.js';
import { parseId, problemResult, send } from './plumbing/http-result.js';
import { problem, sendProblem } from './plumbing/problem.js';
import { z } from 'zod';
import { mandateGrantSchema } from '../../domain/mandate.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';
import { listOf, mandateViewSchema } from './plumbing/openapi/view-schemas.js';
import { idParamSchema } from './plumbing/validation.js';

const mandate = z.object({ mandate: mandateViewSchema });

/** What each route says of itself in the OpenAPI document (GET /openapi.json, GET /docs). */
const DOCS = {
  jwks: {
    summary: 'The public key mandates are signed with',
    description: 'A JWK Set (ES256): check a mandate’s `jws` with it.',
    tags: ['mandates'],
    responses: {
      200: { description: 'the JWK Set', body: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }) },
    },
  },
  grant: {
    summary: 'Grant an agent a mandate',
    description:
      'A person lets one of their agents spend within these terms without asking each time; signed by the ' +
      'service, checked on every use. Never an agent.',
    tags: ['mandates'],
    body: mandateGrantSchema,
    example: {
      agent: 'my-assistant',
      actions: ['order_coffee'],
      payees: [],
      max_per_transaction: 5000,
      budget: 20000,
      period: 'week',
      expires_at: '2030-01-01T00:00:00Z',
    },
    responses: { 201: { description: 'the mandate', body: mandate } },
    errors: ['PRINCIPAL_NOT_FOUND'],
  },
  list: {
    summary: 'Mandates',
    description: 'A person’s grants; an agent’s own mandates. Newest first.',
    tags: ['mandates'],
    responses: { 200: { description: 'mandates', body: listOf(mandateViewSchema) } },
  },
  get: {
    summary: 'One mandate',
    tags: ['mandates'],
    params: idParamSchema,
    responses: { 200: { description: 'the mandate', body: mandate } },
    errors: ['MANDATE_NOT_FOUND'],
  },
  revoke: {
    summary: 'Revoke a mandate',
    description: 'At once: the next use on any instance finds it revoked.',
    tags: ['mandates'],
    params: idParamSchema,
    responses: { 200: { description: 'the revoked mandate', body: mandate } },
    errors: ['MANDATE_NOT_FOUND'],
  },
} satisfies Record<string, RouteDoc>;

/**
 * Spending mandates: POST /api/v1/mandates (a person grants one of their agents a mandate),
 * GET /api/v1/mandates[/:id], POST /api/v1/mandates/:id/revoke, and the public key that checks
 * their signatures, GET /api/v1/mandates/jwks. The body is validated by the use case (one schema
 * in the domain). Transport only.
 */
export function registerMandateRoutes(app: FastifyInstance, { mandates }: { readonly mandates: MandatesApi }): void {
  const missing = (req: { id: string }) => problem('MANDATE_NOT_FOUND', 'no such mandate', req.id);

  app.get('/api/v1/mandates/jwks', { config: { public: true, openapi: DOCS.jwks } }, () =>
    Promise.resolve(mandates.jwks()),
  );

  app.post(
    '/api/v1/mandates',
    { config: { permission: 'mandates.grant' as const, openapi: DOCS.grant } },
    async (req, reply) => {
      const r = await mandates.grant(req.caller, req.body ?? {});
      return r.ok ? reply.code(201).send({ mandate: r.value }) : send(reply, problemResult(req, r.error));
    },
  );

  app.get(
    '/api/v1/mandates',
    { config: { permission: 'mandates.read' as const, openapi: DOCS.list } },
    async (req) => ({
      data: await mandates.list(req.caller),
    }),
  );

  app.get(
    '/api/v1/mandates/:id',
    { config: { permission: 'mandates.read' as const, openapi: DOCS.get } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, missing(req));
      const r = await mandates.get(req.caller, id);
      return r.ok ? { mandate: r.value } : send(reply, problemResult(req, r.error));
    },
  );

  app.post(
    '/api/v1/mandates/:id/revoke',
    { config: { permission: 'mandates.revoke' as const, openapi: DOCS.revoke } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, missing(req));
      const r = await mandates.revoke(req.caller, id);
      return r.ok ? { mandate: r.value } : send(reply, problemResult(req, r.error));
    },
  );
}
