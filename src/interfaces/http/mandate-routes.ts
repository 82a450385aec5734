import type { FastifyInstance } from 'fastify';
import type { MandatesApi } from '../../application/mandates/mandates-api.js';
import { parseId, problemResult, send } from './plumbing/http-result.js';
import { problem, sendProblem } from './plumbing/problem.js';

/**
 * Spending mandates: POST /api/v1/mandates (a person grants one of their agents a mandate),
 * GET /api/v1/mandates[/:id], POST /api/v1/mandates/:id/revoke, and the public key that checks
 * their signatures, GET /api/v1/mandates/jwks. The body is validated by the use case (one schema
 * in the domain). Transport only.
 */
export function registerMandateRoutes(app: FastifyInstance, { mandates }: { readonly mandates: MandatesApi }): void {
  const missing = (req: { id: string }) => problem('MANDATE_NOT_FOUND', 'no such mandate', req.id);

  app.get('/api/v1/mandates/jwks', { config: { public: true } }, () => Promise.resolve(mandates.jwks()));

  app.post('/api/v1/mandates', { config: { permission: 'mandates.grant' as const } }, async (req, reply) => {
    const r = await mandates.grant(req.caller, req.body ?? {});
    return r.ok ? reply.code(201).send({ mandate: r.value }) : send(reply, problemResult(req, r.error));
  });

  app.get('/api/v1/mandates', { config: { permission: 'mandates.read' as const } }, async (req) => ({
    data: await mandates.list(req.caller),
  }));

  app.get('/api/v1/mandates/:id', { config: { permission: 'mandates.read' as const } }, async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, missing(req));
    const r = await mandates.get(req.caller, id);
    return r.ok ? { mandate: r.value } : send(reply, problemResult(req, r.error));
  });

  app.post(
    '/api/v1/mandates/:id/revoke',
    { config: { permission: 'mandates.revoke' as const } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, missing(req));
      const r = await mandates.revoke(req.caller, id);
      return r.ok ? { mandate: r.value } : send(reply, problemResult(req, r.error));
    },
  );
}
