import type { FastifyInstance } from 'fastify';
import type { AbuseApi } from '../../application/abuse/abuse-api.js';
import { parseId, problemResult, send } from './plumbing/http-result.js';
import { problem, sendProblem } from './plumbing/problem.js';
import { z } from 'zod';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';
import { blockViewSchema, listOf } from './plumbing/openapi/view-schemas.js';
import { idParamSchema } from './plumbing/validation.js';

/** What each route says of itself in the OpenAPI document (GET /openapi.json, GET /docs). */
const DOCS = {
  list: {
    summary: 'Blocked sources',
    description: 'What is blocked, until when, and why.',
    tags: ['operations'],
    responses: { 200: { description: 'blocks', body: listOf(blockViewSchema) } },
  },
  lift: {
    summary: 'Lift a block early',
    tags: ['operations'],
    params: idParamSchema,
    responses: { 200: { description: 'the lifted block', body: z.object({ block: blockViewSchema }) } },
    errors: ['BLOCK_NOT_FOUND'],
  },
} satisfies Record<string, RouteDoc>;

/** Blocked sources, for operators: what is blocked and why, and lifting a block early. Transport only. */
export function registerAbuseRoutes(app: FastifyInstance, { abuse }: { readonly abuse: AbuseApi }): void {
  app.get('/api/v1/admin/blocks', { config: { permission: 'blocks.manage', openapi: DOCS.list } }, async () => ({
    data: await abuse.list(),
  }));

  app.delete(
    '/api/v1/admin/blocks/:id',
    { config: { permission: 'blocks.manage', openapi: DOCS.lift } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, problem('BLOCK_NOT_FOUND', 'no such block', req.id));
      const r = await abuse.lift(id, req.caller.actor, req.id);
      return r.ok ? { block: r.value } : send(reply, problemResult(req, r.error));
    },
  );
}
