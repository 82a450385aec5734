import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { LedgerApi } from '../../application/ledger/ledger-api.js';
import { send, validationResult } from './plumbing/http-result.js';

const flagsQuerySchema = z
  .object({
    open: z.enum(['true', 'false']).default('true'),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();

/** The books: balances, the balance-and-completeness check, findings for review. Transport only. */
export function registerLedgerRoutes(app: FastifyInstance, { ledger }: { readonly ledger: LedgerApi }): void {
  app.get('/api/v1/ledger/balances', { config: { permission: 'ledger.read' } }, async (req) => {
    const tenant = req.caller.tenantId;
    const [balances, unbalanced] = await Promise.all([ledger.balances(tenant), ledger.unbalanced(tenant)]);
    return { data: balances, balanced: unbalanced.length === 0, unbalanced_journals: unbalanced };
  });

  // The whole book: every journal balances AND every payment, refund, top-up and recharge has
  // exactly the journals its state requires (a missing one is found, not only an unbalanced one).
  app.get('/api/v1/ledger/check', { config: { permission: 'ledger.read' } }, (req) =>
    ledger.check(req.caller.tenantId),
  );

  app.get('/api/v1/review-flags', { config: { permission: 'flags.read' } }, async (req, reply) => {
    const q = flagsQuerySchema.safeParse(req.query);
    if (!q.success) return send(reply, validationResult(req, q.error));
    const flags = await ledger.reviewFlags(req.caller.tenantId, q.data.open === 'true', q.data.limit);
    return {
      data: flags.map((f) => ({
        id: f.id,
        code: f.code,
        resource_type: f.resourceType,
        resource_id: f.resourceId,
        detail: f.detail,
        created_at: new Date(f.createdAt).toISOString(),
        resolved_at: f.resolvedAt === null ? null : new Date(f.resolvedAt).toISOString(),
      })),
    };
  });
}
