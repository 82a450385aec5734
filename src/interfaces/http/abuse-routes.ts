import type { FastifyInstance } from 'fastify';
import type { AbuseApi } from '../../application/abuse/abuse-api.js';
import { parseId, problemResult, send } from './plumbing/http-result.js';
import { problem, sendProblem } from './plumbing/problem.js';

const MANAGE = { config: { permission: 'blocks.manage' as const } };

/** Blocked sources, for operators: what is blocked and why, and lifting a block early. Transport only. */
export function registerAbuseRoutes(app: FastifyInstance, { abuse }: { readonly abuse: AbuseApi }): void {
  app.get('/api/v1/admin/blocks', MANAGE, async () => ({ data: await abuse.list() }));

  app.delete('/api/v1/admin/blocks/:id', MANAGE, async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, problem('BLOCK_NOT_FOUND', 'no such block', req.id));
    const r = await abuse.lift(id, req.caller.actor, req.id);
    return r.ok ? { block: r.value } : send(reply, problemResult(req, r.error));
  });
}
