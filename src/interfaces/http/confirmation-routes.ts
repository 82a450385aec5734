import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ConfirmationsApi } from '../../application/confirmations/confirmations-api.js';
import { parseId, problemResult, send, validationResult } from './plumbing/http-result.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';
import { heldViewSchema, listOf } from './plumbing/openapi/view-schemas.js';
import { problem, sendProblem } from './plumbing/problem.js';
import { idParamSchema } from './plumbing/validation.js';

const held = z.object({ held: heldViewSchema });

/** The digest is checked by the use case, after the held action is found (a stranger's is never there). */
const decisionSchema = z.object({ digest: z.string().max(128).optional() }).strict();
const listSchema = z.object({ all: z.enum(['true', 'false']).optional() }).strict();

/** What each route says of itself in the OpenAPI document (GET /openapi.json, GET /docs). */
const DOCS = {
  list: {
    summary: 'Held actions awaiting the person',
    description: 'The person’s held actions, newest first: awaiting ones, or all with `all=true`.',
    tags: ['confirmations'],
    query: listSchema,
    responses: { 200: { description: 'held actions', body: listOf(heldViewSchema) } },
  },
  get: {
    summary: 'One held action',
    tags: ['confirmations'],
    params: idParamSchema,
    responses: { 200: { description: 'the held action', body: held } },
    errors: ['CONFIRMATION_NOT_FOUND'],
  },
  confirm: {
    summary: 'Confirm a held action',
    description:
      'Runs exactly what was held, once (however many confirms race), naming its `digest`. The answer carries ' +
      'the held action and what the action answered (e.g. `recharge`, `top_up`, `refund`, `order`). Never an agent.',
    tags: ['confirmations'],
    params: idParamSchema,
    body: decisionSchema,
    example: { digest: 'mZ0c3Vt…' },
    responses: {
      200: {
        description: 'confirmed: the held action and the result of running it',
        body: z.looseObject({ held: heldViewSchema }),
      },
    },
    errors: [
      'CONFIRMATION_NOT_FOUND',
      'CONFIRMATION_MISMATCH',
      'POLICY_AMOUNT_CAP_EXCEEDED',
      'DAILY_LIMIT_EXCEEDED',
      'INSUFFICIENT_BALANCE',
      'PAYMENT_DECLINED',
      'RECHARGE_FAILED',
      'REFUND_DECLINED',
    ],
  },
  reject: {
    summary: 'Reject a held action',
    description: 'Nothing runs; name its `digest`.',
    tags: ['confirmations'],
    params: idParamSchema,
    body: decisionSchema,
    responses: { 200: { description: 'rejected', body: held } },
    errors: ['CONFIRMATION_NOT_FOUND', 'CONFIRMATION_MISMATCH'],
  },
} satisfies Record<string, RouteDoc>;

/**
 * Money actions the policy held for the person: GET /api/v1/confirmations[/:id], and
 * POST /api/v1/confirmations/:id (confirm) or /:id/reject, each naming the digest of exactly
 * what was shown. Transport only.
 */
export function registerConfirmationRoutes(
  app: FastifyInstance,
  { confirmations }: { readonly confirmations: ConfirmationsApi },
): void {
  app.get('/api/v1/confirmations', { config: { permission: 'holds.read', openapi: DOCS.list } }, async (req, reply) => {
    const q = listSchema.safeParse(req.query);
    if (!q.success) return send(reply, validationResult(req, q.error));
    return { data: await confirmations.list(req.caller, { all: q.data.all === 'true' }) };
  });

  app.get(
    '/api/v1/confirmations/:id',
    { config: { permission: 'holds.read', openapi: DOCS.get } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, problem('CONFIRMATION_NOT_FOUND', 'no such held action', req.id));
      const r = await confirmations.get(req.caller, id);
      return r.ok ? { held: r.value } : send(reply, problemResult(req, r.error));
    },
  );

  app.post(
    '/api/v1/confirmations/:id',
    { config: { permission: 'holds.confirm', openapi: DOCS.confirm } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, problem('CONFIRMATION_NOT_FOUND', 'no such held action', req.id));
      const body = decisionSchema.safeParse(req.body ?? {});
      if (!body.success) return send(reply, validationResult(req, body.error));
      const r = await confirmations.confirm(req.caller, id, body.data.digest);
      return r.ok ? { held: r.value.held, ...r.value.result } : send(reply, problemResult(req, r.error));
    },
  );

  app.post(
    '/api/v1/confirmations/:id/reject',
    { config: { permission: 'holds.confirm', openapi: DOCS.reject } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, problem('CONFIRMATION_NOT_FOUND', 'no such held action', req.id));
      const body = decisionSchema.safeParse(req.body ?? {});
      if (!body.success) return send(reply, validationResult(req, body.error));
      const r = await confirmations.reject(req.caller, id, body.data.digest);
      return r.ok ? { held: r.value } : send(reply, problemResult(req, r.error));
    },
  );
}
