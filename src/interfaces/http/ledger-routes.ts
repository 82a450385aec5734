import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { LedgerApi } from '../../application/ledger/ledger-api.js';
import { send, validationResult } from './plumbing/http-result.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';
import { ledgerCheckSchema, listOf } from './plumbing/openapi/view-schemas.js';

const flagsQuerySchema = z
  .object({
    open: z.enum(['true', 'false']).default('true'),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();

/** What each route says of itself in the OpenAPI document (GET /openapi.json, GET /docs). */
const DOCS = {
  balances: {
    summary: 'Ledger balances',
    description: 'Every account’s balance, and whether every journal balances.',
    tags: ['operations'],
    responses: {
      200: {
        description: 'balances',
        body: z.object({
          data: z.array(z.object({ account: z.string(), currency: z.string(), balance: z.number().int() })),
          balanced: z.boolean(),
          unbalanced_journals: z.array(z.object({ journal_id: z.string(), sum: z.number().int() })),
        }),
      },
    },
  },
  check: {
    summary: 'Check the whole book',
    description:
      'Every journal balances, and every payment, refund, top-up and recharge has exactly the journals its ' +
      'state requires.',
    tags: ['operations'],
    responses: { 200: { description: 'the check', body: ledgerCheckSchema } },
  },
  flags: {
    summary: 'Findings for review',
    description:
      'What the service flagged for a person to look at (a late capture, a ledger finding), open ones by default.',
    tags: ['operations'],
    query: flagsQuerySchema,
    responses: {
      200: {
        description: 'flags',
        body: listOf(
          z.object({
            id: z.string(),
            code: z.string(),
            resource_type: z.string(),
            resource_id: z.string(),
            detail: z.unknown(),
            created_at: z.iso.datetime(),
            resolved_at: z.iso.datetime().nullable(),
          }),
        ),
      },
    },
  },
} satisfies Record<string, RouteDoc>;

/** The books: balances, the balance-and-completeness check, findings for review. Transport only. */
export function registerLedgerRoutes(app: FastifyInstance, { ledger }: { readonly ledger: LedgerApi }): void {
  app.get('/api/v1/ledger/balances', { config: { permission: 'ledger.read', openapi: DOCS.balances } }, async (req) => {
    const tenant = req.caller.tenantId;
    const [balances, unbalanced] = await Promise.all([ledger.balances(tenant), ledger.unbalanced(tenant)]);
    return { data: balances, balanced: unbalanced.length === 0, unbalanced_journals: unbalanced };
  });

  // The whole book: every journal balances AND every payment, refund, top-up and recharge has
  // exactly the journals its state requires (a missing one is found, not only an unbalanced one).
  app.get('/api/v1/ledger/check', { config: { permission: 'ledger.read', openapi: DOCS.check } }, (req) =>
    ledger.check(req.caller.tenantId),
  );

  app.get('/api/v1/review-flags', { config: { permission: 'flags.read', openapi: DOCS.flags } }, async (req, reply) => {
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
