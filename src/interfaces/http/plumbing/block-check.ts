import type { FastifyInstance } from 'fastify';
import type { AbuseApi } from '../../../application/abuse/abuse-api.js';
import { problem, sendProblem } from './problem.js';
import { sourcesOf } from './sources.js';

/** Routes a blocked source may still reach: the probes, which say nothing and change nothing. */
const BLOCK_EXEMPT: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/**
 * Refuse every request of a blocked source (its address, or the credential it carries) with 403
 * problem+json `SOURCE_BLOCKED` and `Retry-After`, before anything else runs for it — rate
 * limits included, so a blocked source spends no budget. Registered before the routes.
 */
export function registerBlockCheck(app: FastifyInstance, abuse: Pick<AbuseApi, 'blockOf'>): void {
  app.addHook('onRequest', async (req, reply) => {
    if (BLOCK_EXEMPT.has(req.routeOptions.url ?? '')) return;
    const block = await abuse.blockOf(sourcesOf(req));
    if (block === undefined) return;
    void reply.header('retry-after', String(block.retryAfterSeconds));
    return sendProblem(
      reply,
      problem('SOURCE_BLOCKED', 'too many failures came from this source; it is blocked for a while', req.id, {
        until: new Date(block.until).toISOString(),
      }),
    );
  });
}
