import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ConfirmationsApi } from '../../application/confirmations/confirmations-api.js';
import { parseId, problemResult, send, validationResult } from './plumbing/http-result.js';
import { problem, sendProblem } from './plumbing/problem.js';

/** The digest is checked by the use case, after the held action is found (a stranger's is never there). */
const decisionSchema = z.object({ digest: z.string().max(128).optional() }).strict();
const listSchema = z.object({ all: z.enum(['true', 'false']).optional() }).strict();

/**
 * Money actions the policy held for the person: GET /api/v1/confirmations[/:id], and
 * POST /api/v1/confirmations/:id (confirm) or /:id/reject, each naming the digest of exactly
 * what was shown. Transport only.
 */
export function registerConfirmationRoutes(
  app: FastifyInstance,
  { confirmations }: { readonly confirmations: ConfirmationsApi },
): void {
  const READ = { config: { permission: 'holds.read' as const } };
  const DECIDE = { config: { permission: 'holds.confirm' as const } };

  app.get('/api/v1/confirmations', READ, async (req, reply) => {
    const q = listSchema.safeParse(req.query);
    if (!q.success) return send(reply, validationResult(req, q.error));
    return { data: await confirmations.list(req.caller, { all: q.data.all === 'true' }) };
  });

  app.get('/api/v1/confirmations/:id', READ, async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, problem('CONFIRMATION_NOT_FOUND', 'no such held action', req.id));
    const r = await confirmations.get(req.caller, id);
    return r.ok ? { held: r.value } : send(reply, problemResult(req, r.error));
  });

  app.post('/api/v1/confirmations/:id', DECIDE, async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, problem('CONFIRMATION_NOT_FOUND', 'no such held action', req.id));
    const body = decisionSchema.safeParse(req.body ?? {});
    if (!body.success) return send(reply, validationResult(req, body.error));
    const r = await confirmations.confirm(req.caller, id, body.data.digest);
    return r.ok ? { held: r.value.held, ...r.value.result } : send(reply, problemResult(req, r.error));
  });

  app.post('/api/v1/confirmations/:id/reject', DECIDE, async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, problem('CONFIRMATION_NOT_FOUND', 'no such held action', req.id));
    const body = decisionSchema.safeParse(req.body ?? {});
    if (!body.success) return send(reply, validationResult(req, body.error));
    const r = await confirmations.reject(req.caller, id, body.data.digest);
    return r.ok ? { held: r.value } : send(reply, problemResult(req, r.error));
  });
}
